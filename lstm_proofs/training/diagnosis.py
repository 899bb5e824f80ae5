"""What the diagnostics that trials record say about a reading's trials: the tables of docs/readings.md on internal
states, stuck outputs, where unsolved trials err, the best constant output's figures and the forget gates.

The recording side is :mod:`lstm_proofs.training.diagnostics` (part of the trainer); this module only reads the
records of results files, and generates a test set where it needs a reference (the best constant output).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from lstm_proofs.training.results import fmt_count

if TYPE_CHECKING:
    from lstm_proofs.training.ablation import ReadingRun

#: An unsolved trial's outputs are stuck when at least this fraction of its final output activations is saturated.
STUCK = 0.9

#: A squashed cell state passes little error back once the slope of h falls below this fraction of its slope at 0.
SATURATION = 0.02


@functools.cache
def saturation_point(cell: str) -> float | None:
    """The |s| from which the cell output's slope in the state, d y_c / d s with the gates held fixed, is below
    :data:`SATURATION` of its value at s = 0 (5.29 for the 1997 h = 2 sigma - 1, 2.64 for tanh), from the cell's
    declared equations; None where y_c is linear in the state (h the identity) or the cell has no state."""
    import sympy as sp
    from scipy.optimize import brentq

    from lstm_proofs.cells import get_cell

    decl = get_cell(cell)
    if not decl.states:
        return None
    s = decl.states[0]
    slope = sp.diff(decl.equation(sp.Symbol("y_c")).expr, s)
    if s not in slope.free_symbols:
        return None
    slope = slope.subs({x: 1 for x in slope.free_symbols if x != s})  # the gates' activations cancel in the ratio
    at_zero = float(slope.subs(s, 0).evalf())
    return float(brentq(lambda x: float(slope.subs(s, x).evalf()) / at_zero - SATURATION, 0.0, 100.0))


def diagnostics_text(runs: list[ReadingRun]) -> list[str]:
    """Per reading with diagnostics: the median over trials of the largest |s| at the end, solved and unsolved
    apart, and where the errors of unsolved trials are."""
    rows = []
    for r in runs:
        trials = r.report.run["trials"] if r.report.run else []
        diag = [(t["solved"], t["diagnostics"]) for t in trials if t.get("diagnostics")]
        if not diag:
            continue
        cells = []
        for solved in (True, False):
            ends = [max(d["end"]["max_abs_state"]) for s, d in diag if s == solved and d["end"]]
            cells.append(f"{np.median(ends):.3g} ({len(ends)})" if ends else "-")
        saturated = [d["end"]["output_end_saturated"] for s, d in diag
                     if not s and "output_end_saturated" in d["end"]]
        cells.append(f"{sum(x >= STUCK for x in saturated)} of {len(saturated)}" if saturated else "-")
        cells.append(unsolved_errors(r))
        added = [t["cell_added"] for t in trials if "cell_added" in t]
        cells.append(_added_text(added))
        rows.append(f"| `{r.name}` | {' | '.join(cells)} |")
    if not rows:
        return []
    return ["Diagnostics at the end of training (the last section explains |s|): median over trials of the "
            "largest |s| over the cells (number of trials); unsolved trials whose outputs are stuck, i.e. at "
            f"least {STUCK:.0%} of the output activations at the last step of the probe sequences are saturated "
            "(within 0.01 of 0 or 1, where the logistic's slope is below a 25th of its largest); where unsolved "
            "trials still err on fresh sequences (Exp. 1: its test set; the fraction of all their sequences wrong "
            "at each site, Exp. 1's symbol before last, which needs the second symbol kept, against the inner "
            "grammar, 2a/2b's final symbol against the middle, and how many trials err at one site only or at "
            "both), or, on rows whose only target is at the "
            "sequence end, the medians of their final test's sequences wrong and mean error, next to those of the "
            "best constant output (the targets' median, which minimises the mean absolute error; it remembers "
            "nothing) on a test set of the same size (seed 0), and the wrong sequences among the most recent "
            "training sequences, which the stopping criteria of Exps. 4-6 count; under sequential construction, "
            "the median number of training sequences before the cell was added.", "",
            "| reading | largest \\|s\\|, solved | largest \\|s\\|, unsolved | unsolved with stuck outputs | "
            "unsolved trials' errors | cell added after |",
            "|---|---|---|---|---|---|", *rows]


def _median_by_block(values: list[list[float]]) -> list[float]:
    return [float(v) for v in np.median(np.asarray(values, dtype=float), axis=0)]


def half_life(mean_activation: float) -> float:
    """Steps over which a value in a cell's state halves when the forget gate's activation is ``mean_activation``
    at every step: ln 2 / -ln f (infinite at f = 1)."""
    if mean_activation >= 1.0:
        return math.inf
    if mean_activation <= 0.0:
        return 0.0
    return math.log(2.0) / -math.log(mean_activation)


#: The section of docs/readings.md that explains the forget-gate tables.
FORGET_SECTION = [
    "## Forget gates", "",
    "With forget gates (Gers et al. 2000; the contrasts `cell=forget` and `cell=forget-open`) the state is "
    "s(t) = y^forget(t) s(t-1) + y^in(t) g(net_c(t)): a value stored in the state is multiplied by the forget "
    "gate's activation at every step, and so is the trace of ds/dw that the truncated gradient carries (spec section "
    "12). A row's forget-gate table gives, by block, the forget gates' mean activation over the probe sequences' "
    "steps at the first diagnostic sample and at the end of training, the half-life of a stored value at the end, "
    "ln 2 / -ln f in steps (an upper bound: a product of activations is at most their mean to the power of their "
    "number), and the largest |s| at the end. On Exps. 4 and 5 the second marked value lies in the first half of a "
    "sequence of at least T steps, so it must be kept for at least T/2 steps; `cell=forget` starts its gates at "
    "sigma(0.5) = 0.62, sigma(1.0) = 0.73, ... by block, `cell=forget-open` at sigma(5) = 0.993 (a half-life of "
    "about 100 steps).", ""]


def forget_gates_text(runs: list[ReadingRun]) -> list[str]:
    """Per reading whose cells have forget gates: the forget gates' mean activation by block at the first
    diagnostic sample and at the end (medians over trials), the half-life of a stored value at the end, and the
    largest |s| at the end; empty if no reading of the row has forget gates."""
    rows = []
    for r in runs:
        trials = [t for t in (r.report.run["trials"] if r.report.run else [])
                  if t.get("diagnostics") and "forget" in (t["diagnostics"]["end"] or {}).get("gate_mean", {})]
        if not trials:
            continue
        sampled = [t["diagnostics"]["samples"][0] for t in trials if t["diagnostics"]["samples"]]
        first = _median_by_block([x["gate_mean"]["forget"] for x in sampled]) if sampled else []
        end = _median_by_block([t["diagnostics"]["end"]["gate_mean"]["forget"] for t in trials])
        at = fmt_count(float(np.median([x["sequences"] for x in sampled]))) if sampled else "-"
        solved = sum(bool(t["solved"]) for t in trials)
        largest = float(np.median([max(t["diagnostics"]["end"]["max_abs_state"]) for t in trials]))
        rows.append(f"| `{r.name}` | {len(trials)} ({solved} solved) | {at} | "
                    f"{', '.join(f'{f:.3f}' for f in first) or '-'} | {', '.join(f'{f:.3f}' for f in end)} | "
                    f"{', '.join(f'{half_life(f):.3g}' for f in end)} | {largest:.3g} |")
    if not rows:
        return []
    return ["Forget gates, medians over trials by block (the section *Forget gates* at the end explains the "
            "columns):", "",
            "| reading | trials | first sample at | forget gates, first sample | forget gates, end | half-life "
            "at the end (steps) | largest \\|s\\|, end |",
            "|---|---|---|---|---|---|---|", *rows]


@functools.cache
def constant_output_figures(task_name: str, options: tuple[tuple[str, Any], ...], size: int) -> tuple[float, float]:
    """(fraction wrong, mean error) of the best constant output on ``size`` fresh sequences of a task whose only
    target is at the sequence end (seed 0): every output unit at the median of its targets, which minimises the
    mean absolute error without remembering anything. ``options`` are the task options as sorted pairs."""
    from lstm_proofs.tasks import get_task

    task = get_task(task_name)
    opts = dict(options)
    batch = task.generate(np.random.default_rng(0), size, **opts)
    median = np.median(batch.at_end(batch.targets), axis=0)
    outputs = np.broadcast_to(median, batch.targets.shape).copy()
    ok = task.correct(outputs, batch, **opts)
    return float(np.mean(~ok)), float(np.mean(task.errors(outputs, batch, **opts)))


def unsolved_errors(run: ReadingRun) -> str:
    """Where a reading's unsolved trials err at the end: the error sites (Exps. 1, 2a, 2b) or, on rows whose only
    target is at the sequence end, their final test next to the best constant output's; '-' without them."""
    trials = run.report.run["trials"] if run.report.run else []
    sites = [t["diagnostics"]["error_sites"] for t in trials
             if not t["solved"] and t.get("diagnostics") and t["diagnostics"].get("error_sites")]
    return _sites_text(sites) if sites else _test_text([t for t in trials if not t["solved"] and t.get("test")], run)


