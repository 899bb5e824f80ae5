"""Training trials of a preset: the paper's online learner for LSTM rows, full-gradient descent for baselines.

LSTM trials run in lockstep: all active trials sit on the leading batch axis of one :class:`OnlineLearner`, and
every call processes one sequence per trial (each from the trial's own stream, padded to the longest with mask 0).
A trial that meets its stopping criterion (or the sequence cap) leaves the batch and is tested on its test set.
Conventional-net baselines (Table 2) are trained one trial after another with the full BPTT gradient and a weight
update per sequence.

Sequential construction (Exps. 2a, 2b; :class:`~lstm_proofs.training.presets.Construction`): a trial starts with
its hidden part (cells, gates, their output weights) at zero and frozen, so its outputs see the inputs only; once
its training error has stopped decreasing, its cell weights are drawn and unfrozen. Each trial decides for itself,
so trials in one lockstep batch may be in different phases.

Determinism: every random stream of trial ``i`` under seed ``s`` comes from ``SeedSequence(s, spawn_key=(i, k))``
(k = 0 initial weights, 1 training sequences, 2 stopping tests, 3 final test set, 4 the weights of cells added
later); Exp. 1's training/test-set
pair ``d`` from ``SeedSequence([s, 1], spawn_key=(d,))``. The lockstep kernels treat batch entries independently,
so a trial's results do not depend on which other trials run with it, nor on the number of processes.

Weights (:mod:`~lstm_proofs.training.weights`): a finished trial's record carries its final weights and its
weights after the sequence counts of ``KEEP_AT`` (kept as the trial passes them, and in its checkpoints) in the
field ``weights``, which the writer of the results file takes out and stores beside it.

Checkpoints (:mod:`~lstm_proofs.training.checkpoints`): with a checkpoint store, the active trials' weights and
state are saved at sequence boundaries every few seconds and when :func:`request_stop` is called, and a trial with
a checkpoint resumes from it; a resumed trial equals an uninterrupted one bit for bit. Each record lists the code
versions (commit, dirty flag, trainer fingerprint; :mod:`~lstm_proofs.training.provenance`) that advanced it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from lstm_proofs.errors import UserError
from lstm_proofs.inputs import OneHotInputs
from lstm_proofs.learning import OnlineLearner, TrialState, frozen_masks, stack_params
from lstm_proofs.network import Network, Params, init_params
from lstm_proofs.network.model import load_kernels
from lstm_proofs.tasks import Batch, get_task
from lstm_proofs.training.checkpoints import Checkpoints
from lstm_proofs.training.diagnostics import PROBE_SEQUENCES, PROBE_STREAM, SITE_SEQUENCES, Probe, error_sites, measure
from lstm_proofs.training.presets import Preset, with_construction
from lstm_proofs.training.provenance import code_stamp
from lstm_proofs.training.weights import KEEP_AT, WEIGHTS_FIELD, pack_params, record_payload, unpack_params

#: Sequences per chunk when a test set is evaluated (bounds memory: Exp. 2a's 10,000 x 101 x 101 would be 0.8 GB).
EVAL_CHUNK = 500

#: The first chunk of a stopping test that ends at the first wrong sequence (the chunks then double up to
#: EVAL_CHUNK). Part of the trial's random stream: changing it changes which test sequences a trial sees.
FIRST_CHUNK = 100

#: (new sequences, running error, active trials). The running error is a function, evaluated only when wanted:
#: the mean over the active trials' windows costs more than a lockstep call of a small network.
ProgressFn = Callable[[int, Callable[[], float], int], None]
ResultFn = Callable[[dict[str, Any]], None]

_STOP = threading.Event()


def request_stop() -> None:
    """Ask running trials to stop at the end of their current sequence (checkpoints are written first, where the
    run keeps them); :func:`run_trials` then raises :class:`KeyboardInterrupt`. Safe to call from a signal
    handler."""
    _STOP.set()


def stop_requested() -> bool:
    """True once :func:`request_stop` was called in this process (cleared when :func:`run_trials` starts)."""
    return _STOP.is_set()


def trial_seed(seed: int, trial: int, stream: int) -> np.random.SeedSequence:
    """The seed sequence of one random stream of one trial (0 init, 1 training, 2 stopping tests, 3 test set,
    4 added cells)."""
    return np.random.SeedSequence(seed, spawn_key=(trial, stream))


def dataset_seed(seed: int, dataset: int) -> np.random.SeedSequence:
    """The seed sequence of Exp. 1's training/test-set pair ``dataset``."""
    return np.random.SeedSequence([seed, 1], spawn_key=(dataset,))


