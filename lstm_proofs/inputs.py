"""Input sequences held compactly: one-hot codes as symbol indices.

The tasks of Exps. 1, 2 and 6 feed one-hot codes: one input is 1.0 at each step, the others 0.0. Held densely, a
batch of the very-long-lag task (Exp. 2c, q = p = 1000: about 1,012 steps, 1,004 inputs) takes 8 MB per sequence,
and making it, copying it and finding its nonzero entries again cost several times what the compiled learner
spends on the sequence. :class:`OneHotInputs` keeps only the symbol of every step; it turns into the dense
``(T, n, size)`` array wherever one is asked for (``np.asarray``, :meth:`OneHotInputs.dense`), and hands the
compiled kernels their list of nonzero inputs directly (:meth:`OneHotInputs.input_lists`), with the same results
bit for bit (the kernels' sparse path reads the same values, 1.0, at the same places).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import numpy as np

__all__ = ["Inputs", "OneHotInputs", "select_sequences"]


class OneHotInputs:
    """Time-major one-hot inputs ``(T, n, size)`` held as the symbol of every step.

    Args:
        symbols: ``(T, n)`` integers in ``[0, size)``, or -1 where no input is 1.0 (the padding after a
            sequence's end).
        size: the number of inputs (symbols).

    Raises:
        ValueError: for symbols that are not a 2-d integer array or lie outside ``[-1, size)``.
    """

    ndim = 3
    dtype = np.dtype(np.float64)

    def __init__(self, symbols: np.ndarray, size: int) -> None:
        sym = np.asarray(symbols)
        if sym.ndim != 2 or not np.issubdtype(sym.dtype, np.integer):
            raise ValueError(f"one-hot symbols must be a 2-d integer array, got {sym.dtype} {sym.shape}")
        if int(size) < 1:
            raise ValueError(f"one-hot size must be at least 1, got {size}")
        if sym.size and (sym.min() < -1 or sym.max() >= size):
            raise ValueError(f"one-hot symbols must lie in [-1, {size}), got [{sym.min()}, {sym.max()}]")
        self.symbols = np.array(sym, dtype=np.int64, order="C")  # an own copy, read-only: the dense form is kept
        self.symbols.flags.writeable = False
        self.size = int(size)
        self._dense: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, n, size)``, the shape of the dense array."""
        return (*self.symbols.shape, self.size)  # type: ignore[return-value]

    def dense(self) -> np.ndarray:
        """The dense ``(T, n, size)`` float64 array: 1.0 at each step's symbol, 0.0 elsewhere. Made on the first
        call and kept (read-only), so that a forward and a backward pass over the same inputs make it once."""
        if self._dense is None:
            out = np.zeros(self.shape)
            t, b = np.nonzero(self.symbols >= 0)
            out[t, b, self.symbols[t, b]] = 1.0
            out.flags.writeable = False
            self._dense = out
        return self._dense

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        out = self.dense()
        if copy:
            return out.astype(dtype or out.dtype)
        return out if dtype is None else out.astype(dtype, copy=False)

    def input_lists(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The nonzero inputs of every step as compressed rows, the form the compiled kernels' sparse path takes:
        step t of sequence b (row r = t * n + b) has the inputs ``IDX[OFF[r]:OFF[r + 1]]`` with values
        ``VAL[OFF[r]:OFF[r + 1]]`` (here at most one, 1.0)."""
        flat = self.symbols.reshape(-1)
        on = flat >= 0
        off = np.zeros(flat.size + 1, dtype=np.int64)
        np.cumsum(on, out=off[1:])
        idx = flat[on]
        return off, idx, np.ones(idx.size)

    def take(self, indices: Sequence[int] | np.ndarray, steps: int | None = None) -> OneHotInputs:
        """The sequences at ``indices`` (in that order), their first ``steps`` steps (default: all)."""
        return OneHotInputs(self.symbols[:steps, np.asarray(indices, dtype=np.int64)], self.size)

    def padded(self, steps: int) -> np.ndarray:
        """The symbols with time padded to ``steps`` steps (-1: no input)."""
        return np.pad(self.symbols, [(0, steps - self.symbols.shape[0]), (0, 0)], constant_values=-1)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OneHotInputs):
            return NotImplemented
        return self.size == other.size and np.array_equal(self.symbols, other.symbols)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"OneHotInputs(shape={self.shape})"


#: input sequences as the networks and learners take them: a dense ``(T, B, I)`` array or one-hot symbols
Inputs = Union[np.ndarray, OneHotInputs]


def select_sequences(xs: Inputs, indices: np.ndarray) -> Inputs:
    """The sequences (second axis) at ``indices`` of dense or one-hot inputs, contiguous."""
    if isinstance(xs, OneHotInputs):
        return xs.take(indices)
    return np.ascontiguousarray(xs[:, indices])
