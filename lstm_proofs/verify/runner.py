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
MODULES = ("topology", "gradients", "truncated", "entrypoints", "section3", "flow", "trained", "tasks", "trainer", "learner",
           "backends")
#: The modules that run the compiled (numba) kernels; they come last, so that the kernels can be compiled in
#: background processes while the others run (see :func:`run_all`).
COMPILED = ("learner", "backends")


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
    compiling = _start_compiling(names, only) if any(n in COMPILED for n in names) else None
    results: list[CheckResult] = []
    for index, name in enumerate(names, 1):
        if name in COMPILED and compiling is not None:
            compiling = _finish_compiling(compiling)
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


def _warm(cell: str) -> None:
    """Compile (or load from numba's cache) every numba kernel the checks of ``cell`` run, by running the backends
    comparisons on tiny inputs (the same argument types as the checks, so the same compiled signatures)."""
    from lstm_proofs.checks import backends

    top = backends.TOPOLOGIES[cell]
    backends.compare(top, T=2, B=2)
    backends.sparse_vs_dense(top, T=2, B=2)


def _start_compiling(names: list[str], only: str | None):
    """Compile the numba kernels of the cells the compiled-backend checks will run, in background processes (one
    per CPU, at most :data:`COMPILE_WORKERS`), while the NumPy-only check modules run in this one. numba caches
    what they compile (``cache=True``), so the checks then load it instead of compiling. Returns the pool and its
    futures, or None when there is nothing to compile (no numba, or no such cell)."""
    import concurrent.futures
    import multiprocessing
    import os

    from lstm_proofs.cells import CELLS
    from lstm_proofs.results import wanted

    try:
        from lstm_proofs.derivations import numba_lstm1997
        from lstm_proofs.checks import backends
    except ModuleNotFoundError:
        return None
    if not numba_lstm1997.available():
        return None
    cells = [c for c in CELLS if c in backends.TOPOLOGIES
             and any(wanted(f"{m}/{c}/", only) for m in ("backends", "learner") if m in names)]
    if not cells:
        return None
    workers = max(1, min(COMPILE_WORKERS, os.cpu_count() or 1, len(cells)))
    pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    return pool, [pool.submit(_warm, c) for c in cells]


def _finish_compiling(compiling) -> None:
    """Wait for the background compilation. A failure there is not reported here: the check that runs the same
    kernels reports it."""
    import concurrent.futures

    pool, futures = compiling
    concurrent.futures.wait(futures)
    pool.shutdown()
    return None


#: Most background processes compiling numba kernels during ``check``.
COMPILE_WORKERS = 2


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