def initial_params(preset: Preset, seed: int, trial: int) -> Params:
    """The initial weights of a trial (Section 5: uniform in the interval; Table 10 gate biases)."""
    return _draw(preset, np.random.default_rng(trial_seed(seed, trial, 0)))


def _draw(preset: Preset, rng: np.random.Generator) -> Params:
    """Weights uniform in the row's interval with its fixed gate biases; a gate with its own bias interval
    (``preset.bias_intervals``) has its random biases scaled to it (same random numbers, so nothing else moves)."""
    params = init_params(preset.topology, rng, preset.init_interval, dict(preset.gate_biases) or None)
    rows = preset.topology.row_slices()
    for gate, half in preset.bias_intervals.items():
        if gate not in preset.gate_biases and preset.init_interval > 0:
            params.arrays["W_hidden"][rows[gate], -1] *= half / preset.init_interval
    return params


def hidden_part(preset: Preset) -> dict[str, np.ndarray]:
    """Masks of the weights that sequential construction holds at zero until the cells are added: every existing
    weight except those into the output units from the inputs and the output bias."""
    masks = preset.topology.masks()
    keep = frozen_masks(preset.topology)
    return {name: m & ~keep[name] for name, m in masks.items()}


def starting_params(preset: Preset, seed: int, trial: int) -> Params:
    """A trial's weights at its start: :func:`initial_params`, with the hidden part zero under sequential
    construction (the net before its cells are added)."""
    params = initial_params(preset, seed, trial)
    if preset.construction.kind == "sequential":
        for name, m in hidden_part(preset).items():
            params.arrays[name][m] = 0.0
    return params


def added_cell_params(preset: Preset, seed: int, trial: int) -> Params:
    """The weights a trial's cells get when they are added: drawn like initial weights (uniform in the row's
    interval, Table 10 gate biases) from the trial's own stream 4; only the hidden part of them is used."""
    return _draw(preset, np.random.default_rng(trial_seed(seed, trial, 4)))


class Plateau:
    """The test "the error has stopped decreasing" of sequential construction (see
    :class:`~lstm_proofs.training.presets.Construction`): block means of the sequence loss against a reference."""

    def __init__(self, window: int, patience: int, rel_eps: float) -> None:
        self.window, self.patience, self.rel_eps = window, patience, rel_eps
        self.total = 0.0
        self.count = 0
        self.reference: float | None = None
        self.stale = 0

    def add(self, loss: float) -> bool:
        """Record one sequence's loss; True once the error has stopped decreasing."""
        self.total += loss
        self.count += 1
        if self.count < self.window:
            return False
        mean = self.total / self.count
        self.total, self.count = 0.0, 0
        if self.reference is None or mean < self.reference * (1.0 - self.rel_eps):
            self.reference = mean
            self.stale = 0
            return False
        self.stale += 1
        return self.stale >= self.patience


def reber_sets(task: Any, options: dict[str, Any], seed: int, dataset: int, size: int) -> tuple[Batch, Batch]:
    """Exp. 1's training/test-set pair ``dataset``: ``size`` random strings each, the test strings not in the
    training set (Section 5.1, after Fahlman 1991; the task's ``make_sets``)."""
    return task.make_sets(np.random.default_rng(dataset_seed(seed, dataset)), size, size, **options)


