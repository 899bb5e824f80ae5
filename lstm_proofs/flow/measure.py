"""Error flow back in time, measured with the generated kernels (Section 3 eqs. 1-2; Appendix A.2 eqs. 30-41).

Every figure here comes from running the generated ``forward_step`` / ``backward_step`` / ``cell_traces`` /
``cell_exit`` of a cell over a sequence, injecting an error at the last step ``t`` and reading where it arrives
``q`` steps earlier. The predictions it is compared with are computed separately, from the paper's formulas and
the forward values of the same run:

* conventional units (eqs. 1, 2): ``d theta_v(t-q) / d theta_u(t)`` against the eq. (1) recursion, the rate
  ``|f'(net*) w|`` per step at a fixed operating point, and the weak upper bound ``n (f'_max ||W||_A)^q`` of
  Section 3.1 (spec 1.4, max-row-sum norm);
* the 1997 cell (eqs. 30, 35, 40, 41): the truncated state-to-state flow, exactly 1; the error at ``net_c(t-q)``
  and ``net_in(t-q)`` against ``y_out(t) h'(s(t))`` times ``g'(net_c(t-q)) y_in(t-q)`` resp.
  ``g(net_c(t-q)) f'_in(net_in(t-q))``; and, for information, how far the full gradient's flow is from 1;
* the forget-gate cell (Gers et al. 2000): the truncated state-to-state flow against the product of the forget-gate
  activations over the lag.

Flows over 1000 steps span hundreds of orders of magnitude. Backward errors are therefore carried as a float
mantissa times ``2**exponent`` (:class:`Scaled`): after every step each batch element's errors are rescaled by a
power of two when they leave ``[2**-200, 2**200]``. Scaling by a power of two is exact, so the mantissas are the
very numbers the kernels would produce, and nothing overflows, underflows or warns. Each batch element carries the
error of one injection (one cell, or one unit), so that the rescaling follows that error alone.
"""

from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from types import ModuleType
from typing import Any, Callable

import numpy as np

from lstm_proofs.network.model import load_kernels
from lstm_proofs.network.topology import Params, Topology, init_params
from lstm_proofs.numerics import sigmoid

__all__ = [
    "BackwardRecord", "Curve", "Measurement", "Scaled", "UNIT_DERIVATIVES", "at_cells", "backward_errors",
    "cache_values", "conventional_flow", "entry_exit_ratios", "eq1_recursion", "eq2_path_sum", "fit_rate",
    "flow_payload", "gate_product", "lag_grid", "logistic_fixed_points", "measure_all", "norm_bound_log",
    "realised_fprime", "recurrent_weights", "replicate_per_cell", "run_forward", "state_flow", "trace_flow",
]

#: Errors are rescaled by a power of two whenever their magnitude leaves [2**-RESCALE_AT, 2**RESCALE_AT].
RESCALE_AT = 200
_LN2 = math.log(2.0)


def _logistic_prime(net: np.ndarray) -> np.ndarray:
    """f'(x) = e^{-|x|} / (1 + e^{-|x|})^2 for f = 1/(1 + e^{-x}) (eq. 3); accurate when saturated."""
    e = np.exp(-np.abs(net))
    return e / (1.0 + e) ** 2


def _tanh_prime(net: np.ndarray) -> np.ndarray:
    """tanh'(x) = 1 - tanh^2 x = 4 e^{-2|x|} / (1 + e^{-2|x|})^2, without the cancellation of 1 - tanh^2."""
    e = np.exp(-2.0 * np.abs(net))
    return 4.0 * e / (1.0 + e) ** 2


#: Derivatives of the conventional units' squashing functions, written from the definitions (eq. 3 logistic,
#: Section 3.2 linear, tanh), independently of the generated code: the predictions of eqs. (1), (2) use these.
UNIT_DERIVATIVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "rnn": _logistic_prime,
    "rnn_linear": lambda net: np.ones_like(net),
    "rnn_tanh": _tanh_prime,
}


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


def cache_values(kernels: ModuleType, cache: tuple) -> dict[str, np.ndarray]:
    """Name the cell quantities in a ``forward_step`` cache: the cell's inputs, then its assigned quantities.

    The generated cache is ``(z, u, <cell_forward arguments>, <TARGETS>, net_k, y_k)``.

    Args:
        kernels: the generated module.
        cache: one cache of its ``forward_step``.

    Returns:
        ``{name: array}`` for every argument of ``cell_forward`` and every name in ``TARGETS``.
    """
    names = list(inspect.signature(kernels.cell_forward).parameters) + list(kernels.TARGETS)
    inner = cache[2:-2]
    if len(inner) != len(names):
        raise RuntimeError(f"cache of {kernels.CELL!r} has {len(inner)} cell values, expected {names}")
    return dict(zip(names, inner))


def _kernel_args(kernels: ModuleType, fn: Callable, cache: tuple) -> list[np.ndarray]:
    values = cache_values(kernels, cache)
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


# ----- the memory cells: Appendix A.2 -----

