"""Wall and processor time of ``lstm-proofs check``'s default run, cold and warm.

*Cold*: numba's cache pointed at an empty directory (``NUMBA_CACHE_DIR``), so every cell's kernels are compiled, as
on a fresh checkout or after the generated code changed. *Warm*: the same command again with that cache, as on every
later run. Processor time is user + system time of ``check`` and every process it started (its background compile
processes included), from ``resource.getrusage(RUSAGE_CHILDREN)``. The default run is held to 2 minutes of wall
clock on this machine (:data:`LIMIT_S`); ``docs/verification.md`` shows the figures next to it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.training import _executable

#: Wall-clock limit of the default run (seconds).
LIMIT_S = 120.0


def _run(env: dict[str, str], out: Path) -> dict[str, Any]:
    """One default ``check`` run: wall and processor seconds, exit status and the number of checks."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([_executable(), "check", "--quiet", "--force", "--json", str(out)], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    checks = len(json.loads(out.read_text())["checks"]) if out.exists() else None
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "exit": proc.returncode, "checks": checks}


def runnable() -> int | None:
    """Processes runnable at this moment, this one included (``/proc/loadavg``; None where it does not exist). Unlike
    the load average, which trails by minutes, it shows whether the machine is busy now."""
    try:
        return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def timing() -> dict[str, Any]:
    """The cold run, then the warm run, of ``lstm-proofs check`` (see the module docstring)."""
    load = list(os.getloadavg())
    now = runnable()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba-cache")}
        cold = _run(env, Path(tmp) / "cold.json")
        warm = _run(env, Path(tmp) / "warm.json")
    return {"cpus": os.cpu_count(), "load_average_at_start": load, "runnable_at_start": now, "limit_s": LIMIT_S,
            "cold": cold, "warm": warm}
