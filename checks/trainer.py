"""Check ``trainer/lockstep-batching``: the trainer's lockstep loop gives each trial its own sequence with its
targets and masks aligned (see :mod:`lstm_proofs.checks.tasks`, which holds the task definitions it uses)."""

from __future__ import annotations

from lstm_proofs.checks.tasks import check_lockstep
from lstm_proofs.results import CheckResult


def run_checks(full: bool = False) -> list[CheckResult]:
    """The lockstep-batching check."""
    return [check_lockstep()]
