"""Error flow through the memory cells (Appendix A.2 eqs. 30-41; Gers et al. 2000; Greff et al. 2017), measured
with the generated kernels: the 1997 cell's truncated constant flow and its entry/exit factorisation, the full
gradient's deviation from it, the forget-gate cell's product of gates, and what each of Greff et al.'s variants does
to the state-to-state flow.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction
from types import ModuleType

import numpy as np

from lstm_proofs.flow.common import (Curve, Measurement, Scaled, _kernel_args, _ones, _worst, backward_errors,
                                     cache_values, fit_rate, run_forward)
from lstm_proofs.network.model import load_kernels
from lstm_proofs.network.topology import Params, Topology, init_params
from lstm_proofs.numerics import sigmoid


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
    P = params.cell_params(top)
    rec = backward_errors(top, params, caches, np.zeros((B, top.n_activations)), d_s.reshape(B, C, S),
                          truncated, k)
    T = len(caches)
    theta = np.empty((T - 1, B))
    for q in range(1, T):
        tau = T - 1 - q
        dyc_ds = np.broadcast_to(k.cell_exit(*_kernel_args(k, k.cell_exit, caches[tau], P))[0], (B, C, S))
        d_yc = rec.d_a[tau][rows, cells]
        theta[q - 1] = rec.d_s[tau].reshape(B, CS)[rows, cells] + dyc_ds.reshape(B, CS)[rows, cells] * d_yc  # (33)
    return Scaled(theta, rec.exponent[::-1][1:])  # steps t-1, t-2, ..., 0


def trace_flow(top: Topology, caches: list[tuple], kernels: ModuleType | None = None,
               params: Params | None = None) -> Scaled:
    """Product of the truncated trace partials ``J = ds(tau)/ds(tau-1)`` (generated ``cell_traces``, eq. 30).

    Args:
        top: the network; caches: its forward pass (batch B, T steps).
        kernels: generated module (default: the topology's cell).
        params: the network's weights (needed for cells with per-cell parameters, which J may read).

    Returns:
        :class:`Scaled` (T-1, B, C, S): entry ``q-1`` is ``prod_{tau=t-q+1}^{t} J(tau)`` with ``t = T-1``.
    """
    k = kernels if kernels is not None else load_kernels(top.cell)
    P = () if params is None else params.cell_params(top)
    shape = (caches[0][0].shape[0], top.n_blocks, top.block_size)
    return _running_product([np.broadcast_to(k.cell_traces(*_kernel_args(k, k.cell_traces, c, P))[0], shape)
                             for c in caches])


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


# ----- Greff et al. (2017): what each variant does to the CEC's flow -----

#: What each variant's state equation makes of the truncated state-to-state flow ``d s(t)/d s(t-q)``: the product
#: over the lag of a per-step factor (written here from the variant's equations, read from the forward values), or
#: exactly 1. ``fgr`` is vanilla with full gate recurrence (Topology(recurrent="all")); the others run on Greff's
#: scheme, recurrent connections from the cell outputs only.
GREFF_FLOW: dict[str, tuple[str, str, str]] = {
    # id: (cell, recurrent, predicted flow)
    "vanilla": ("vanilla", "cells", "forget"),
    "vanilla-fgr": ("vanilla", "all", "forget"),
    "vanilla_nig": ("vanilla_nig", "cells", "forget"),
    "vanilla_nfg": ("vanilla_nfg", "cells", "one"),
    "vanilla_nog": ("vanilla_nog", "cells", "forget"),
    "vanilla_niaf": ("vanilla_niaf", "cells", "forget"),
    "vanilla_noaf": ("vanilla_noaf", "cells", "forget"),
    "vanilla_np": ("vanilla_np", "cells", "forget"),
    "vanilla_cifg": ("vanilla_cifg", "cells", "one-minus-in"),
}

_PREDICTED = {
    "forget": ("the product of the forget-gate activations y_forget(t-q+1) ... y_forget(t)",
               lambda v: v["y_forget"]),
    "one-minus-in": ("the product of 1 - y_in(t-q+1) ... 1 - y_in(t): the coupled forget gate is 1 - input gate",
                     lambda v: 1.0 - v["y_in"]),
    "one": ("exactly 1 for every lag: without a forget gate the state's self-connection is the 1997 CEC", None),
}

_VARIANT_TITLES = {
    "vanilla": "vanilla (Greff's scheme: gates see the cell outputs)", "vanilla-fgr": "vanilla with full gate "
    "recurrence (FGR)", "vanilla_nig": "no input gate (NIG)", "vanilla_nfg": "no forget gate (NFG)",
    "vanilla_nog": "no output gate (NOG)", "vanilla_niaf": "no input activation function (NIAF)",
    "vanilla_noaf": "no output activation function (NOAF)", "vanilla_np": "no peepholes (NP)",
    "vanilla_cifg": "coupled input and forget gate (CIFG)",
}


def _variant_nets(cell: str, recurrent: str, full: bool) -> list[_LSTMNet]:
    """Random networks of a Greff variant (blocks of several cells where the variant's gates are shared)."""
    from lstm_proofs.cells import get_cell

    S = 2 if get_cell(cell).shared_gates else 1
    nets = [_LSTMNet(f"3 in, 3 blocks x {S}, all biases, recurrent from {recurrent}, weights U[-1, 1]",
                     Topology(cell, 3, 2, 3, S, recurrent=recurrent, bias="all"), 1.0, None)]
    if full:
        nets += [
            _LSTMNet(f"4 in, 2 blocks x {S}, all biases, recurrent from {recurrent}, weights U[-3, 3]",
                     Topology(cell, 4, 2, 2, S, recurrent=recurrent, bias="all"), 3.0, None),
            _LSTMNet(f"2 in, 4 blocks x {S}, all biases, recurrent from {recurrent}, weights U[-0.5, 0.5]",
                     Topology(cell, 2, 1, 4, S, recurrent=recurrent, bias="all"), 0.5, None),
        ]
    return nets


def measure_variant(variant: str, max_lag: int, rng: np.random.Generator, full: bool = False) -> Measurement:
    """One of Greff et al.'s variants: the truncated ``d s(t)/d s(t-q)``, read from the generated ``backward_step``
    and from the product of the generated ``cell_traces`` partials, against the flow its equations predict
    (:data:`GREFF_FLOW`)."""
    start = time.perf_counter()
    cell, recurrent, law = GREFF_FLOW[variant]
    text, factor = _PREDICTED[law]
    k = load_kernels(cell)
    T, devs, per_net, curves = max_lag + 1, [], [], []
    for net in _variant_nets(cell, recurrent, full):
        params, caches, cells = _lstm_run(net, rng, T, sequences=2, per_cell=True)
        readings = {"backward_step": state_flow(net.top, params, caches, True, cells, k),
                    "cell_traces": at_cells(trace_flow(net.top, caches, k, params), cells)}
        B = caches[0][0].shape[0]
        shape = (B, net.top.n_blocks, net.top.block_size)
        if factor is None:
            ref = Scaled(np.ones((max_lag, B)), np.zeros((max_lag, B), dtype=np.int64))
        else:
            ref = at_cells(_running_product([np.broadcast_to(factor(cache_values(k, c)), shape) for c in caches]),
                           cells)
        row = {"network": net.label, "cells": net.top.n_cells}
        for name, fl in readings.items():
            dev = (float(np.max(np.abs(fl.values() - 1.0))) if factor is None
                   else float(np.max(np.abs(fl.ratio(ref) - 1.0))))
            devs.append(dev)
            row[f"max_deviation_{name}"] = dev
        row["log10_flow_at_max_lag_cell1"] = float(readings["backward_step"].log10_abs()[-1, 0])
        per_net.append(row)
        curves.append(Curve(f"{net.label}: cell 1, sequence 1", readings["backward_step"][:, 0], ref[:, 0]))
    worst = _worst(devs)
    tol = 0.0 if factor is None else 1e-12
    ok = worst <= tol
    c0 = curves[0]
    return Measurement(
        id=f"{variant}-state-flow", model=f"{variant} truncated",
        title=f"{_VARIANT_TITLES[variant]}: truncated d s(t)/d s(t-q) is {text}",
        claim=f"Greff et al. (2017), variant {_VARIANT_TITLES[variant]}; contrast with Appendix A.2 eq. (35)",
        description=f"random {cell} networks (recurrent from {recurrent}), error 1 at the state s_j(t) of each cell "
                    "in turn; flow read two ways: the generated backward_step (truncated) and the product of the "
                    "generated cell_traces partials J = ds/ds_prev; reference from the forward values",
        figure_name=("max |flow - 1| over q, cells, sequences, both readings" if factor is None
                     else "max |flow / predicted - 1| over q, cells, sequences, both readings"),
        figure=worst, tolerance=tol, passed=ok,
        predicted_rate=1.0 if factor is None else fit_rate(c0.predicted.ln_abs()),
        measured_rate=fit_rate(c0.flow.ln_abs()), curves=curves,
        details={"networks": per_net, "predicted": text, "cell": cell, "recurrent": recurrent},
        reference=text, message="" if ok else f"{variant}: flow differs from {text} by up to {worst!r}",
        seconds=time.perf_counter() - start)


def measure_variants(max_lag: int, rng: np.random.Generator, full: bool = False) -> list[Measurement]:
    """Every entry of :data:`GREFF_FLOW`, in its order."""
    return [measure_variant(v, max_lag, rng, full) for v in GREFF_FLOW]
