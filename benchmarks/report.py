"""Targets, the printed table and ``docs/performance.md``, all computed from the results document alone."""

from __future__ import annotations

from typing import Any

from benchmarks.paper_rows import ROWS
from benchmarks.suite import HEADLINE

GENERATED = ("<!-- GENERATED FILE - DO NOT EDIT. Written by `python -m benchmarks` (or `python -m benchmarks "
             "--report`) from results/benchmarks.json. -->")


def _net(payload: dict[str, Any], where: str) -> dict[str, Any]:
    return next(r for r in payload["networks"] if r["network"] == where)


def _get(d: dict[str, Any], *keys: str) -> float | None:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def targets(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's speed targets, each with the measured figure and a verdict (None: could not be measured)."""
    out = []

    def add(what: str, figure: float | None, bound: float, unit: str, below: bool = True) -> None:
        met = None if figure is None else (figure <= bound if below else figure >= bound)
        out.append({"target": what, "figure": figure, "bound": bound, "unit": unit, "met": met})

    for where in HEADLINE:
        r = _net(payload, where)
        w = r["n_weights"]
        add(f"NumPy gradient, B=1, {w} weights: <= 30 us/step", _get(r, "gradient_B1", "numpy", "min_us"), 30, "us")
        add(f"NumPy learner, B=1, {w} weights: <= 30 us/step",
            _get(r, "learner_B1", "numpy", "per_step", "min_us"), 30, "us")
        ag, npy = _get(r, "gradient_B1", "autograd", "min_us"), _get(r, "gradient_B1", "numpy", "min_us")
        add(f"NumPy gradient >= 30x faster than autograd, {w} weights", ag / npy if ag and npy else None, 30, "x",
            below=False)
        add(f"NumPy learner, 32 trials in lockstep, {w} weights: <= 2 us/trial-step",
            _get(r, "learner_lockstep", "numpy", "per_trial_step", "min_us"), 2, "us")
        add(f"numba gradient, B=1, {w} weights: <= 1 us/step", _get(r, "gradient_B1", "numba", "min_us"), 1, "us")
        add(f"numba learner, 32 trials in lockstep, {w} weights: <= 1 us/trial-step",
            _get(r, "learner_lockstep", "numba", "per_trial_step", "min_us"), 1, "us")
        t = r.get("task_inputs")
        if t:  # the same two targets on the one-hot inputs the network's task feeds
            add(f"numba gradient, B=1, {w} weights, the task's one-hot inputs: <= 1 us/step",
                _get(t, "gradient_B1", "min_us"), 1, "us")
            add(f"numba learner, 32 trials in lockstep, {w} weights, the task's one-hot inputs: <= 1 us/trial-step",
                _get(t, "learner_lockstep", "per_trial_step", "min_us"), 1, "us")
    m = payload["modern"]["gradient"]
    npy, tl = _get(m, "numpy", "min_us"), _get(m, "torch_nn_lstm", "min_us")
    add("I=32, H=128, B=64: NumPy gradient no slower than torch nn.LSTM (ratio NumPy/torch <= 1)",
        npy / tl if npy and tl else None, 1, "x")
    return out


def _fmt(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "n/a"
    if x >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}" if x >= 1 else f"{x:.{max(digits, 2)}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a and b else "n/a"


def network_rows(payload: dict[str, Any]) -> list[list[str]]:
    """One line per paper network: per-step costs (minimum, microseconds) and ratios."""
    lines = []
    for r in payload["networks"]:
        g, lb, ll = r["gradient_B1"], r["learner_B1"], r["learner_lockstep"]
        npy = _get(g, "numpy", "min_us")
        lines.append([r["network"], str(r["n_weights"]), _fmt(npy), _fmt(_get(g, "numba", "min_us"), 2),
                      _fmt(_get(g, "autograd", "min_us")), _ratio(_get(g, "autograd", "min_us"), npy),
                      _ratio(_get(g, "torch", "min_us"), npy),
                      _fmt(_get(lb, "numpy", "per_step", "min_us")), _fmt(_get(lb, "numba", "per_step", "min_us"), 2),
                      _fmt(_get(ll, "numpy", "per_trial_step", "min_us"), 2),
                      _fmt(_get(ll, "numba", "per_trial_step", "min_us"), 3),
                      _fmt(_get(r, "learner_lockstep_end_error", "numba", "per_trial_step", "min_us"), 3)])
    return lines


HEAD = ["network", "W", "grad NumPy", "grad numba", "grad autograd", "autograd/NumPy", "torch/NumPy",
        "learner NumPy", "learner numba", "lockstep NumPy", "lockstep numba", "lockstep numba (end error)"]


def table(payload: dict[str, Any]) -> str:
    """The plain-text summary printed after a run."""
    rows = [HEAD] + network_rows(payload)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEAD))]
    text = ["per-step cost, microseconds (minimum of repeats); lockstep = 32 trials, per trial-step"]
    for r in rows:
        text.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    text.append("")
    text += _modern_lines(payload, plain=True)
    text.append("")
    for t in payload["targets"]:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        text.append(f"[{verdict:>12}] {t['target']}: {_fmt(t['figure'], 2)} {t['unit']}")
    return "\n".join(text)


