"""Trials on a Dask cluster: the speed-up of ``lstm-proofs train --cluster local:N`` over one process, and the wall
time of the paper's tables projected onto more cores.

Throughput is measured on :data:`ROW` (numba): the ``train`` command at two sequence caps, for each placement (in
this process, ``--cluster local:1``, ``--cluster local:2``); every trial trains to its cap, so the trial-steps are
known exactly (:func:`benchmarks.training.trial_steps`), and the difference of the two runs cancels what does not grow
with training (start-up, the cluster's start, kernel loading, the final tests). The figure is trial-steps per second
of that difference.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.training import _executable, trial_steps
from lstm_proofs.training.presets import get_preset

#: Row, trials and the two sequence caps of the throughput runs.
ROW, TRIALS, CAPS = "4/T=100", 4, (10_000, 40_000)
#: Placements measured: label and the ``train`` arguments.
PLACEMENTS = (("in process", []), ("local:1", ["--cluster", "local:1"]), ("local:2", ["--cluster", "local:2"]))
#: Core counts of the projections.
CORES = (1, 8, 64)


def _run(args: list[str], cap: int) -> float:
    """Wall seconds of ``lstm-proofs train ROW`` with ``args`` at ``cap`` sequences (every trial checked at the cap)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.json"
        cmd = [_executable(), "train", ROW, "--trials", str(TRIALS), "--max-sequences", str(cap), "--backend",
               "numba", "--quiet", "--checkpoint-every", "0", "--json", str(path), *args]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        if any(t["sequences"] != cap for t in json.loads(path.read_text())["trials"]):
            raise RuntimeError(f"a trial of {ROW} stopped before the cap of {cap}: the step count would be wrong")
    return seconds


def scaling(repeats: int = 2) -> dict[str, Any]:
    """Trial-steps per second of each placement (minimum time of ``repeats`` runs at each cap) and the speed-ups."""
    load = list(os.getloadavg())
    preset = get_preset(ROW)
    steps = [trial_steps(preset, TRIALS, 0, cap) for cap in CAPS]
    _run([], CAPS[0])  # warm-up: numba kernels compiled or loaded from the cache
    out: dict[str, Any] = {"row": ROW, "trials": TRIALS, "caps": list(CAPS), "trial_steps": steps, "placements": [],
                           "load_average_at_start": load}
    for label, args in PLACEMENTS:
        short, long = (min(_run(args, cap) for _ in range(repeats)) for cap in CAPS)
        out["placements"].append({"placement": label, "short_s": short, "long_s": long,
                                  "steps_per_s": (steps[1] - steps[0]) / (long - short)})
    rate = {p["placement"]: p["steps_per_s"] for p in out["placements"]}
    out["speedup_2_over_1_workers"] = rate["local:2"] / rate["local:1"]
    out["speedup_2_workers_over_in_process"] = rate["local:2"] / rate["in process"]
    return out


def projections(rows: list[dict[str, Any]], efficiency: float) -> list[dict[str, Any]]:
    """Projected wall hours of the whole table on each of :data:`CORES`, from the per-row one-core hours of the
    benchmark's projection (``rows``: ``trials`` and ``hours``) and the parallel ``efficiency`` measured from 1 to 2
    workers: ideal packing (the table's core-hours over the cores, but no row faster than its one trial on one core,
    since a trial does not split), divided by the efficiency beyond one core."""
    total = sum(r["hours"] for r in rows)
    longest = max(r["hours"] / r["trials"] for r in rows)
    out = []
    for n in CORES:
        ideal = max(total / n, longest)
        out.append({"cores": n, "ideal_h": ideal, "expected_h": ideal if n == 1 else ideal / efficiency})
    return out


def fmt_hours(h: float) -> str:
    """Hours as a short text (s, min, h or days)."""
    if not math.isfinite(h):
        return "-"
    s = h * 3600
    if s < 120:
        return f"{s:.0f} s"
    if h < 2:
        return f"{s / 60:.0f} min"
    return f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} days"
