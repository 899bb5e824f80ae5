"""Experiment 1: the embedded Reber grammar (paper Section 5.1, Table 1).

Strings are walks through the Reber graph (the standard Cleeremans et al. 1989 automaton; the paper's Figures 3
and 4 are images), choosing each of two edges with probability 0.5. The embedded string is
``B, O, <Reber string>, O, E`` with the same O in {T, P} at both places. The network reads one symbol per step
and predicts the next one at every step (error signals at every step); the final E is only a target.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstm_proofs.tasks.base import Batch, Option, Task, check_outputs, one_hot, one_hot_inputs, step_mask

#: The seven symbols, in the order of the input and output units (local coding).
ALPHABET = ("B", "T", "P", "S", "X", "V", "E")
B, T, P, S, X, V, E = range(7)

#: Reber graph: state -> ((symbol, next state) for each of the two edges). State 5 emits the final E.
EDGES = {0: ((T, 1), (P, 2)), 1: ((S, 1), (X, 3)), 2: ((T, 2), (V, 4)), 3: ((X, 2), (S, 5)), 4: ((P, 3), (V, 5))}
_SYM = np.array([[EDGES[s][c][0] for c in (0, 1)] for s in range(5)])
_NEXT = np.array([[EDGES[s][c][1] for c in (0, 1)] for s in range(5)])
#: _LEGAL[state] = the symbols that may follow when the walk is in ``state``; row 5: E; row 6: padding.
_LEGAL = np.zeros((7, 7), dtype=bool)
for _s, _edges in EDGES.items():
    for _sym, _ in _edges:
        _LEGAL[_s, _sym] = True
_LEGAL[5, E] = True


class EmbeddedReberTask(Task):
    """Experiment 1: next-symbol prediction on embedded Reber strings."""

    name = "1"
    aliases = ("reber", "embedded-reber")
    title = "embedded Reber grammar"
    experiment = "Exp. 1, Section 5.1"
    tables = "Table 1"
    description = "predict the next symbol of embedded Reber strings (7 symbols, one-hot), every step"
    target_at_end = False
    option_specs = (
        Option("targets", "next",
               "target coding: 'next' (one-hot of the actual next symbol) or 'legal' (1.0 for every symbol "
               "the grammar allows next)", choices=("next", "legal"), unconfirmed="6.1"),
    )
    paper_rows = ({},)

    def n_inputs(self, **options: Any) -> int:
        """Seven input units, one per symbol."""
        return len(ALPHABET)

    def n_outputs(self, **options: Any) -> int:
        """Seven output units, one per symbol."""
        return len(ALPHABET)

    def max_steps(self, **options: Any) -> int:
        """100 steps: longer strings have probability below 1e-6."""
        return 100

    def _generate(self, rng: np.random.Generator, n: int, opts: dict[str, Any]) -> Batch:
        symbols, legal = reber_strings(rng, n)
        lengths = (symbols >= 0).sum(axis=1).astype(np.int64) - 1  # every symbol but the final E is an input
        steps = int(lengths.max())
        time_major = symbols.T
        xs = one_hot_inputs(time_major[:steps], lengths, 7)
        if opts["targets"] == "next":
            targets = one_hot(time_major[1:steps + 1], lengths, 7)
        else:
            targets = np.ascontiguousarray(legal[:, :steps].transpose(1, 0, 2)).astype(np.float64)
        return Batch(xs=xs, targets=targets, mask=step_mask(lengths, steps, 7), lengths=lengths,
                     info={"symbols": symbols, "legal": legal, "second": symbols[:, 1].copy()})

    def correct(self, outputs: np.ndarray, batch: Batch, **options: Any) -> np.ndarray:
        """All steps right: at every step the k legal next symbols are exactly the k most active outputs.

        Section 5.1: "the output unit(s) corresponding to the possible next symbol(s) is(are) always the most
        active ones". Ties between a legal and an illegal unit count as wrong.
        """
        self.options(**options)
        out = check_outputs(outputs, batch)
        legal = batch.info["legal"][:, :batch.steps].transpose(1, 0, 2)
        lowest_legal = np.where(legal, out, np.inf).min(axis=2)
        highest_other = np.where(legal, -np.inf, out).max(axis=2)
        valid = np.arange(batch.steps)[:, None] < batch.lengths[None, :]
        return np.all((lowest_legal > highest_other) | ~valid, axis=0)

    def errors(self, outputs: np.ndarray, batch: Batch, **options: Any) -> np.ndarray:
        """Mean squared error per output unit and step over the sequence (the paper reports no error figure)."""
        self.options(**options)
        out = check_outputs(outputs, batch)
        return (batch.mask * (batch.targets - out) ** 2).sum(axis=(0, 2)) / batch.mask.sum(axis=(0, 2))

    def make_sets(self, rng: np.random.Generator, n_train: int = 256, n_test: int = 256,
                  **options: Any) -> tuple[Batch, Batch]:
        """The paper's fixed training set and a separate test set (Section 5.1, following Fahlman 1991).

        The training set holds ``n_train`` random strings (repeats allowed, as the paper says only "generated
        randomly"); the test set holds ``n_test`` random strings none of which occurs in the training set.

        Returns:
            (training batch, test batch).
        """
        train = self.generate(rng, n_train, **options)
        seen = {row.tobytes() for row in _trimmed_rows(train.info["symbols"])}
        parts: list[Batch] = []
        found = 0
        for _ in range(1000):
            cand = self.generate(rng, max(n_test, 64), **options)
            keep = [i for i, row in enumerate(_trimmed_rows(cand.info["symbols"])) if row.tobytes() not in seen]
            keep = keep[:n_test - found]
            if keep:
                parts.append(cand.take(keep))
                found += len(keep)
            if found == n_test:
                test = Batch.concatenate(parts)
                width = int(test.lengths.max()) + 1
                test.info["symbols"] = test.info["symbols"][:, :width]
                test.info["legal"] = test.info["legal"][:, :width - 1]
                return train, test
        raise RuntimeError("could not draw a test set disjoint from the training set")  # pragma: no cover


def _trimmed_rows(symbols: np.ndarray) -> list[np.ndarray]:
    return [row[row >= 0].astype(np.int8) for row in symbols]


def reber_strings(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random embedded Reber strings and, per position, the symbols the grammar allows next.

    Args:
        rng: source of randomness.
        n: number of strings.

    Returns:
        ``symbols``: ``(n, L)`` int64 symbol indices (see ALPHABET), -1 after each string's end;
        ``legal``: ``(n, L - 1, 7)`` bool; ``legal[i, t]`` = the symbols that may follow the prefix
        ``symbols[i, :t+1]`` (False after the end).
    """
    cols = np.arange(n)
    outer = np.where(rng.random(n) < 0.5, T, P)  # the embedding symbol O, same at both places
    # Walk the inner Reber graph from state 0, all strings at once; each edge has probability 0.5.
    state = np.zeros(n, dtype=np.int64)
    inner_syms: list[np.ndarray] = []
    inner_states: list[np.ndarray] = []
    while np.any(state != 5):
        active = state != 5
        choice = (rng.random(n) < 0.5).astype(np.int64)
        cur = np.where(active, state, 0)
        inner_syms.append(np.where(active, _SYM[cur, choice], -1))
        state = np.where(active, _NEXT[cur, choice], state)
        inner_states.append(np.where(active, state, 6))
    sym_mat = np.stack(inner_syms, axis=1)           # (n, max inner length), -1 padded
    state_mat = np.stack(inner_states, axis=1)       # state after each inner symbol, 6 padded
    inner_len = (sym_mat >= 0).sum(axis=1)
    width = sym_mat.shape[1] + 6
    symbols = np.full((n, width), -1, dtype=np.int64)
    symbols[:, 0], symbols[:, 1], symbols[:, 2] = B, outer, B
    symbols[:, 3:3 + sym_mat.shape[1]] = sym_mat
    symbols[cols, 3 + inner_len] = E
    symbols[cols, 4 + inner_len] = outer
    symbols[cols, 5 + inner_len] = E
    legal = np.zeros((n, width - 1, 7), dtype=bool)
    legal[:, 0, [T, P]] = True                        # after the first B: the embedding symbol
    legal[:, 1, B] = True                             # after O: the inner B
    legal[:, 2] = _LEGAL[0]                           # after the inner B: state 0
    legal[:, 3:3 + sym_mat.shape[1]] = _LEGAL[state_mat]
    legal[cols, 3 + inner_len, outer] = True          # after the inner E: the remembered O (the long lag)
    legal[cols, 4 + inner_len, E] = True              # after the second O: the final E
    return symbols, legal