def _modern_lines(payload: dict[str, Any], plain: bool = False) -> list[str]:
    m = payload["modern"]
    g = m["gradient"]
    npy = _get(g, "numpy", "min_us")
    items = [("NumPy (generated)", npy), ("numba (generated)", _get(g, "numba", "min_us")),
             ("HIPS autograd (reference model)", _get(g, "autograd", "min_us")),
             ("torch nn.LSTM + linear output", _get(g, "torch_nn_lstm", "min_us"))]
    lines = [f"modern size {m['topology']}, {m['n_weights']} weights, batch {m['batch']}, T = {m['T_gradient']}: "
             "gradient per step"]
    if not plain:
        lines = [lines[0] + ":", "",
                 "| implementation | us per step (batch of 64) | us per sequence-step | ratio to NumPy |",
                 "|---|---:|---:|---:|"]
    for name, us in items:
        per_seq = us / m["batch"] if us else None
        if plain:
            lines.append(f"  {name:34s} {_fmt(us):>10} us/step  {_ratio(us, npy):>7}")
        else:
            lines.append(f"| {name} | {_fmt(us)} | {_fmt(per_seq, 2)} | {_ratio(us, npy)} |")
    lm = m["learner"]
    for backend in ("numpy", "numba"):
        us = _get(lm, backend, "per_trial_step", "min_us")
        label = f"learner {backend}, {m['batch']} trials, T = {m['T_learner']}: per trial-step"
        lines.append(f"  {label:34s} {_fmt(us):>10} us" if plain else f"| {label} | | {_fmt(us)} | |")
    return lines


