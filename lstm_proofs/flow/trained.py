"""Error flow in trained networks: the error injected at a task's target step, read at the step of its informative
input, in the networks ``lstm-proofs train`` trained (their stored weights, :mod:`lstm_proofs.training.weights`).

For every stored set of weights of a trial (the snapshots during training and the final weights) and every fresh
task sequence (the same sequences for every trial and stage of a row), the network is run forward with the
generated ``forward_step`` up to the target step ``t`` and errors are sent back with the generated
``backward_step`` (:func:`lstm_proofs.flow.measure.backward_errors`, exact power-of-two rescaling). The reading
is taken at every informative step ``tau`` of the sequence, lag ``q = t - tau``.

Memory cells (``lstm1997``, ``lstm1997_2a``): an error ``theta_j(t)`` = 1 enters at the output ``y_c`` of cell j
(eq. 31; in practice ``2**k``, divided out, so that the product stays in float64's normal range, as in
:func:`~lstm_proofs.flow.measure.entry_exit_ratios`). Read at ``tau``:

* ``trunc_c``, ``trunc_in``: the errors at the cell's net input ``net_c(tau)`` and at its block's input gate
  ``net_in(tau)`` with the paper's truncated gradient: the bias column of the generated ``dW_hidden`` (batch of
  one; the s-th cells of all blocks at once, since blocks exchange no error under truncation);
* ``entry = y_out(t) h'(s(t))`` and ``exit_c = g'(net_c(tau)) y_in(tau)``, ``exit_in = g(net_c(tau))
  f'_in(net_in(tau))`` (eqs. 40, 41; for the Exp. 2a/2b cell, with no output gate, ``h`` the identity and ``g``
  logistic: ``entry = 1``, ``exit_c = sigma'(net_c) y_in``, ``exit_in = sigma(net_c) f'_in``), from the forward
  values with formulas written here;
* ``identity_c``, ``identity_in``: ``trunc / (entry * exit) - 1``, the product formed in exact rational arithmetic
  from the float64 factors (the check of eqs. 40, 41 on trained networks: at most 1e-12);
* ``cec_trunc``: the internal-state error ``theta_s(tau)`` over the one entering at ``t``,
  ``theta_s(t) = dy_c/ds(t) theta_j(t)``: exactly 1 under truncation (eq. 35);
* ``cec_full``, ``full_c``: the same state ratio with the full gradient (eq. 33: ``d_s(tau) + dy_c/ds(tau)
  d_y_c(tau)``, one batch element per cell), and the error it gives at ``net_c(tau)``,
  ``exit_c * theta_s(tau)`` (eq. 36, which holds for the full gradient too: ``net_c(tau)`` reaches nothing but
  ``s(tau)``).

The error reaching the informative input is ``trunc_c`` (the weight change of every weight from the informative
input into the cell is that error times the input, eq. 20); a trial's figure per sequence and informative step is
the largest ``|trunc_c|`` over its cells.

Conventional nets (Table 2's RTRL and BPTT rows, ``rnn`` units): :func:`~lstm_proofs.flow.measure.conventional_flow`
gives ``d theta_v(t-q) / d theta_u(t)`` for all q; the error reaching the informative input is the hidden units'
at ``q = t - tau`` (largest over u, v), and the rate per step is fitted (least squares on ``ln |flow(q)|``,
q = 1 .. t, of the largest unit pair) and set against the same fit of eq. (2)'s product along the realised
``f'(net) w`` (:func:`~lstm_proofs.flow.measure.eq1_recursion` with ``f'`` from independently written derivative
formulas, :data:`~lstm_proofs.flow.measure.UNIT_DERIVATIVES`), within :data:`RATE_TOLERANCE`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from lstm_proofs.errors import UserError
from lstm_proofs.flow.measure import (Scaled, backward_errors, cache_values, conventional_flow, eq1_recursion,
                                      fit_rate, realised_fprime, recurrent_weights, run_forward)
from lstm_proofs.network import Params, Topology, load_kernels
from lstm_proofs.numerics import sigmoid
from lstm_proofs.tasks import Batch, get_task

#: Largest ``|trunc / (entry * exit) - 1|`` allowed in every reading (eqs. 40, 41 on trained networks).
IDENTITY_TOLERANCE = 1e-12

#: Largest relative deviation of a conventional net's measured rate per step from eq. (2)'s.
RATE_TOLERANCE = 0.01

#: The rule of the verdict on "the error reaching the informative input does not decay with the lag": a per-step
#: factor of the error carried between the target and the informative step within this distance of 1.
NO_DECAY_TOLERANCE = 0.01

#: Seed offset of the fresh measurement sequences (independent of every training stream).
SEQUENCE_STREAM = 19

_LOG10_2 = math.log10(2.0)

#: What each task's informative input is (docs/flow.md): the step(s) whose input must reach the target step.
INFORMATIVE = {
    "1": "the second symbol (T or P), read where the symbol before last is predicted",
    "2a": "the first symbol (x or y), read at the last step", "2b": "the first symbol (x or y), read at the last step",
    "2c": "the x or y after b, read at the last step",
    "3a": "the first N elements, read at the last step", "3b": "the first N elements, read at the last step",
    "3c": "the first N elements, read at the last step",
    "4": "the two marked pairs, read at the last step", "5": "the two marked pairs, read at the last step",
    "6a": "the X/Y symbols, read at the last step", "6b": "the X/Y symbols, read at the last step",
}


def informative_steps(task: str, options: dict[str, Any], batch: Batch, i: int) -> tuple[int, list[int]]:
    """The target step ``t`` of sequence ``i`` of a batch of task ``task`` (with its options) and its informative
    steps (each before t); see :data:`INFORMATIVE`.

    Raises:
        UserError: for a task without a definition here.
    """
    last = int(batch.lengths[i]) - 1
    if task == "1":  # inputs B, T|P, <Reber string>, T|P: the second symbol is predicted at step last - 1
        return last - 1, [1]
    if task in ("2a", "2b"):
        return last, [0]
    if task == "2c":
        return last, [1]
    if task in ("3a", "3b", "3c"):
        return last, list(range(int(options["N"])))
    if task in ("4", "5"):
        return last, sorted({int(batch.info["pos1"][i]), int(batch.info["pos2"][i])})
    if task in ("6a", "6b"):
        return last, sorted(int(p) for p in batch.info["positions"][i])
    raise UserError(f"no informative input defined for task {task!r}")


def fresh_sequences(task: str, options: dict[str, Any], n: int, seed: int) -> Batch:
    """``n`` fresh sequences of a task for the measurements (stream :data:`SEQUENCE_STREAM` of ``seed``)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, SEQUENCE_STREAM]))
    return get_task(task).generate(rng, n, **options)


