"""Experiments 4 and 5: the adding and the multiplication problem (paper Sections 5.4 and 5.5, Tables 7 and 8).

Each element is a pair (value, marker). Exactly two pairs are marked with 1.0: first one of the first ten pairs
(X1), then one of the first T/2 - 1 still unmarked pairs (X2). The first and the final pair carry marker -1.0
unless marked, all others 0.0. The only target is at the last step: 0.5 + (X1 + X2)/4 for adding, X1 * X2 for
multiplication. A marked first pair has its value replaced (0.0 for adding, 1.0 for multiplication).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstm_proofs.tasks.base import Batch, Option, Task, end_mask

_COMMON_OPTIONS = (
    Option("T", 100, "minimal sequence length; lengths are uniform integers in [T, T + T/10]", 20, 1_000_000),
    Option("x2_range", "unmarked",
           "X2 is one of 'unmarked': the first T/2 - 1 still unmarked pairs (positions 1..T/2 without X1's), "
           "or 'positions': positions 1..T/2 - 1 without X1's", choices=("unmarked", "positions"),
           unconfirmed="6.8 (i)"),
    Option("first_marker", "marked",
           "marker of a marked first pair: 'marked' (1.0) or 'end' (-1.0, as an unmarked first pair)",
           choices=("marked", "end"), unconfirmed="6.8 (ii)"),
    Option("first_pair_rule", "any",
           "which marked value the first-pair rule replaces: 'any' (X1 or X2, whichever lies on pair 1) or "
           "'x1_only' (X2 on pair 1 keeps its random value)", choices=("any", "x1_only"),
           unconfirmed="6.8 (iii)"),
)


class _MarkedPairTask(Task):
    """Shared generator of Experiments 4 and 5; subclasses set the value range, first-pair value and target."""

    value_low: float = -1.0
    value_high: float = 1.0
    first_value: float = 0.0
    tolerance = 0.04  # Table 11: ABS(0.04)
    option_specs = _COMMON_OPTIONS

    def n_inputs(self, **options: Any) -> int:
        """Two input units: the value and the marker."""
        return 2

    def n_outputs(self, **options: Any) -> int:
        """One output unit."""
        return 1

    def max_steps(self, **options: Any) -> int:
        """T + T/10 (the longest possible sequence)."""
        T = self.options(**options)["T"]
        return T + T // 10

    def _target(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _generate(self, rng: np.random.Generator, n: int, opts: dict[str, Any]) -> Batch:
        T = opts["T"]
        half = T // 2
        # Lengths uniform in [T, T + T/10] (Section 5.4: "random between minimal length T and T + T/10").
        lengths = rng.integers(T, T + T // 10, size=n, endpoint=True).astype(np.int64)
        steps = int(lengths.max())
        values = rng.uniform(self.value_low, self.value_high, size=(T + T // 10, n))[:steps]
        # X1: one of the first ten pairs.
        pos1 = rng.integers(0, 10, size=n)
        # X2: one of the first T/2 - 1 still unmarked pairs, i.e. the (T/2 - 1) smallest 0-based positions other
        # than pos1 (for T >= 22 these are 0 .. T/2-1 without pos1), or, read literally, one of the positions
        # 0 .. T/2-2 other than pos1. Either way: draw a rank r among the candidates, skip over pos1.
        if opts["x2_range"] == "unmarked":
            count = np.full(n, half - 1)
        else:
            count = half - 1 - (pos1 <= half - 2)
        r = rng.integers(0, count)
        pos2 = r + (r >= pos1)
        cols = np.arange(n)
        # The first-pair rule: a marked first pair gets the value first_value ("X1 is set to zero" for adding,
        # "X1 = 1.0" for multiplication); by our reading this holds for X2 on pair 1 as well.
        values[0, pos1 == 0] = self.first_value
        if opts["first_pair_rule"] == "any":
            values[0, pos2 == 0] = self.first_value
        x1 = values[pos1, cols].copy()
        x2 = values[pos2, cols].copy()
        # One pass over the big arrays: values in channel 0, markers in channel 1, padding cleared afterwards
        # (only steps >= T can be padding, since every length is at least T).
        xs = np.zeros((steps, n, 2))
        xs[:, :, 0] = values
        xs[0, :, 1] = -1.0
        xs[lengths - 1, cols, 1] = -1.0
        xs[pos1, cols, 1] = 1.0
        xs[pos2, cols, 1] = 1.0
        if opts["first_marker"] == "end":
            xs[0, :, 1] = -1.0
        tail = xs[T:]
        tail[np.arange(T, steps)[:, None] >= lengths[None, :]] = 0.0
        target = self._target(x1, x2)
        targets = np.zeros((steps, n, 1))
        targets[lengths - 1, cols, 0] = target
        return Batch(xs=xs, targets=targets, mask=end_mask(lengths, steps, 1), lengths=lengths,
                     info={"pos1": pos1.astype(np.int64), "pos2": pos2.astype(np.int64), "x1": x1, "x2": x2,
                           "target": target})


class AddingTask(_MarkedPairTask):
    """Experiment 4: the adding problem (Section 5.4, Table 7)."""

    name = "4"
    aliases = ("adding",)
    title = "adding problem"
    experiment = "Exp. 4, Section 5.4"
    tables = "Table 7"
    description = ("pairs (value in [-1,1], marker); output 0.5 + (X1 + X2)/4 at the end; "
                   "X1 in the first 10 pairs, X2 in the first T/2 - 1")
    value_low, value_high, first_value = -1.0, 1.0, 0.0
    paper_rows = ({"T": 100}, {"T": 500}, {"T": 1000})

    def _target(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        # "target 0.5 + (X1 + X2)/4.0": the sum scaled to [0, 1] (Section 5.4).
        return 0.5 + (x1 + x2) / 4.0


class MultiplicationTask(_MarkedPairTask):
    """Experiment 5: the multiplication problem (Section 5.5, Table 8)."""

    name = "5"
    aliases = ("multiplication",)
    title = "multiplication problem"
    experiment = "Exp. 5, Section 5.5"
    tables = "Table 8"
    description = ("pairs (value in [0,1], marker); output X1 * X2 at the end; "
                   "X1 in the first 10 pairs, X2 in the first T/2 - 1")
    value_low, value_high, first_value = 0.0, 1.0, 1.0
    paper_rows = ({"T": 100},)

    def _target(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        # "the target at sequence end is the product X1 * X2" (Section 5.5), not rescaled.
        return x1 * x2
