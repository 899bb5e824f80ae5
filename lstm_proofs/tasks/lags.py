"""Experiment 2: long time lags with local symbol coding (paper Section 5.2, Tables 2 and 3).

* 2a: two fixed sequences ``(y, a_1, ..., a_{p-1}, y)`` and ``(x, a_1, ..., a_{p-1}, x)``; predict the next
  symbol at every step.
* 2b: as 2a with a random middle part over ``a_1 .. a_{p-1}``; only the final symbol is predictable.
* 2c: ``(b, y|x, q + k random distractors, e, y|x)``; after the prefix of q distractors, a distractor follows with
  probability 9/10 and the trigger e with 1/10; only the final symbol is a target.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstm_proofs.errors import UserError
from lstm_proofs.tasks.base import (Batch, Option, Task, check_outputs, end_mask, one_hot, one_hot_inputs,
                                    step_mask)

_CRITERION = ("all_steps", "end")


class _LocalLagTask(Task):
    """Shared part of 2a and 2b: p + 1 symbols a_1 .. a_{p-1}, x = a_p, y = a_{p+1}; unit i codes a_{i+1}."""

    random_middle: bool = False
    target_at_end = False
    tolerance = 0.25  # Table 11: ABS(0.25)

    def n_inputs(self, **options: Any) -> int:
        """p + 1 input units (local coding of a_1 .. a_{p+1})."""
        return self.options(**options)["p"] + 1

    def n_outputs(self, **options: Any) -> int:
        """p + 1 output units."""
        return self.options(**options)["p"] + 1

    def max_steps(self, **options: Any) -> int:
        """p steps: p + 1 symbols, every symbol but the last is an input."""
        return self.options(**options)["p"]

    def io_text(self) -> str:
        """p + 1 inputs and outputs."""
        return f"p+1 = {self.n_in}/{self.n_out}"

    def _generate(self, rng: np.random.Generator, n: int, opts: dict[str, Any]) -> Batch:
        p = opts["p"]
        cls = (rng.random(n) < 0.5).astype(np.int64)     # 0: the x sequence, 1: the y sequence (p = 0.5 each)
        first = p - 1 + cls                               # x = a_p -> index p-1, y = a_{p+1} -> index p
        if self.random_middle:
            middle = rng.integers(0, p - 1, size=(p - 1, n))    # a_{i_1} .. a_{i_{p-1}}, 1 <= i <= p-1
        else:
            middle = np.repeat(np.arange(p - 1)[:, None], n, axis=1)   # a_1 .. a_{p-1}
        symbols = np.concatenate([first[None], middle, first[None]], axis=0)   # (p + 1, n)
        lengths = np.full(n, p, dtype=np.int64)
        xs = one_hot_inputs(symbols[:-1], lengths, p + 1)
        targets = one_hot(symbols[1:], lengths, p + 1)
        return Batch(xs=xs, targets=targets, mask=step_mask(lengths, p, p + 1), lengths=lengths,
                     info={"cls": cls, "symbols": np.ascontiguousarray(symbols.T)})

    def errors(self, outputs: np.ndarray, batch: Batch, **options: Any) -> np.ndarray:
        """Largest absolute error of all output units, over every step ('all_steps') or at the end ('end')."""
        opts = self.options(**options)
        out = check_outputs(outputs, batch)
        if opts["criterion"] == "end":
            return np.abs(batch.at_end(batch.targets) - batch.at_end(out)).max(axis=1)
        d = np.subtract(out, batch.targets)  # in place from here: this runs once per training call
        np.abs(d, out=d)
        d *= batch.mask
        return d.max(axis=2).max(axis=0)  # innermost axis first: the same maxima, about 6x faster


class NoiseFreeLagTask(_LocalLagTask):
    """Experiment 2a: noise-free sequences with long time lags (Section 5.2, Table 2)."""

    name = "2a"
    aliases = ("long-lag",)
    title = "noise-free sequences with long time lags"
    experiment = "Exp. 2a, Section 5.2"
    tables = "Table 2"
    description = "2 fixed sequences (x|y, a_1..a_{p-1}, x|y); predict the next symbol at every step"
    option_specs = (
        Option("p", 100, "delay p: p + 1 symbols, sequences of p + 1 symbols", 2, 100_000),
        Option("criterion", "all_steps",
               "ABS(0.25) applied to every step ('all_steps') or only to the last step ('end')",
               choices=_CRITERION, unconfirmed="6.2"),
    )
    paper_rows = ({"p": 4}, {"p": 10}, {"p": 100})


class RandomMiddleLagTask(_LocalLagTask):
    """Experiment 2b: no local regularities (Section 5.2, results in the text)."""

    name = "2b"
    aliases = ("long-lag-random",)
    title = "long time lags, no local regularities"
    experiment = "Exp. 2b, Section 5.2"
    tables = "text of Section 5.2"
    description = "(x|y, p-1 random symbols of a_1..a_{p-1}, x|y); predict every next symbol, judged at the end"
    random_middle = True
    option_specs = (
        Option("p", 100, "delay p: p + 1 symbols, sequences of p + 1 symbols", 3, 100_000),
        Option("criterion", "end",
               "ABS(0.25) applied to the last step ('end', as the paper says) or to every step ('all_steps')",
               choices=_CRITERION),
    )
    paper_rows = ({"p": 100},)


class VeryLongLagTask(Task):
    """Experiment 2c: very long time lags, no local regularities (Section 5.2, Table 3).

    Symbols a_1 .. a_p (distractors, units 0 .. p-1), e (unit p), b (p+1), x (p+2), y (p+3). The inputs are
    ``b, x|y, distractors, e``; the only target, at the step that reads e, is the final symbol coded on two
    output units (x -> unit 0, y -> unit 1).
    """

    name = "2c"
    aliases = ("very-long-lag",)
    title = "very long time lags, no local regularities"
    experiment = "Exp. 2c, Section 5.2"
    tables = "Table 3"
    description = "(b, x|y, q + k distractors of p, e, x|y); k geometric, mean 9; output x|y at the end"
    tolerance = 0.2  # "prediction error ... of both output units always below 0.2"
    option_specs = (
        Option("q", 100, "time lag - 1: number of distractors in the fixed-length prefix", 1, 1_000_000),
        Option("p", 100, "number of distinct distractor symbols a_1 .. a_p", 1, 100_000),
        Option("continue_prob", 0.9,
               "probability of appending another distractor (else the trigger e) after the prefix; "
               "0.9 gives the paper's expected length formula, 0.1 is P's printed 1/10", 0.0, 0.999,
               unconfirmed="6.4", alternatives=(0.1,)),
        Option("distractor_range", "p",
               "distractors drawn from a_1 .. a_p ('p') or, literally as printed, a_1 .. a_q ('q', needs q <= p)",
               choices=("p", "q"), unconfirmed="6.4"),
    )
    paper_rows = ({"q": 50, "p": 50}, {"q": 100, "p": 100}, {"q": 200, "p": 200}, {"q": 500, "p": 500},
                  {"q": 1000, "p": 1000}, {"q": 1000, "p": 500}, {"q": 1000, "p": 200}, {"q": 1000, "p": 100},
                  {"q": 1000, "p": 50})

    def _check_options(self, opts: dict[str, Any]) -> None:
        if opts["distractor_range"] == "q" and opts["q"] > opts["p"]:
            raise UserError(f"option distractor_range=q needs q <= p (a_1 .. a_q must exist), "
                            f"got q={opts['q']}, p={opts['p']}")

    def n_inputs(self, **options: Any) -> int:
        """p + 4 input units."""
        return self.options(**options)["p"] + 4

    def n_outputs(self, **options: Any) -> int:
        """Two output units (x, y)."""
        return 2

    def io_text(self) -> str:
        """p + 4 inputs, 2 outputs."""
        return f"p+4 = {self.n_in}/{self.n_out}"

    def max_steps(self, **options: Any) -> int:
        """q + 3 + the k exceeded with probability 1e-6."""
        opts = self.options(**options)
        c = opts["continue_prob"]
        k = 0 if c == 0 else int(np.ceil(np.log(1e-6) / np.log(c)))
        return opts["q"] + 3 + k

    def _generate(self, rng: np.random.Generator, n: int, opts: dict[str, Any]) -> Batch:
        q, p, c = opts["q"], opts["p"], opts["continue_prob"]
        n_distractors = q if opts["distractor_range"] == "q" else p
        cls = (rng.random(n) < 0.5).astype(np.int64)            # 0: x, 1: y
        second = p + 2 + cls
        # k = number of extra distractors: each further element is a distractor with probability c, else e.
        k = (rng.geometric(1.0 - c, size=n) - 1) if c > 0 else np.zeros(n, dtype=np.int64)
        k = k.astype(np.int64)
        lengths = q + k + 3                                      # inputs b, x|y, q + k distractors, e
        steps = int(lengths.max())
        symbols = np.full((steps + 1, n), -1, dtype=np.int64)
        symbols[0] = p + 1
        symbols[1] = second
        body = rng.integers(0, n_distractors, size=(steps - 3, n))
        pos = np.arange(2, steps - 1)[:, None]
        symbols[2:steps - 1] = np.where(pos < lengths[None, :] - 1, body, -1)
        cols = np.arange(n)
        symbols[lengths - 1, cols] = p                           # the trigger e
        symbols[lengths, cols] = second                          # the final symbol (a target, not an input)
        xs = one_hot_inputs(symbols[:steps], lengths, p + 4)
        targets = np.zeros((steps, n, 2))
        targets[lengths - 1, cols, cls] = 1.0
        return Batch(xs=xs, targets=targets, mask=end_mask(lengths, steps, 2), lengths=lengths,
                     info={"cls": cls, "k": k, "symbol_length": lengths + 1,
                           "symbols": np.ascontiguousarray(symbols.T)})
