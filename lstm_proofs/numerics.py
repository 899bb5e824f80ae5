"""Numerically stable primitives called by the generated kernels.

Every function accepts real or complex arrays (complex-step differentiation runs the generated code on complex
inputs) and never overflows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "block_sum"]


def sigmoid(x: np.ndarray) -> np.ndarray:
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

    Returns:
        ``sigma(x)``, same shape and dtype kind as ``x``.
    """
    x = np.asarray(x)
    if x.dtype.kind == "f" and x.ndim:
        t = np.negative(x)
        np.minimum(t, 708.0, out=t)
        np.exp(t, out=t)
        t += 1.0
        return np.divide(1.0, t, out=t)
    negative = x.real < 0
    e = np.exp(np.where(negative, x, -x))
    return np.where(negative, e, 1.0) / (1.0 + e)


def block_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis (the cells of a memory-cell block), keeping it as size 1 for broadcasting.

    Args:
        x: array shaped (..., S).

    Returns:
        Array shaped (..., 1).
    """
    return np.add.reduce(x, axis=-1, keepdims=True)
