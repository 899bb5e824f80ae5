"""Experiment 6: temporal order (paper Section 5.6, Table 9).

Sequences start with E and end with the trigger B; every other element is a random one of a, b, c, d, except two
(6a) or three (6b) elements at random positions in fixed windows, which are X or Y. The class (one output unit per
class, one-hot) is the order of the X/Y symbols; the only target is at the last step (the step that reads B).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstm_proofs.tasks.base import Batch, Option, Task, end_mask, one_hot_inputs

#: Input symbols in the order of the input units (local coding).
ALPHABET = ("E", "B", "a", "b", "c", "d", "X", "Y")
SYM_E, SYM_B, SYM_X = 0, 1, 6
LENGTH_RANGE = (100, 110)


class _OrderTask(Task):
    """Shared generator; subclasses give the position windows and the class names."""

    windows: tuple[tuple[int, int], ...] = ()
    class_names: tuple[str, ...] = ()
    tolerance = 0.3  # Table 11: ABS(0.3), for all output units
    option_specs = (
        Option("origin", 1, "positions t1, t2, ... are counted from 1 (E is element 1) or from 0 (E is element 0)",
               0, 1, unconfirmed="6.10", alternatives=(0,)),
    )

    def n_inputs(self, **options: Any) -> int:
        """Eight input units: E, B, a, b, c, d, X, Y."""
        return len(ALPHABET)

    def n_outputs(self, **options: Any) -> int:
        """One output unit per class."""
        return len(self.class_names)

    def max_steps(self, **options: Any) -> int:
        """110 (the longest length)."""
        return LENGTH_RANGE[1]

    def _generate(self, rng: np.random.Generator, n: int, opts: dict[str, Any]) -> Batch:
        cols = np.arange(n)
        lengths = rng.integers(LENGTH_RANGE[0], LENGTH_RANGE[1], size=n, endpoint=True).astype(np.int64)
        steps = int(lengths.max())
        symbols = rng.integers(2, 6, size=(LENGTH_RANGE[1], n))[:steps]     # a, b, c, d
        symbols[0] = SYM_E
        symbols[lengths - 1, cols] = SYM_B
        n_rel = len(self.windows)
        positions = np.stack([rng.integers(lo, hi, size=n, endpoint=True) for lo, hi in self.windows], axis=1)
        positions = positions - opts["origin"]                                 # 0-based indices
        relevant = (rng.random((n, n_rel)) < 0.5).astype(np.int64)             # 0: X, 1: Y (uniform)
        for j in range(n_rel):
            symbols[positions[:, j], cols] = SYM_X + relevant[:, j]
        # Class index: the X/Y string read as a binary number (X = 0), e.g. 6a: XX -> Q, XY -> R, YX -> S, YY -> U.
        cls = relevant @ (2 ** np.arange(n_rel - 1, -1, -1))
        symbols = np.where(np.arange(steps)[:, None] < lengths[None, :], symbols, -1)
        xs = one_hot_inputs(symbols, lengths, len(ALPHABET))
        targets = np.zeros((steps, n, self.n_outputs()))
        targets[lengths - 1, cols, cls] = 1.0
        return Batch(xs=xs, targets=targets, mask=end_mask(lengths, steps, self.n_outputs()), lengths=lengths,
                     info={"cls": cls.astype(np.int64), "positions": positions.astype(np.int64),
                           "relevant": relevant, "symbols": np.ascontiguousarray(symbols.T)})


class TemporalOrderTask(_OrderTask):
    """Experiment 6a: two relevant symbols, four classes (Section 5.6, Table 9)."""

    name = "6a"
    aliases = ("order2", "temporal-order")
    title = "temporal order, two relevant symbols"
    experiment = "Exp. 6a, Section 5.6"
    tables = "Table 9"
    description = "E, a-d noise, X|Y at t1 in [10,20] and t2 in [50,60], B; 4 classes XX, XY, YX, YY"
    windows = ((10, 20), (50, 60))
    class_names = ("Q", "R", "S", "U")
    paper_rows = ({},)


class TemporalOrder3Task(_OrderTask):
    """Experiment 6b: three relevant symbols, eight classes (Section 5.6, Table 9)."""

    name = "6b"
    aliases = ("order3",)
    title = "temporal order, three relevant symbols"
    experiment = "Exp. 6b, Section 5.6"
    tables = "Table 9"
    description = "E, a-d noise, X|Y at t1 in [10,20], t2 in [33,43], t3 in [66,76], B; 8 classes"
    windows = ((10, 20), (33, 43), (66, 76))
    class_names = ("Q", "R", "S", "U", "V", "A", "B", "C")
    paper_rows = ({},)
