"""Numerically stable primitives called by the generated kernels.

Every function accepts real or complex arrays (complex-step differentiation runs the generated code on complex
inputs) and never overflows: the exponential is only ever taken of a non-positive real part.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "block_sum"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))``, stable for any finite ``x`` (e.g. |x| = 1000).

    For ``Re x >= 0`` it evaluates ``1 / (1 + exp(-x))``, otherwise ``exp(x) / (1 + exp(x))``; both branches are
    analytic in ``x``, so complex-step derivatives through it are exact.

    Args:
        x: real or complex array.

    Returns:
        ``sigma(x)``, same shape and dtype kind as ``x``.
    """
    x = np.asarray(x)
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
    return np.sum(x, axis=-1, keepdims=True)
