"""The measurements of ``python -m benchmarks``: timings, cost growth, learner memory, lockstep trials.

Timing rule: one untimed warm-up call (it also compiles or loads the numba kernels), then ``repeats`` timed calls;
the figure is the minimum (the least disturbed run on a shared machine), the median is recorded beside it. Costs
are per time step (one sequence, or a batch of B sequences sharing weights, advanced by one step) and per
trial-step (per step divided by the number of independent trials in lockstep).
"""

from __future__ import annotations

import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np

from lstm_proofs.inputs import OneHotInputs
from lstm_proofs.learning import OnlineLearner, TrialState, stack_params
from lstm_proofs.network import Network, Topology, init_params
from lstm_proofs.network.topology import Params
from lstm_proofs.network.model import load_kernels
from lstm_proofs.network.paper import PAPER_NETWORKS

#: The paper's LSTM networks (conventional-unit RTRL nets excluded), one entry per distinct topology.
LSTM_NETWORKS: tuple[tuple[str, Topology], ...] = tuple(
    (where, top) for where, top, _ in PAPER_NETWORKS if top.cell.startswith("lstm"))
#: The networks the issue names (Exps. 4/5, Exp. 1, Exp. 2c with p = 1000, Exp. 2a).
HEADLINE = ("Exps 4, 5, Tables 7-8", "Exp 1, Table 1 (3 blocks of 2)", "Exp 2c, Table 3 (p = 1000)",
            "Exp 2a/2b, Table 2")
#: The modern comparison: forget-gate cells, recurrence from cell outputs only, biases everywhere.
MODERN = {"n_in": 32, "hidden": 128, "n_out": 32, "batch": 64}
LOCKSTEP = 32
#: The networks whose tasks feed one-hot inputs (one symbol per step): Exp. 1 (embedded Reber strings, 7 symbols),
#: Exps. 2a/2b (p + 1 symbols), 2c (p + 4), 6a/6b (8). Exp. 3 feeds noise, Exps. 4/5 a value and a marker.
ONE_HOT_TASKS = ("Exp 1,", "Exp 2a/2b,", "Exp 2c,", "Exp 6a,", "Exp 6b,")


