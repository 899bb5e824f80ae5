"""Task generators of the 1997 paper's experiments (Section 5) and their registry.

``get_task("adding")`` or ``get_task("4")`` returns the :class:`Task` of Experiment 4; ``TASKS`` maps every
experiment label ("1", "2a", ..., "6b") to its task.
"""

from __future__ import annotations

from lstm_proofs.errors import UserError
from lstm_proofs.tasks.arithmetic import AddingTask, MultiplicationTask
from lstm_proofs.tasks.base import Batch, Option, Task
from lstm_proofs.tasks.lags import NoiseFreeLagTask, RandomMiddleLagTask, VeryLongLagTask
from lstm_proofs.tasks.noise import NoisyTargetTask, NoisyTwoSequenceTask, TwoSequenceTask
from lstm_proofs.tasks.order import TemporalOrder3Task, TemporalOrderTask
from lstm_proofs.tasks.reber import EmbeddedReberTask

#: Every task, keyed by the paper's experiment label, in the paper's order.
TASKS: dict[str, Task] = {t.name: t for t in (
    EmbeddedReberTask(), NoiseFreeLagTask(), RandomMiddleLagTask(), VeryLongLagTask(), TwoSequenceTask(),
    NoisyTwoSequenceTask(), NoisyTargetTask(), AddingTask(), MultiplicationTask(), TemporalOrderTask(),
    TemporalOrder3Task())}

_BY_NAME: dict[str, Task] = {}
for _task in TASKS.values():
    for _key in (_task.name, *_task.aliases):
        _BY_NAME[_key.lower()] = _task


def get_task(name_or_alias: str) -> Task:
    """The task with this experiment label or alias (case-insensitive; UserError listing valid names if none)."""
    task = _BY_NAME.get(str(name_or_alias).strip().lower())
    if task is None:
        valid = ", ".join(f"{t.name} ({'/'.join(t.aliases)})" for t in TASKS.values())
        raise UserError(f"unknown task {name_or_alias!r}; valid tasks: {valid}")
    return task


__all__ = ["Batch", "Option", "TASKS", "Task", "get_task"]
