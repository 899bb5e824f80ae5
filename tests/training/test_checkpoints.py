"""Checkpoints of unfinished trials: a run stopped and resumed equals an uninterrupted one bit for bit."""

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

from lstm_proofs.errors import UserError
from lstm_proofs.tasks import get_task
from lstm_proofs.training import trainer
from lstm_proofs.training.checkpoints import Checkpoints
from lstm_proofs.training.presets import get_preset
from lstm_proofs.training.readings import apply_reading
from lstm_proofs.training.trainer import run_trials

SMALL_2A = {"p": 5, "criterion": "all_steps"}


def _small_2a(preset):
    task = get_task(preset.task)
    top = preset.topology.with_(n_in=task.n_inputs(**SMALL_2A), n_out=task.n_outputs(**SMALL_2A))
    return preset.with_(topology=top, test_size=500, stopping=replace(preset.stopping, check_size=500))


def _strip(records):
    return sorted(({k: v for k, v in r.items() if k not in ("seconds", "code")} for r in records),
                  key=lambda r: r["trial"])


# (preset, options, cap): online generation with sequential construction (plateau state, cells added), a fixed
# training set (Exp. 1), stopping tests on fresh sequences (Exp. 3's generator of test sets), and a baseline.
CASES = {
    "2a-sequential": (_small_2a(get_preset("2a", "lstm")), SMALL_2A, 1500),
    "1-reber": (get_preset("1", "3x2/lr=0.5"), None, 400),
    "3a": (get_preset("3a", "T=100,N=3").with_(stopping=replace(get_preset("3a", "T=100,N=3").stopping,
                                                                   check_every=20, check_size=16)),
           {"T": 10, "N": 3}, 600),
    "2a-bptt": (_small_2a(get_preset("2a", "bptt/p=100")), SMALL_2A, 300),
    # ablate's runs: diagnostics sampled during training (their state is checkpointed), and the full-gradient
    # contrast on an LSTM row with sequential construction (hidden part frozen, then added)
    "1-reber-diagnostics": (get_preset("1", "3x2/lr=0.5").with_(diagnostics=True), None, 400),
    "2a-full-gradient": (apply_reading((_small_2a(get_preset("2a", "lstm")), SMALL_2A, "step"), "gradient=full")[0]
                         .with_(diagnostics=True), SMALL_2A, 1500),
}


def _stopping_after(calls):
    """An on_progress callback that asks the trainer to stop after ``calls`` lockstep calls."""
    count = [0]

    def progress(n, err, active):
        count[0] += 1
        if count[0] == calls:
            trainer.request_stop()
    return progress


@pytest.mark.parametrize("case", sorted(CASES))
def test_stopped_and_resumed_run_equals_uninterrupted_run(case, tmp_path):
    preset, options, cap = CASES[case]
    trials = [0, 1, 2] if preset.method == "lstm" else [0]
    whole = run_trials(preset, trials, seed=3, max_sequences=cap, options=options)
    store = Checkpoints(tmp_path / "ckpt", {"case": case}, every=1e9)  # saved only when the stop is requested
    done = []

    def keep(rec):
        done.append(rec)
        store.remove(rec["trial"])

    for stop_at in (57, 131, 10_000_000):  # two stops, then run to the end
        try:
            run_trials(preset, [t for t in trials if t not in {r["trial"] for r in done}], seed=3,
                       max_sequences=cap, options=options, on_result=keep, on_progress=_stopping_after(stop_at),
                       checkpoints=store)
        except KeyboardInterrupt:
            assert store.pending(), "a stop writes the unfinished trials' checkpoints"
            continue
    assert _strip(done) == _strip(whole)
    assert not store.pending() and not store.directory.exists()
    assert all(len(r["code"]) >= 1 and "trainer" in r["code"][0] for r in done)


def test_periodic_checkpoints_are_written_and_resumed(tmp_path):
    preset, options, cap = CASES["2a-sequential"]
    store = Checkpoints(tmp_path / "ckpt", {"case": 1}, every=0.0)  # after every call
    with pytest.raises(KeyboardInterrupt):
        run_trials(preset, [0], seed=1, max_sequences=cap, options=options, on_progress=_stopping_after(40),
                   checkpoints=store)
    state, arrays = store.load(0)
    assert state["sequences"] == 40 and "param_W_hidden" in arrays
    resumed = run_trials(preset, [0], seed=1, max_sequences=cap, options=options, checkpoints=store)
    assert _strip(resumed) == _strip(run_trials(preset, [0], seed=1, max_sequences=cap, options=options))