@dataclass
class _Trial:
    """Book-keeping of one trial while it trains."""

    index: int
    preset: Preset
    options: dict[str, Any]
    seed: int
    max_sequences: int
    train_set: Batch | None = None
    test_set: Batch | None = None
    dataset: int | None = None
    sequences: int = 0
    since_check: int = 0
    st1: int | None = None
    checks: int = 0
    passed_test: dict[str, Any] | None = None
    cell_added: int | None = None
    probe: Probe | None = None
    start: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        w = self.preset.stopping.window
        self.rng_train = np.random.default_rng(trial_seed(self.seed, self.index, 1))
        self.rng_check = np.random.default_rng(trial_seed(self.seed, self.index, 2))
        self.win_ok = np.zeros(w, dtype=bool)
        self.win_err = np.zeros(w)
        self.filled = 0
        self.pos = 0
        self.pending: Batch | None = None
        self.block_state: dict[str, Any] | None = None  # rng_train's state before ``pending`` was drawn
        self.next_index = 0
        c = self.preset.construction
        self.plateau = Plateau(c.window, c.patience, c.rel_eps) if c.kind == "sequential" else None
        self.code = [code_stamp()]  # the code versions that advanced this trial (more than one when resumed)
        self.kept: dict[int, dict[str, Any]] = {}  # weights after n sequences, n in KEEP_AT (training/weights.py)

    def snapshot(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The trial's state at a sequence boundary, for a checkpoint: (JSON-ready state, arrays)."""
        state = {"sequences": self.sequences, "since_check": self.since_check, "st1": self.st1, "checks": self.checks,
                 "cell_added": self.cell_added, "seconds": time.perf_counter() - self.start,
                 "filled": self.filled, "pos": self.pos, "rng_train": self.rng_train.bit_generator.state,
                 "rng_check": self.rng_check.bit_generator.state, "pending": self.pending is not None,
                 "block_state": self.block_state, "next_index": self.next_index, "code": self.code,
                 "plateau": None if self.plateau is None else
                 {k: getattr(self.plateau, k) for k in ("total", "count", "reference", "stale")}}
        if self.probe is not None:
            state["probe"] = self.probe.state()
        kept = {f"kept_{n}__{k}": v for n, p in self.kept.items() for k, v in unpack_params(p).arrays.items()}
        return state, {"win_ok": self.win_ok, "win_err": self.win_err, **kept}

    def restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], task: Any, block: int) -> None:
        """Continue from a :meth:`snapshot` (the block of online sequences in use is drawn again from the
        generator state it was drawn from, so the trial goes on exactly as if it had not stopped)."""
        for key in ("sequences", "since_check", "st1", "checks", "cell_added", "filled", "pos", "next_index"):
            setattr(self, key, state[key])
        self.start = time.perf_counter() - float(state["seconds"])
        self.win_ok[...] = arrays["win_ok"]
        self.win_err[...] = arrays["win_err"]
        self.rng_check.bit_generator.state = state["rng_check"]
        if state["pending"]:
            self.block_state = state["block_state"]
            self.rng_train.bit_generator.state = self.block_state
            self.pending = task.generate(self.rng_train, block, **self.options)
        self.rng_train.bit_generator.state = state["rng_train"]
        if self.plateau is not None and state["plateau"] is not None:
            for key, value in state["plateau"].items():
                setattr(self.plateau, key, value)
        if self.probe is not None:
            self.probe.restore(state["probe"])
        for n in {int(k[5:].split("__")[0]) for k in arrays if k.startswith("kept_")}:
            self.kept[n] = pack_params(Params({k.split("__", 1)[1]: np.array(v) for k, v in arrays.items()
                                               if k.startswith(f"kept_{n}__")}))
        here = self.code[-1]
        self.code = [*state["code"], here] if state["code"][-1] != here else list(state["code"])

    def keep(self, params: Callable[[], Params]) -> None:
        """Keep the weights after this many sequences if the count is one of :data:`KEEP_AT`."""
        if self.sequences in KEEP_AT and self.sequences not in self.kept:
            self.kept[self.sequences] = pack_params(params())

    @property
    def frozen(self) -> bool:
        """True while the trial's cells are not yet added (sequential construction)."""
        return self.plateau is not None and self.cell_added is None

    def next_source(self, task: Any, block: int) -> tuple[Batch, int]:
        """Where the trial's next training sequence is: ``(batch, index)``, from its fixed training set (Exp. 1)
        or generated online (:func:`gather_sequences` copies it into the lockstep batch).

        Online sequences are generated ``block`` at a time (``block`` depends only on the task options, so the
        stream is the same whatever the batch) and handed out one by one.
        """
        if self.train_set is not None and not self.preset.fresh_training:
            return self.train_set, int(self.rng_train.integers(self.train_set.n))
        if self.pending is None or self.next_index == self.pending.n:
            self.block_state = self.rng_train.bit_generator.state
            self.pending = task.generate(self.rng_train, block, **self.options)
            self.next_index = 0
        self.next_index += 1
        return self.pending, self.next_index - 1

    def next_sequence(self, task: Any, block: int) -> Batch:
        """The trial's next training sequence as a batch of one (see :meth:`next_source`)."""
        source, i = self.next_source(task, block)
        return source.take([i])

    def record(self, ok: bool, err: float) -> None:
        self.sequences += 1
        self.since_check += 1
        self.win_ok[self.pos] = ok
        self.win_err[self.pos] = err
        self.pos = (self.pos + 1) % self.win_ok.size
        self.filled = min(self.filled + 1, self.win_ok.size)

    def running_error(self) -> float:
        return float(self.win_err[: self.filled].mean()) if self.filled else float("nan")

    def window_all_correct(self) -> bool:
        return self.filled == self.win_ok.size and bool(self.win_ok.all())