def _test_text(unsolved: list[dict[str, Any]], run: ReadingRun) -> str:
    """Unsolved trials' final test (medians) next to the best constant output's, and their recent training
    window's wrong sequences, on rows whose only target is at the sequence end; '-' elsewhere or without unsolved
    trials."""
    from lstm_proofs.tasks import get_task

    preset = run.report.preset
    if not unsolved or not get_task(preset.task).target_at_end:
        return "-"
    tests = [t["test"] for t in unsolved]
    options = run.report.run["settings"].get("task_options", {}) if run.report.run else {}
    wrong = float(np.median([t["wrong"] for t in tests]))
    error = float(np.median([t["mean_error"] for t in tests]))
    size = int(np.median([t["size"] for t in tests]))
    c_wrong, c_error = constant_output_figures(preset.task, tuple(sorted(options.items())), size)
    text = (f"test {fmt_count(wrong)} of {fmt_count(size)} wrong, mean error {error:.3g}; a constant output: "
            f"{fmt_count(round(c_wrong * size))} wrong, {c_error:.3g}")
    windows = [t["train_window"] for t in unsolved if t.get("train_window")]
    if windows:
        text += (f"; the last {fmt_count(float(np.median([w['size'] for w in windows])))} training sequences: "
                 f"{fmt_count(float(np.median([w['wrong'] for w in windows])))} wrong")
    return text


def _added_text(added: list[int | None]) -> str:
    if not added:
        return "-"
    known = [a for a in added if a is not None]
    never = len(added) - len(known)
    return (f"{fmt_count(float(np.median(known)))}" if known else "never") + (f" ({never} never)" if never and known
                                                                              else "")


def _sites_text(sites: list[dict[str, Any]]) -> str:
    if not sites:
        return "-"
    keys = [k for k in sites[0] if k != "sequences"]
    total = sum(s["sequences"] for s in sites)
    names = [k.replace('wrong_', '').replace('_', ' ') for k in keys]
    parts = [f"{name} {sum(s[k] for s in sites) / total:.0%}" for name, k in zip(names, keys)]
    text = "sequences wrong at " + ", ".join(parts)
    if len(keys) == 2:  # which part of the task each unsolved trial gets wrong at all
        a, b = keys
        only_a = sum(1 for s in sites if s[a] and not s[b])
        only_b = sum(1 for s in sites if s[b] and not s[a])
        both = sum(1 for s in sites if s[a] and s[b])
        text += f"; trials wrong only at {names[0]} {only_a}, only {names[1]} {only_b}, at both {both}"
    return text