def test_a_checkpoint_resumes_under_a_lower_cap_above_its_sequences(tmp_path):
    """A run started at one cap and continued at a lower one (train --max-sequences) gives the records of a run at
    the lower cap; a checkpoint at or past the lower cap is refused (that trial would have stopped earlier)."""
    preset, options, cap = CASES["2a-sequential"]
    settings = {"case": 1, "max_sequences": cap}
    store = Checkpoints(tmp_path / "ckpt", settings, every=0.0)
    with pytest.raises(KeyboardInterrupt):
        run_trials(preset, [0], seed=1, max_sequences=cap, options=options, on_progress=_stopping_after(40),
                   checkpoints=store)
    assert store.peek()[0]["sequences"] == 40
    lower = Checkpoints(store.directory, dict(settings, max_sequences=300), every=0.0)
    resumed = run_trials(preset, [0], seed=1, max_sequences=300, options=options, checkpoints=lower)
    assert _strip(resumed) == _strip(run_trials(preset, [0], seed=1, max_sequences=300, options=options))
    store.save(0, {"sequences": 40}, {"a": np.zeros(2)})
    with pytest.raises(UserError, match="after 40 sequences, not below this run's cap of 40"):
        Checkpoints(store.directory, dict(settings, max_sequences=40)).load(0)
    with pytest.raises(UserError, match="other settings"):
        Checkpoints(store.directory, {"case": 2, "max_sequences": 300}).load(0)


def test_resumed_run_progress_starts_at_the_checkpointed_sequences(tmp_path):
    from lstm_proofs.commands.train import resumed_sequences
    from lstm_proofs.training.execution import TrialBatch

    preset, options, cap = CASES["2a-sequential"]
    store = Checkpoints(tmp_path / "ckpt", {"case": 1}, every=0.0)
    batch = TrialBatch(preset, (0, 1), 1, cap, options, "step", "numpy", store)
    assert resumed_sequences(batch) == 0  # a fresh run
    with pytest.raises(KeyboardInterrupt):
        run_trials(preset, [0, 1], seed=1, max_sequences=cap, options=options, on_progress=_stopping_after(30),
                   checkpoints=store)
    assert resumed_sequences(batch) == 2 * 30  # both trials in lockstep, 30 sequences each
    assert resumed_sequences(replace(batch, trials=(1,))) == 30
    assert resumed_sequences(replace(batch, store=None)) == 0


def test_checkpoint_of_other_settings_or_corrupt_file_is_refused(tmp_path):
    store = Checkpoints(tmp_path, {"seed": 1})
    store.save(4, {"x": 1}, {"a": np.zeros(2)})
    with pytest.raises(UserError, match="other settings"):
        Checkpoints(tmp_path, {"seed": 2}).load(4)
    store.path(5).write_bytes(b"not a zip file")
    with pytest.raises(UserError, match="cannot read checkpoint .*trial_0005.npz"):
        store.load(5)
    assert store.pending() == [4, 5]


def test_train_command_sigterm_keeps_checkpoints_and_rerun_resumes(tmp_path):
    """``lstm-proofs train`` under SIGTERM writes the unfinished trials' checkpoints; the rerun resumes them and
    ends with the records of an uninterrupted run."""
    args = ["4/T=100", "--trials", "2", "--max-sequences", "3000", "--opt", "T=20", "--backend", "numpy",
            "--quiet", "--checkpoint-every", "0.2"]
    cmd = [sys.executable, "-m", "lstm_proofs.cli", "train", *args]
    stopped = tmp_path / "stopped.json"
    proc = subprocess.Popen([*cmd, "--json", str(stopped)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    ckpt = tmp_path / "stopped.ckpt"
    deadline = time.monotonic() + 60
    while not (ckpt.is_dir() and any(ckpt.glob("trial_*.npz"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in err and "rerun the same command" in err
    assert sorted(p.name for p in ckpt.glob("trial_*.npz")) == ["trial_0000.npz", "trial_0001.npz"]
    rerun = subprocess.run([*cmd, "--json", str(stopped)], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming trial(s) 0, 1" in rerun.stdout
    whole = tmp_path / "whole.json"
    subprocess.run([*cmd, "--json", str(whole), "--checkpoint-every", "0"], check=True, capture_output=True,
                   timeout=300)
    a, b = (json.loads(p.read_text())["trials"] for p in (stopped, whole))
    assert _strip(a) == _strip(b)
    assert not list(ckpt.glob("trial_*.npz"))  # no trial left unfinished; those stopped at the cap keep theirs
    assert sorted(p.name for p in (ckpt / "at-cap").iterdir()) == [f"trial_{r['trial']:04d}.npz" for r in
                                                                   sorted(a, key=lambda r: r["trial"])
                                                                   if r["stop"] == "cap"]
