"""What every error-flow measurement shares: numbers far outside float64's range, running the generated kernels
forward and back, and the measurement records (see :mod:`lstm_proofs.flow.measure` for the claims).

Flows over 1000 steps span hundreds of orders of magnitude. Backward errors are therefore carried as a float
mantissa times ``2**exponent`` (:class:`Scaled`): after every step each batch element's errors are rescaled by a
power of two when they leave ``[2**-200, 2**200]``. Scaling by a power of two is exact, so the mantissas are the
very numbers the kernels would produce, and nothing overflows, underflows or warns. Each batch element carries the
error of one injection (one cell, or one unit), so that the rescaling follows that error alone.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable

import numpy as np

from lstm_proofs.network.model import load_kernels
from lstm_proofs.network.topology import Params, Topology

#: Errors are rescaled by a power of two whenever their magnitude leaves [2**-RESCALE_AT, 2**RESCALE_AT].
RESCALE_AT = 200
_LN2 = math.log(2.0)


# ----- numbers far outside float64's range -----

@dataclass(frozen=True)
class Scaled:
    """Values ``mantissa * 2**exponent`` (exponent broadcast against the mantissa).

    Attributes:
        mantissa: float array.
        exponent: integer array broadcastable to ``mantissa``.
    """

    mantissa: np.ndarray
    exponent: np.ndarray

    def ln_abs(self) -> np.ndarray:
        """Natural log of the magnitude (``-inf`` for zeros)."""
        m = np.abs(self.mantissa)
        safe = np.where(m > 0, m, 1.0)
        return np.where(m > 0, np.log(safe) + self.exponent * _LN2, -np.inf)

    def log10_abs(self) -> np.ndarray:
        """Base-10 log of the magnitude (``-inf`` for zeros)."""
        return self.ln_abs() / math.log(10.0)

    def sign(self) -> np.ndarray:
        """Signs of the values (-1, 0, 1)."""
        return np.sign(self.mantissa)

    def values(self) -> np.ndarray:
        """The values as floats, ``nan`` where they would leave float64's normal range (|log10| > 307)."""
        lg = self.log10_abs()
        ok = (lg < 307) & ((lg > -307) | (self.mantissa == 0))
        e = np.broadcast_to(self.exponent, self.mantissa.shape)
        return np.where(ok, np.ldexp(np.where(ok, self.mantissa, 0.0), np.where(ok, e, 0)), np.nan)

    def ratio(self, other: "Scaled") -> np.ndarray:
        """``self / other`` elementwise (scaling by the exponent difference is exact)."""
        num, den = np.broadcast_arrays(self.mantissa, other.mantissa)
        de = np.broadcast_to(np.asarray(self.exponent) - np.asarray(other.exponent), num.shape)
        q = num / np.where(den != 0, den, 1.0)
        return np.where(den != 0, np.ldexp(q, np.clip(de, -1000, 1000)), np.nan)

    @classmethod
    def from_ln(cls, ln_abs: np.ndarray, sign: np.ndarray | float = 1.0) -> "Scaled":
        """Values ``sign * exp(ln_abs)`` as mantissa and exponent (for predictions given in log form)."""
        ln_abs = np.asarray(ln_abs, dtype=float)
        e = np.floor(ln_abs / _LN2).astype(np.int64)
        return cls(np.sign(sign) * np.exp(ln_abs - e * _LN2), e)

    def __getitem__(self, index: Any) -> "Scaled":
        e = np.broadcast_to(self.exponent, self.mantissa.shape)
        return Scaled(self.mantissa[index], e[index])


def _rescale(arrays: list[np.ndarray | None], exponent: np.ndarray) -> tuple[list[np.ndarray | None], np.ndarray]:
    """Rescale each batch element (leading axis) by a power of two if its magnitude left the safe range."""
    present = [a for a in arrays if a is not None]
    B = exponent.shape[0]
    mag = np.max(np.concatenate([np.abs(a).reshape(B, -1) for a in present], axis=1), axis=1)
    out_of_range = (mag > 2.0 ** RESCALE_AT) | ((mag > 0) & (mag < 2.0 ** -RESCALE_AT))
    if not out_of_range.any():
        return arrays, exponent
    k = np.where(out_of_range, np.frexp(mag)[1], 0)
    scaled = [None if a is None else np.ldexp(a, -k.reshape((B,) + (1,) * (a.ndim - 1))) for a in arrays]
    return scaled, exponent + k


# ----- running the generated kernels -----

def lag_grid(max_lag: int, points: int = 60) -> np.ndarray:
    """Log-spaced integer lags from 1 to ``max_lag``, both included exactly.

    Args:
        max_lag: the largest lag (>= 1).
        points: approximate number of lags.

    Returns:
        Sorted unique int array.
    """
    grid = np.unique(np.round(np.logspace(0.0, math.log10(max_lag), points)).astype(np.int64))
    grid[0], grid[-1] = 1, max_lag
    return np.unique(grid)


