"""Checks ``tasks/<task>/invariants`` and ``trainer/lockstep-batching``: the paper's tasks and the trainer's batches.

The gradient and learner checks hold the arithmetic; these hold what it is fed. Every property is read off the
dense inputs, targets and mask alone, by the paper's definitions (Section 5), never from the generator's ``info``
or lengths, so a target or a mask one step off, a wrong class, a wrong target formula or padding that is not zero
shows as a violation:

* every task: shapes and dtype; a sequence's length is its last step with a nonzero input plus one (every task has
  a nonzero input at every step of a sequence) and equals the batch's ``lengths``; inputs, targets and mask are
  zero after it; the mask is 0 or 1, at every step of the sequence (Exps. 1, 2a, 2b) or only at its last step
  (every other task);
* Exp. 1 (embedded Reber grammar): one symbol per step, B first; the target at step t is the symbol of step t+1
  (``targets=next``) or a set of legal symbols holding it (``targets=legal``); at the last step E;
* Exps. 2a, 2b: the target at step t is the input of step t+1, the last target the first input (x or y);
* Exp. 2c: b, then x or y, then distractors, then e at the last step; the target there is x's or y's unit;
* Exps. 3a-3c: the target at the end is the class of the first N inputs (their sign: exact in 3a and 3c, after
  input noise in 3b, whose class the sign of their sum gives; 3c's targets are noisy around 0.2 and 0.8);
* Exps. 4, 5: markers -1 at the first (unless marked) and last step, exactly two +1 markers, the first in the first
  ten pairs, the second before T/2; the target 0.5 + (X1 + X2)/4 (Exp. 4) or X1 X2 (Exp. 5);
* Exps. 6a, 6b: E first, B last, two (three) X or Y between; the target unit is their order read as a binary number.

``trainer/lockstep-batching`` runs the trainer's lockstep loop (``lstm_proofs.training.trainer.run_trials``) on
one row of every LSTM task for :data:`LOCKSTEP_CALLS` calls, with a learner that records what it is handed, and
holds every gathered batch to the same invariants, and each trial's sequence to the trial's own stream (the
sequences its generator gives, or its training set). The sequential construction rows (Exps. 2a/2b) run frozen
trials, so their masks are exercised too (the learner checks compare frozen trials with the reference learner).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstm_proofs.inputs import OneHotInputs
from lstm_proofs.results import CheckResult, wanted
from lstm_proofs.tasks import TASKS, get_task

SEQUENCES = 48
SEED = 0
#: Task options of the checked batches: the paper's defaults, made shorter where that keeps the check quick.
OPTIONS = {"2a": {"p": 30}, "2b": {"p": 30}, "2c": {"q": 50, "p": 50}, "3a": {"T": 60}, "3b": {"T": 60},
           "3c": {"T": 60}, "4": {"T": 60}, "5": {"T": 60}}
#: Lockstep calls recorded per task in ``trainer/lockstep-batching``.
LOCKSTEP_CALLS = 3
LOCKSTEP_TRIALS = 3
CLAIM = "Section 5: the experiments' sequences, targets and error signals"


def dense(xs: Any) -> np.ndarray:
    return xs.dense() if isinstance(xs, OneHotInputs) else np.asarray(xs)


def _symbols(xs: np.ndarray, j: int, L: int, where: list[str], what: str) -> np.ndarray | None:
    """The symbol of every step of sequence j (one-hot inputs), or None with a violation noted."""
    col = xs[:L, j]
    if not (np.all((col == 0.0) | (col == 1.0)) and np.all(col.sum(axis=1) == 1.0)):
        where.append(f"{what}: sequence {j}: inputs are not one symbol per step")
        return None
    return col.argmax(axis=1)


def invariants(task: str, opts: dict[str, Any], xs: np.ndarray, targets: np.ndarray, mask: np.ndarray,
               lengths: np.ndarray | None = None, what: str = "") -> list[str]:
    """Violations of the task's definition by the batch ``(xs, targets, mask)`` (dense, time-major).

    Args:
        task: the experiment label ("1", "2a", ...).
        opts: the task options the batch was generated with.
        xs, targets, mask: (T, n, I), (T, n, K), (T, n, K) or (T, n).
        lengths: the batch's lengths, if it states them (compared with the lengths the inputs show).
        what: a label for the messages.

    Returns:
        One line per violation (empty: the batch is a batch of the task).
    """
    t = get_task(task)
    out: list[str] = []
    T, n = xs.shape[:2]
    mask = mask if mask.ndim == 3 else mask[..., None]
    if xs.shape[2] != t.n_inputs(**opts) or targets.shape != (T, n, t.n_outputs(**opts)) or mask.shape[:2] != (T, n):
        return [f"{what}: shapes {xs.shape}, {targets.shape}, {mask.shape} are not those of task {task}"]
    if xs.dtype != np.float64 or targets.dtype != np.float64 or mask.dtype != np.float64:
        out.append(f"{what}: arrays are not float64")
    nonzero = np.any(xs != 0.0, axis=2)
    L = np.array([int(np.flatnonzero(nonzero[:, j]).max()) + 1 if nonzero[:, j].any() else 0 for j in range(n)])
    if lengths is not None and not np.array_equal(L, lengths):
        out.append(f"{what}: the inputs end at steps {L[L != lengths][:3]}, the batch says {lengths[L != lengths][:3]}")
    if L.max(initial=0) != T:
        out.append(f"{what}: {T} steps, the longest sequence has {L.max(initial=0)}")
    if not np.all((mask == 0.0) | (mask == 1.0)):
        out.append(f"{what}: mask values other than 0 and 1")
    every_step = task in ("1", "2a", "2b")
    cols = np.arange(n)
    for j in range(n):
        if L[j] == 0 or not nonzero[:L[j], j].all():
            out.append(f"{what}: sequence {j}: a step without input inside the sequence")
            continue
        if np.any(targets[L[j]:, j] != 0) or np.any(mask[L[j]:, j] != 0):
            out.append(f"{what}: sequence {j}: target or mask after the sequence's end (step {L[j]})")
        want = np.zeros(T)
        want[:L[j]] = 1.0 if every_step else 0.0
        want[L[j] - 1] = 1.0
        if not np.all(mask[:, j] == want[:, None]):
            where = np.flatnonzero(mask[:, j].any(axis=1))
            out.append(f"{what}: sequence {j} (length {L[j]}): error signal at steps {where[:4].tolist()}, expected "
                       f"{'every step' if every_step else f'step {L[j] - 1} only'}")
    if out:
        return out
    last = targets[L - 1, cols]
    if task == "1":
        for j in range(n):
            s = _symbols(xs, j, L[j], out, what)
            if s is None:
                continue
            if s[0] != 0:
                out.append(f"{what}: sequence {j}: does not start with B")
            nxt = np.append(s[1:], 6)  # the symbol after the last input is the final E
            hit = targets[np.arange(L[j]), j, nxt]
            ok = (np.array_equal(targets[:L[j], j], np.eye(7)[nxt]) if opts["targets"] == "next"
                  else bool(np.all(hit == 1.0)))
            if not ok:
                out.append(f"{what}: sequence {j}: the target at a step is not the next symbol")
    elif task in ("2a", "2b"):
        for j in range(n):
            s = _symbols(xs, j, L[j], out, what)
            if s is None:
                continue
            nxt = np.append(s[1:], s[0])  # the last target is the first symbol (x or y)
            if not np.array_equal(targets[:L[j], j], np.eye(xs.shape[2])[nxt]):
                out.append(f"{what}: sequence {j}: the target at a step is not the next input (the last: the first)")
            p = opts["p"]
            if s[0] not in (p - 1, p):
                out.append(f"{what}: sequence {j}: the first symbol is neither x nor y")
    elif task == "2c":
        p = opts["p"]
        for j in range(n):
            s = _symbols(xs, j, L[j], out, what)
            if s is None:
                continue
            if s[0] != p + 1 or s[1] not in (p + 2, p + 3) or s[-1] != p or np.any(s[2:-1] >= p):
                out.append(f"{what}: sequence {j}: not b, x|y, distractors, e")
            elif not np.array_equal(last[j], np.eye(2)[s[1] - (p + 2)]):
                out.append(f"{what}: sequence {j}: the target at e is not the unit of the second symbol")
    elif task in ("3a", "3b", "3c"):
        N = opts["N"]
        first = xs[:N, :, 0]
        if task == "3b":
            cls = (first.sum(axis=0) < 0).astype(int)
        else:
            if not np.all(np.abs(first) == 1.0) or not np.all(first == first[:1]):
                out.append(f"{what}: the first {N} inputs are not all +1 or all -1")
                return out
            cls = (first[0] < 0).astype(int)
        if task == "3c":
            for c in (0, 1):
                sel = cls == c
                if sel.sum() >= 8 and abs(float(last[sel, 0].mean()) - (0.2, 0.8)[c]) > 0.25:
                    out.append(f"{what}: class {c + 1}: mean target {last[sel, 0].mean():.3f}, expected about "
                               f"{(0.2, 0.8)[c]} (noisy targets)")
        else:
            wrong = np.flatnonzero(last[:, 0] != np.array([1.0, 0.0])[cls])
            if wrong.size:
                out.append(f"{what}: sequences {wrong[:4].tolist()}: the target at the end is not the class of the "
                           f"first {N} inputs")
    elif task in ("4", "5"):
        half = opts["T"] // 2
        for j in range(n):
            marker, value = xs[:L[j], j, 1], xs[:L[j], j, 0]
            marked = np.flatnonzero(marker == 1.0)
            if marked.size != 2 or marked[0] >= 10 or marked[1] >= half or marker[L[j] - 1] != -1.0 or \
                    (marked[0] != 0 and marker[0] != -1.0) or np.any(np.isin(marker, (1.0, -1.0), invert=True)
                                                                      & (marker != 0.0)):
                out.append(f"{what}: sequence {j}: markers are not -1 at the ends and +1 on two pairs in the windows")
                continue
            x1, x2 = value[marked[0]], value[marked[1]]
            want = 0.5 + (x1 + x2) / 4.0 if task == "4" else x1 * x2
            if last[j, 0] != want:
                out.append(f"{what}: sequence {j}: target {float(last[j, 0])!r}, expected {float(want)!r} from the "
                           "marked values")
    elif task in ("6a", "6b"):
        k = 2 if task == "6a" else 3
        for j in range(n):
            s = _symbols(xs, j, L[j], out, what)
            if s is None:
                continue
            rel = s[(s == 6) | (s == 7)] - 6
            if s[0] != 0 or s[-1] != 1 or rel.size != k or np.any(s[1:-1] < 2):
                out.append(f"{what}: sequence {j}: not E, noise and {k} X|Y, B")
            elif not np.array_equal(last[j], np.eye(2 ** k)[int(rel @ (2 ** np.arange(k - 1, -1, -1)))]):
                out.append(f"{what}: sequence {j}: the target is not the order of the X/Y symbols")
    return out


def check_task(task: str) -> CheckResult:
    """``tasks/<task>/invariants`` on two batches of :data:`SEQUENCES` sequences (two seeds)."""
    t = get_task(task)
    opts = t.options(**OPTIONS.get(task, {}))
    violations: list[str] = []
    for seed in (SEED, SEED + 1):
        b = t.generate(np.random.default_rng([seed, 16]), SEQUENCES, **opts)
        violations += invariants(task, opts, dense(b.inputs), b.targets, b.mask, b.lengths, f"seed {seed}")
    passed = not violations
    return CheckResult(id=f"tasks/{task}/invariants", passed=passed, tolerance=None,
                       title=f"task {task} ({t.title}): structure, targets at the right step, masks",
                       reference="the task's definition in the paper, read off the inputs", claim=CLAIM,
                       details={"options": opts, "sequences": 2 * SEQUENCES, "violations": violations[:20]},
                       message="" if passed else f"task {task}: " + "; ".join(violations[:3]))


class _Enough(Exception):
    """Raised by the recording learner once it has seen enough calls."""


def record_lockstep(preset, calls: int = LOCKSTEP_CALLS, trials: int = LOCKSTEP_TRIALS, seed: int = SEED
                    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]:
    """What the trainer's lockstep loop hands its learner in its first ``calls`` calls: (inputs (dense), targets,
    mask, frozen) per call."""
    from lstm_proofs.learning import online
    from lstm_proofs.training import trainer

    seen: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]] = []

    class Recording(online.OnlineLearner):
        def run_sequence(self, state, xs, targets, mask, learn=True, frozen=None):
            seen.append((dense(xs).copy(), np.array(targets), np.array(mask),
                         None if frozen is None else np.array(frozen)))
            if len(seen) >= calls:
                raise _Enough
            return super().run_sequence(state, xs, targets, mask, learn=learn, frozen=frozen)

    original = trainer.OnlineLearner
    trainer.OnlineLearner = Recording
    try:
        trainer.run_trials(preset, list(range(trials)), seed, max_sequences=10 * calls)
    except _Enough:
        pass
    finally:
        trainer.OnlineLearner = original
    return seen


def _own_streams(preset, calls: int, trials: int, seed: int) -> list[list[np.ndarray]]:
    """Per trial, the dense inputs of its first ``calls`` training sequences, taken from its stream by the
    trainer's own per-trial generator (``_Trial.next_sequence``) one at a time, without gathering."""
    from lstm_proofs.training import trainer

    opts = dict(preset.task_options)
    runner = trainer._Runner(preset, opts, seed, 10 * calls, "numpy")
    task = get_task(preset.task)
    block = trainer.generation_block(task, opts)
    out = []
    for i in range(trials):
        tr = runner.new_trial(i)
        out.append([dense(tr.next_sequence(task, block).inputs)[:, 0] for _ in range(calls)])
    return out