def projections(payload: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Projected training wall time of every table row (steps x sequences x trials x per-trial-step cost)."""
    out, totals = [], {"numpy_alone": 0.0, "numpy_lockstep": 0.0, "numba_lockstep": 0.0}
    for row in ROWS:
        r = _net(payload, row.network)
        trial_steps = row.steps * row.sequences * row.trials
        learner = "learner_lockstep" if row.every_step else "learner_lockstep_end_error"
        one_hot = _get(r, "task_inputs", learner, "per_trial_step", "min_us")  # the task's one-hot inputs
        costs = {"numpy_alone": _get(r, "learner_B1", "numpy", "per_step", "min_us"),
                 "numpy_lockstep": _get(r, "learner_lockstep", "numpy", "per_trial_step", "min_us"),
                 "numba_lockstep": one_hot or _get(r, learner, "numba", "per_trial_step", "min_us")}
        hours = {k: (v * 1e-6 * trial_steps / 3600 if v else None) for k, v in costs.items()}
        for k, v in hours.items():
            if v is not None:
                totals[k] += v
        out.append({"row": row, "n_weights": r["n_weights"], "trial_steps": trial_steps, "hours": hours})
    return out, totals


def _one_hot_lines(payload: dict[str, Any]) -> list[str]:
    """The section on the numba kernels with the one-hot inputs of the paper's tasks."""
    rows = [r for r in payload["networks"] if r.get("task_inputs")]
    if not rows:
        return []
    L = ["## On the tasks' one-hot inputs", "",
         "The tables above feed random real inputs. The tasks of Exps. 1, 2 and 6 feed one-hot codes (one input 1.0 "
         "per step), held as symbols (`OneHotInputs`, as the tasks hand them to the trainer and as measured here), "
         "where the numba kernels take their sparse input path when the inputs are many (at least 16: Exps. 2a/2b "
         "and 2c): they read each step's nonzero inputs from the symbols and skip the zero ones in the net inputs, "
         "the input-weight gradients and the learner's traces, with the same results bit for bit "
         "(docs/pipeline.md). numba per step (gradient, B = 1) and per trial-step (32 trials in "
         "lockstep), random inputs against one-hot inputs of the same size:", "",
         "| network | W | inputs | path | grad (random) | grad (one-hot) | lockstep (random) | lockstep (one-hot) "
         "| lockstep end error (random) | lockstep end error (one-hot) |", "|---|---:|---:|---|" + "---:|" * 6]
    for r in rows:
        t = r["task_inputs"]
        L.append(f"| {r['network']} | {r['n_weights']} | {t['n_in']} | {t['path']} | "
                 f"{_fmt(_get(r, 'gradient_B1', 'numba', 'min_us'), 2)} | "
                 f"{_fmt(_get(t, 'gradient_B1', 'min_us'), 2)} | "
                 f"{_fmt(_get(r, 'learner_lockstep', 'numba', 'per_trial_step', 'min_us'), 3)} | "
                 f"{_fmt(_get(t, 'learner_lockstep', 'per_trial_step', 'min_us'), 3)} | "
                 f"{_fmt(_get(r, 'learner_lockstep_end_error', 'numba', 'per_trial_step', 'min_us'), 3)} | "
                 f"{_fmt(_get(t, 'learner_lockstep_end_error', 'per_trial_step', 'min_us'), 3)} |")
    return L + ["", "The projected wall times below use the one-hot figures for these networks. The sequences here "
                "have T = 100 steps. At a step with output error the learner updates the traces of the inputs seen "
                "since the sequence began (a step without error, for the 1997 cell's CEC, only those of the current "
                "input), so with errors at every step (Exps. 1, 2a, 2b) its cost per step grows with the distinct "
                "symbols a sequence shows; the long sequences of Exp. 2c (q = 1000) have their error at the end only. "
                "The trainer's own cost on such a row is in \"Training end to end\".", ""]


def _pass_lines(payload: dict[str, Any]) -> list[str]:
    """The floor under the learner's cost: one pass over the weights (``suite.weight_passes``)."""
    runs = payload.get("weight_passes")
    if not runs:
        return []
    L = ["", "## A floor: one pass over the weights", "",
         "With an error signal at every step and dense inputs the learner changes every weight at every step (eq. "
         "17: every entry of G is nonzero), besides reading all of them for the net inputs and updating the traces. "
         "One compiled pass `w += a * g` over W numbers (numba, repeated within one call; per trial with 32 trials' "
         "weights side by side, as in lockstep) is what changing every weight once costs on this machine, and so the "
         "least a learner step can cost. \"passes\": the measured learner cost in units of that pass. Where one "
         "pass alone exceeds a target, no learner of this kind meets it here.", "",
         "| network | W | one pass, B = 1 (us) | learner numba, B = 1 (us/step) | passes "
         "| one pass per trial, 32 trials (us) | lockstep numba (us/trial-step) | passes "
         "| lockstep NumPy (us/trial-step) | passes |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in runs:
        r = _net(payload, p["network"])
        b1, ls = p["B1"]["min_us"], p["lockstep"]["min_us"]
        l1 = _get(r, "learner_B1", "numba", "per_step", "min_us")
        ll = _get(r, "learner_lockstep", "numba", "per_trial_step", "min_us")
        ln = _get(r, "learner_lockstep", "numpy", "per_trial_step", "min_us")
        L.append(f"| {p['network']} | {p['n_weights']} | {_fmt(b1, 3)} | {_fmt(l1, 2)} | "
                 f"{_fmt(l1 / b1 if l1 else None, 1)} | {_fmt(ls, 3)} | {_fmt(ll, 2)} | "
                 f"{_fmt(ll / ls if ll else None, 1)} | {_fmt(ln, 2)} | {_fmt(ln / ls if ln else None, 1)} |")
    return L


def _training_lines(payload: dict[str, Any]) -> list[str]:
    """The trainer end to end (``benchmarks/training.py``): nothing for a results file without it."""
    runs = payload.get("training")
    if not runs:
        return []
    L = ["## Training end to end", "",
         "`lstm-proofs train <row> --trials N --max-sequences M` on the adding problem (Table 7, T = 100) and on the "
         "very-long-lag task (Table 3, q = p = 1000: one-hot inputs of 1,004 symbols, about 1,012 steps per "
         "sequence), every trial trained to a sequence cap far below the paper's sequences to success, so the "
         "trial-steps are counted exactly (`benchmarks/training.py`). \"command\": the whole command as a user runs "
         "it (start-up, kernel loading, training, each trial's final test on the row's test set, the results file). "
         "\"marginal\": the training cost alone, from two in-process runs that differ only in their cap. Each figure "
         "is the minimum of two runs.", "",
         "| row | backend | trials | sequences per trial | trial-steps | test set | command (s) "
         "| command us/trial-step | marginal us/trial-step |",
         "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        L.append(f"| {r['row']} | {r['backend']} | {r['trials']} | {r['sequences']:,} | {r['trial_steps']:,} | "
                 f"{r['test_size']:,} | {r['command_s']:.2f} | {r['command_us_per_trial_step']:.2f} | "
                 f"{r['marginal_us_per_trial_step']:.2f} |")
    return L + [""]


def _h(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x < 1 / 60:
        return f"{x * 3600:.0f} s"
    if x < 1:
        return f"{x * 60:.1f} min"
    return f"{x:.1f} h"


def _load(measured: dict[str, Any]) -> str:
    """The load average a measurement recorded at its start, as text."""
    return ", ".join(f"{x:.1f}" for x in measured["load_average_at_start"])


def _code(mach: dict[str, Any]) -> str:
    if not mach.get("commit"):
        return "a commit not recorded (this run predates the record)"
    return f"commit `{mach['commit'][:7]}`" + (" with uncommitted changes" if mach.get("dirty") else "")


def render(payload: dict[str, Any]) -> str:
    """The text of docs/performance.md."""
    mach = payload["machine"]
    L = [GENERATED, "", "# Performance", "",
         "Measured by `python -m benchmarks` (run from the repository root; `--repeats N`, `--rounds R`, `--quick`), "
         "which writes `results/benchmarks.json`; this page is generated from that file (`python -m benchmarks "
         "--report`). Timing rule: one warm-up call (it also compiles or loads the numba kernels), then repeated "
         "calls; the figure is the **minimum**, the median is in the results file. The paper's networks are "
         f"measured in {payload.get('rounds', 1)} round(s) over all of them, the repeats split between the rounds, "
         "so that a burst of load from other jobs does not spoil every repeat of one network (the modern size "
         "likewise). BLAS and torch ran on one thread.", "",
         f"Machine: {mach['platform']}, {mach['cpu_count']} cores **shared with other jobs** (load average at start "
         f"{_load(mach)}), Python {mach['python']}, NumPy "
         f"{mach['numpy']}, numba {mach['numba'] or 'not installed'}, torch {mach['torch'] or 'not installed'}, "
         f"autograd {mach['autograd']}; code at {_code(mach)}. {payload['repeats']} repeats; the run took "
         f"{payload['elapsed_s']:.0f} s. "
         "Timings on a shared machine are noisy: read them as within a factor of about 1.5.", "",
         "## What is measured", "",
         "* **gradient**: `Network.loss_and_grad` (loss plus full backpropagation-through-time gradient), one "
         "sequence of T = 100 steps (batch 1); per time step. References: the independently written HIPS-autograd "
         "model (`lstm_proofs/reference/autograd_models.py`; its weight unpacking replaced by an equivalent gather, "
         "see `benchmarks/suite.py`) and the same network written in PyTorch operations "
         "(`benchmarks/torch_models.py`), both checked to give the same gradient; ratios are their time over NumPy's.",
         "* **learner**: `OnlineLearner.run_sequence` (the paper's online learner: forward pass, forward traces "
         "ds/dw, per-step weight change), error signal at every step; per time step for one trial, and per "
         f"trial-step for {payload['lockstep_trials']} independent trials in lockstep. "
         "\"end error\": error only at the sequence end (Exps. 2c-6), where both learners skip the exact-zero "
         "gradient of the other steps.",
         "* **NumPy**: the generated `derivations/<cell>.py` with the shared scaffolding of "
         "`lstm_proofs/kernels/numpy_network.py`: `forward_sequence` / `gradient_sequence` (a Python "
         "loop over time steps, with the work that does not depend on the previous step done for all steps at once "
         "outside it) and `learner_sequence` (a Python loop of `learner_step`'s arithmetic, buffers made once per "
         "sequence); **numba**: the whole-sequence loops of `lstm_proofs/kernels/numba_loops.py`, written once and "
         "compiled per cell with the cell's generated functions (`derivations/numba_<cell>.py`) written into them "
         "(`lstm_proofs/kernels/numba_splice.py`), whole sequences in one compiled call "
         "(`load_kernels(cell, backend=\"numba\")`).",
         "", "## The paper's networks (microseconds per step; lockstep columns per trial-step)", "",
         "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    L += ["| " + " | ".join(r) + " |" for r in network_rows(payload)]
    L += ["", "Agreement with the NumPy gradient (max |difference| / max |NumPy|): " + ", ".join(
        f"{k.split('_')[0]} <= {max(_get(r, 'gradient_B1', k) or 0 for r in payload['networks']):.1e}"
        for k in ("numba_agreement", "autograd_agreement", "torch_agreement")
        if any(_get(r, "gradient_B1", k) is not None for r in payload["networks"])) + ".", ""]
    L += ["## Modern size", ""] + _modern_lines(payload) + [
        "", f"torch's nn.LSTM has {payload['modern'].get('torch_nn_lstm_weights', 'n/a')} weights: it uses the cell "
        "outputs as the only recurrent input and fuses the four gate products into one matrix product. The "
        "generated kernels hold the paper's dense layout (every hidden unit has a column for every hidden "
        "activation, masked to zero when absent); the NumPy kernels drop the activation columns that hold no weight, "
        "the numba kernels do not. Weight entries multiplied per sequence-step against the "
        f"{payload['modern']['n_weights']} that exist: " + ", ".join(
            f"{k} {v:,} ({v / payload['modern']['n_weights']:.2f}x)"
            for k, v in payload["modern"].get("entries_multiplied", {}).items()) + ".", ""]
    L += ["## Cost growth with the number of weights", "",
          "Log-log slope of per-step cost against W over the paper's LSTM networks (W = 93 ... 10504). The paper "
          "claims O(W) per time step for its learner (Section 4, Appendix A.1 eq. 29): slope 1 at most. Small "
          "networks are dominated by fixed per-call overhead (slope near 0), so the slope over W >= 300 is shown too.",
          "", "| series | slope (all) | slope (W >= 300) |", "|---|---:|---:|"]
    L += [f"| {k} | {v['slope']:.2f} | {v['slope_W_ge_300']:.2f} |" for k, v in payload["growth"].items()]
    mem = payload["memory"]
    L += ["", "## Learner memory against sequence length", "",
          f"tracemalloc peak during one `run_sequence` ({mem['network']}, one trial, error at the end); "
          "\"working\" subtracts the returned outputs (T x K floats). The compiled kernel's scratch arrays are "
          "allocated by NumPy in its wrapper, so tracemalloc sees them. BPTT stores every step and grows.", "",
          "| what | " + " | ".join(f"T = {t}" for t in mem["lengths"]) + " |", "|---|" + "---:|" * len(mem["lengths"])]
    for what in dict.fromkeys(r["what"] for r in mem["runs"]):
        cells = []
        for t in mem["lengths"]:
            run = next(r for r in mem["runs"] if r["what"] == what and r["T"] == t)
            work = run["peak_minus_outputs"]
            working = f" (working {work / 1024:.1f} KiB)" if work is not None else ""
            cells.append(f"{run['peak_bytes'] / 1024:.1f} KiB" + working)
        L.append(f"| {what} | " + " | ".join(cells) + " |")
    L += ["", "## Trials in lockstep", "",
          f"{payload['lockstep_trials']} independent trials (own weights, own learning rate) advance together through "
          "the same kernels; the per-trial-step costs are in the lockstep columns above. Each trial's outputs and "
          "weights equal those of the trial run alone **bit for bit**, with both backends, per-step and per-sequence "
          "updates (`tests/backends/test_lockstep.py`).", ""]
    L += ["## Against the per-cell loops", "",
          "Until issue 18, each generated `derivations/numba_<cell>.py` held its own copy of the network loops; now "
          "the loops are written once and each cell's functions are written into them before numba compiles them. "
          "The target: the compiled figures stay within 10% of the per-cell loops'.", "", versus_markdown(payload), ""]
    L += _training_lines(payload)
    L += ["## Speed targets", "", "| target | measured | verdict |", "|---|---:|---|"]
    for t in payload["targets"]:
        verdict = {True: "met", False: "**not met**", None: "not measured"}[t["met"]]
        L.append(f"| {t['target']} | {_fmt(t['figure'], 2)} {t['unit']} | {verdict} |")
    L += _pass_lines(payload)
    rows, totals = projections(payload)
    one_hot = _one_hot_lines(payload)
    L += [""] + one_hot
    L += ["## Projected wall time of the paper's tables", "",
          "Per row: mean time steps per training sequence x the table's mean training sequences to success x the "
          "row's number of trials x the measured per-trial-step learner cost of the row's network (the derivation "
          "of the mean lengths is in `benchmarks/paper_rows.py`). Training presentations only: test sets and "
          "success checks are not counted, nor trials that fail and run to the sequence limit. Columns: NumPy with "
          "trials one after another; NumPy with 32 trials in lockstep; numba with 32 trials in lockstep (end-error "
          "cost for rows whose errors come only at the sequence end" + ("; on one-hot inputs for the rows whose tasks "
          "feed them, Exps. 1, 2 and 6, see the section above" if one_hot else "") + "). One core.", "",
          "| table | row | W | trials | steps/seq | sequences | trial-steps | NumPy alone | NumPy lockstep | "
          "numba lockstep |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in rows:
        row = p["row"]
        L.append(f"| {row.table} | {row.label} | {p['n_weights']} | {row.trials} | {row.steps:g} | "
                 f"{row.sequences:,.0f} | {p['trial_steps']:.3g} | {_h(p['hours']['numpy_alone'])} | "
                 f"{_h(p['hours']['numpy_lockstep'])} | {_h(p['hours']['numba_lockstep'])} |")
    L.append(f"| **total** | all {len(rows)} rows | | | | | {sum(p['trial_steps'] for p in rows):.3g} | "
             f"**{_h(totals['numpy_alone'])}** | **{_h(totals['numpy_lockstep'])}** | "
             f"**{_h(totals['numba_lockstep'])}** |")
    return "\n".join(L) + "\n"


def _readings(row: str) -> int:
    """Runs of the row in its readings matrix: the default and every reading and contrast that applies, but those
    that are another's run bit for bit (``ablate`` does not run them)."""
    from lstm_proofs.training.presets import get_preset
    from lstm_proofs.training.readings import matrix_readings
    from lstm_proofs.training.results import row_options

    preset = get_preset(row)
    return len(matrix_readings(preset, row_options(preset), preset.update))


def cluster_markdown(payload: dict[str, Any]) -> str:
    """The measured block of docs/cluster.md: throughput from one process to two Dask workers, and the projected
    wall time of the paper's tables on more cores (from :func:`projections`' numba column)."""
    from benchmarks.cluster import CORES, fmt_hours, projections as on_cores

    c = payload.get("cluster")
    if not c:
        return "(not measured yet: run `python -m benchmarks --only cluster`)"
    mach = payload["machine"]
    L = [f"Measured by `python -m benchmarks --only cluster` on {mach['cpu_count']} cores (load average at start "
         f"{_load(c)}): "
         f"`lstm-proofs train {c['row']} --trials {c['trials']}` (numba) at {c['caps'][0]:,} and {c['caps'][1]:,} "
         "sequences per trial; the rate is the difference of the two runs' trial-steps over the difference of their "
         "wall times, so start-up, the cluster's start and the final tests cancel.", "",
         "| placement | wall, short run | wall, long run | trial-steps per second |", "|---|---:|---:|---:|"]
    for p in c["placements"]:
        L.append(f"| {p['placement']} | {p['short_s']:.1f} s | {p['long_s']:.1f} s | {p['steps_per_s']:,.0f} |")
    eff = c["speedup_2_over_1_workers"] / 2
    L += ["", f"Speed-up from 1 to 2 workers: **{c['speedup_2_over_1_workers']:.2f}x** (parallel efficiency "
              f"{eff:.0%}); 2 workers against one process: {c['speedup_2_workers_over_in_process']:.2f}x.", ""]
    rows, totals = projections(payload)
    per_row = [{"trials": p["row"].trials, "hours": p["hours"]["numba_lockstep"],
                "readings": _readings(p["row"].row_id)} for p in rows if p["hours"]["numba_lockstep"] is not None]
    proj = on_cores(per_row, min(1.0, eff))
    L += [f"Projected wall time of the paper's {len(per_row)} LSTM rows (every trial, numba, in lockstep) at the "
          "paper's mean sequences to success (`docs/performance.md`, \"Projected wall time\"): the one-core hours "
          "over the "
          "cores, no row faster than one of its trials on one core, divided by the efficiency measured above beyond "
          "one core. Trials that fail run to the sequence cap instead, up to 100 times longer on Exp. 2, so read "
          "these as lower bounds. The readings matrix (`lstm-proofs ablate` on every row) reruns each row once "
          f"per reading that applies to it, but those that are another's run bit for bit (docs/readings.md; "
          f"{sum(r['readings'] for r in per_row)} runs of a row in all, the default included), each at the "
          "default's cost.", "",
          "| cores | whole table | readings matrix |", "|---:|---:|---:|"]
    ten = on_cores([{**r, "hours": r["readings"] * r["hours"]} for r in per_row], min(1.0, eff))
    for a, b in zip(proj, ten):
        L.append(f"| {a['cores']} | {fmt_hours(a['expected_h'])} | {fmt_hours(b['expected_h'])} |")
    assert [a["cores"] for a in proj] == list(CORES)
    return "\n".join(L)


def check_time_markdown(payload: dict[str, Any]) -> str:
    """The measured block of docs/verification.md: wall and processor time of ``lstm-proofs check``'s default run,
    cold and warm, against its 2-minute limit."""
    c = payload.get("check")
    if not c:
        return "(not measured yet: run `python -m benchmarks --only check`)"
    now = c.get("runnable_at_start")
    busy = f"; {now} process(es) runnable at start, the benchmark's own included" if now is not None else ""
    L = [f"Measured by `python -m benchmarks --only check` on {c['cpus']} cores (load average at start "
         f"{_load(c)}{busy}). Processor time is that of `check` "
         "and the processes it starts (the background compilation included).", "",
         f"| run | checks | exit | wall clock | processor time | within {c['limit_s']:.0f} s |",
         "|---|---:|---:|---:|---:|---|"]
    for label, key in (("cold (fresh numba cache: every kernel compiled)", "cold"),
                       ("warm (the same cache again)", "warm")):
        r = c[key]
        ok = "yes" if r["wall_s"] <= c["limit_s"] else f"**no** ({r['wall_s'] / c['limit_s']:.1f}x)"
        L.append(f"| {label} | {r['checks']} | {r['exit']} | {r['wall_s']:.0f} s | {r['cpu_s']:.0f} s | {ok} |")
    return "\n".join(L)


def versus_markdown(payload: dict[str, Any]) -> str:
    """The measured block of docs/performance.md: the compiled kernels of the tree against those of an earlier
    commit (``python -m benchmarks --only versus``)."""
    v = payload.get("versus")
    if not v:
        return "(not measured yet: run `python -m benchmarks --only versus`)"
    b = v["baseline"]
    L = [f"Measured by `python -m benchmarks --only versus` (commit `{v['current']['commit']}` against "
         f"`{b['commit']}` = `{b['rev']}`, {v['rounds']} alternating rounds of {v['repeats']} timed calls, the "
         f"minimum; load average at start {_load(v)}). Time "
         "per step (gradient, one sequence) and per trial-step (learner, 32 trials in lockstep), numba; a ratio "
         "below 1 is faster now.", "",
         "| network | gradient then (µs) | now (µs) | ratio | learner then (µs) | now (µs) | ratio |",
         "|---|---:|---:|---:|---:|---:|---:|"]
    for row in v["networks"]:
        g, lr = row["gradient_us"], row["learner_us"]
        L.append(f"| {row['network']} | {g['baseline']:.2f} | {g['current']:.2f} | {g['ratio']:.2f} | "
                 f"{lr['baseline']:.3f} | {lr['current']:.3f} | {lr['ratio']:.2f} |")
    L += ["", f"Median ratio over the {2 * len(v['networks'])} figures: **{v['median_ratio']:.2f}**; the largest: "
          f"{v['max_ratio']:.2f}."]
    return "\n".join(L)