def run_forward(top: Topology, params: Params, xs: np.ndarray, a0: np.ndarray | None = None,
                s0: np.ndarray | None = None, kernels: ModuleType | None = None) -> list[tuple]:
    """Run the generated ``forward_step`` over ``xs`` (T, B, I) and return the per-step caches.

    Args:
        top, params: the network.
        xs: inputs, time-major.
        a0: initial hidden activations (B, N_a); zeros by default.
        s0: initial states (B, C, S); zeros by default (cells with a state only).
        kernels: generated module (default: the topology's cell).

    Returns:
        The caches of ``forward_step``, one per time step.
    """
    k = kernels if kernels is not None else load_kernels(top.cell)
    T, B, _ = xs.shape
    a = np.zeros((B, top.n_activations)) if a0 is None else np.array(a0, dtype=float)
    s = None
    if k.STATE:
        s = np.zeros((B, top.n_blocks, top.block_size)) if s0 is None else np.array(s0, dtype=float)
    P = params.cell_params(top)
    caches = []
    for t in range(T):
        _, a, s, cache = k.forward_step(params.W_hidden, params.W_output, P, xs[t], a, s, top.n_blocks,
                                        top.block_size)
        caches.append(cache)
    return caches


def cache_values(kernels: ModuleType, cache: tuple, params: tuple[np.ndarray, ...] = ()) -> dict[str, np.ndarray]:
    """Name the cell quantities in a ``forward_step`` cache: the cell's inputs, then its assigned quantities.

    The generated cache is ``(z, u, <cell_forward arguments but the per-cell parameters>, <TARGETS>, net_k,
    y_k)``: the per-cell parameters (peepholes) are not part of it; pass them as ``params``.

    Args:
        kernels: the generated module.
        cache: one cache of its ``forward_step``.
        params: the per-cell parameters in ``kernels.PARAMS`` order, each (C, S) (cells that have them).

    Returns:
        ``{name: array}`` for every argument of ``cell_forward`` (the per-cell parameters where given) and every
        name in ``TARGETS``.
    """
    per_cell = tuple(getattr(kernels, "PARAMS", ()))
    names = [n for n in inspect.signature(kernels.cell_forward).parameters if n not in per_cell]
    names += list(kernels.TARGETS)
    inner = cache[2:-2]
    if len(inner) != len(names):
        raise RuntimeError(f"cache of {kernels.CELL!r} has {len(inner)} cell values, expected {names}")
    out = dict(zip(names, inner))
    out.update(zip(per_cell, params))
    return out


def _kernel_args(kernels: ModuleType, fn: Callable, cache: tuple, params: tuple[np.ndarray, ...] = ()
                 ) -> list[np.ndarray]:
    values = cache_values(kernels, cache, params)
    return [values[p] for p in inspect.signature(fn).parameters]


@dataclass
class BackwardRecord:
    """Errors of one backward pass, per time step ``tau`` (index 0 = first step).

    Attributes:
        d_a: (T, B, N_a) error arriving at the activations ``a(tau)`` (from step ``tau+1``, or the injection).
        d_s: (T, B, C, S) error arriving at the state ``s(tau)`` from step ``tau+1`` (or the injection); None for
            cells without a state.
        d_net: (T, rows of W_hidden) errors at the net inputs of step ``tau``, summed over the batch: the bias
            column of the generated ``dW_hidden`` (its source is 1.0, so for a batch of one these are exactly the
            errors at the net inputs).
        exponent: (T, B) the errors of batch element b at step tau are the mantissas above times 2**exponent.
    """

    d_a: np.ndarray
    d_s: np.ndarray | None
    d_net: np.ndarray
    exponent: np.ndarray