def lockstep_presets() -> list:
    """One LSTM row per task (the first in table order)."""
    from lstm_proofs.training.presets import rows_of_task

    rows = []
    for name in TASKS:
        lstm = [p for p in rows_of_task(name) if getattr(p, "method", "") == "lstm"]
        if lstm:
            rows.append(lstm[0])
    return rows


def check_lockstep() -> CheckResult:
    """``trainer/lockstep-batching``: every gathered batch of the trainer's lockstep loop is a batch of its task,
    and each trial gets its own stream's sequence."""
    violations: list[str] = []
    rows = []
    for preset in lockstep_presets():
        opts = get_task(preset.task).options(**preset.task_options)
        seen = record_lockstep(preset)
        own = _own_streams(preset, len(seen), LOCKSTEP_TRIALS, SEED)
        rows.append({"row": preset.row, "task": preset.task, "calls": len(seen),
                     "frozen": any(f is not None and f.any() for *_, f in seen)})
        if len(seen) < LOCKSTEP_CALLS:
            violations.append(f"row {preset.row}: the loop made {len(seen)} learner calls, expected "
                              f"{LOCKSTEP_CALLS}")
        for c, (xs, targets, mask, _) in enumerate(seen):
            violations += invariants(preset.task, opts, xs, targets, mask, what=f"row {preset.row}, call {c}")
            for j in range(xs.shape[1]):
                mine = own[j][c]
                if xs.shape[0] < mine.shape[0] or not np.array_equal(xs[:mine.shape[0], j], mine):
                    violations.append(f"row {preset.row}, call {c}: trial {j} was not given its own next sequence")
    passed = not violations
    return CheckResult(id="trainer/lockstep-batching", passed=passed, tolerance=None,
                       title="the trainer's lockstep batches: each trial's own sequence, targets and masks aligned "
                             "with its inputs",
                       reference="the task definitions (as tasks/<task>/invariants) and each trial's own stream",
                       claim=CLAIM, details={"rows": rows, "violations": violations[:20]},
                       message="" if passed else "; ".join(violations[:3]))


def run_checks(full: bool = False, only: str | None = None) -> list[CheckResult]:
    """Invariants of every task generator (the trainer's check is run by :mod:`lstm_proofs.checks.trainer`)."""
    return [check_task(name) for name in TASKS if wanted(f"tasks/{name}/", only)]
