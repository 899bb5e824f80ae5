"""Numerically stable primitives called by the generated kernels.

Every function accepts real or complex arrays (complex-step differentiation runs the generated code on complex
inputs) and never overflows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "sigmoid_pair", "block_sum", "ones_column"]


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))``, stable for any finite ``x`` (e.g. |x| = 1000).

    Real arrays (the hot path: called many times per time step on small arrays, so it costs five in-place NumPy
    calls and no branch): ``1 / (1 + exp(min(-x, 708)))``. The clamp keeps the exponential finite; it changes
    the result only where ``x < -708``, where the exact value is below 3.4e-308 and the clamped one is 3.3e-308.
    Everywhere else this is the textbook formula, accurate to a few units in the last place for either sign.

    Complex arrays (complex-step differentiation): ``1 / (1 + exp(-x))`` for ``Re x >= 0``, otherwise
    ``exp(x) / (1 + exp(x))``; both branches are analytic in ``x``, so complex-step derivatives through it are
    exact, and the exponential is only ever taken of a non-positive real part.

    Args:
        x: real or complex array.
        out: optional array shaped like ``x`` to write the result into (and return).

    Returns:
        ``sigma(x)``, same shape and dtype kind as ``x``.
    """
    x = np.asarray(x)
    if x.dtype.kind == "f" and x.ndim and (out is None or out.dtype == x.dtype):
        t = np.negative(x, out=out)
        np.minimum(t, 708.0, out=t)
        np.exp(t, out=t)
        t += 1.0
        return np.divide(1.0, t, out=t)
    negative = x.real < 0
    e = np.exp(np.where(negative, x, -x))
    value = np.where(negative, e, 1.0) / (1.0 + e)
    if out is None:
        return value
    out[...] = value
    return out


def sigmoid_pair(x: np.ndarray, out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(sigma(x), sigma(-x))`` in one pass: the logistic function and its mirror image, whose product is the
    derivative ``sigma'(x)``.

    Real arrays: with ``E = exp(clip(-x, -708, 708))``, ``sigma(x) = 1 / (1 + E)`` and ``sigma(-x) = E * sigma(x)``
    (= ``E / (1 + E)``). Seven NumPy calls instead of the ten of two :func:`sigmoid` calls. Both stay accurate
    to a few units in the last place for either sign of ``x`` (no ``1 - sigma`` cancellation), ``E`` stays
    finite, and the product ``E * sigma(x)`` never exceeds 1. The clamp is that of :func:`sigmoid`, on both sides:
    beyond ``|x| = 708`` the smaller value is 3.3e-308 instead of below 3.4e-308 and the larger is 1, exactly as
    two :func:`sigmoid` calls give them (so kernels that use either agree there too).

    Complex arrays (complex-step differentiation): two :func:`sigmoid` calls, each analytic.

    Args:
        x: real or complex array.
        out: optional pair of arrays shaped like ``x`` to write the two results into (and return); either may be
            None (a new array).

    Returns:
        ``(sigma(x), sigma(-x))``, each shaped like ``x``.
    """
    x = np.asarray(x)
    pos, neg = (None, None) if out is None else out
    dt = x.dtype
    if dt.kind == "f" and x.ndim and (pos is None or pos.dtype == dt) and (neg is None or neg.dtype == dt):
        e = np.negative(x, out=neg)
        np.minimum(e, 708.0, out=e)
        np.maximum(e, -708.0, out=e)  # the same clamp as sigmoid(-x) applies to its own exponential
        np.exp(e, out=e)
        pos = np.add(e, 1.0, out=pos)
        np.divide(1.0, pos, out=pos)
        e *= pos
        return pos, e
    return sigmoid(x, out=pos), sigmoid(-x, out=neg)


def block_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis (the cells of a memory-cell block), keeping it as size 1 for broadcasting.

    Args:
        x: array shaped (..., S).

    Returns:
        Array shaped (..., 1).
    """
    return np.add.reduce(x, axis=-1, keepdims=True)


_ONES: dict[tuple[int, str], np.ndarray] = {}


def ones_column(rows: int, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """A read-only ``(rows, 1)`` array of ones (the bias source y = 1), cached per shape and dtype.

    The network steps append it to their source vectors at every time step; ``np.ones`` costs about three times
    a ufunc call at these sizes. The array is read-only, so sharing it is safe.
    """
    key = (rows, np.dtype(dtype).str)
    ones = _ONES.get(key)
    if ones is None:
        ones = np.ones((rows, 1), dtype=dtype)
        ones.setflags(write=False)
        _ONES[key] = ones
    return ones