class _Evaluator:
    """Forward passes of a trial's current weights over test batches (weights shared across the batch)."""

    def __init__(self, preset: Preset, task: Any, options: dict[str, Any], kernels: ModuleType) -> None:
        self.net = Network(preset.topology, kernels)
        self.task = task
        self.options = options

    def run(self, params: Params, batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(correct, errors, outputs at the end) of every sequence of ``batch``."""
        outs = self.net.forward(params, batch.inputs).outputs
        return (self.task.correct(outs, batch, **self.options), self.task.errors(outs, batch, **self.options),
                batch.at_end(outs))

    def fresh(self, params: Params, rng: np.random.Generator, n: int, stop_on_error: bool = False
              ) -> dict[str, Any]:
        """Figures on ``n`` fresh sequences generated in chunks; stops early on a wrong one if asked."""
        ok_all, err_all, sq_all = [], [], []
        done = 0
        while done < n:
            # A test that stops at the first wrong sequence starts small (100, 100, 200, 400, 500, 500, ...): most
            # stopping tests of a trial that is not yet solved fail within the first few sequences.
            m = min(EVAL_CHUNK, n - done, max(FIRST_CHUNK, done) if stop_on_error else EVAL_CHUNK)
            batch = self.task.generate(rng, m, **self.options)
            ok, err, end = self.run(params, batch)
            sq = ((batch.at_end(batch.targets) - end) ** 2).mean(axis=1)
            ok_all.append(ok)
            err_all.append(err)
            sq_all.append(sq)
            done += m
            if stop_on_error and not ok.all():
                break
        ok, err, sq = np.concatenate(ok_all), np.concatenate(err_all), np.concatenate(sq_all)
        return _figures(ok, err, sq)


def _figures(ok: np.ndarray, err: np.ndarray, sq: np.ndarray | None = None) -> dict[str, Any]:
    out = {"size": int(ok.size), "wrong": int((~ok).sum()), "fraction_wrong": float((~ok).mean()),
           "mean_error": float(err.mean()), "max_error": float(err.max())}
    if sq is not None:
        out["mse"] = float(sq.mean())  # mean squared error of the output units at sequence end
    return out


class _Runner:
    """Shared logic of stopping checks, final tests and result records."""

    def __init__(self, preset: Preset, options: dict[str, Any], seed: int, max_sequences: int,
                 backend: str = "numpy") -> None:
        self.preset = preset
        self.task = get_task(preset.task)
        self.options = self.task.options(**options)
        self.seed = seed
        self.max_sequences = max_sequences
        self.kernels = load_kernels(preset.topology.cell, backend)
        self.eval = _Evaluator(preset, self.task, self.options, self.kernels)
        self._sets: dict[int, tuple[Batch, Batch]] = {}

    def new_trial(self, index: int) -> _Trial:
        p = self.preset
        tr = _Trial(index, p, self.options, self.seed, self.max_sequences)
        tr.kept[0] = pack_params(starting_params(p, self.seed, index))  # a resumed trial restores the others
        if p.train_set_size:
            tr.dataset = index // p.trials_per_dataset if p.trials_per_dataset else 0
            if tr.dataset not in self._sets:
                self._sets[tr.dataset] = reber_sets(self.task, self.options, self.seed, tr.dataset, p.train_set_size)
            tr.train_set, tr.test_set = self._sets[tr.dataset]
        if p.diagnostics:
            rng = np.random.default_rng(trial_seed(self.seed, index, PROBE_STREAM))
            tr.probe = Probe(self.eval.net, self.task.generate(rng, PROBE_SEQUENCES, **self.options), rng)
        return tr

    def observe(self, tr: _Trial, params: Callable[[], Params]) -> None:
        """Sample the trial's diagnostics when a sampling point is reached (no-op without diagnostics)."""
        if tr.probe is not None and tr.probe.due(tr.sequences):
            tr.probe.sample(tr.sequences, params())

    def check(self, tr: _Trial, params: Callable[[], Params]) -> str | None:
        """``criterion`` when the trial meets its stopping criterion, ``cap`` at the sequence cap, else None."""
        st = self.preset.stopping
        if st.kind == "st3":
            err = tr.win_err ** 2 if st.error == "squared" else tr.win_err
            if tr.window_all_correct() and err.mean() < st.beta:
                return "criterion"
        elif st.kind == "window_wrong":
            if tr.filled == st.window and int((~tr.win_ok).sum()) < st.n_seq:
                return "criterion"
        elif tr.since_check >= st.check_every:
            if st.kind in ("sets", "test") and tr.window_all_correct():
                tr.since_check = 0
                tr.checks += 1
                if self._passes(tr, params()):
                    return "criterion"
            elif st.kind == "st1st2":
                tr.since_check = 0
                tr.checks += 1
                fig = self.eval.fresh(params(), tr.rng_check, st.check_size)
                if fig["wrong"] <= st.max_wrong:
                    if tr.st1 is None:
                        tr.st1 = tr.sequences
                    if fig["mean_error"] < st.beta:
                        return "criterion"
        if tr.sequences >= self.max_sequences:
            return "cap"
        return None

    def _passes(self, tr: _Trial, params: Params) -> bool:
        if self.preset.stopping.kind == "sets":
            return all(self.eval.run(params, b)[0].all() for b in (tr.train_set, tr.test_set))
        fig = self.eval.fresh(params, tr.rng_check, self.preset.stopping.check_size, stop_on_error=True)
        passed = fig["wrong"] == 0 and fig["size"] == self.preset.stopping.check_size
        if passed:
            tr.passed_test = fig
        return passed

    def finish(self, tr: _Trial, params: Params, stop: str) -> dict[str, Any]:
        """The result record of a finished trial, with its final test."""
        p = self.preset
        rec: dict[str, Any] = {"trial": tr.index, "solved": stop == "criterion", "stop": stop,
                               "sequences": tr.sequences, "stopping_checks": tr.checks}
        if p.stopping.kind == "st1st2":
            rec["st1_sequences"] = tr.st1
        if p.construction.kind == "sequential":
            rec["cell_added"] = tr.cell_added  # training sequences before the cells were added (None: never)
        if tr.dataset is not None:
            rec["dataset"] = tr.dataset
            for name, b in (("train_set", tr.train_set), ("test", tr.test_set)):
                ok, err, _ = self.eval.run(params, b)
                rec[name] = _figures(ok, err)
        elif tr.passed_test is not None and stop == "criterion":
            rec["test"] = tr.passed_test  # Exp. 2: the passed success test is the test (no second one needed)
        elif p.test_size:
            rng = np.random.default_rng(trial_seed(self.seed, tr.index, 3))
            rec["test"] = self.eval.fresh(params, rng, p.test_size)
        rec["train_window"] = {"size": tr.filled, "wrong": int((~tr.win_ok[: tr.filled]).sum()),
                               "mean_error": tr.running_error()}
        if tr.probe is not None:
            sites = tr.test_set if tr.test_set is not None else self.task.generate(
                tr.probe.rng, SITE_SEQUENCES, **self.options)
            rec["diagnostics"] = {"samples": tr.probe.samples, "end": measure(self.eval.net, params, tr.probe.batch),
                                  "error_sites": error_sites(p.task, self.eval.net, params, sites)}
        rec["seconds"] = time.perf_counter() - tr.start
        rec["code"] = tr.code  # commit, dirty flag and trainer fingerprint of every process that advanced it
        rec[WEIGHTS_FIELD] = record_payload(p.topology, params, tr.kept)  # split off by the results writer
        return rec


def run_trials(preset: Preset, trials: Sequence[int], seed: int, max_sequences: int,
               options: dict[str, Any] | None = None, update: str | None = None,
               on_result: ResultFn | None = None, on_progress: ProgressFn | None = None,
               backend: str = "numpy", construction: str | None = None,
               checkpoints: Checkpoints | None = None) -> list[dict[str, Any]]:
    """Train the given trials of a preset and return one result record per trial (in finishing order).

    Args:
        preset: the table row.
        trials: trial indices (each trial's randomness depends only on ``seed`` and its index).
        seed: base seed.
        max_sequences: cap on training sequences per trial.
        options: task options (default: the preset's).
        update: ``step`` or ``sequence`` for LSTM rows (default: the preset's).
        on_result: called with each record as soon as its trial is finished.
        on_progress: called after every lockstep call with (new sequences, running error, active trials).
        backend: generated kernels to run, ``numpy`` (the reference) or ``numba`` (compiled from the same
            derivation; equal to NumPy within rounding, so results differ from NumPy's in the last bits and can
            take other paths over a long run: a results file records its backend).
        construction: ``sequential`` (cells added once the error has stopped decreasing) or ``full`` (cells from
            the start) for LSTM rows (default: the preset's).
        checkpoints: where to keep the state of unfinished trials (see
            :mod:`~lstm_proofs.training.checkpoints`): trials with a checkpoint resume from it, and the active
            trials are saved every ``checkpoints.every`` seconds and when :func:`request_stop` is called. The
            caller removes a trial's checkpoint once its record is stored. None keeps no checkpoints.

    Returns:
        The records (``trial``, ``solved``, ``stop``, ``sequences``, test figures, ``seconds``, ...).
    """
    opts = dict(preset.task_options if options is None else options)
    preset = with_construction(preset, construction)
    runner = _Runner(preset.with_(update=update or preset.update), opts, seed, max_sequences, backend)
    _STOP.clear()
    saver = _Saver(checkpoints)
    if preset.method == "lstm":
        return _run_lockstep(runner, list(trials), on_result, on_progress, saver)
    return _run_conventional(runner, list(trials), on_result, on_progress, saver)


class _Saver:
    """Periodic and on-request checkpoints of the active trials (a no-op without a checkpoint store)."""

    def __init__(self, store: Checkpoints | None) -> None:
        self.store = store
        self.last = time.monotonic()

    def resume(self, tr: _Trial, task: Any, block: int, params: Params) -> Params:
        """The trial's weights: from its checkpoint (its state restored too) if it has one, else ``params``."""
        found = self.store.load(tr.index) if self.store is not None else None
        if found is None:
            return params
        state, arrays = found
        tr.restore(state, arrays, task, block)
        names = [k for k in arrays if k.startswith("param_")]
        if sorted(k[6:] for k in names) != sorted(params.arrays) or any(
                arrays["param_" + k].shape != v.shape for k, v in params.arrays.items()):
            raise UserError(f"checkpoint {self.store.path(tr.index)} holds weights of another network; remove it "
                            f"to restart trial {tr.index}")
        return Params({k: np.array(arrays["param_" + k]) for k in params.arrays})

    def after_call(self, trials: list[_Trial], params: Callable[[int], Params]) -> None:
        """At a sequence boundary: save the trials when due or when a stop was requested, then honour the stop."""
        due = self.store is not None and time.monotonic() - self.last >= self.store.every
        if self.store is not None and (due or _STOP.is_set()):
            for b, tr in enumerate(trials):
                state, arrays = tr.snapshot()
                arrays.update({"param_" + k: v for k, v in params(b).arrays.items()})
                self.store.save(tr.index, state, arrays)
            self.last = time.monotonic()
        if _STOP.is_set():
            raise KeyboardInterrupt


def _run_lockstep(runner: _Runner, trials: list[int], on_result: ResultFn | None,
                  on_progress: ProgressFn | None, saver: _Saver) -> list[dict[str, Any]]:
    p, task, opts = runner.preset, runner.task, runner.options
    learner = OnlineLearner(p.topology, p.update, kernels=runner.kernels)
    block = generation_block(task, opts)
    active = [runner.new_trial(i) for i in trials]
    state = TrialState(stack_params([saver.resume(t, task, block, starting_params(p, runner.seed, t.index))
                                     for t in active]),
                       np.full(len(active), p.learning_rate))
    sequential = p.construction.kind == "sequential"
    hidden = hidden_part(p) if sequential else {}
    results = []
    while active:
        batch = gather_sequences([t.next_source(task, block) for t in active])
        frozen = np.array([t.frozen for t in active]) if sequential else None
        outs = learner.run_sequence(state, batch.inputs, batch.targets, batch.mask, frozen=frozen)
        ok = task.correct(outs, batch, **opts)
        err = task.errors(outs, batch, **opts)
        if sequential:  # each sequence's loss E = 1/2 sum mask (target - output)^2, for the plateau test
            loss = 0.5 * (batch.mask * (batch.targets - outs) ** 2).sum(axis=(0, 2))
        keep = []
        for b, tr in enumerate(active):
            tr.record(bool(ok[b]), float(err[b]))
            if frozen is not None and frozen[b] and tr.plateau.add(float(loss[b])):
                tr.cell_added = tr.sequences  # the error has stopped decreasing: add the cell and its gate
                new = added_cell_params(p, runner.seed, tr.index)
                for name, m in hidden.items():
                    state.params.arrays[name][b][m] = new.arrays[name][m]
            runner.observe(tr, lambda b=b: _one(state.params, b))
            tr.keep(lambda b=b: _one(state.params, b))
            stop = runner.check(tr, lambda b=b: _one(state.params, b))
            if stop is None:
                keep.append(b)
                continue
            rec = runner.finish(tr, _one(state.params, b), stop)
            results.append(rec)
            if on_result:
                on_result(rec)
        if on_progress:
            on_progress(len(active), _mean_running_error(active), len(keep))
        if len(keep) < len(active):
            active = [active[b] for b in keep]
            idx = np.asarray(keep, dtype=np.int64)
            state = TrialState(Params({k: v[idx] for k, v in state.params.arrays.items()}),
                               state.learning_rate[idx])
        if active:
            saver.after_call(active, lambda b: _one(state.params, b))
    return results


def gather_sequences(sources: list[tuple[Batch, int]]) -> Batch:
    """One sequence per trial side by side, each ``(batch, index)`` of ``sources`` copied straight from its
    source batch and zero-padded at the end (mask 0). Equals ``Batch.concatenate([b.take([i]) for b, i in
    sources])`` without the intermediate one-sequence batches (this runs once per lockstep call). One-hot inputs
    stay symbols."""
    first = sources[0][0]
    lengths = np.array([b.lengths[i] for b, i in sources], dtype=np.int64)
    steps = int(lengths.max())
    n = len(sources)
    one_hot = all(isinstance(b.inputs, OneHotInputs) for b, _ in sources)
    if one_hot:
        symbols = np.full((steps, n), -1, dtype=np.int64)
    else:
        xs = np.zeros((steps, n, first.inputs.shape[2]))
    targets = np.zeros((steps, n, first.targets.shape[2]))
    mask = np.zeros((steps, n, first.mask.shape[2]))
    for j, ((b, i), length) in enumerate(zip(sources, lengths)):
        if one_hot:
            symbols[:length, j] = b.inputs.symbols[:length, i]
        else:
            xs[:length, j] = b.xs[:length, i]
        targets[:length, j] = b.targets[:length, i]
        mask[:length, j] = b.mask[:length, i]
    info = {}
    for key, value in first.info.items():
        if value.ndim == 1:  # one value per sequence: gathered in one call
            info[key] = np.array([b.info[key][i] for b, i in sources], dtype=value.dtype)
            continue
        width = max(b.info[key].shape[1] for b, _ in sources)
        fill = False if value.dtype == np.bool_ else (-1 if np.issubdtype(value.dtype, np.integer) else 0)
        arr = np.full((n, width, *value.shape[2:]), fill, dtype=value.dtype)
        for j, (b, i) in enumerate(sources):
            v = b.info[key][i]
            arr[j, :v.shape[0]] = v
        info[key] = arr
    inputs = OneHotInputs(symbols, first.inputs.size) if one_hot else xs
    return Batch(inputs, targets, mask, lengths, info)


def _mean_running_error(trials: list[_Trial]) -> Callable[[], float]:
    """The mean running error of ``trials`` as it is now, computed when called."""
    errors = [t.running_error for t in trials]
    return lambda: float(np.mean([e() for e in errors]))


def generation_block(task: Any, options: dict[str, Any]) -> int:
    """Sequences generated per call for a trial's stream: up to 64, fewer for long sequences with many units (at
    most about 8 MB per block). Depends only on the task options."""
    per_sequence = task.max_steps(**options) * (task.n_inputs(**options) + 2 * task.n_outputs(**options)) * 8
    return int(max(1, min(64, 8_000_000 // max(per_sequence, 1))))


def _one(stacked: Params, b: int) -> Params:
    return Params({k: v[b].copy() for k, v in stacked.arrays.items()})


def _run_conventional(runner: _Runner, trials: list[int], on_result: ResultFn | None,
                      on_progress: ProgressFn | None, saver: _Saver) -> list[dict[str, Any]]:
    """Full-gradient training, one trial after another, weights updated after each sequence: Table 2's baselines
    (BPTT; identical to offline RTRL), and LSTM rows under ``lstm-proofs ablate``'s contrast ``gradient=full``
    (with sequential construction where the row has it: the hidden part's gradient is held at zero until the
    cells are added)."""
    p, task, opts = runner.preset, runner.task, runner.options
    net = Network(p.topology, runner.kernels)
    block = generation_block(task, opts)
    hidden = hidden_part(p) if p.construction.kind == "sequential" else {}
    results = []
    for index in trials:
        tr = runner.new_trial(index)
        params = saver.resume(tr, task, block, starting_params(p, runner.seed, index))
        while True:
            batch = tr.next_sequence(task, block)
            outs = net.forward(params, batch.inputs).outputs
            tr.record(bool(task.correct(outs, batch, **opts)[0]), float(task.errors(outs, batch, **opts)[0]))
            loss, grad = net.loss_and_grad(params, batch.inputs, batch.targets, batch.mask)
            frozen = tr.frozen
            for k, g in grad.arrays.items():
                if frozen and k in hidden:
                    g[hidden[k]] = 0.0
                params.arrays[k] -= p.learning_rate * g
            if frozen and tr.plateau.add(float(loss)):
                tr.cell_added = tr.sequences  # the error has stopped decreasing: add the cell and its gate
                new = added_cell_params(p, runner.seed, index)
                for name, m in hidden.items():
                    params.arrays[name][m] = new.arrays[name][m]
            tr.keep(lambda: params)
            if on_progress:
                on_progress(1, tr.running_error, 1)
            runner.observe(tr, lambda: params)
            stop = runner.check(tr, lambda: params)
            if stop is not None:
                rec = runner.finish(tr, params, stop)
                results.append(rec)
                if on_result:
                    on_result(rec)
                break
            saver.after_call([tr], lambda b: params)
    return results