def timed(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Seconds per call of ``fn``: minimum and median of ``repeats`` calls after one warm-up call."""
    fn()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return {"min": min(runs), "median": statistics.median(runs), "repeats": repeats}


def _per(t: dict[str, float], n: float) -> dict[str, float]:
    return {"min_us": t["min"] / n * 1e6, "median_us": t["median"] / n * 1e6, "repeats": t["repeats"]}


def _data(top: Topology, T: int, B: int, seed: int, every_step: bool = True):
    rng = np.random.default_rng(seed)
    xs = rng.uniform(-1, 1, size=(T, B, top.n_in))
    tg = rng.uniform(size=(T, B, top.n_out))
    mask = np.ones((T, B)) if every_step else np.zeros((T, B))
    mask[-1] = 1.0
    return xs, tg, mask


def _trials(top: Topology, n: int, seed: int) -> list:
    return [init_params(top, np.random.default_rng(seed + i), 0.1) for i in range(n)]


def numba_available() -> bool:
    """True when the compiled backend can run."""
    from lstm_proofs.derivations import numba_lstm1997

    return numba_lstm1997.available()


def torch_version() -> str | None:
    """The installed torch version, or None."""
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


@contextmanager
def _gather_unpacker():
    """Let the autograd reference unpack its weight vector by a gather instead of a dense selection matrix.

    The reference (lstm_proofs/reference/autograd_models.py) multiplies a (entries x weights) 0/1 matrix into the
    vector once per call: 866 MB for the 10504-weight net. The gather is the same linear map (the benchmark checks
    the gradients agree with the NumPy kernels), so the timing measures autograd on the network, not the unpacking.
    """
    import autograd.numpy as anp

    from lstm_proofs.reference import autograd_models as am

    original = am._unpacker

    def unpacker(top: Topology):
        masks = top.masks()
        pieces, start = [], 0
        for name, shape in top.param_shapes().items():
            flat = masks[name].ravel()
            n = int(flat.sum())
            index = np.full(flat.size, n)  # position n is the appended zero
            index[flat] = np.arange(n)
            pieces.append((name, shape, start, start + n, index))
            start += n

        def unpack(v):
            return {name: anp.reshape(anp.concatenate([v[a:b], anp.zeros(1)])[idx], shape)
                    for name, shape, a, b, idx in pieces}
        return unpack

    am._unpacker = unpacker
    try:
        yield am
    finally:
        am._unpacker = original


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def gradient_costs(top: Topology, T: int, B: int, repeats: int, seed: int = 0, autograd: bool = True,
                   torch_paper: bool = True) -> dict[str, Any]:
    """Per-step cost of ``Network.loss_and_grad`` (full BPTT) with each backend and the references."""
    xs, tg, mask = _data(top, T, B, seed)
    params = init_params(top, np.random.default_rng(seed), 0.1)
    out: dict[str, Any] = {}
    ref = Network(top).loss_and_grad(params, xs, tg, mask)[1]
    out["numpy"] = _per(timed(lambda: Network(top).loss_and_grad(params, xs, tg, mask), repeats), T)
    if numba_available():
        net = Network(top, load_kernels(top.cell, "numba"))
        out["numba"] = _per(timed(lambda: net.loss_and_grad(params, xs, tg, mask), repeats), T)
        out["numba_agreement"] = _rel(net.loss_and_grad(params, xs, tg, mask)[1].to_vector(top), ref.to_vector(top))
    if autograd:
        with _gather_unpacker() as am:
            out["autograd"] = _per(timed(lambda: am.gradient(top, params, xs, tg, mask), max(1, repeats // 2)), T)
            out["autograd_agreement"] = _rel(am.gradient(top, params, xs, tg, mask).to_vector(top), ref.to_vector(top))
    if torch_paper and torch_version():
        from benchmarks.torch_models import paper_loss_and_grad

        run = paper_loss_and_grad(top, params, xs, tg, mask)
        out["torch"] = _per(timed(run, max(1, repeats // 2)), T)
        _, gh, go = run()
        out["torch_agreement"] = max(_rel(gh * top.masks()["W_hidden"], ref.W_hidden),
                                     _rel(go * top.masks()["W_output"], ref.W_output))
    return out


def learner_costs(top: Topology, T: int, B: int, repeats: int, seed: int = 0, every_step: bool = True,
                  backends: tuple[str, ...] = ("numpy", "numba")) -> dict[str, Any]:
    """Per-step and per-trial-step cost of ``OnlineLearner.run_sequence`` with B trials in lockstep."""
    xs, tg, mask = _data(top, T, B, seed, every_step)
    trials = _trials(top, B, seed)
    out: dict[str, Any] = {}
    for backend in backends:
        if backend == "numba" and not numba_available():
            continue
        learner = OnlineLearner(top, kernels=load_kernels(top.cell, backend))
        state = TrialState(stack_params(trials), np.full(B, 0.1))
        t = timed(lambda: learner.run_sequence(state, xs, tg, mask), repeats)
        out[backend] = {"per_step": _per(t, T), "per_trial_step": _per(t, T * B)}
    return out


def task_inputs(top: Topology, T: int, B: int, seed: int) -> OneHotInputs:
    """One-hot inputs of the network's input size, (T, B, I): a random symbol at every step, the kind of input the
    one-hot tasks feed (which symbol follows which does not matter for the cost, only that one input is 1.0), held
    as symbols as the tasks hand them to the trainer."""
    rng = np.random.default_rng(seed)
    return OneHotInputs(rng.integers(0, top.n_in, size=(T, B)), top.n_in)


def task_input_costs(top: Topology, T: int, repeats: int, seed: int = 0) -> dict[str, Any] | None:
    """numba costs on one-hot inputs (:func:`task_inputs`): the gradient (B = 1) and 32 trials in lockstep, errors at
    every step and at the end only; ``n_in``: the inputs; ``path``: the kernels' input path (``sparse`` when they
    list the nonzero inputs). None without numba."""
    if not numba_available():
        return None
    k = load_kernels(top.cell, "numba")
    xs = task_inputs(top, T, 1, seed)
    _, tg, mask = _data(top, T, 1, seed)
    params = init_params(top, np.random.default_rng(seed), 0.1)
    net = Network(top, k)
    out: dict[str, Any] = {"n_in": top.n_in, "path": k.input_path(xs),
                           "gradient_B1": _per(timed(lambda: net.loss_and_grad(params, xs, tg, mask), repeats), T)}
    xs = task_inputs(top, T, LOCKSTEP, seed)
    for key, every_step in (("learner_lockstep", True), ("learner_lockstep_end_error", False)):
        _, tg, mask = _data(top, T, LOCKSTEP, seed, every_step)
        learner = OnlineLearner(top, kernels=k)
        state = TrialState(stack_params(_trials(top, LOCKSTEP, seed)), np.full(LOCKSTEP, 0.1))
        t = timed(lambda: learner.run_sequence(state, xs, tg, mask), repeats)
        out[key] = {"per_step": _per(t, T), "per_trial_step": _per(t, T * LOCKSTEP)}
    return out


def merge_rounds(a: Any, b: Any) -> Any:
    """Two rounds of the same measurements as one: each timing (a ``_per`` dict) keeps the smaller minimum and the
    smaller median (the quieter round's) and adds up the repeats; everything else is the first round's (the
    measured values other than timings are the same in every round)."""
    if isinstance(a, dict) and "min_us" in a:
        return {"min_us": min(a["min_us"], b["min_us"]), "median_us": min(a["median_us"], b["median_us"]),
                "repeats": a["repeats"] + b["repeats"]}
    if isinstance(a, dict):
        return {k: merge_rounds(v, b[k]) for k, v in a.items()}
    return a


def paper_networks(repeats: int, T: int = 100, rounds: int = 1) -> list[dict[str, Any]]:
    """Every LSTM network of the paper's tables: gradient (B = 1), learner alone and 32 trials in lockstep; for the
    networks of one-hot tasks (:data:`ONE_HOT_TASKS`) the numba figures again on one-hot inputs (``task_inputs``).

    The repeats are split into ``rounds`` passes over all the networks, merged by :func:`merge_rounds`, so that a
    burst of load from other jobs on a shared machine does not spoil every repeat of one network."""
    rows: list[dict[str, Any]] | None = None
    for r in range(rounds):
        measured = []
        for where, top in LSTM_NETWORKS:
            slow = top.n_weights > 2000
            reps = max(1, -(-(max(2, repeats // 2) if slow else repeats) // rounds))
            measured.append({
                "network": where, "n_weights": top.n_weights, "topology": repr(top), "T": T,
                "gradient_B1": gradient_costs(top, T, 1, reps),
                "learner_B1": learner_costs(top, T, 1, reps),
                "learner_lockstep": learner_costs(top, T, LOCKSTEP, reps),
                "learner_lockstep_end_error": learner_costs(top, T, LOCKSTEP, reps, every_step=False,
                                                            backends=("numba",)),
                "task_inputs": task_input_costs(top, T, reps) if where.startswith(ONE_HOT_TASKS) else None})
        rows = measured if rows is None else [merge_rounds(a, b) for a, b in zip(rows, measured)]
        print(f"  round {r + 1} of {rounds} done", flush=True)
    assert rows is not None
    for row in rows:
        print(f"  {row['network']:36s} W={row['n_weights']:6d}  grad numpy "
              f"{row['gradient_B1']['numpy']['min_us']:9.1f} us/step  learner numpy "
              f"{row['learner_B1']['numpy']['per_step']['min_us']:9.1f} us/step", flush=True)
    return rows


def _entries_multiplied(top: Topology) -> dict[str, int]:
    """Weight-matrix entries each backend multiplies per sequence-step: the dense layout (numba), and the dense
    layout without the activation columns that hold no weight (NumPy, ``Network._reduced``)."""
    params = Params({name: np.zeros(shape) for name, shape in top.param_shapes().items()})
    W_h, W_o = Network(top)._kernel_weights(params)
    return {"numpy": int(W_h.size + W_o.size), "numba": int(params.W_hidden.size + params.W_output.size)}


def modern(repeats: int, T_grad: int = 50, T_learn: int = 5) -> dict[str, Any]:
    """I = 32, H = 128 forget-gate cells, batch 64: gradient against autograd and torch nn.LSTM; the learner."""
    I, H, K, B = MODERN["n_in"], MODERN["hidden"], MODERN["n_out"], MODERN["batch"]
    top = Topology("forget", I, K, H, 1, recurrent="cells", bias="all")
    out: dict[str, Any] = {"topology": repr(top), "n_weights": top.n_weights, "T_gradient": T_grad,
                           "T_learner": T_learn, "batch": B, "entries_multiplied": _entries_multiplied(top)}
    out["gradient"] = gradient_costs(top, T_grad, B, repeats, torch_paper=False)
    if torch_version():
        from benchmarks.torch_models import lstm_loss_and_grad

        xs, tg, mask = _data(top, T_grad, B, 0)
        out["gradient"]["torch_nn_lstm"] = _per(timed(lstm_loss_and_grad(I, H, K, xs, tg, mask), repeats), T_grad)
        out["torch_nn_lstm_weights"] = 4 * H * (I + H + 2) + K * (H + 1)
    out["learner"] = learner_costs(top, T_learn, B, max(1, repeats // 3))
    return out


def weight_passes(repeats: int) -> list[dict[str, Any]] | None:
    """One compiled pass ``w += a * g`` over the W weights of each headline network, alone (B = 1) and per trial
    with 32 trials' weights side by side (the lockstep working set): the least that changing every weight once costs
    on this machine. A learner step with an error signal at every step on dense inputs changes every weight
    (eq. 17: every entry of G is nonzero), besides reading them for the net inputs and updating the traces, so its
    cost per trial-step cannot fall below this. None without numba."""
    if not numba_available():
        return None
    import numba

    @numba.njit(cache=False)
    def axpy(w, g, a, reps):  # the weight change of eq. (17), reps times
        for _ in range(reps):
            for i in range(w.size):
                w[i] += a * g[i]

    out = []
    for where, top in LSTM_NETWORKS:
        if where not in HEADLINE:
            continue
        row: dict[str, Any] = {"network": where, "n_weights": top.n_weights}
        for key, B in (("B1", 1), ("lockstep", LOCKSTEP)):
            n = top.n_weights * B
            w, g = np.zeros(n), np.random.default_rng(0).uniform(size=n)
            reps = max(1, 4_000_000 // n)  # enough passes per call to make the call itself negligible
            row[key] = _per(timed(lambda: axpy(w, g, 1e-9, reps), repeats), reps * B)
        out.append(row)
    return out


def growth(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Log-log slope of per-step cost against the number of weights over the paper's networks (O(W): slope 1)."""
    W = np.log([r["n_weights"] for r in rows])
    series = {
        "gradient numpy (B=1)": [r["gradient_B1"]["numpy"]["min_us"] for r in rows],
        "learner numpy (B=1)": [r["learner_B1"]["numpy"]["per_step"]["min_us"] for r in rows],
        "learner numpy (32 lockstep, per trial-step)":
            [r["learner_lockstep"]["numpy"]["per_trial_step"]["min_us"] for r in rows],
    }
    if "numba" in rows[0]["gradient_B1"]:
        series["gradient numba (B=1)"] = [r["gradient_B1"]["numba"]["min_us"] for r in rows]
        series["learner numba (B=1)"] = [r["learner_B1"]["numba"]["per_step"]["min_us"] for r in rows]
        series["learner numba (32 lockstep, per trial-step)"] = [
            r["learner_lockstep"]["numba"]["per_trial_step"]["min_us"] for r in rows]
    out = {}
    for name, costs in series.items():
        slope, _ = np.polyfit(W, np.log(costs), 1)
        big = [i for i, r in enumerate(rows) if r["n_weights"] >= 300]
        slope_big, _ = np.polyfit(W[big], np.log(np.asarray(costs)[big]), 1)
        out[name] = {"slope": float(slope), "slope_W_ge_300": float(slope_big)}
    return out


def memory(lengths: tuple[int, ...] = (100, 1000, 10000)) -> dict[str, Any]:
    """tracemalloc peak of one learner sequence (93-weight net, one trial) against sequence length.

    The learner's returned outputs are T * K floats; the figure ``peak_minus_outputs`` takes them out, leaving the
    working memory, which must not grow with T. BPTT (Network.loss_and_grad) is measured beside it for contrast.
    """
    top = dict(LSTM_NETWORKS)["Exps 4, 5, Tables 7-8"]
    out: dict[str, Any] = {"network": "Exps 4, 5, Tables 7-8", "lengths": list(lengths), "runs": []}
    backends = ["numpy"] + (["numba"] if numba_available() else [])
    for T in lengths:
        xs, tg, mask = _data(top, T, 1, 0, every_step=False)
        for backend in backends:
            k = load_kernels(top.cell, backend)
            learner = OnlineLearner(top, kernels=k)
            state = TrialState(stack_params(_trials(top, 1, 0)), np.full(1, 0.1))
            learner.run_sequence(state, xs[:5], tg[:5], mask[:5])  # compile / warm up outside the measurement
            tracemalloc.start()
            learner.run_sequence(state, xs, tg, mask)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            out["runs"].append({"what": f"learner {backend}", "T": T, "peak_bytes": peak,
                                "peak_minus_outputs": peak - T * top.n_out * 8})
        params = init_params(top, np.random.default_rng(0), 0.1)
        tracemalloc.start()
        Network(top).loss_and_grad(params, xs, tg, mask)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out["runs"].append({"what": "BPTT numpy", "T": T, "peak_bytes": peak, "peak_minus_outputs": None})
    return out


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import os

    info = {"python": platform.python_version(), "platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "numpy": np.__version__, "torch": torch_version(),
            "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
            "load_average_at_start": list(os.getloadavg()),
            "note": "2 cores shared with other jobs: timings are noisy; minimum of repeats reported"}
    from lstm_proofs.training.provenance import git_state

    info["commit"], info["dirty"] = git_state()
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:
        info["numba"] = None
    import autograd

    info["autograd"] = getattr(autograd, "__version__", "installed")
    return info