def backward_errors(top: Topology, params: Params, caches: list[tuple], d_a_t: np.ndarray,
                    d_s_t: np.ndarray | None, truncated: bool, kernels: ModuleType | None = None) -> BackwardRecord:
    """Inject errors at the last step's activations and state and run the generated ``backward_step`` back.

    No error is given at the output units. After each step the errors are rescaled by powers of two where needed
    (see the module docstring), which is exact.

    Args:
        top, params: the network; caches: from :func:`run_forward`.
        d_a_t: (B, N_a) error injected at the activations of the last step.
        d_s_t: (B, C, S) error injected at the last state (None for cells without a state).
        truncated: the paper's truncated gradient (Section 4, Appendix A.1) or the full one.
        kernels: generated module (default: the topology's cell).

    Returns:
        The :class:`BackwardRecord`.
    """
    k = kernels if kernels is not None else load_kernels(top.cell)
    T = len(caches)
    B = d_a_t.shape[0]
    P = params.cell_params(top)
    d_y_k = np.zeros((B, top.n_out))
    rec_a = np.empty((T,) + d_a_t.shape)
    rec_s = None if d_s_t is None else np.empty((T,) + d_s_t.shape)
    rec_net = np.empty((T, top.n_units))
    rec_e = np.empty((T, B), dtype=np.int64)
    d_a, d_s = np.array(d_a_t, dtype=float), None if d_s_t is None else np.array(d_s_t, dtype=float)
    exponent = np.zeros(B, dtype=np.int64)
    for tau in range(T - 1, -1, -1):
        rec_a[tau], rec_e[tau] = d_a, exponent
        if rec_s is not None:
            rec_s[tau] = d_s
        dW_hidden, _, _, d_a, d_s = k.backward_step(params.W_hidden, params.W_output, P, caches[tau], d_y_k, d_a,
                                                    d_s, truncated, top.n_blocks, top.block_size)
        rec_net[tau] = dW_hidden[:, -1]
        (d_a, d_s), exponent = _rescale([d_a, d_s], exponent)
    return BackwardRecord(rec_a, rec_s, rec_net, rec_e)


def fit_rate(ln_abs_flow: np.ndarray) -> float:
    """Rate per step: ``exp`` of the least-squares slope of ``ln |flow(q)|`` against q = 1, 2, ...

    Args:
        ln_abs_flow: (Q,) natural logs of the flow at lags 1 .. Q (non-finite entries are left out).

    Returns:
        The fitted rate.
    """
    q = np.arange(1, len(ln_abs_flow) + 1, dtype=float)
    ok = np.isfinite(ln_abs_flow)
    q, y = q[ok], ln_abs_flow[ok]
    qc = q - q.mean()
    return math.exp(float(np.sum(qc * (y - y.mean())) / np.sum(qc * qc)))


# ----- experiments: the claims, measured -----

@dataclass
class Curve:
    """One flow series over lags 1 .. max_lag, and its prediction (same length), for JSON and plotting."""

    label: str
    flow: Scaled  # (max_lag,)
    predicted: Scaled | None = None

    def to_json(self, lags: np.ndarray) -> dict[str, Any]:
        idx = lags - 1
        out: dict[str, Any] = {"label": self.label, **_series_json(self.flow[idx], "flow")}
        if self.predicted is not None:
            out.update(_series_json(self.predicted[idx], "predicted"))
        return out


def _series_json(s: Scaled, name: str) -> dict[str, Any]:
    vals = s.values()
    return {
        name: [None if not np.isfinite(v) else float(v) for v in vals],
        f"{name}_log10_abs": [float(x) if np.isfinite(x) else None for x in s.log10_abs()],
        f"{name}_sign": [int(x) for x in s.sign()],
    }


@dataclass
class Measurement:
    """One measured claim: the figure, its tolerance, the verdict, and the series behind it.

    Attributes:
        id: check id without the ``flow/`` prefix.
        model: short model name for tables and plots.
        title: what is measured, one line.
        claim: the paper's equation/section.
        description: the networks and operating points used.
        figure_name: what ``figure`` is.
        figure: the measured figure held to ``tolerance``.
        tolerance: the bound (None for information only).
        passed: verdict.
        predicted_rate, measured_rate: per-step rates where the claim is about a rate (else None).
        curves: series for JSON and plot (the first is plotted).
        details: further figures.
        informational: True if the figure is reported, not held to a bound.
        reference: what the measured flow is compared with.
        message: on failure, what failed.
        seconds: time taken.
    """

    id: str
    model: str
    title: str
    claim: str
    description: str
    figure_name: str
    figure: float
    tolerance: float | None
    passed: bool
    predicted_rate: float | None = None
    measured_rate: float | None = None
    curves: list[Curve] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    informational: bool = False
    reference: str = ""
    message: str = ""
    seconds: float = 0.0

    def to_json(self, lags: np.ndarray) -> dict[str, Any]:
        """JSON-ready dict with the series sampled at ``lags``."""
        return {
            "id": "flow/" + self.id, "model": self.model, "title": self.title, "claim": self.claim,
            "description": self.description, "figure_name": self.figure_name, "figure": self.figure,
            "tolerance": self.tolerance, "passed": self.passed, "informational": self.informational,
            "predicted_rate": self.predicted_rate, "measured_rate": self.measured_rate,
            "reference": self.reference, "details": self.details, "message": self.message,
            "seconds": round(self.seconds, 3),
            "series": [c.to_json(lags) for c in self.curves],
        }


def _worst(values: list[float]) -> float:
    """Largest value; nan if any value is nan (so that a nan figure fails its tolerance)."""
    return float(np.max(np.asarray(values, dtype=float)))


def _ones(n: int) -> Scaled:
    return Scaled(np.ones(n), np.zeros(n, dtype=np.int64))