def _sequence(batch: Batch, i: int, t: int) -> np.ndarray:
    """Sequence i's dense inputs up to step t, as a batch of one (T = t + 1, 1, I)."""
    return np.ascontiguousarray(batch.xs[: t + 1, i: i + 1], dtype=np.float64)


def _log10(mantissa: float, exponent: int) -> float:
    return math.log10(abs(mantissa)) + exponent * _LOG10_2 if mantissa != 0 else -math.inf


def _frac(x: float) -> Fraction:
    return Fraction(float(x))


def _ratio_minus_one(measured: Fraction, predicted: Fraction) -> float:
    if predicted == 0:
        return 0.0 if measured == 0 else math.inf
    return float(measured / predicted - 1)


def _factors(cell: str, v_t: dict[str, np.ndarray], v: dict[str, np.ndarray], j: int, block: int, C: int,
             S: int) -> tuple[Fraction, Fraction, Fraction]:
    """(entry at t, exit_c at tau, exit_in at tau) of cell j in block ``block``: eqs. (40), (41), the float64 factors
    multiplied exactly. The logistic values are taken over arrays of the kernels' shapes (NumPy's vectorised
    ``exp`` can differ in the last bit from its scalar path)."""
    CS = C * S
    sig = lambda x: sigmoid(np.asarray(x, dtype=np.float64))  # noqa: E731
    sc, sm = float(sig(v["net_c"]).reshape(CS)[j]), float(sig(-np.asarray(v["net_c"])).reshape(CS)[j])
    y_in = float(np.asarray(v["y_in"]).reshape(C)[block])
    sm_in = float(sig(-np.asarray(v["net_in"])).reshape(C)[block])
    if cell == "lstm1997":
        y_out = float(np.asarray(v_t["y_out"]).reshape(C)[block])
        ss, sms = float(sig(v_t["s"]).reshape(CS)[j]), float(sig(-np.asarray(v_t["s"])).reshape(CS)[j])
        entry = _frac(y_out) * _frac(2.0 * ss) * _frac(sms)   # y_out h'(s), h' = 2 sigma sigma(-)
        exit_c = _frac(4.0 * sc) * _frac(sm) * _frac(y_in)   # g' y_in, g' = 4 sigma sigma(-)
        exit_in = _frac(4.0 * sc - 2.0) * _frac(y_in) * _frac(sm_in)   # g f'_in, f'_in = y_in sigma(-net_in)
    elif cell == "lstm1997_2a":
        entry = Fraction(1)   # y_c = s: no output gate, h the identity
        exit_c = _frac(sc) * _frac(sm) * _frac(y_in)   # g = sigma: g' = sigma sigma(-)
        exit_in = _frac(sc) * _frac(y_in) * _frac(sm_in)
    else:
        raise UserError(f"trained-network flow is defined for the 1997 cells and conventional units, not {cell!r}")
    return entry, exit_c, exit_in


