"""Error flow in conventional recurrent nets (Section 3.1 eqs. 1-2, Section 3.2), measured with the generated
kernels: the eq. (1) recursion and eq. (2) path sum, the rate |f'(net*) w| per step at fixed operating points,
exploding flow along a chaotic trajectory, and the weak upper bound n (f'_max ||W||_A)^q.
"""

from __future__ import annotations

import math
import time
from types import ModuleType
from typing import Any, Callable

import numpy as np

from lstm_proofs.flow.common import (Curve, Measurement, Scaled, _kernel_args, _rescale, _worst, backward_errors,
                                     cache_values, fit_rate, run_forward)
from lstm_proofs.network.model import load_kernels
from lstm_proofs.network.topology import Params, Topology, init_params
from lstm_proofs.numerics import sigmoid


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


def _w6_stable_net() -> float:
    """net* of the upper stable fixed point of y -> sigma(6 y - 3) (the unit of the held exploding case)."""
    return max(fp["net"] for fp in logistic_fixed_points(6.0, -3.0) if fp["stable"])
