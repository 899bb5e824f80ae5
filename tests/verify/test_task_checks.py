"""The task and trainer checks (checks/tasks.py, checks/trainer.py) pass on the project's generators and trainer,
and fail on single faults: targets a step off in a generator, a mask a step early, a wrong target formula, and in
the trainer's gathering of lockstep batches targets a step off, two trials' targets swapped, trials given other
trials' sequences."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_proofs.checks import tasks as ct
from lstm_proofs.checks import trainer as trainer_check
from lstm_proofs.tasks import TASKS, arithmetic, base, get_task
from lstm_proofs.training import trainer


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_passes(name):
    r = ct.check_task(name)
    assert r.passed, r.message


def test_the_lockstep_check_passes_and_runs_every_lstm_task_with_frozen_trials():
    (r,) = trainer_check.run_checks()
    assert r.passed, r.message
    rows = r.details["rows"]
    assert {row["task"] for row in rows} == set(TASKS)
    assert all(row["calls"] == ct.LOCKSTEP_CALLS for row in rows)
    assert any(row["frozen"] for row in rows)


def _shift_targets(monkeypatch, name, shift):
    cls = type(get_task(name))
    orig = cls._generate

    def gen(self, rng, n, opts):
        b = orig(self, rng, n, opts)
        b.targets = np.roll(b.targets, shift, axis=0)
        return b
    monkeypatch.setattr(cls, "_generate", gen)


@pytest.mark.parametrize("name,shift", [("1", 1), ("2a", 1), ("2c", 1), ("3a", -1), ("6b", -1)])
def test_a_generator_with_targets_a_step_off_fails(monkeypatch, name, shift):
    _shift_targets(monkeypatch, name, shift)
    r = ct.check_task(name)
    assert not r.passed and r.message.startswith(f"task {name}:")


def test_a_mask_a_step_early_and_a_wrong_target_formula_fail(monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(arithmetic, "end_mask", lambda L, s, k: base.end_mask(L - 1, s, k))
        assert not ct.check_task("4").passed
    with monkeypatch.context() as m:
        m.setattr(arithmetic.AddingTask, "_target", lambda self, a, b: 0.5 + (a + b) / 4.0 + 1e-9)
        assert "from the marked values" in ct.check_task("4").message
    with monkeypatch.context() as m:
        m.setattr(arithmetic.MultiplicationTask, "_target", lambda self, a, b: a * a)
        assert not ct.check_task("5").passed


def _gathering(monkeypatch, change):
    orig = trainer.gather_sequences
    monkeypatch.setattr(trainer, "gather_sequences", lambda sources: change(orig, sources))


def _shifted(orig, sources):
    b = orig(sources)
    b.targets = np.roll(b.targets, 1, axis=0)
    return b


def _swapped(orig, sources):
    b = orig(sources)
    b.targets[:, [0, 1]] = b.targets[:, [1, 0]]
    b.mask[:, [0, 1]] = b.mask[:, [1, 0]]
    return b


def _others(orig, sources):
    return orig([sources[0], *sources[1:][::-1]])


@pytest.mark.parametrize("change", [_shifted, _swapped, _others], ids=["shifted", "swapped", "other-trials"])
def test_faults_in_the_trainers_gathering_fail(monkeypatch, change):
    _gathering(monkeypatch, change)
    (r,) = trainer_check.run_checks()
    assert not r.passed and r.message.startswith("row ")