def _log10_frac(x: Fraction) -> float:
    if x == 0:
        return -math.inf
    return math.log10(abs(x.numerator)) - math.log10(x.denominator)


def measure_cells(top: Topology, params: Params, xs: np.ndarray, t: int, taus: list[int]) -> list[dict[str, Any]]:
    """The readings of a memory-cell network on one sequence (see the module docstring).

    Args:
        top, params: the network (``lstm1997`` or ``lstm1997_2a``).
        xs: (t + 1, 1, I) inputs up to the target step t.
        t: the target step; taus: informative steps (< t).

    Returns:
        One dict per (informative step, cell): ``tau``, ``lag``, ``cell``, ``log10_trunc_c``, ``log10_trunc_in``,
        ``log10_entry``, ``log10_exit_c``, ``log10_exit_in``, ``identity_c``, ``identity_in``, ``cec_trunc``,
        ``log10_cec_full``, ``log10_full_c``.
    """
    k = load_kernels(top.cell)
    C, S, CS = top.n_blocks, top.block_size, top.n_cells
    taus = [tau for tau in taus if 0 <= tau < t]
    caches = run_forward(top, params, xs, kernels=k)
    v_t = cache_values(k, caches[t])
    values = {tau: cache_values(k, caches[tau]) for tau in taus}
    row_in = CS + top.gates.index("in") * C
    factors = {(tau, j): _factors(top.cell, v_t, values[tau], j, j // S, C, S) for tau in taus for j in range(CS)}
    entry = [factors[(taus[0], j)][0] if taus else Fraction(1) for j in range(CS)]
    shift = [0 if e == 0 else int(np.clip(-math.frexp(float(e))[1], 0, 1021)) for e in entry]
    dyc_ds_t = np.broadcast_to(k.cell_exit(*_args(k, k.cell_exit, caches[t]))[0], (1, C, S)).reshape(CS)
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for s in range(S):  # truncated: the s-th cell of every block at once (blocks exchange no error)
        cells = [b * S + s for b in range(C)]
        d_a = np.zeros((1, top.n_activations))
        d_a[0, cells] = np.ldexp(1.0, [shift[j] for j in cells])
        rec = backward_errors(top, params, caches, d_a, np.zeros((1, C, S)), True, k)
        for tau in taus:
            e = int(rec.exponent[tau, 0])
            for j in cells:
                entry_j, exit_c, exit_in = factors[(tau, j)]
                scale = Fraction(2) ** (e - shift[j])
                m_c = _frac(rec.d_net[tau, j]) * scale
                m_in = _frac(rec.d_net[tau, row_in + j // S]) * scale
                # the state error at tau over the one that entered the CEC at t (arriving at s(t-1)): eq. (35)
                theta_s = _frac(rec.d_s[tau].reshape(CS)[j]) * Fraction(2) ** e
                theta_s_t = _frac(rec.d_s[t - 1].reshape(CS)[j]) * Fraction(2) ** int(rec.exponent[t - 1, 0])
                out[(tau, j)] = {
                    "tau": tau, "lag": t - tau, "cell": j,
                    "log10_trunc_c": _log10(float(rec.d_net[tau, j]), e - shift[j]),
                    "log10_trunc_in": _log10(float(rec.d_net[tau, row_in + j // S]), e - shift[j]),
                    "sign_trunc_c": float(np.sign(rec.d_net[tau, j])),
                    "log10_entry": _log10_frac(entry_j), "log10_exit_c": _log10_frac(exit_c),
                    "log10_exit_in": _log10_frac(exit_in),
                    "identity_c": _ratio_minus_one(m_c, entry_j * exit_c),
                    "identity_in": _ratio_minus_one(m_in, entry_j * exit_in),
                    "cec_trunc": float(theta_s / theta_s_t) if theta_s_t != 0 else math.nan,
                }
    # full gradient: one batch element per cell, the internal-state error of eq. (33) at tau
    xb = np.repeat(xs, CS, axis=1)
    caches_b = run_forward(top, params, xb, kernels=k)
    d_a = np.zeros((CS, top.n_activations))
    d_a[np.arange(CS), np.arange(CS)] = np.ldexp(1.0, shift)
    rec = backward_errors(top, params, caches_b, d_a, np.zeros((CS, C, S)), False, k)
    rows = np.arange(CS)
    for tau in taus:
        dyc_ds = np.broadcast_to(k.cell_exit(*_args(k, k.cell_exit, caches_b[tau]))[0], (CS, C, S)).reshape(CS, CS)
        theta = rec.d_s[tau].reshape(CS, CS)[rows, rows] + dyc_ds[rows, rows] * rec.d_a[tau][rows, rows]
        for j in range(CS):
            e = int(rec.exponent[tau, j]) - shift[j]
            ln_state = _log10(float(theta[j]), e)
            ln_entry_state = math.log10(abs(float(dyc_ds_t[j]))) if dyc_ds_t[j] != 0 else -math.inf
            out[(tau, j)]["log10_cec_full"] = ln_state - ln_entry_state
            out[(tau, j)]["log10_full_c"] = ln_state + out[(tau, j)]["log10_exit_c"]
    return [out[key] for key in sorted(out)]


def _args(k: Any, fn: Any, cache: tuple) -> list[np.ndarray]:
    import inspect

    values = cache_values(k, cache)
    return [values[p] for p in inspect.signature(fn).parameters]


def measure_conventional(top: Topology, params: Params, xs: np.ndarray, t: int, taus: list[int]) -> dict[str, Any]:
    """The readings of a conventional net on one sequence: the error at the hidden units' net inputs ``q`` steps
    before the target step after an error 1 there (largest over unit pairs), at the informative steps and for
    every q, and its fitted rate per step against eq. (2)'s along the realised ``f'(net) w``.

    Returns:
        ``lags``, ``log10_at_info`` (per informative step), ``log10_curve`` (q = 1 .. t), ``measured_rate``,
        ``predicted_rate`` (eq. 2), ``rate_rel_error``, ``geo_mean_factor`` (the geometric mean of ``|f'(net) w|``
        over the lag, n = 1 only).
    """
    flow, caches = conventional_flow(top, params, xs)
    W = recurrent_weights(top, params)
    fprime = realised_fprime(top, caches)
    pred = eq1_recursion(fprime, W)
    ln = flow.ln_abs()  # (t, n, n)
    ln_pred = pred.ln_abs()
    n = top.n_units
    u, v = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(ln[-1]), ln[-1], -np.inf))), (n, n))
    curve = ln[:, u, v]
    measured = fit_rate(curve) if t >= 2 else math.exp(float(curve[0]))
    predicted = fit_rate(ln_pred[:, u, v]) if t >= 2 else math.exp(float(ln_pred[0, u, v]))
    lags = [t - tau for tau in taus if 0 <= tau < t]
    at_info = [float(np.max(ln[q - 1])) / math.log(10.0) for q in lags]
    out = {"lags": lags, "log10_at_info": at_info, "log10_curve": (curve / math.log(10.0)).tolist(),
           "measured_rate": measured, "predicted_rate": predicted,
           "rate_rel_error": abs(measured - predicted) / predicted, "unit_pair": [int(u), int(v)]}
    if n == 1:
        factors = np.abs(fprime[:t, 0] * W[0, 0])
        out["geo_mean_factor"] = float(np.exp(np.mean(np.log(factors)))) if np.all(factors > 0) else 0.0
    return out


def is_conventional(top: Topology) -> bool:
    """True for nets of conventional units (no memory cells)."""
    return top.cell.startswith("rnn")


# ----- a results file: every trial, every stored stage -----

def find_results(spec: str, root: Path) -> Path:
    """The results file named by ``spec``: a path to a ``.json`` file, or a row id (as ``train`` takes it, e.g.
    ``6a``, ``2a/rtrl/p=4/lr=10``) looked up among the results files in ``root`` (the one run with the row's own
    settings when there are several).

    Raises:
        UserError: (one line) no such file or row, or several candidates.
    """
    from lstm_proofs.training.presets import get_preset
    from lstm_proofs.training.results import is_paper_setting, read_run

    path = Path(spec)
    if spec.endswith(".json") or path.is_file():
        if not path.is_file():
            raise UserError(f"--trained {spec}: no such results file")
        return path
    preset = get_preset(spec)
    found = []
    for f in sorted(Path(root).glob("*.json")):
        try:
            data = read_run(f)
        except UserError:
            continue
        if data["settings"].get("row") == preset.row:
            found.append((f, is_paper_setting(preset, data["settings"])))
    if not found:
        raise UserError(f"--trained {spec}: no results file of row {preset.row} in {root}; run 'lstm-proofs train "
                        f"{preset.row}' first")
    paper = [f for f, ok in found if ok]
    if len(found) == 1 or len(paper) == 1:
        return found[0][0] if len(found) == 1 else paper[0]
    raise UserError(f"--trained {spec}: several results files of row {preset.row} in {root} "
                    f"({', '.join(f.name for f, _ in found)}); name one")


def task_of(path: Path) -> str:
    """The task of a results file."""
    from lstm_proofs.training.results import read_run

    return str(read_run(path)["task"])


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _median(values: list[float]) -> float | None:
    v = _finite(values)
    return float(np.median(v)) if v else None


def _stage_lstm(top: Topology, params: Params, task: str, options: dict[str, Any], batch: Batch) -> dict[str, Any]:
    """One stage of one trial of an LSTM row: a reading per (sequence, informative step) for the cell that gets
    the largest truncated error at the informative input, and the stage's figures."""
    readings = []
    identity = 0.0
    cec_exact = True
    for i in range(batch.n):
        t, taus = informative_steps(task, options, batch, i)
        cells = measure_cells(top, params, _sequence(batch, i, t), t, taus)
        identity = max([identity, *(max(abs(c["identity_c"]), abs(c["identity_in"])) for c in cells)])
        cec_exact &= all(c["cec_trunc"] == 1.0 for c in cells)
        for tau in sorted({c["tau"] for c in cells}):
            group = [c for c in cells if c["tau"] == tau]
            best = max(group, key=lambda c: c["log10_trunc_c"])
            readings.append({"sequence": i, **{k: best[k] for k in (
                "tau", "lag", "cell", "log10_trunc_c", "log10_trunc_in", "log10_entry", "log10_exit_c",
                "log10_exit_in", "cec_trunc", "log10_cec_full", "log10_full_c")}})
    lags = [r["lag"] for r in readings]
    full_step = [r["log10_cec_full"] / r["lag"] for r in readings if math.isfinite(r["log10_cec_full"])]
    out = {"readings": readings, "identity_max": identity, "cec_trunc_exactly_one": bool(cec_exact),
           "lags": [min(lags), max(lags)] if lags else None,
           "median_log10_at_info": _median([r["log10_trunc_c"] for r in readings]),
           "median_log10_entry": _median([r["log10_entry"] for r in readings]),
           "median_log10_exit_c": _median([r["log10_exit_c"] for r in readings]),
           "median_log10_full_c": _median([r["log10_full_c"] for r in readings]),
           "median_log10_cec_full": _median([r["log10_cec_full"] for r in readings]),
           "per_step_factor_trunc": 1.0 if cec_exact else None,
           "per_step_factor_full": float(10 ** np.median(full_step)) if full_step else None}
    xs = np.array(lags, dtype=float)
    ys = np.array([r["log10_trunc_c"] for r in readings])
    ok = np.isfinite(ys)
    if ok.sum() >= 3 and np.ptp(xs[ok]) > 0:  # across lags (the exits differ too: information only)
        out["slope_per_step_factor_at_info"] = float(10 ** np.polyfit(xs[ok], ys[ok], 1)[0])
    return out


def _stage_conventional(top: Topology, params: Params, task: str, options: dict[str, Any], batch: Batch
                        ) -> dict[str, Any]:
    readings = []
    for i in range(batch.n):
        t, taus = informative_steps(task, options, batch, i)
        r = measure_conventional(top, params, _sequence(batch, i, t), t, taus)
        readings.append({"sequence": i, **r})
    at_info = [v for r in readings for v in r["log10_at_info"]]
    errors = [r["rate_rel_error"] for r in readings]
    return {"readings": readings, "lags": [min(q for r in readings for q in r["lags"]),
                                          max(q for r in readings for q in r["lags"])],
            "median_log10_at_info": _median(at_info),
            "median_measured_rate": _median([r["measured_rate"] for r in readings]),
            "median_predicted_rate": _median([r["predicted_rate"] for r in readings]),
            "rate_rel_error_max": max(errors), "per_step_factor": _median([r["measured_rate"] for r in readings])}


def measure_stages(top: Topology, stages: list[tuple[str, int, Params]], task: str, options: dict[str, Any],
                   batch: Batch) -> list[dict[str, Any]]:
    """The readings and figures of one trial at each of its ``stages`` (``(label, sequences, params)``, as
    :meth:`~lstm_proofs.training.weights.TrialWeights.stages` lists them) on the sequences of ``batch``."""
    measure = _stage_conventional if is_conventional(top) else _stage_lstm
    return [{"label": label, "sequences": n, **measure(top, p, task, options, batch)} for label, n, p in stages]


def measure_run(path: Path, sequences: int = 10, seed: int = 0, stages: bool = True,
                trials: list[int] | None = None) -> dict[str, Any]:
    """Measure every trial with stored weights of one results file (see the module docstring).

    Args:
        path: the results file.
        sequences: fresh task sequences per trial and stage (the same for all).
        seed: seed of those sequences.
        stages: also the snapshots during training (else the final weights only).
        trials: only these trials (default all with weights).

    Returns:
        The JSON-ready document (``settings``, ``trials`` with their ``stages``, ``checks``).

    Raises:
        UserError: (one line) when the file has no stored weights, with how to get them.
    """
    from lstm_proofs.training.results import read_run
    from lstm_proofs.training.weights import load_trial, stored_trials, weights_dir

    data = read_run(path)
    settings = data["settings"]
    have = stored_trials(path)
    if not have:
        raise UserError(f"{path} has no stored weights (expected {weights_dir(path)}/): it was trained before "
                        f"weights were kept; run 'lstm-proofs replay --weights {path}' (reruns its trials and "
                        "stores their weights, checked bit for bit against the records) or train the row again")
    wanted = have if trials is None else [t for t in trials if t in have]
    if trials is not None and len(wanted) < len(trials):
        missing = sorted(set(trials) - set(have))
        raise UserError(f"{path}: no stored weights for trial(s) {', '.join(map(str, missing))}; run "
                        f"'lstm-proofs replay --weights {path}'")
    task = data["task"]
    options = get_task(task).options(**settings["task_options"])
    batch = fresh_sequences(task, options, sequences, seed)
    out_trials = []
    for t in wanted:
        w = load_trial(path, t)
        chosen = w.stages() if stages else w.stages()[-1:]
        out_trials.append({"trial": t, "solved": w.solved, "stop": w.stop, "sequences": w.sequences,
                           "stages": measure_stages(w.topology, chosen, task, options, batch)})
    conventional = settings["method"] != "lstm"
    doc = {"format": "lstm-proofs/flow-trained/1", "results_file": str(path), "row": settings["row"],
           "task": task, "method": settings["method"], "cell": load_trial(path, wanted[0]).topology.cell,
           "informative": INFORMATIVE.get(task, ""), "settings": {"sequences": sequences, "seed": seed,
                                                                  "stages": stages, "task_options": options},
           "trials": out_trials}
    doc["checks"] = checks_of(doc, conventional)
    return doc


def checks_of(doc: dict[str, Any], conventional: bool) -> list[dict[str, Any]]:
    """The checks of a measured row: eqs. (40), (41) and (35) on every reading of an LSTM row
    (``trained/lstm-entry-exit``), eq. (2)'s rate on every sequence of a conventional row
    (``trained/conventional-eq2-rate``)."""
    stages = [s for t in doc["trials"] for s in t["stages"]]
    if conventional:
        worst = max(s["rate_rel_error_max"] for s in stages)
        return [{"id": "trained/conventional-eq2-rate", "figure": worst, "tolerance": RATE_TOLERANCE,
                 "passed": bool(worst <= RATE_TOLERANCE),
                 "claim": "eq. (2): measured rate per step of the error flow equals the one along the realised "
                          "f'(net) w"}]
    worst = max(s["identity_max"] for s in stages)
    exact = all(s["cec_trunc_exactly_one"] for s in stages)
    return [{"id": "trained/lstm-entry-exit", "figure": worst, "tolerance": IDENTITY_TOLERANCE,
             "passed": bool(worst <= IDENTITY_TOLERANCE and exact), "cec_trunc_exactly_one": exact,
             "claim": "eqs. (35), (40), (41): truncated error at the informative input = entry x exit, the CEC "
                      "carrying it exactly 1"}]


#: The verdict rule on "in trained networks, the error reaching the informative input does not decay with the lag".
VERDICT_RULE = ("the error at the informative input is entry(t) x carried(t -> tau) x exit(tau) (eqs. 40, 41), and "
                "only the carried part can depend on the lag; the claim holds for a task when, in every measured "
                "LSTM trial (final weights, every sequence and informative step), the per-step factor of the carried "
                f"part with the paper's truncated gradient, |theta_s(tau) / theta_s(t)|^(1/q), is within "
                f"{NO_DECAY_TOLERANCE:g} of 1, and fails otherwise; conventional nets on the task are contrasted by "
                f"their measured rate per step (decay if below 1 - {NO_DECAY_TOLERANCE:g})")


def verdicts(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One verdict per task measured (see :data:`VERDICT_RULE`)."""
    out = []
    for task in dict.fromkeys(d["task"] for d in docs):
        rows = [d for d in docs if d["task"] == task]
        lstm = [d for d in rows if d["method"] == "lstm"]
        conv = [d for d in rows if d["method"] != "lstm"]
        entry: dict[str, Any] = {"task": task, "rule": VERDICT_RULE}
        factors = [abs(r["cec_trunc"]) ** (1.0 / r["lag"]) for d in lstm for t in d["trials"]
                   for r in t["stages"][-1]["readings"]]
        full = [10 ** (r["log10_cec_full"] / r["lag"]) for d in lstm for t in d["trials"]
                for r in t["stages"][-1]["readings"] if math.isfinite(r["log10_cec_full"])]
        rates = [r["measured_rate"] for d in conv for t in d["trials"] for r in t["stages"][-1]["readings"]]
        if not factors:
            entry.update(verdict="no LSTM row measured", reason="only conventional nets measured")
        else:
            worst = max(abs(f - 1.0) for f in factors)
            holds = worst <= NO_DECAY_TOLERANCE
            entry.update(verdict="holds" if holds else "fails",
                         reason=f"{len(factors)} readings, per-step factor of the carried error (truncated) "
                                f"{min(factors):.6g}..{max(factors):.6g}; full gradient "
                                f"{min(full):.4g}..{max(full):.4g}"
                                if full else f"{len(factors)} readings, largest deviation {worst:.3g}",
                         lstm_factor_range=[min(factors), max(factors)],
                         full_factor_range=[min(full), max(full)] if full else None)
        if rates:
            entry["conventional_rate_range"] = [min(rates), max(rates)]
            decays = max(rates) < 1.0 - NO_DECAY_TOLERANCE
            per_row = []
            for d in conv:
                r = [x["measured_rate"] for t in d["trials"] for x in t["stages"][-1]["readings"]]
                lags = sorted({q for t in d["trials"] for x in t["stages"][-1]["readings"] for q in x["lags"]})
                per_row.append(f"{d['row']} (lag {lags[0] if len(lags) == 1 else f'{lags[0]}-{lags[-1]}'}) "
                               f"{min(r):.3g}..{max(r):.3g}")
            entry["reason"] += ("; conventional nets' measured rate per step: " + ", ".join(per_row)
                                + (" (all decaying)" if decays else " (not all decaying)"))
            entry["conventional_decays"] = bool(decays)
        out.append(entry)
    return out