def replicate_per_cell(xs: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Copy every input sequence once per cell, so that each batch element can carry the error of one cell.

    Args:
        xs: (T, B, I) inputs; n_cells: cells of the network.

    Returns:
        ``(xs_rep, cells)``: (T, B * n_cells, I) inputs (sequence-major) and the (B * n_cells,) cell index of each
        batch element.
    """
    T, B, I = xs.shape
    return np.repeat(xs, n_cells, axis=1), np.tile(np.arange(n_cells), B)


def state_flow(top: Topology, params: Params, caches: list[tuple], truncated: bool, cells: np.ndarray,
               kernels: ModuleType | None = None) -> Scaled:
    """State-to-state error flow ``d s_j(t) / d s_j(t-q)`` for q = 1 .. T-1, from the generated ``backward_step``.

    Batch element b gets an error of 1 at the state ``s_j(t)`` of cell ``j = cells[b]`` at the last step
    ``t = T-1``, and the internal-state error of eq. (33) is read at ``t-q``:
    ``theta_s(t-q) = d_s(t-q) + dy_c/ds(t-q) * d_y_c(t-q)``, the error reaching ``s(t-q)`` through the next state
    plus the one reaching it through the cell output (``dy_c/ds`` from the generated ``cell_exit``). Under
    truncation no error reaches the cell outputs from later steps (eq. 34), so ``theta_s(t-q) = d_s(t-q)``.
    One injected cell per batch element keeps the power-of-two rescaling exact and per cell.

    Args:
        top, params, caches: the network and its forward pass (batch B).
        truncated: truncated (paper) or full gradient.
        cells: (B,) flat cell index (block-major) injected in each batch element.
        kernels: generated module (default: the topology's cell).

    Returns:
        :class:`Scaled` (T-1, B): entry ``[q-1, b]`` is ``d s_j(t) / d s_j(t-q)`` with ``j = cells[b]``.
    """
    k = kernels if kernels is not None else load_kernels(top.cell)
    B = caches[0][0].shape[0]
    C, S, CS = top.n_blocks, top.block_size, top.n_cells
    rows = np.arange(B)
    d_s = np.zeros((B, CS))
    d_s[rows, cells] = 1.0
    rec = backward_errors(top, params, caches, np.zeros((B, top.n_activations)), d_s.reshape(B, C, S),
                          truncated, k)
    T = len(caches)
    theta = np.empty((T - 1, B))
    for q in range(1, T):
        tau = T - 1 - q
        dyc_ds = np.broadcast_to(k.cell_exit(*_kernel_args(k, k.cell_exit, caches[tau]))[0], (B, C, S))
        d_yc = rec.d_a[tau][rows, cells]
        theta[q - 1] = rec.d_s[tau].reshape(B, CS)[rows, cells] + dyc_ds.reshape(B, CS)[rows, cells] * d_yc  # (33)
    return Scaled(theta, rec.exponent[::-1][1:])  # steps t-1, t-2, ..., 0


def trace_flow(top: Topology, caches: list[tuple], kernels: ModuleType | None = None) -> Scaled:
    """Product of the truncated trace partials ``J = ds(tau)/ds(tau-1)`` (generated ``cell_traces``, eq. 30).

    Args:
        top: the network; caches: its forward pass (batch B, T steps).
        kernels: generated module (default: the topology's cell).

    Returns:
        :class:`Scaled` (T-1, B, C, S): entry ``q-1`` is ``prod_{tau=t-q+1}^{t} J(tau)`` with ``t = T-1``.
    """
    k = kernels if kernels is not None else load_kernels(top.cell)
    return _running_product([k.cell_traces(*_kernel_args(k, k.cell_traces, c))[0] for c in caches])


def gate_product(top: Topology, caches: list[tuple], gate: str, kernels: ModuleType | None = None) -> Scaled:
    """Product of a gate's activations ``y_<gate>(tau)`` over the lag, from the forward values.

    Args:
        top: the network; caches: its forward pass (batch B, T steps).
        gate: gate name, e.g. ``forget``.
        kernels: generated module (default: the topology's cell).

    Returns:
        :class:`Scaled` (T-1, B, C, S): entry ``q-1`` is ``prod_{tau=t-q+1}^{t} y_gate(tau)`` (broadcast over
        the cells of each block).
    """
    k = kernels if kernels is not None else load_kernels(top.cell)
    shape = (caches[0][0].shape[0], top.n_blocks, top.block_size)
    return _running_product([np.broadcast_to(cache_values(k, c)["y_" + gate], shape) for c in caches])


def _running_product(factors: list[np.ndarray]) -> Scaled:
    """``prod_{tau=t-q+1}^{t} factor(tau)`` for q = 1 .. T-1; every element is renormalised by a power of two at
    every step (``frexp``, exact), so the product neither underflows nor overflows."""
    T = len(factors)
    shape = factors[0].shape
    out = np.empty((T - 1,) + shape)
    exps = np.empty((T - 1,) + shape, dtype=np.int64)
    prod, e = np.ones(shape), np.zeros(shape, dtype=np.int64)
    for q in range(1, T):
        prod, de = np.frexp(prod * factors[T - q])
        e = e + de
        out[q - 1], exps[q - 1] = prod, e
    return Scaled(out, exps)


def at_cells(s: Scaled, cells: np.ndarray) -> Scaled:
    """Select cell ``cells[b]`` of batch element b from a per-cell series (T-1, B, C, S) -> (T-1, B)."""
    Tm, B = s.mantissa.shape[:2]
    flat = Scaled(s.mantissa.reshape(Tm, B, -1), np.broadcast_to(s.exponent, s.mantissa.shape).reshape(Tm, B, -1))
    rows = np.arange(B)
    return Scaled(flat.mantissa[:, rows, cells], flat.exponent[:, rows, cells])


def entry_exit_ratios(top: Topology, params: Params, caches: list[tuple],
                      kernels: ModuleType | None = None) -> dict[str, np.ndarray]:
    """Error at ``net_c(t-q)`` and ``net_in(t-q)`` over its eq. (40)/(41) prediction, for q = 1 .. T-1.

    An error is injected at the output ``y_c(t)`` of the first cell of every block (blocks do not exchange errors
    under truncation) and the truncated generated ``backward_step`` is run back; the errors at the net inputs are
    read from the bias column of its ``dW_hidden`` (batch of one). The prediction (eqs. 40, 41) is
    ``entry(t) * exit(t-q)`` with ``entry = y_out(t) h'(s(t))`` and ``exit = g'(net_c) y_in`` (v = c) or
    ``g(net_c) f'_in(net_in)`` (v = in), using ``h' = 2 sigma sigma(-)``, ``g' = 4 sigma sigma(-)``,
    ``f' = sigma sigma(-)``. The factors are the float64 values of these formulas at the forward values (sigma
    evaluated on arrays of the kernel's shapes); their product and the ratio are formed in exact rational
    arithmetic, so the ratio's distance from 1 is the rounding of the generated kernels alone.

    The injected error of each block is a power of two ``2**k`` chosen so that ``2**k * entry`` is near 1: after
    a drifting state, ``h'(s(t))`` can be far below 1e-300, and an error of 1 would make the kernel's entry product
    subnormal (losing relative precision to float64's range, not to the kernel). Both sides carry the same ``2**k``.

    Args:
        top, params: a ``lstm1997`` network; caches: its forward pass with a batch of one.
        kernels: generated module (default: the topology's cell).

    Returns:
        ``{"c": ratio - 1, "in": ratio - 1}``, each (T-1, C) floats; entry ``q-1`` is lag q.
    """
    k = kernels if kernels is not None else load_kernels(top.cell)
    C, S, CS = top.n_blocks, top.block_size, top.n_cells
    T = len(caches)
    if caches[0][0].shape[0] != 1:
        raise ValueError("entry_exit_ratios needs a batch of one (errors at net inputs are read from dW_hidden)")
    first = np.arange(C) * S
    row_in = CS + top.gates.index("in") * C
    vt = cache_values(k, caches[-1])
    s_t = vt["s"]
    sig_s, sig_ms = (sigmoid(s_t).reshape(CS)[first], sigmoid(-s_t).reshape(CS)[first])
    y_out_t = np.broadcast_to(vt["y_out"], (1, C, S)).reshape(CS)[first]
    entry = [Fraction(float(yo)) * Fraction(float(2.0 * a)) * Fraction(float(b))
             for yo, a, b in zip(y_out_t, sig_s, sig_ms)]  # eqs. (40), (41): y_out(t) h'(s(t))
    shift = [0 if e == 0 else int(np.clip(-math.frexp(float(e))[1], 0, 1021)) for e in entry]
    d_a = np.zeros((1, top.n_activations))
    d_a[0, first] = np.ldexp(1.0, shift)
    rec = backward_errors(top, params, caches, d_a, np.zeros((1, C, S)), True, k)
    out = {"c": np.empty((T - 1, C)), "in": np.empty((T - 1, C))}
    for q in range(1, T):
        tau = T - 1 - q
        v = cache_values(k, caches[tau])
        sc = sigmoid(v["net_c"]).reshape(CS)[first]
        sm = sigmoid(-v["net_c"]).reshape(CS)[first]
        y_in = v["y_in"].reshape(C)
        sm_in = sigmoid(-v["net_in"]).reshape(C)
        for j in range(C):
            exit_c = Fraction(float(4.0 * sc[j])) * Fraction(float(sm[j])) * Fraction(float(y_in[j]))  # g' y_in
            exit_in = (Fraction(float(4.0 * sc[j] - 2.0)) * Fraction(float(y_in[j]))
                       * Fraction(float(sm_in[j])))  # g(net_c) f'_in(net_in), f'_in = y_in sigma(-net_in)
            scale = Fraction(2) ** (int(rec.exponent[tau, 0]) - shift[j])
            for name, row, ex in (("c", first[j], exit_c), ("in", row_in + j, exit_in)):
                measured = Fraction(float(rec.d_net[tau, row])) * scale
                out[name][q - 1, j] = _exact_ratio_minus_one(measured, entry[j] * ex)
    return out


def _exact_ratio_minus_one(measured: Fraction, predicted: Fraction) -> float:
    if predicted == 0:
        return 0.0 if measured == 0 else math.inf
    return float(measured / predicted - 1)


# ----- conventional units: Section 3 -----

def conventional_flow(top: Topology, params: Params, xs: np.ndarray, a0: np.ndarray | None = None,
                      kernels: ModuleType | None = None) -> tuple[Scaled, list[tuple]]:
    """Error flow ``d theta_v(t-q) / d theta_u(t)`` of a conventional net (eqs. 1, 2), all u and v at once.

    The input sequence is copied to a batch of n = number of units; batch element u gets an error of 1 at
    ``y_u(t)`` (so ``theta_u(t) = f'_u(net_u(t))``) and the full-gradient generated ``backward_step`` is run back.
    ``theta_v(t-q) = f'_v(net_v(t-q)) * d_y_v(t-q)`` with ``f'`` from the generated ``cell_exit``.

    Args:
        top: a network of conventional units (``rnn``, ``rnn_linear``, ``rnn_tanh``); params: its weights.
        xs: (T, 1, I) inputs; a0: (N_a,) or (1, N_a) initial activations (zeros by default).
        kernels: generated module (default: the topology's cell).

    Returns:
        (flow, caches): flow is :class:`Scaled` (T-1, n, n) with entry ``[q-1, u, v]``; caches of the batch run.
    """
    k = kernels if kernels is not None else load_kernels(top.cell)
    n = top.n_units
    T = xs.shape[0]
    xb = np.broadcast_to(xs, (T, n, xs.shape[2]))
    a_init = None if a0 is None else np.broadcast_to(np.reshape(a0, (1, -1)), (n, top.n_activations))
    caches = run_forward(top, params, xb, a_init, kernels=k)
    rec = backward_errors(top, params, caches, np.eye(n), None, False, k)
    fprime = [k.cell_exit(*_kernel_args(k, k.cell_exit, c))[0].reshape(n, n) for c in caches]
    theta_t = np.diag(fprime[-1] * rec.d_a[-1])[:, None]  # theta_u(t) of batch element u
    flow = np.full((T - 1, n, n), np.nan)  # nan where theta_u(t) is 0 (f' underflowed): flow undefined
    for q in range(1, T):
        tau = T - 1 - q
        np.divide(fprime[tau] * rec.d_a[tau], theta_t, out=flow[q - 1], where=theta_t != 0)
    exps = rec.exponent[::-1][1:] - rec.exponent[-1]  # steps t-1, ..., 0
    return Scaled(flow, exps[:, :, None]), caches


def recurrent_weights(top: Topology, params: Params) -> np.ndarray:
    """The n x n recurrent block ``[W]_{lv} = w_lv`` (weight from unit v to unit l) of a conventional net."""
    i = top.n_in
    return params.W_hidden[:, i:i + top.n_activations]


def eq1_recursion(fprime: np.ndarray, W: np.ndarray) -> Scaled:
    """The eq. (1) recursion along a realised trajectory, for every starting unit u.

    ``D_uv(1) = f'_v(net_v(t-1)) w_uv``, ``D_uv(q) = f'_v(net_v(t-q)) sum_l D_ul(q-1) w_lv``.

    Args:
        fprime: (T, n) derivatives ``f'_v(net_v(tau))`` for tau = 0 .. T-1 (t = T-1).
        W: (n, n) recurrent weights, ``W[l, v] = w_lv``.

    Returns:
        :class:`Scaled` (T-1, n, n) with entry ``[q-1, u, v] = d theta_v(t-q) / d theta_u(t)``.
    """
    T, n = fprime.shape
    out = np.empty((T - 1, n, n))
    exps = np.empty((T - 1, n), dtype=np.int64)
    D, e = np.eye(n), np.zeros(n, dtype=np.int64)
    for q in range(1, T):
        D = (D @ W) * fprime[T - 1 - q][None, :]  # eq. (1)
        (D,), e = _rescale([D], e)
        out[q - 1], exps[q - 1] = D, e
    return Scaled(out, exps[:, :, None])


def eq2_path_sum(fprime: np.ndarray, W: np.ndarray, u: int, v: int, q: int) -> float:
    """Eq. (2) literally: the sum over all n**(q-1) paths ``l_0 = u, l_1, ..., l_q = v`` of
    ``prod_{m=1}^{q} f'_{l_m}(net_{l_m}(t-m)) w_{l_m l_{m-1}}`` (use small n and q only).

    Args:
        fprime: (T, n) ``f'`` along the trajectory, t = T-1; W: (n, n), ``W[l, v] = w_lv``; u, v: units; q: lag.

    Returns:
        The sum.
    """
    T, n = fprime.shape
    total = 0.0
    for inner in np.ndindex(*([n] * (q - 1))):
        path = (u, *inner, v)
        term = 1.0
        for m in range(1, q + 1):
            term *= fprime[T - 1 - m, path[m]] * W[path[m - 1], path[m]]
        total += term
    return total


def norm_bound_log(fprime: np.ndarray, W: np.ndarray) -> np.ndarray:
    """ln of the weak upper bound ``n (f'_max ||W||_A)^q`` (Section 3.1, spec 1.4) for q = 1 .. T-1.

    ``||W||_A = max_r sum_s |w_rs|`` (max row sum); ``f'_max = max_{m=1..q} ||F'(t-m)||_A`` = the largest
    ``f'_i(net_i(t-m))`` over units and the q steps of the lag.

    Args:
        fprime: (T, n) ``f'`` along the trajectory, t = T-1; W: (n, n) recurrent weights.

    Returns:
        (T-1,) array.
    """
    T, n = fprime.shape
    norm_a = np.max(np.sum(np.abs(W), axis=1))
    per_step = np.max(fprime[T - 2::-1], axis=1)  # ||F'(t-m)||_A for m = 1 .. T-1
    f_max = np.maximum.accumulate(per_step)
    q = np.arange(1, T)
    return math.log(n) + q * np.log(f_max * norm_a)


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


def logistic_fixed_points(w: float, drive: float, grid: int = 20001) -> list[dict[str, float]]:
    """All fixed points ``y* = sigma(w y* + drive)`` of a single self-connected logistic unit.

    The map ``y -> sigma(w y + drive)`` has derivative ``f'(net*) w`` at a fixed point, so the fixed point is
    stable exactly when ``|f'(net*) w| < 1``: a stable operating point never has exploding error flow.

    Args:
        w: self-weight; drive: constant input plus bias; grid: bracketing resolution on (0, 1).

    Returns:
        One dict per fixed point: ``y``, ``net``, ``fprime``, ``rate`` = ``|f'(net*) w|``, ``stable``.
    """
    def resid(y: np.ndarray) -> np.ndarray:
        return sigmoid(w * y + drive) - y

    ys = np.linspace(0.0, 1.0, grid)
    r = resid(ys)
    roots = list(ys[r == 0.0])
    for i in np.nonzero(np.sign(r[:-1]) * np.sign(r[1:]) < 0)[0]:
        lo, hi = ys[i], ys[i + 1]
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                break
            if np.sign(resid(np.array(mid))) == np.sign(resid(np.array(lo))):
                lo = mid
            else:
                hi = mid
        roots.append(0.5 * (lo + hi))
    out = []
    for y in sorted(roots):
        net = w * y + drive
        fp = float(sigmoid(net) * sigmoid(-net))
        out.append({"y": float(y), "net": float(net), "fprime": fp, "rate": abs(fp * w), "stable": abs(fp * w) < 1})
    return out


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


@dataclass(frozen=True)
class _LSTMNet:
    label: str
    top: Topology
    interval: float
    gate_biases: dict[str, list[float]] | None


def _lstm_nets(cell: str, full: bool) -> list[_LSTMNet]:
    """Random networks of the paper's kind: the Exp. 4 net with the paper's initialisation, and larger weights."""
    forget = cell == "forget"
    nets = [
        _LSTMNet("Exp. 4 net (2 in, 2 blocks x 2 cells, all biases), weights U[-0.1, 0.1], input-gate biases -3, -6"
                 + (", forget-gate biases +2, +4" if forget else ""),
                 Topology(cell, 2, 1, 2, 2, bias="all"), 0.1,
                 {"in": [-3.0, -6.0], **({"forget": [2.0, 4.0]} if forget else {})}),
        _LSTMNet("3 in, 3 blocks x 2 cells, all biases, weights U[-1, 1]", Topology(cell, 3, 2, 3, 2, bias="all"),
                 1.0, None),
        _LSTMNet("4 in, 4 blocks x 1 cell, all biases, weights U[-3, 3]", Topology(cell, 4, 2, 4, 1, bias="all"),
                 3.0, None),
    ]
    if full:
        nets += [
            _LSTMNet("1 in, 1 block x 3 cells, all biases, weights U[-2, 2]", Topology(cell, 1, 1, 1, 3, bias="all"),
                     2.0, None),
            _LSTMNet("5 in, 6 blocks x 1 cell, recurrent from cells only, weights U[-0.5, 0.5]",
                     Topology(cell, 5, 3, 6, 1, recurrent="cells", bias="all"), 0.5, None),
        ]
    return nets


def _lstm_run(net: _LSTMNet, rng: np.random.Generator, T: int, sequences: int = 1,
              per_cell: bool = False) -> tuple[Params, list[tuple], np.ndarray]:
    """Random weights and input sequences for ``net``; with ``per_cell`` each sequence is copied once per cell.

    Returns:
        ``(params, caches, cells)``: cells[b] is the cell whose error batch element b carries (0 if not per_cell).
    """
    params = init_params(net.top, rng, net.interval, gate_biases=net.gate_biases)
    xs = rng.uniform(-1.0, 1.0, size=(T, sequences, net.top.n_in))
    cells = np.zeros(sequences, dtype=np.int64)
    if per_cell:
        xs, cells = replicate_per_cell(xs, net.top.n_cells)
    return params, run_forward(net.top, params, xs), cells


def _worst(values: list[float]) -> float:
    """Largest value; nan if any value is nan (so that a nan figure fails its tolerance)."""
    return float(np.max(np.asarray(values, dtype=float)))


def measure_lstm1997_truncated(max_lag: int, rng: np.random.Generator, full: bool = False) -> Measurement:
    """Eqs. (30), (35): the truncated state-to-state flow of the 1997 cell is exactly 1 for every lag."""
    start = time.perf_counter()
    T, devs, curves, per_net = max_lag + 1, [], [], []
    for net in _lstm_nets("lstm1997", full):
        params, caches, cells = _lstm_run(net, rng, T, sequences=2, per_cell=True)
        bp = state_flow(net.top, params, caches, True, cells)
        tr = at_cells(trace_flow(net.top, caches), cells)
        dev_bp = float(np.max(np.abs(bp.values() - 1.0)))
        dev_tr = float(np.max(np.abs(tr.values() - 1.0)))
        devs += [dev_bp, dev_tr]
        per_net.append({"network": net.label, "sequences": 2, "cells": net.top.n_cells,
                        "max_abs_flow_minus_1_backward_step": dev_bp, "max_abs_flow_minus_1_trace_product": dev_tr,
                        "values_compared": int(bp.mantissa.size + tr.mantissa.size)})
        curves.append(Curve(f"{net.label}: cell 1, sequence 1", bp[:, 0], _ones(max_lag)))
    worst = _worst(devs)
    return Measurement(
        id="lstm1997-truncated-constant", model="lstm1997 truncated",
        title="truncated CEC: d s(t)/d s(t-q) is exactly 1.0 for every q = 1 .. max_lag (exact equality)",
        claim="Appendix A.2 eqs. (30), (35)",
        description="random lstm1997 networks and uniform[-1, 1] input sequences; error 1 injected at the state "
                    "s_j(t) of each cell in turn; flow read two ways: the generated backward_step (truncated) and "
                    "the product of the generated cell_traces partials J = ds/ds_prev",
        figure_name="max |flow - 1| over q, cells, sequences, both readings", figure=worst, tolerance=0.0,
        passed=worst == 0.0, predicted_rate=1.0, measured_rate=fit_rate(curves[0].flow.ln_abs()), curves=curves,
        details={"networks": per_net, "required": "exact equality: every flow value == 1.0"},
        reference="the exact value 1.0 (eqs. 30, 35)",
        message="" if worst == 0.0 else f"truncated CEC flow differs from 1 by up to {worst!r}",
        seconds=time.perf_counter() - start)


def _ones(n: int) -> Scaled:
    return Scaled(np.ones(n), np.zeros(n, dtype=np.int64))


def measure_lstm1997_entry_exit(max_lag: int, rng: np.random.Generator, full: bool = False) -> Measurement:
    """Eqs. (40), (41): error leaving the cell at t-q is entry(t) * exit(t-q), independent of q."""
    start = time.perf_counter()
    T, devs, per_net, curves = max_lag + 1, [], [], []
    for net in _lstm_nets("lstm1997", full):
        params, caches, _ = _lstm_run(net, rng, T)
        r = entry_exit_ratios(net.top, params, caches)
        dev = {v: float(np.max(np.abs(r[v]))) for v in r}
        devs += list(dev.values())
        per_net.append({"network": net.label, "max_abs_ratio_minus_1_c": dev["c"],
                        "max_abs_ratio_minus_1_in": dev["in"], "ratios_compared": int(r["c"].size + r["in"].size)})
        curves.append(Curve(f"{net.label}: v = c, block 1 (error / (entry * exit))",
                            Scaled(1.0 + r["c"][:, 0], np.zeros(max_lag, dtype=np.int64)), _ones(max_lag)))
    worst = _worst(devs)
    ok = worst <= 1e-15
    return Measurement(
        id="lstm1997-entry-exit-independent-of-lag", model="lstm1997 entry/exit",
        title="error at net_c(t-q), net_in(t-q) from an error at y_c(t) equals entry(t) * exit(t-q) for every q",
        claim="Appendix A.2 eqs. (40), (41)",
        description="error 1 at y_c(t) of the first cell of every block, truncated generated backward_step; "
                    "entry = y_out(t) h'(s(t)); exit = g'(net_c(t-q)) y_in(t-q) (v = c), g(net_c(t-q)) "
                    "f'_in(net_in(t-q)) (v = in); ratio formed exactly from the float64 factors",
        figure_name="max |error / (entry * exit) - 1| over q, blocks, v", figure=worst, tolerance=1e-15,
        passed=ok, predicted_rate=1.0, measured_rate=None, curves=curves, details={"networks": per_net},
        reference="entry(t) * exit(t-q) of eqs. (40), (41) from the forward values, in exact rational arithmetic",
        message="" if ok else f"error / (entry * exit) differs from 1 by up to {worst!r}",
        seconds=time.perf_counter() - start)


def measure_lstm1997_full(max_lag: int, rng: np.random.Generator, full: bool = False) -> Measurement:
    """Information: the full gradient's state-to-state flow (eq. 33 without truncation) is not exactly 1."""
    start = time.perf_counter()
    T, per_net, curves, finite = max_lag + 1, [], [], True
    k = load_kernels("lstm1997")
    for net in _lstm_nets("lstm1997", full):
        params, caches, cells = _lstm_run(net, rng, T, per_cell=True)
        fl = state_flow(net.top, params, caches, False, cells)
        lg = fl.log10_abs()
        finite &= bool(np.all(np.isfinite(lg)))
        dev = np.abs(fl.values() - 1.0)  # nan where the flow left float64's range
        over = np.nonzero(np.any(~(dev <= 0.01), axis=1))[0]
        per_net.append({
            "network": net.label, "cells": net.top.n_cells,
            "max_abs_flow_minus_1": float(np.max(dev)),
            "min_log10_abs_flow": float(np.min(lg)), "max_log10_abs_flow": float(np.max(lg)),
            "flow_at_q1_cell1": float(fl.values()[0, 0]), "flow_at_max_lag_cell1": float(fl.values()[-1, 0]),
            "first_lag_with_deviation_over_1_percent": int(over[0] + 1) if over.size else None,
            "max_abs_state_at_t": float(np.max(np.abs(cache_values(k, caches[-1])["s"]))),
            "fitted_rate_cell1": fit_rate(fl[:, 0].ln_abs())})
        curves.append(Curve(f"{net.label}: cell 1", fl[:, 0]))
    return Measurement(
        id="lstm1997-full-deviation", model="lstm1997 full gradient",
        title="full gradient (no truncation): how far d s(t)/d s(t-q) is from 1 (information)",
        claim="Section 4, Appendix A.2 (truncation is what makes the flow exactly constant)",
        description="error 1 at s_j(t) of each cell in turn, full generated backward_step; theta_s(t-q) of eq. (33) "
                    "includes the error returning through the cell outputs and the recurrent weights",
        figure_name="max |flow - 1| over q and cells (first network)", figure=per_net[0]["max_abs_flow_minus_1"],
        tolerance=None, passed=finite, predicted_rate=None, measured_rate=per_net[0]["fitted_rate_cell1"],
        curves=curves, details={"networks": per_net}, informational=True, reference="the constant 1.0",
        message="" if finite else "flow values that are zero, infinite or nan", seconds=time.perf_counter() - start)


def measure_forget(max_lag: int, rng: np.random.Generator, full: bool = False) -> Measurement:
    """Forget gate (Gers 2000): the truncated flow d s(t)/d s(t-q) is the product of the forget activations."""
    start = time.perf_counter()
    T, rels, per_net, curves = max_lag + 1, [], [], []
    for net in _lstm_nets("forget", full):
        params, caches, cells = _lstm_run(net, rng, T, sequences=2, per_cell=True)
        fl = state_flow(net.top, params, caches, True, cells)
        ref = at_cells(gate_product(net.top, caches, "forget"), cells)
        rel = float(np.max(np.abs(fl.ratio(ref) - 1.0)))
        rels.append(rel)
        per_net.append({"network": net.label, "max_rel_error": rel,
                        "log10_flow_at_max_lag_cell1": float(fl.log10_abs()[-1, 0]),
                        "min_log10_flow": float(np.min(fl.log10_abs()))})
        curves.append(Curve(f"{net.label}: cell 1, sequence 1", fl[:, 0], ref[:, 0]))
    worst = _worst(rels)
    ok = worst <= 1e-12
    c0 = curves[0]
    return Measurement(
        id="forget-product-of-gates", model="forget truncated",
        title="forget-gate cell: truncated d s(t)/d s(t-q) equals the product of the forget-gate activations",
        claim="Gers, Schmidhuber & Cummins (2000); contrast with Appendix A.2 eq. (35)",
        description="random forget-gate networks, error 1 at the state s_j(t) of each cell in turn, truncated "
                    "generated backward_step; reference: product of y_forget(t-q+1) .. y_forget(t) from the forward "
                    "pass",
        figure_name="max |flow / product - 1| over q, cells, sequences", figure=worst, tolerance=1e-12,
        passed=ok, predicted_rate=fit_rate(c0.predicted.ln_abs()), measured_rate=fit_rate(c0.flow.ln_abs()),
        curves=curves, details={"networks": per_net},
        reference="product of the forget-gate activations of the forward pass",
        message="" if ok else f"flow / product of forget gates differs from 1 by up to {worst!r}",
        seconds=time.perf_counter() - start)


def _rate_measurement(id_: str, model: str, title: str, description: str, flow: Scaled, predicted_rate: float,
                      details: dict[str, Any], start: float, extra_ok: bool = True, message: str = "",
                      reference: str = "the rate |f'(net*) w| per step at the fixed operating point (eq. 2)"
                      ) -> Measurement:
    measured = fit_rate(flow.ln_abs())
    rel = abs(measured - predicted_rate) / predicted_rate
    q = np.arange(1, flow.mantissa.shape[0] + 1)
    predicted = Scaled.from_ln(q * math.log(predicted_rate))  # rate**q
    ok = rel <= 0.01 and extra_ok
    if rel > 0.01:
        message = (message + "; " if message else "") + (
            f"measured rate {measured!r} vs predicted {predicted_rate!r}: relative deviation {rel:.3g} > 0.01")
    return Measurement(
        id=id_, model=model, title=title, claim="Section 3.1 eqs. (1), (2); Section 3.2", description=description,
        figure_name="|measured rate - predicted rate| / predicted rate", figure=rel, tolerance=0.01, passed=ok,
        predicted_rate=predicted_rate, measured_rate=measured,
        curves=[Curve(model, flow, predicted)], details=details, message=message, reference=reference,
        seconds=time.perf_counter() - start)


def measure_single_unit(id_: str, model: str, cell: str, w: float, net_star: float, max_lag: int) -> Measurement:
    """Eq. (2) for n = 1 at a fixed operating point: flow(q) = (f'(net*) w)^q, rate |f'(net*) w| per step.

    The constant input is chosen so that ``net = w y* + x* = net*`` with ``y* = f(net*)``: the unit sits at a
    fixed point from the first step on. The measured flow is fitted (log-slope over all q) and compared with the
    predicted rate ``|f'(net*) w|``. The map ``y -> f(w y + x*)`` has derivative ``f'(net*) w`` at the fixed
    point, so a fixed point with a predicted rate above 1 is repelling; it is then required that the forward
    pass holds it exactly (``net(t) == net*`` at every step, as it does when every operation of the forward step
    is exact there), otherwise the measurement fails.

    Args:
        id_: check id (without ``flow/``); model: short name.
        cell: ``rnn`` (logistic) or ``rnn_linear``.
        w: self-weight; net_star: operating point; max_lag: lags 1 .. max_lag.

    Returns:
        The :class:`Measurement`.
    """
    start = time.perf_counter()
    T = max_lag + 1
    f = {"rnn": lambda x: float(sigmoid(np.array(x))), "rnn_linear": lambda x: float(x)}[cell]
    y_star = f(net_star)
    drive = net_star - w * y_star
    top = Topology(cell, 1, 1, 1, bias="none")
    params = Params({"W_hidden": np.array([[1.0, w, 0.0]]), "W_output": np.zeros((1, 3))})  # w_in = 1, w_self = w
    flow, caches = conventional_flow(top, params, np.full((T, 1, 1), drive), np.array([y_star]))
    nets = np.array([cache_values(load_kernels(cell), c)["net_c"].item() for c in caches])
    fp = float(UNIT_DERIVATIVES[cell](np.array(net_star)))
    predicted = abs(fp * w)
    stable = predicted < 1.0
    drift = float(np.max(np.abs(nets - net_star)))
    details: dict[str, Any] = {
        "cell": cell, "w": w, "net_star": net_star, "y_star": y_star, "constant_input": drive,
        "fprime_at_net_star": fp, "predicted_rate_formula": "|f'(net*) w|",
        "max_abs_net_minus_net_star_along_trajectory": drift, "fixed_point_stable": stable,
        "flow_at_max_lag_log10": float(flow.log10_abs()[-1, 0, 0]),
    }
    if cell == "rnn":
        details["fixed_points_of_this_unit"] = logistic_fixed_points(w, drive)
    extra_ok, msg = True, ""
    if not stable:
        details["fixed_point_note"] = (
            "the map y -> f(w y + x*) has derivative f'(net*) w at the fixed point, so this fixed point is "
            "repelling and no stable fixed point has exploding flow; every operation of the forward step is exact "
            "here, so the realised trajectory stays at net* exactly (checked: max |net - net*| must be 0)")
        extra_ok = drift == 0.0
        msg = "" if extra_ok else f"operating point not held exactly (max |net - net*| = {drift!r})"
    kind = "stable" if stable else "repelling, held exactly"
    return _rate_measurement(
        id_, model, f"{model}: measured rate per step equals |f'(net*) w| = {predicted:.6g}",
        f"single self-connected {cell} unit, w = {w}, constant input {drive:.17g} so that net* = {net_star:.17g} "
        f"({kind} fixed point); full-gradient generated backward_step over {max_lag} steps; rate = exp of the "
        "least-squares slope of ln|flow(q)| over q = 1 .. max_lag",
        flow[:, 0, 0], predicted, details, start, extra_ok, msg)


def _chaotic_logistic_net(rng: np.random.Generator, n: int = 64, gain: float = 3.0,
                          warmup: int = 200) -> tuple[Topology, Params, np.ndarray]:
    """A logistic net ``y <- sigma(W (y - 1/2))`` with random W of gain > 1 (``x = 2y - 1`` follows
    ``tanh(W x / 4)``): bounded, chaotic, so its error flow grows exponentially along the realised trajectory."""
    top = Topology("rnn", 1, 1, n, bias="hidden")
    W = rng.normal(0.0, 4.0 * gain / math.sqrt(n), size=(n, n))
    W_hidden = np.concatenate([np.zeros((n, 1)), W, -W @ np.full((n, 1), 0.5)], axis=1)
    params = Params({"W_hidden": W_hidden, "W_output": np.zeros((1, n + 2))})
    caches = run_forward(top, params, np.zeros((warmup, 1, 1)), rng.uniform(0, 1, size=(1, n)))
    a0 = cache_values(load_kernels("rnn"), caches[-1])["y_c"].reshape(1, n)
    return top, params, a0


def realised_fprime(top: Topology, caches: list[tuple]) -> np.ndarray:
    """``f'(net(tau))`` of a conventional net along its forward pass (batch element 0), from the forward values
    ``net`` with the derivative formulas of :data:`UNIT_DERIVATIVES` (not the generated code).

    Args:
        top: conventional net; caches: its forward pass.

    Returns:
        (T, n) array.
    """
    k = load_kernels(top.cell)
    return np.stack([UNIT_DERIVATIVES[top.cell](cache_values(k, c)["net_c"][0].reshape(-1)) for c in caches])


def measure_logistic_exploding_multiunit(max_lag: int, rng: np.random.Generator) -> Measurement:
    """Eqs. (1), (2) on a multi-unit logistic net whose flow explodes along its (chaotic) realised trajectory."""
    start = time.perf_counter()
    T = max_lag + 1
    top, params, a0 = _chaotic_logistic_net(rng)
    flow, caches = conventional_flow(top, params, np.zeros((T, 1, 1)), a0)
    W = recurrent_weights(top, params)
    pred = eq1_recursion(realised_fprime(top, caches), W)
    u = 0
    meas_norm = _rownorm(flow[:, u, :])
    pred_norm = _rownorm(pred[:, u, :])
    fu, pu = flow[:, u, :], pred[:, u, :]
    measured_in_pred_scale = np.ldexp(fu.mantissa, np.clip(fu.exponent - pu.exponent, -1000, 1000))
    # normwise relative difference of the two flow vectors (over v) at each lag, worst lag
    pointwise = float(np.max(np.max(np.abs(measured_in_pred_scale - pu.mantissa), axis=1)
                             / np.max(np.abs(pu.mantissa), axis=1)))
    predicted_rate = fit_rate(pred_norm.ln_abs())
    details = {
        "units": top.n_units, "weights": "W ~ N(0, (12/sqrt(n))^2), bias -W 1/2, no input, 200 warm-up steps",
        "flow": "max over v of |d theta_v(t-q) / d theta_u(t)|, u = unit 1",
        "predicted_rate_formula": "fitted rate of the eq. (1) recursion along the realised f'(net(t)) values",
        "max_normwise_rel_difference_flow_vs_eq1": pointwise, "pointwise_tolerance": 1e-9,
        "exploding": predicted_rate > 1.0,
        "geometric_mean_max_abs_fprime_w": float(np.exp(np.mean(np.log(np.max(
            realised_fprime(top, caches)[:, None, :] * np.abs(W)[None], axis=(1, 2)))))),
    }
    ok = pointwise <= 1e-9 and predicted_rate > 1.0
    msg = "" if ok else (f"flow vs eq. (1): normwise relative difference {pointwise:.3g} (tolerance 1e-9); "
                         f"eq. (1) rate {predicted_rate:.6g} (exploding needs > 1)")
    m = _rate_measurement(
        "rnn-logistic-exploding-rate", "rnn logistic exploding (64 units)",
        "logistic net with exploding flow: measured rate equals the eq. (1) rate along the realised trajectory",
        "64 logistic units, random recurrent weights of gain 3 (chaotic, bounded); error 1 at y_u(t), full generated "
        "backward_step over T = max_lag steps; prediction: eq. (1) recursion from the realised f'(net(t)) values "
        "(eq. (2) summed over all paths); a single logistic unit has no stable fixed point with |f' w| > 1",
        meas_norm, predicted_rate, details, start, ok, msg,
        reference="the eq. (1) recursion along the realised trajectory (its fitted rate; pointwise to 1e-9)")
    m.curves = [Curve(m.model, meas_norm, pred_norm)]
    return m


def _rownorm(s: Scaled) -> Scaled:
    """max over the last axis of |s| (rows share an exponent)."""
    return Scaled(np.max(np.abs(s.mantissa), axis=-1), np.asarray(s.exponent)[..., 0])


def _norm_bound_nets(rng: np.random.Generator) -> list[tuple[str, Topology, Params, str, np.ndarray | None]]:
    """Conventional nets with n > 1: (label, topology, params, inputs ``uniform`` or ``zero``, initial a)."""
    out = []
    top = Topology("rnn", 2, 1, 8, bias="hidden")
    p = init_params(top, rng, 1.0)
    out.append(("8 logistic units, weights U[-1, 1], random inputs", top, p, "uniform", None))
    top64, p64, a064 = _chaotic_logistic_net(rng)
    out.append(("64 logistic units, gain 3 (chaotic, exploding flow)", top64, p64, "zero", a064))
    topl = Topology("rnn_linear", 2, 1, 8, bias="none")
    pl = init_params(topl, rng, 1.0)
    W = recurrent_weights(topl, pl)
    W *= 1.05 / np.max(np.abs(np.linalg.eigvals(W)))
    out.append(("8 linear units, spectral radius 1.05 (growing flow), random inputs", topl, pl, "uniform", None))
    topt = Topology("rnn_tanh", 2, 1, 6, bias="hidden")
    pt = init_params(topt, rng, 0.8)
    out.append(("6 tanh units, weights U[-0.8, 0.8], random inputs", topt, pt, "uniform", None))
    return out


def measure_norm_bound(max_lag: int, rng: np.random.Generator) -> Measurement:
    """Section 3.1 (spec 1.4): |d theta_v(t-q)/d theta_u(t)| <= n (f'_max ||W||_A)^q for all u, v, q."""
    start = time.perf_counter()
    T, excesses, per_net, curves = max_lag + 1, [], [], []
    for label, top, params, inputs, a0 in _norm_bound_nets(rng):
        if inputs == "uniform":
            xs = rng.uniform(-1.0, 1.0, size=(T, 1, top.n_in))
        else:
            xs = np.zeros((T, 1, top.n_in))
        flow, caches = conventional_flow(top, params, xs, a0)
        bound = norm_bound_log(realised_fprime(top, caches), recurrent_weights(top, params))
        excess = flow.ln_abs() - bound[:, None, None]  # ln(|flow| / bound) per q, u, v
        w_ = float(np.max(excess))
        excesses.append(w_)
        per_net.append({"network": label, "units": top.n_units,
                        "max_log10_flow_over_bound": w_ / math.log(10.0),
                        "min_log10_slack_at_max_lag": float(-np.max(excess[-1]) / math.log(10.0)),
                        "norm_W_A": float(np.max(np.sum(np.abs(recurrent_weights(top, params)), axis=1)))})
        curves.append(Curve(f"{label}: max over u, v", Scaled.from_ln(np.max(flow.ln_abs(), axis=(1, 2))),
                            Scaled.from_ln(bound)))
    ratio = math.exp(_worst(excesses))
    return Measurement(
        id="rnn-norm-bound", model="rnn norm bound (n > 1)",
        title="weak upper bound |d theta_v(t-q)/d theta_u(t)| <= n (f'_max ||W||_A)^q holds for all u, v, q",
        claim="Section 3.1 (spec 1.4), max-row-sum norm",
        description="conventional nets with n > 1 (logistic, linear, tanh); full generated backward_step; "
                    "f'_max = largest realised f' over the q steps of the lag",
        figure_name="max over nets, u, v, q of |flow| / bound - 1, clipped at 0 (0 = bound holds)",
        figure=max(0.0, ratio - 1.0), tolerance=0.0, passed=ratio <= 1.0,
        curves=curves, details={"networks": per_net, "max_flow_over_bound": ratio},
        reference="n (f'_max ||W||_A)^q, ||W||_A = max row sum (Section 3.1)",
        message="" if ratio <= 1.0 else f"bound exceeded: max |flow| / bound = {ratio!r}",
        seconds=time.perf_counter() - start)


def measure_all(max_lag: int = 1000, seed: int = 0, full: bool = False) -> list[Measurement]:
    """Every flow claim, measured with the generated kernels (the command and the checks both call this).

    Args:
        max_lag: largest lag q (the sequences have ``max_lag + 1`` steps).
        seed: seed of the random networks and inputs.
        full: more random networks.

    Returns:
        The measurements, in a fixed order.
    """
    rng = np.random.default_rng(seed)
    return [
        measure_lstm1997_truncated(max_lag, rng, full),
        measure_lstm1997_entry_exit(max_lag, rng, full),
        measure_lstm1997_full(max_lag, rng, full),
        measure_forget(max_lag, rng, full),
        measure_single_unit("rnn-logistic-vanishing-rate", "rnn logistic w=3 (vanishing)", "rnn", 3.0, 1.0, max_lag),
        measure_single_unit("rnn-logistic-w6-stable-rate", "rnn logistic w=6, stable fixed point", "rnn", 6.0,
                            _w6_stable_net(), max_lag),
        measure_single_unit("rnn-logistic-exploding-fixed-point", "rnn logistic w=6, net*=0 (held)", "rnn", 6.0, 0.0,
                            max_lag),
        measure_logistic_exploding_multiunit(max_lag, rng),
        measure_single_unit("rnn-linear-decay-rate", "rnn_linear w=0.9", "rnn_linear", 0.9, 0.0, max_lag),
        measure_single_unit("rnn-linear-growth-rate", "rnn_linear w=1.1", "rnn_linear", 1.1, 0.0, max_lag),
        measure_norm_bound(max_lag, rng),
    ]


def _w6_stable_net() -> float:
    """net* of the upper stable fixed point of y -> sigma(6 y - 3) (the unit of the held exploding case)."""
    return max(fp["net"] for fp in logistic_fixed_points(6.0, -3.0) if fp["stable"])


def flow_payload(measurements: list[Measurement], max_lag: int, seed: int, seconds: float,
                 full: bool = False) -> dict[str, Any]:
    """The JSON document of a run: settings, lags, every measurement with its series.

    Args:
        measurements: from :func:`measure_all`; max_lag, seed, full: its settings; seconds: wall time.

    Returns:
        JSON-ready dict (see ``docs/flow.md``).
    """
    lags = lag_grid(max_lag)
    failed = [m.id for m in measurements if not m.passed]
    return {
        "command": f"lstm-proofs flow --max-lag {max_lag} --seed {seed}",
        "settings": {"max_lag": max_lag, "seed": seed, "full": full, "rescale_at_power_of_two": RESCALE_AT},
        "lags": [int(q) for q in lags],
        "summary": {"measurements": len(measurements), "failed": failed, "passed": not failed,
                    "seconds": round(seconds, 2)},
        "measurements": [m.to_json(lags) for m in measurements],
    }
