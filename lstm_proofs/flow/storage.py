"""What a trained network keeps of a long-lag symbol, and what its output units make of it (Exps. 2a, 2b, 2c).

In Exps. 2a, 2b and 2c a sequence is one of two classes, told apart only by one early input (2a/2b: the first
symbol, x or y; 2c: the symbol after b), and the class must be output at the last step, after a lag of about p
(2a/2b) or q (2c) steps. A trial solves the task only if (a) a memory cell's state at the last step still differs
between the classes ("the symbol is stored") and (b) the output units turn that difference into the class ("the
outputs read it"). This module measures both on the weights ``lstm-proofs train`` stored for a trial
(:mod:`lstm_proofs.training.weights`: the snapshots during training and the final weights), on fresh sequences
of the task (the same sequences for every trial and stage), with the NumPy kernels' forward pass:

* ``stored``: for the cell whose state separates the classes best, the fraction of sequences a single threshold
  on its state s(t) at the last step classifies right (the best threshold; 0.5: nothing stored, 1: stored), and
  ``gap``, the difference of that cell's mean s(t) between the classes (x minus y);
* ``written``: the same difference just after the informative input (what the input gate let in);
* ``drift``: the mean change of that cell's state from the informative step to the last step (the internal
  state drift of Section 4: the CEC sums whatever its input gate lets in at every step);
* ``gate_info``, ``gate_middle``: the mean activation of that cell's input gate at the informative step and over
  the steps between it and the last step;
* ``target``, ``other``: the mean activation at the last step of the output unit of the sequence's class (target
  1) and of the other class's unit (target 0); ``slope``: the mean logistic slope ``y (1 - y)`` of the target
  unit there (below 0.01 the error that reaches the network through it is under a 25th of its largest);
* ``net_cells``, ``net_rest``: the target unit's net input at the last step, split into the part that comes from
  the memory cells' outputs (``W_output`` times y_c) and the rest (inputs, gates, bias);
* ``read_right``: the fraction of sequences whose target unit is above the other class's unit at the last step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstm_proofs.errors import UserError
from lstm_proofs.inputs import OneHotInputs
from lstm_proofs.network import Network, Params, Topology
from lstm_proofs.tasks import Batch, get_task

#: The tasks measured, with the step of their informative input.
INFORMATIVE_STEP = {"2a": 0, "2b": 0, "2c": 1}

#: Fresh sequences per trial and stage (default).
SEQUENCES = 256


def class_units(task: str, options: dict[str, Any]) -> tuple[int, int]:
    """The output units of the two classes (class 0, class 1): 2a/2b code x = a_p on unit p - 1 and y = a_{p+1} on
    unit p; 2c codes x on unit 0 and y on unit 1."""
    if task in ("2a", "2b"):
        return int(options["p"]) - 1, int(options["p"])
    if task == "2c":
        return 0, 1
    raise UserError(f"storage is measured for Exps. {', '.join(INFORMATIVE_STEP)} only, not task {task!r}")


def _inputs_at(batch: Batch, steps: np.ndarray) -> np.ndarray:
    """The dense inputs (n, I) of sequence b at step ``steps[b]``."""
    n = batch.n
    if isinstance(batch.inputs, OneHotInputs):
        out = np.zeros((n, batch.inputs.size))
        sym = batch.inputs.symbols[steps, np.arange(n)]
        on = sym >= 0
        out[np.arange(n)[on], sym[on]] = 1.0
        return out
    return np.asarray(batch.inputs, dtype=np.float64)[steps, np.arange(n)]


def _best_threshold(values: np.ndarray, cls: np.ndarray) -> float:
    """The largest fraction of sequences one threshold on ``values`` puts on the right side (either orientation;
    a threshold cannot split equal values, so a state that does not differ at all scores the larger class's
    share)."""
    order = np.argsort(values, kind="stable")
    v, c = values[order], cls[order]
    n, ones = len(c), int(c.sum())
    cuts = np.concatenate([[0], np.flatnonzero(np.diff(v) > 0) + 1, [n]])  # between distinct values only
    below_ones = np.concatenate([[0], np.cumsum(c)])[cuts]               # class-1 sequences below each cut
    right = (cuts - below_ones) + (ones - below_ones)                     # class 0 below the cut, class 1 above
    return float(max(right.max(), n - right.min()) / n)


def measure_stage(top: Topology, params: Params, task: str, options: dict[str, Any], batch: Batch
                  ) -> dict[str, Any]:
    """The figures of the module docstring for one set of weights on the sequences of ``batch``."""
    fp = Network(top).forward(params, batch.inputs)
    if fp.states is None:
        raise UserError(f"storage is measured for memory-cell networks, not {top.cell!r}")
    n, idx = batch.n, np.arange(batch.n)
    cls = np.asarray(batch.info["cls"], dtype=np.int64)
    if cls.min() == cls.max():
        raise UserError("storage needs sequences of both classes; use more sequences")
    last = batch.lengths - 1
    info = np.full(n, INFORMATIVE_STEP[task])
    S = top.block_size
    CS = top.n_blocks * S
    states = fp.states.reshape(fp.states.shape[0], n, CS)
    s_last, s_info = states[last, idx], states[info, idx]                              # (n, CS)
    scores = [_best_threshold(s_last[:, j], cls) for j in range(CS)]
    j = int(np.argmax(scores))
    gap = float(s_last[cls == 0, j].mean() - s_last[cls == 1, j].mean())
    written = float(s_info[cls == 0, j].mean() - s_info[cls == 1, j].mean())
    gate = fp.activations[:, :, top.row_slices()["in"]][:, :, j // S]                 # (T, n)
    steps = np.arange(gate.shape[0])[:, None]
    middle = (steps > info[None, :]) & (steps < last[None, :])
    units = np.array(class_units(task, options))
    target, other = units[cls], units[1 - cls]
    out_last = fp.outputs[last, idx]                                                   # (n, K)
    y_t, y_o = out_last[idx, target], out_last[idx, other]
    W = params.arrays["W_output"]
    I = top.n_in
    a_last = fp.activations[last, idx]                                                 # (n, N_a)
    net_cells = np.einsum("nc,nc->n", a_last[:, :CS], W[target, I:I + CS])
    sources = np.concatenate([_inputs_at(batch, last), a_last, np.ones((n, 1))], axis=1)
    net_all = np.einsum("nz,nz->n", sources, W[target])
    return {"stored": scores[j], "cell": j, "gap": gap, "written": written,
            "drift": float((s_last[:, j] - s_info[:, j]).mean()),
            "gate_info": float(gate[info, idx].mean()), "gate_middle": float(gate[middle].mean()),
            "target": float(y_t.mean()), "other": float(y_o.mean()), "slope": float((y_t * (1.0 - y_t)).mean()),
            "net_cells": float(net_cells.mean()), "net_rest": float((net_all - net_cells).mean()),
            "read_right": float(np.mean(y_t > y_o))}


def measure_file(path: Path, sequences: int = SEQUENCES, seed: int = 0) -> dict[str, Any]:
    """Every trial with stored weights of one results file, at every stored stage.

    Returns:
        ``{"results_file", "row", "task", "sequences", "seed", "trials": [{"trial", "solved", "sequences",
        "stages": [{"label", "sequences", **figures}]}]}``; ``trials`` is empty when the file has no stored
        weights.

    Raises:
        UserError: (one line) for a results file of another task, or unreadable weights.
    """
    from lstm_proofs.flow.trained import fresh_sequences
    from lstm_proofs.training.results import read_run
    from lstm_proofs.training.weights import load_trial, stored_trials

    data = read_run(path)
    task = str(data["task"])
    if task not in INFORMATIVE_STEP:
        raise UserError(f"{path}: storage is measured for Exps. {', '.join(INFORMATIVE_STEP)} only, not {task}")
    options = get_task(task).options(**data["settings"]["task_options"])
    batch = fresh_sequences(task, options, sequences, seed)
    trials, cell = [], None
    for t in stored_trials(path):
        w = load_trial(path, t)
        cell = w.topology.cell
        stages = [{"label": label, "sequences": n, **measure_stage(w.topology, p, task, options, batch)}
                  for label, n, p in w.stages() if n > 0]
        trials.append({"trial": t, "solved": w.solved, "sequences": w.sequences, "stages": stages})
    return {"results_file": str(path), "row": data["settings"]["row"], "task": task, "cell": cell,
            "p": options.get("p"), "sequences": sequences, "seed": seed, "trials": trials}


# ----- the readings page's section (docs/readings.md) -----

#: A class unit whose logistic slope at the last step is below this is stuck: the error that reaches the network
#: through it is under a 25th of the largest (the slope's largest value is 0.25).
STUCK_SLOPE = 0.01

#: The stage shown besides the end of training: the first snapshot after the cell is added under the default
#: sequential construction (docs/decisions.md), when the class units' fate is already decided.
EARLY = 10_000


def _median(values: list[float]) -> float:
    return float(np.median(values))


def _g(x: float) -> str:
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


#: Columns of the storage table (docs/readings.md and the report).
STORAGE_COLUMNS = ("reading", "trials", "when", "stored", "gap", "drift", "gate", "class units (target / other)",
                   "slope", "stuck", "net input (cells / rest)", "read right")


def storage_rows(name: str, doc: dict[str, Any]) -> list[tuple[str, ...]]:
    """Table rows of one reading (columns :data:`STORAGE_COLUMNS`): medians over its solved and its unsolved
    trials, at :data:`EARLY` sequences and at the end."""
    rows = []
    for solved in (False, True):
        trials = [t for t in doc["trials"] if t["solved"] == solved]
        if not trials:
            continue
        for label, pick in ((f"at {EARLY:,}", lambda t: [s for s in t["stages"] if s["sequences"] == EARLY]),
                            ("end", lambda t: t["stages"][-1:])):
            stages = [s for t in trials for s in pick(t)]
            if not stages:
                continue
            m = {k: _median([s[k] for s in stages]) for k in (
                "stored", "gap", "drift", "gate_middle", "target", "other", "slope", "net_cells", "net_rest",
                "read_right")}
            stuck = sum(_stuck(s) for s in stages)
            rows.append((name, f"{'solved' if solved else 'unsolved'} ({len(stages)})", label, f"{m['stored']:.2f}",
                         _g(m["gap"]), _g(m["drift"]), f"{m['gate_middle']:.2f}",
                         f"{_g(m['target'])} / {_g(m['other'])}", _g(m["slope"]), f"{stuck} of {len(stages)}",
                         f"{m['net_cells']:+.1f} / {m['net_rest']:+.1f}", f"{m['read_right']:.2f}"))
    return rows


@dataclass
class StorageView:
    """What docs/readings.md and the report show of one Exp. 2 row: the paragraphs before the table (the mechanism
    the cell's declaration implies, and what the columns mean), the table, and the failures counted by rule."""

    paragraphs: list[str]
    rows: list[tuple[str, ...]]
    failures: str


def storage_view(docs: dict[str, dict[str, Any]]) -> StorageView | None:
    """The view of one Exp. 2 row from its readings' :func:`measure_file` documents (by reading name); None when no
    reading has stored weights."""
    docs = {name: d for name, d in docs.items() if d["trials"]}
    if not docs:
        return None
    first = next(iter(docs.values()))
    paragraphs = []
    if any(d["cell"] == "lstm1997_2a" for d in docs.values()):
        paragraphs.append(
            "Why a drift is to be expected here, from the cell's declaration (`lstm1997_2a`: g logistic, h the "
            "identity, no output gate, no biases): every step adds y_in g(net_c) > 0 to the state, about a "
            "quarter at the moment the cell is added (both activations near 0.5, its weights being small), so the "
            "state ramps up over the sequence, the same ramp for both classes, unless the input gate learns to "
            "shut at every middle symbol. The class units have target 0 at every step but the last; they meet the "
            "ramp with negative weights from the cell, and the same weights act at the last step, where the ramp "
            "is highest. Whether that happened is what the table measures.")
    if any(d["task"] == "2b" for d in docs.values()):
        p = int(first["p"])
        paragraphs.append(
            "Exp. 2b adds a difficulty of its own: its last input is a random middle symbol like every input "
            "before it, and the network has no recurrent connections, so a class unit cannot tell the last step "
            "from the others except through the cell's state. A unit that cannot tell them apart has the smallest "
            "squared error over the training targets (the next symbol at every step) at the rate at which its "
            f"symbol is a target, 1/(2p) = {1 / (2 * p):.4g} for p = {p}: the loss the learner descends rewards "
            "that, not the 0.75 the success criterion needs at the last step.")
    paragraphs.append(
        "What the trials' networks keep of the class symbol and what their class output units make of it, "
        f"measured on their stored weights ({first['sequences']} fresh sequences, seed {first['seed']}; "
        "`lstm_proofs/flow/storage.py`; readings whose results files have no weights are not listed). Medians "
        "over trials: *stored*, the fraction of sequences a threshold on the best cell's state at the last step "
        "classifies right (0.5: nothing stored; the middle is noise-free in 2a, so any difference at all scores "
        "1); *gap*, that cell's mean state for class x minus class y there; *drift*, its mean change from the "
        "informative step to the last step; *gate*, its input gate's mean activation between them; then, at the "
        "last step, the output unit of the sequence's class (target 1) and of the other class (target 0), the "
        f"target unit's logistic slope y(1 - y) and how many trials have it below {STUCK_SLOPE} with the unit "
        "below 0.5 (stuck: the error reaching the network through the unit is cut by more than 25 times), its net "
        "input from the memory cells and from everything else, and the fraction of sequences whose target unit "
        "is above the other one.")
    failures = (
        "How the unsolved trials fail at the end, by reading (a class unit with slope below "
        f"{STUCK_SLOPE} and output below 0.5 is *stuck*, *by the cells* when its net input from the memory "
        "cells is larger in size than the rest, *by the rest* otherwise; else the symbol is *not stored* when "
        "the threshold classifies below 0.6 of the sequences, and *not read* when it is stored): "
        + "; ".join(f"`{name}`: " + (", ".join(f"{k} {v}" for k, v in sorted(failure_counts(d).items()))
                                      or "none unsolved") for name, d in docs.items()) + ".")
    return StorageView(paragraphs, [r for name, d in docs.items() for r in storage_rows(name, d)], failures)


def storage_section(docs: dict[str, dict[str, Any]]) -> list[str]:
    """docs/readings.md's lines for one Exp. 2 row (see :func:`storage_view`), or nothing when no reading has
    stored weights."""
    view = storage_view(docs)
    return [] if view is None else storage_lines(view)


def storage_lines(view: StorageView) -> list[str]:
    """A storage view as Markdown lines."""
    lines = [line for p in view.paragraphs for line in (p, "")]
    lines += ["| " + " | ".join(STORAGE_COLUMNS) + " |", "|" + "---|" * len(STORAGE_COLUMNS)]
    lines += [f"| `{r[0]}` | " + " | ".join(r[1:]) + " |" for r in view.rows]
    return lines + ["", view.failures]


def readings_storage(matrix: dict[str, list[Any]]) -> dict[str, StorageView]:
    """The storage view of every Exp. 2 LSTM row of a readings matrix
    (``lstm_proofs.training.ablation.load_ablations``), measured on the stored weights of its readings' results
    files; rows without weights, and the baselines (no memory cell to measure), are left out."""
    out = {}
    for row, runs in matrix.items():
        preset = runs[0].report.preset
        if preset.task in INFORMATIVE_STEP and preset.method == "lstm":
            view = storage_view({r.name: measure_file(r.path) for r in runs})
            if view is not None:
                out[row] = view
    return out


def _stuck(stage: dict[str, Any]) -> bool:
    """The target class unit is saturated away from its target: slope below :data:`STUCK_SLOPE`, output below 0.5."""
    return stage["slope"] < STUCK_SLOPE and stage["target"] < 0.5


def trial_failure(stage: dict[str, Any]) -> str:
    """How an unsolved trial's last stage fails, by the rule docs/readings.md states: ``stuck by the cells`` (its
    class unit's slope below :data:`STUCK_SLOPE`, the net input from the cells larger in size than the rest),
    ``stuck by the rest`` (the same, the rest larger), ``not stored`` (stored below 0.6), ``not read`` (the rest)."""
    if _stuck(stage):
        return "stuck by the cells" if abs(stage["net_cells"]) > abs(stage["net_rest"]) else "stuck by the rest"
    return "not stored" if stage["stored"] < 0.6 else "not read"


def failure_counts(doc: dict[str, Any]) -> dict[str, int]:
    """:func:`trial_failure` of every unsolved trial of one reading, counted."""
    out: dict[str, int] = {}
    for t in doc["trials"]:
        if not t["solved"]:
            kind = trial_failure(t["stages"][-1])
            out[kind] = out.get(kind, 0) + 1
    return out
