"""Run every check module of :mod:`lstm_proofs.checks` and collect the results."""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable
from typing import Any

from lstm_proofs import __version__
from lstm_proofs.results import CheckResult

#: Check modules, in report order (a module that is not part of this build is skipped).
MODULES = ("topology", "gradients", "truncated", "section3", "flow", "trained", "backends")


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


#: Called as each check module starts (``done`` None) and ends (its results and seconds): ``(index, total, name,
#: done, seconds)`` with ``index`` counted from 1.
Progress = Callable[[int, int, str, "list[CheckResult] | None", float], None]


def run_all(full: bool = False, only: str | None = None, skip: tuple[str, ...] = (),
            progress: Progress | None = None) -> list[CheckResult]:
    """Run the checks.

    Args:
        full: the slower, more thorough mode of every module.
        only: keep only checks whose id starts with this prefix (modules whose ids cannot match are not run).
        skip: check modules not to run (e.g. ``("flow",)`` when the caller measures the flow itself).
        progress: told when each module starts and ends (see :data:`Progress`).

    Returns:
        The check results, module by module.
    """
    names = [name for name in available_modules() if name not in skip
             and not (only and not (only.startswith(name) or name.startswith(only.split("/")[0])))]
    results: list[CheckResult] = []
    for index, name in enumerate(names, 1):
        if progress is not None:
            progress(index, len(names), name, None, 0.0)
        start = time.perf_counter()
        fn = importlib.import_module(f"lstm_proofs.checks.{name}").run_checks
        accepted = inspect.signature(fn).parameters
        kwargs: dict[str, object] = {"full": full} if "full" in accepted else {}
        if only and "only" in accepted:  # the module skips the work of checks that cannot match
            kwargs["only"] = only
        done = [r for r in fn(**kwargs) if not only or r.id.startswith(only)]
        results.extend(done)
        if progress is not None:
            progress(index, len(names), name, done, time.perf_counter() - start)
    return results


def print_progress(prefix: str = "check") -> Progress:
    """A :data:`Progress` that writes one plain line per module to standard error (as readable in a log file as
    in a terminal): ``check [2/6] gradients: 40 checks, 40 passed, 12.3 s``."""
    import sys

    def show(index: int, total: int, name: str, done: list[CheckResult] | None, seconds: float) -> None:
        head = f"{prefix} [{index}/{total}] {name}"
        if done is None:
            print(f"{head} ...", file=sys.stderr, flush=True)
        else:
            passed = sum(r.passed for r in done)
            print(f"{head}: {len(done)} checks, {passed} passed, {seconds:.1f} s", file=sys.stderr, flush=True)

    return show


def checks_payload(results: list[CheckResult], elapsed_s: float) -> dict[str, Any]:
    """The JSON document ``lstm-proofs check --json`` writes."""
    return {"passed": all(r.passed for r in results), "checks": [r.to_json() for r in results],
            "elapsed_s": round(elapsed_s, 2), "version": __version__}
