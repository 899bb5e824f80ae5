"""Run every check module of :mod:`lstm_proofs.checks` and collect the results."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from lstm_proofs import __version__
from lstm_proofs.results import CheckResult

#: Check modules, in report order (a module that is not part of this build is skipped).
MODULES = ("topology", "gradients", "truncated", "section3", "flow", "backends")


def available_modules() -> list[str]:
    """The check modules present in this installation."""
    out = []
    for name in MODULES:
        try:
            importlib.import_module(f"lstm_proofs.checks.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lstm_proofs.checks.{name}":
                raise
            continue
        out.append(name)
    return out


def run_all(full: bool = False, only: str | None = None, skip: tuple[str, ...] = ()) -> list[CheckResult]:
    """Run the checks.

    Args:
        full: the slower, more thorough mode of every module.
        only: keep only checks whose id starts with this prefix (modules whose ids cannot match are not run).
        skip: check modules not to run (e.g. ``("flow",)`` when the caller measures the flow itself).

    Returns:
        The check results, module by module.
    """
    results: list[CheckResult] = []
    for name in available_modules():
        if name in skip:
            continue
        if only and not (only.startswith(name) or name.startswith(only.split("/")[0])):
            continue
        fn = importlib.import_module(f"lstm_proofs.checks.{name}").run_checks
        accepted = inspect.signature(fn).parameters
        kwargs: dict[str, object] = {"full": full} if "full" in accepted else {}
        if only and "only" in accepted:  # the module skips the work of checks that cannot match
            kwargs["only"] = only
        results.extend(r for r in fn(**kwargs) if not only or r.id.startswith(only))
    return results


def checks_payload(results: list[CheckResult], elapsed_s: float) -> dict[str, Any]:
    """The JSON document ``lstm-proofs check --json`` writes."""
    return {"passed": all(r.passed for r in results), "checks": [r.to_json() for r in results],
            "elapsed_s": round(elapsed_s, 2), "version": __version__}
