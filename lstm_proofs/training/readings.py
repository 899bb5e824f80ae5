"""Readings of the paper and contrasts: the ways a table row can be run other than our default reading.

The paper leaves many details of its experiments open (spec section 10). Each open point has a documented default
(docs/decisions.md) and here, as a *reading*, every documented alternative: ``lstm-proofs ablate ROW`` runs a row
under its default and under each reading that applies to it, one change at a time. *Contrasts* are not readings
of the paper; they change the learner or the cell to show where a difference comes from (the full gradient
instead of the truncated one, the forget-gate cell, other squashing functions).

A reading is named ``key=value``. Task-option readings are generated from the tasks' options marked UNCONFIRMED
(:class:`lstm_proofs.tasks.base.Option`), so a new documented alternative of a task becomes a reading by itself;
the trainer's readings are listed in :data:`TRAINER_READINGS`. Readings that are not a task option, the update
timing, the construction or ST3's error are recorded in a results file's ``settings["readings"]``, so that
``lstm-proofs replay`` can rebuild the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from lstm_proofs.errors import UserError
from lstm_proofs.training.presets import Preset, with_construction, with_st3_error

#: (preset, task options, update timing): what a reading changes.
Run = tuple[Preset, dict[str, Any], str]

#: The name of the row's default reading (ours, docs/decisions.md).
DEFAULT = "default"

#: Half-width of Table 10's "r" (random initial gate bias): [-0.1, 0.1] (spec section 5.1).
TABLE10_RANDOM_BIAS = 0.1

#: Forget-gate contrast: initial forget-gate biases +0.5, +1.0, +1.5, ... by block, the pattern of Gers et al.
#: (2000)'s continual embedded Reber set-up (spec section 12): "positive values for forget gates".
FORGET_BIAS_STEP = 0.5

#: Forget-gate contrast with the gates starting open: every block's forget-gate bias +5 (sigma(5) = 0.993), the value
#: Gers et al. report for Noisy Temporal Order (spec section 12: "forget-gate bias initialized to 5 gives convergence
#: as fast as standard LSTM").
FORGET_BIAS_OPEN = 5.0


@dataclass(frozen=True)
class SameRun:
    """Another reading of a row that a reading, on that row, equals by construction.

    Attributes:
        reading: its name (``default`` for the row's own run).
        exact: True if the two runs are the same bit for bit, so that ``ablate`` runs only the other one unless
            this one is named; False if they agree to rounding only (the trial outcomes may, in principle, part
            at a near-tie), so both are run.
        why: one sentence saying why.
    """

    reading: str
    exact: bool
    why: str


@dataclass(frozen=True)
class Reading:
    """One way of running a row other than its default.

    Attributes:
        name: ``key=value``, as ``--readings`` takes it and as its results file is named.
        kind: ``reading`` (an alternative reading of the paper) or ``contrast`` (not the paper's method; locates the
            cause of a difference).
        text: one line saying what changes.
        source: where the open point is (spec section) or where the contrast comes from.
        applies: whether the reading applies to a row (its default run).
        apply: the run with the reading applied.
        same_as: on a row where the reading is, by construction, the same run as another reading (or the default):
            that one (:class:`SameRun`); else None.
        optional: a follow-up contrast that is not part of a row's matrix: ``ablate`` runs it only when
            ``--readings`` names it, and the coverage of the matrix does not count it.
        baseline: the reading it is compared with trial by trial (docs/readings.md's paired test): the one it
            changes one thing of (``gradient=full`` changes only the gradient of ``update=sequence``).
    """

    name: str
    kind: str
    text: str
    source: str
    applies: Callable[[Preset, dict[str, Any], str], bool]
    apply: Callable[[Preset, dict[str, Any], str], Run]
    same_as: Callable[[Preset, dict[str, Any], str], SameRun | None] = lambda p, o, u: None
    optional: bool = False
    baseline: str = DEFAULT


def _tagged(preset: Preset, name: str, **changes: Any) -> Preset:
    """The preset with ``changes`` and the reading ``name`` recorded in its ``readings``."""
    return preset.with_(readings=(*preset.readings, name), **changes)


def _is_lstm(preset: Preset) -> bool:
    return preset.method == "lstm"


def _is_1997_cell(preset: Preset) -> bool:
    return preset.method == "lstm" and preset.topology.cell == "lstm1997"


def _target_at_end(preset: Preset) -> bool:
    from lstm_proofs.tasks import get_task

    return get_task(preset.task).target_at_end


#: Why ``update=sequence`` is the default's run on rows whose only target is at the sequence end.
SAME_UPDATE = ("the only target is at the sequence end, so every earlier step's weight change is zero, and "
               "changing the weights at each step leaves them where summing the changes to the sequence end does")

#: Why ``gradient=full`` is ``update=sequence``'s run on rows without recurrent connections.
SAME_GRADIENT = ("the network has no connections from the hidden layer back into memory cells and gates, so the "
                 "truncation (Section 4) removes no term: the full gradient is the truncated one, summed in another "
                 "order")


# ----- the trainer's readings and the contrasts -----

def _update_sequence(p: Preset, o: dict[str, Any], u: str) -> Run:
    return p, o, "sequence"


def _construction_full(p: Preset, o: dict[str, Any], u: str) -> Run:
    return with_construction(p, "full"), o, u


def _plateau_long(p: Preset, o: dict[str, Any], u: str) -> Run:
    return _tagged(p, "plateau=long", construction=replace(p.construction, window=1000)), o, u


def _st3_squared(p: Preset, o: dict[str, Any], u: str) -> Run:
    return with_st3_error(p, "squared"), o, u


def _in_bias(p: Preset, o: dict[str, Any], u: str) -> Run:
    return _tagged(p, "in-bias=table10", bias_intervals={**p.bias_intervals, "in": TABLE10_RANDOM_BIAS}), o, u


def _out_bias(p: Preset, o: dict[str, Any], u: str) -> Run:
    biases = tuple(-float(j + 1) for j in range(p.topology.n_blocks))
    return _tagged(p, "out-bias=section4", gate_biases={**p.gate_biases, "out": biases}), o, u


def _output_bias(p: Preset, o: dict[str, Any], u: str) -> Run:
    return _tagged(p, "output-bias=yes", topology=p.topology.with_(output_bias=True)), o, u


def _train_fresh(p: Preset, o: dict[str, Any], u: str) -> Run:
    return _tagged(p, "train=fresh", fresh_training=True), o, u


def _check_every(p: Preset, o: dict[str, Any], u: str) -> Run:
    return _tagged(p, "check=every", stopping=replace(p.stopping, check_every=1)), o, u


def _gradient_full(p: Preset, o: dict[str, Any], u: str) -> Run:
    return _tagged(p, "gradient=full", method="bptt", update="sequence"), o, "sequence"


def _has_gate_bias_weights(p: Preset) -> bool:
    return p.topology.bias in ("gates", "hidden", "all")


def _cell(name: str, cell: str, forget_open: bool = False) -> Callable[[Preset, dict[str, Any], str], Run]:
    def apply(p: Preset, o: dict[str, Any], u: str) -> Run:
        top = p.topology.with_(cell=cell)
        biases = dict(p.gate_biases)
        if cell == "forget" and _has_gate_bias_weights(p):
            biases["forget"] = tuple(FORGET_BIAS_OPEN if forget_open else FORGET_BIAS_STEP * (j + 1)
                                     for j in range(top.n_blocks))
        return _tagged(p, name, topology=top, gate_biases=biases), o, u
    return apply


def _has_out_gate_bias_weight(p: Preset) -> bool:
    return _has_gate_bias_weights(p) and "out" in p.topology.gates


TRAINER_READINGS: tuple[Reading, ...] = (
    Reading("update=sequence", "reading",
            "weight changes summed over a sequence and applied at its end, instead of at every time step",
            "spec 5, 10 item 6", lambda p, o, u: _is_lstm(p) and u == "step", _update_sequence,
            lambda p, o, u: SameRun(DEFAULT, True, SAME_UPDATE) if _target_at_end(p) else None),
    Reading("construction=full", "reading", "memory cells present from the start instead of added sequentially",
            "spec 2.7, 6.2, 10 item 11",
            lambda p, o, u: _is_lstm(p) and p.construction.kind == "sequential", _construction_full),
    Reading("plateau=long", "reading",
            "sequential construction's plateau test on blocks of 1,000 sequences instead of 100 (cells added after "
            "at least 5,000 sequences without improvement)", "spec 10 item 11",
            lambda p, o, u: _is_lstm(p) and p.construction.kind == "sequential", _plateau_long),
    Reading("st3-error=squared", "reading",
            "ST3's average training error read as a mean squared error (which ST3's other condition then implies: "
            "every error below the 'correct' threshold, 0.04 or 0.3, puts the mean square below 0.0016 or 0.09, "
            "under beta 0.01 or 0.1, so ST3 reduces to that condition)",
            "spec 10 item 10", lambda p, o, u: p.stopping.kind == "st3" and p.stopping.error == "absolute",
            _st3_squared),
    Reading("in-bias=table10", "reading",
            "random input-gate biases in Table 10's [-0.1, 0.1] instead of the Exp. 1 text's [-0.2, 0.2]",
            "spec 5.1 caveat", lambda p, o, u: p.task == "1" and "in" not in p.gate_biases, _in_bias),
    Reading("out-bias=section4", "reading",
            "output-gate biases -1, -2, ... by block, as Section 4 says Exps. 4-6 use, instead of Table 10's random "
            "ones (the values are Exp. 1's; the paper gives none for these rows)", "spec 2.7, 10 item 3",
            lambda p, o, u: p.task in ("4", "5", "6a", "6b") and _has_out_gate_bias_weight(p)
            and "out" not in p.gate_biases, _out_bias),
    Reading("output-bias=yes", "reading",
            "output units with a bias weight (Table 10 gives them none for this row; the weight count grows by the "
            "number of outputs)", "spec 5.1 (Table 10 'bias' column), 7",
            lambda p, o, u: _is_lstm(p) and p.topology.bias != "all" and not p.topology.output_bias, _output_bias),
    Reading("train=fresh", "reading",
            "training strings generated afresh for every sequence instead of drawn from the fixed training set of "
            "256 (the stopping test still uses the fixed training and test sets)", "spec 6.1",
            lambda p, o, u: p.train_set_size > 0 and not p.fresh_training, _train_fresh),
    Reading("check=every", "reading",
            "the success test run after every training sequence (once the recent window was correct) instead of "
            "every 100", "spec 6.1, 6.2, 10 items 9-10",
            lambda p, o, u: p.stopping.kind in ("sets", "test") and p.stopping.check_every != 1, _check_every),
    Reading("gradient=full", "contrast",
            "the full gradient (BPTT through the whole sequence, from the same derivation) with weight changes at "
            "the sequence end; compare with update=sequence, the truncated gradient with the same timing",
            "Section 4's truncation, removed", lambda p, o, u: _is_lstm(p), _gradient_full,
            lambda p, o, u: (SameRun("update=sequence", False, SAME_GRADIENT)
                             if p.topology.recurrent == "none" and u == "step" else None),
            baseline="update=sequence"),
    Reading("cell=forget", "contrast",
            "the forget-gate cell (Gers et al. 2000) in the same network; forget-gate biases +0.5, +1.0, ... by "
            "block where the row has gate biases", "spec 12",
            lambda p, o, u: _is_1997_cell(p), _cell("cell=forget", "forget")),
    Reading("cell=forget-open", "contrast",
            f"the forget-gate cell with its forget gates starting open: biases +{FORGET_BIAS_OPEN:g} in every block "
            f"(sigma = {1 / (1 + math.exp(-FORGET_BIAS_OPEN)):.3f}), the value Gers et al. report for Noisy "
            "Temporal Order, instead of cell=forget's +0.5, +1.0, ...", "spec 12",
            lambda p, o, u: _is_1997_cell(p) and _has_gate_bias_weights(p),
            _cell("cell=forget-open", "forget", forget_open=True), optional=True, baseline="cell=forget"),
    Reading("h=identity", "contrast",
            "h the identity (no squashing of the cell state; the paper's remedy for drift it did not use here)",
            "spec 2.8", lambda p, o, u: _is_1997_cell(p), _cell("h=identity", "lstm1997_hid")),
    Reading("ranges=swapped", "contrast",
            "Table 10 caption's ranges: g in [-1, 1] and h in [-2, 2] instead of Appendix eqs. (4)-(5)'s g in "
            "[-2, 2] and h in [-1, 1]", "spec 5.1 caveat, 10 item 1",
            lambda p, o, u: _is_1997_cell(p), _cell("ranges=swapped", "lstm1997_swap")),
)


# ----- task-option readings, from the tasks' UNCONFIRMED options -----

def option_readings(preset: Preset, options: dict[str, Any]) -> list[Reading]:
    """One reading per documented alternative of each UNCONFIRMED option of the row's task that the row's other
    options admit (2c's distractor_range=q, the printed a_1 .. a_q, needs q <= p: it does not apply to the rows
    with q = 1000 and p < 1000)."""
    from lstm_proofs.tasks import get_task

    task = get_task(preset.task)
    out = []
    for opt in task.option_specs:
        if not opt.unconfirmed:
            continue
        for value in opt.alternative_values():
            if value == options.get(opt.name) or not _admitted(task, {**options, opt.name: value}):
                continue
            text = f"task option {opt.name} = {_fmt(value)} instead of {_fmt(options.get(opt.name))}: {opt.help}"
            out.append(Reading(f"{opt.name}={_fmt(value)}", "reading", text, f"spec {opt.unconfirmed}",
                               lambda p, o, u, k=opt.name, v=value: o.get(k) != v,
                               lambda p, o, u, k=opt.name, v=value: (p, {**o, k: v}, u)))
    return out


def _admitted(task: Any, options: dict[str, Any]) -> bool:
    """Whether the task accepts these options together."""
    try:
        task.options(**options)
    except UserError:
        return False
    return True


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def readings_for(preset: Preset, options: dict[str, Any], update: str) -> list[Reading]:
    """Every reading and contrast that applies to a row's default run, readings first."""
    found = option_readings(preset, options) + [r for r in TRAINER_READINGS if r.applies(preset, options, update)]
    return sorted(found, key=lambda r: r.kind != "reading")


def same_runs(preset: Preset, options: dict[str, Any], update: str) -> dict[str, SameRun]:
    """The readings of a row that are, on it, the same run as another by construction (:attr:`Reading.same_as`)."""
    out = {}
    for r in readings_for(preset, options, update):
        same = r.same_as(preset, options, update)
        if same is not None:
            out[r.name] = same
    return out


def matrix_readings(preset: Preset, options: dict[str, Any], update: str) -> list[str]:
    """The readings ``ablate`` runs for a row unless ``--readings`` chooses: the default and every reading and
    contrast that applies, but those that are another's run bit for bit (:class:`SameRun` ``exact``) and the
    follow-ups run only when named (:attr:`Reading.optional`)."""
    same = same_runs(preset, options, update)
    return [DEFAULT] + [r.name for r in readings_for(preset, options, update)
                        if not (r.name in same and same[r.name].exact) and not r.optional]


def apply_reading(run: Run, name: str) -> Run:
    """``run`` with the reading ``name`` applied (``default``: unchanged).

    Raises:
        UserError: no such reading, or it does not apply to the row (the message lists those that do).
    """
    if name == DEFAULT:
        return run
    preset, options, update = run
    known = {r.name: r for r in readings_for(preset, options, update)}
    if name not in known:
        raise UserError(f"reading {name!r} does not apply to row {preset.row}; its readings: "
                        f"{', '.join(known) or 'none'}")
    return known[name].apply(preset, options, update)


def recorded_readings(preset: Preset, names: list[str]) -> Preset:
    """The preset with the readings recorded in a results file's ``settings["readings"]`` applied (for replay)."""
    by_name = {r.name: r for r in TRAINER_READINGS}
    for name in names:
        if name not in by_name:
            raise UserError(f"unknown reading {name!r} in a results file's settings (readings: "
                            f"{', '.join(by_name)})")
        preset = by_name[name].apply(preset, {}, preset.update)[0]
    return preset
