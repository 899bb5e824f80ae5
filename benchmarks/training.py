"""The trainer end to end: training trials of a table row, timed (:data:`ROWS`).

Two figures per row and backend: the whole ``lstm-proofs train`` command as a user runs it (a subprocess: start-up,
kernel loading, training, the final test of every trial on the row's test set, the results file), and the marginal
cost of training, from two in-process runs of :func:`~lstm_proofs.training.trainer.run_trials` that differ only in
their sequence cap (what does not grow with the number of sequences, such as the final tests, cancels; these runs
test on 100 sequences). The caps lie far below the paper's sequences to success, so every trial trains to its cap
and the trial-steps are known exactly: each trial's sequences are regenerated from its own stream, as the trainer
draws them, and their lengths summed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from lstm_proofs.tasks import get_task
from lstm_proofs.training.presets import Preset, get_preset
from lstm_proofs.training.trainer import generation_block, run_trials, trial_seed

#: The rows timed, each with its number of trials and, per backend, its sequence caps per trial (short in-process
#: run, long in-process run and the command's run): the adding problem (Exp. 4, Table 7; real-valued inputs), and
#: the very-long-lag task at q = p = 1000 (Exp. 2c, Table 3; one-hot inputs of 1,004 symbols, held as symbols,
#: sequences of about 1,012 steps).
ROWS: dict[str, tuple[int, dict[str, tuple[int, int]]]] = {
    "4/T=100": (10, {"numba": (1000, 5000), "numpy": (100, 400)}),
    "2c/q=1000,p=1000": (4, {"numba": (100, 500)}),
}
#: Test-set size of the in-process runs (their final tests cancel in the marginal cost).
IN_PROCESS_TEST_SIZE = 100


def trial_steps(preset: Preset, trials: int, seed: int, sequences: int) -> int:
    """Time steps presented in training when trials 0..trials-1 each train on their first ``sequences``."""
    task = get_task(preset.task)
    opts = task.options(**preset.task_options)
    block = generation_block(task, opts)
    total = 0
    for i in range(trials):
        rng = np.random.default_rng(trial_seed(seed, i, 1))
        left = sequences
        while left:
            batch = task.generate(rng, block, **opts)
            n = min(left, batch.n)
            total += int(batch.lengths[:n].sum())
            left -= n
    return total


def _in_process(preset: Preset, trials: int, backend: str, cap: int, seed: int) -> float:
    """Seconds of one run_trials call with every trial at the cap (checked)."""
    start = time.perf_counter()
    records = run_trials(preset, range(trials), seed, cap, backend=backend)
    seconds = time.perf_counter() - start
    if any(r["stop"] != "cap" or r["sequences"] != cap for r in records):
        raise RuntimeError(f"a trial of {preset.row} stopped before the cap of {cap}: the step count would be wrong")
    return seconds


def _executable() -> str:
    """The ``lstm-proofs`` command of this environment (next to the running Python, else on the PATH)."""
    here = Path(sys.executable).with_name("lstm-proofs")
    found = str(here) if here.exists() else shutil.which("lstm-proofs")
    if found is None:
        raise RuntimeError("the lstm-proofs command is not installed: pip install -e .")
    return found


def _command(row: str, trials: int, backend: str, cap: int, seed: int) -> float:
    """Wall seconds of the ``lstm-proofs train`` command on the row (results into a temporary file)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [_executable(), "train", row, "--trials", str(trials), "--seed", str(seed),
               "--max-sequences", str(cap), "--backend", backend, "--json", str(Path(tmp) / "run.json"), "--quiet"]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        return time.perf_counter() - start


def train_costs(row: str, backend: str, repeats: int = 1, seed: int = 0) -> dict[str, Any]:
    """The command's wall time and the marginal training cost per trial-step of ``backend`` (minimum of
    ``repeats`` runs each) on ``row`` (a key of :data:`ROWS`), its trials in lockstep."""
    trials, caps = ROWS[row]
    short, long = caps[backend]
    preset = get_preset(row)
    small = preset.with_(test_size=IN_PROCESS_TEST_SIZE)
    run_trials(small, range(trials), seed, 10, backend=backend)  # warm-up: kernels compiled or loaded
    t_short = min(_in_process(small, trials, backend, short, seed) for _ in range(repeats))
    t_long = min(_in_process(small, trials, backend, long, seed) for _ in range(repeats))
    steps_short, steps_long = trial_steps(preset, trials, seed, short), trial_steps(preset, trials, seed, long)
    wall = min(_command(row, trials, backend, long, seed) for _ in range(repeats))
    return {"row": row, "backend": backend, "trials": trials, "sequences": long, "trial_steps": steps_long,
            "command_s": wall, "command_us_per_trial_step": wall / steps_long * 1e6,
            "in_process_s": t_long, "in_process_us_per_trial_step": t_long / steps_long * 1e6,
            "marginal_us_per_trial_step": (t_long - t_short) / (steps_long - steps_short) * 1e6,
            "short_sequences": short, "short_s": t_short, "test_size": preset.test_size}


def all_costs(numba: bool, repeats: int = 2) -> list[dict[str, Any]]:
    """:func:`train_costs` of every row and backend of :data:`ROWS` (numba ones only if ``numba``), the minimum of
    ``repeats`` runs of each measurement."""
    return [train_costs(row, backend, repeats) for row, (_, caps) in ROWS.items() for backend in caps
            if numba or backend != "numba"]
