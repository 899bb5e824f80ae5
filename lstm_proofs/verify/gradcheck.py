"""Comparison rules and numerical references for gradient checks.

Tolerance rules (stated once, used everywhere):

* **Full gradients** (against autograd, truncated BPTT, the forward-trace learner, the 50-digit reference) are
  compared per parameter array, normwise: ``err_P = max_i |g_i - r_i| / max_i |r_i|`` (0/0 counts as 0). A check's
  figure is the largest ``err_P`` over the arrays; it passes when the figure is ``<=`` the tolerance. Normwise, not
  elementwise, because an element whose true value is tiny relative to its array (or exactly zero) has no
  meaningful relative error in floating point.
* **Directional derivatives** (complex step, finite differences) along a direction ``d``:
  ``err = |<d, g> - D_d L| / <|d|, |g|>``. The denominator is the condition number of the dot product, so rounding in
  ``<d, g>`` cannot fail a correct gradient, while a wrong component of relative size ``eps`` shows as ``~eps``.

Step sizes: complex step ``h = 1e-30`` (no subtractive cancellation: ``D_d L = Im L(w + i h d) / h`` is exact to
machine precision for analytic code); central differences ``h = eps^(1/3) * max(1, |w|_inf)`` with ``|d|_inf = 1``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lstm_proofs.network.topology import Params, Topology


@dataclass
class Comparison:
    """Result of comparing a gradient with a reference, normwise per array."""

    error: float
    array: str
    index: tuple[int, ...]
    value: float
    reference: float
    per_array: dict[str, float]

    def message(self, cell: str, rule: str) -> str:
        """Failure message naming the cell, parameter array, index, both values and the rule."""
        return (f"cell {cell}: {self.array}{list(self.index)} generated {self.value!r} vs reference {self.reference!r}; "
                f"{rule}: normwise error of {self.array} {self.error:.3g}")


class WorstCase:
    """The largest error over several comparisons of one check, with the message of the run that produced it and a
    record of every run (for the check's details)."""

    def __init__(self) -> None:
        self.error = 0.0
        self.message = ""
        self.where = ""
        self.runs: list[dict[str, object]] = []

    def add(self, error: float, message: str, where: str, **details: object) -> None:
        """Record one run; it becomes the worst case if its error is larger (or NaN)."""
        self.runs.append({"where": where, "error": error, **details})
        if not error <= self.error:
            self.error, self.message, self.where = error, message, where

    def compare(self, got: Params, ref: Params, cell: str, rule: str, where: str) -> Comparison:
        """Compare ``got`` with ``ref`` (:func:`compare_params`) and record the run."""
        cmp = compare_params(got, ref)
        self.add(cmp.error, f"{cmp.message(cell, rule)} ({where})", where, per_array=cmp.per_array)
        return cmp


def compare_params(got: Params, ref: Params) -> Comparison:
    """Normwise per-array relative error of ``got`` against ``ref`` and the worst element."""
    worst = None
    per_array = {}
    for name, r in ref.arrays.items():
        g = got.arrays[name]
        if g.shape != r.shape:
            raise ValueError(f"{name}: shape {g.shape} vs reference {r.shape}")
        scale = np.max(np.abs(r)) if r.size else 0.0
        diff = np.abs(g - r)
        dmax = float(diff.max()) if diff.size else 0.0
        err = 0.0 if dmax == 0 else (np.inf if scale == 0 else dmax / scale)
        per_array[name] = float(err)
        if worst is None or err > worst[0]:
            idx = np.unravel_index(int(np.argmax(diff)), r.shape) if r.size else ()
            worst = (err, name, tuple(int(i) for i in idx), float(g[idx]) if r.size else 0.0,
                     float(r[idx]) if r.size else 0.0)
    assert worst is not None
    return Comparison(float(worst[0]), worst[1], worst[2], worst[3], worst[4], per_array)


def directional_error(grad_vector: np.ndarray, direction: np.ndarray, derivative: float) -> float:
    """``|<d, g> - D_d L| / <|d|, |g|>`` (0 when both sides are exactly 0)."""
    num = abs(float(direction @ grad_vector) - derivative)
    den = float(np.abs(direction) @ np.abs(grad_vector))
    return 0.0 if num == 0 else (np.inf if den == 0 else num / den)


def _warn_precision(*arrays: np.ndarray) -> None:
    if any(np.asarray(a).dtype == np.float32 for a in arrays):
        warnings.warn("float32 inputs: gradient checks are meant for float64; tolerances assume it", UserWarning,
                      stacklevel=3)


def complex_step(loss: Callable[[Params], complex], top: Topology, params: Params, direction: np.ndarray,
                 h: float = 1e-30) -> float:
    """Directional derivative ``Im L(w + i h d) / h`` (exact to machine precision for analytic code)."""
    _warn_precision(params.W_hidden)
    v = params.to_vector(top)
    return float(np.imag(loss(Params.from_vector(top, v + 1j * h * direction)))) / h


def central_difference(loss: Callable[[Params], float], top: Topology, params: Params,
                       direction: np.ndarray) -> float:
    """Central finite difference along ``direction`` (``|d|_inf`` is normalised to 1 first)."""
    _warn_precision(params.W_hidden)
    v = params.to_vector(top)
    d = direction / np.max(np.abs(direction))
    h = np.finfo(float).eps ** (1 / 3) * max(1.0, float(np.max(np.abs(v))))
    up = loss(Params.from_vector(top, v + h * d))
    down = loss(Params.from_vector(top, v - h * d))
    return float((up - down) / (2 * h)) * float(np.max(np.abs(direction)))
