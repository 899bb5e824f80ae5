"""Trained weights kept beside the results file: the final weights and snapshots of every finished trial, written by
the results writer (not into the JSON), loadable through the Python API, reproducible, resumable, and restored by
``replay --weights``; missing or corrupt files are one-line errors."""

import json
from dataclasses import replace

import numpy as np
import pytest

from lstm_proofs.cli import main
from lstm_proofs.errors import UserError
from lstm_proofs.network import Network
from lstm_proofs.tasks import get_task
from lstm_proofs.training import trainer
from lstm_proofs.training.checkpoints import Checkpoints
from lstm_proofs.training.presets import get_preset
from lstm_proofs.training.results import ResultsFile, settings_of
from lstm_proofs.training.trainer import run_trials, starting_params, trial_seed
from lstm_proofs.training.weights import (KEEP_AT, WEIGHTS_FIELD, load_run_weights, load_trial, stored_trials,
                                          unpack_params, weights_dir, weights_path)

SMALL = {"p": 5, "criterion": "all_steps"}
PRESET = get_preset("2a", "lstm")
QUICK = ["train", "2a", "--row", "lstm", "--opt", "p=5", "--trials", "3", "--max-sequences", "4000", "--quiet",
         "--backend", "numpy"]


def _small(preset, test_size=200):
    task = get_task(preset.task)
    top = preset.topology.with_(n_in=task.n_inputs(**SMALL), n_out=task.n_outputs(**SMALL))
    return preset.with_(topology=top, test_size=test_size, stopping=replace(preset.stopping, check_size=test_size))


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "quick.json"
    assert main([*QUICK, "--json", str(path)]) == 0
    return path


def _equal(a, b):
    return a.arrays.keys() == b.arrays.keys() and all(np.array_equal(a[k], b[k]) for k in a.arrays)


def test_every_trial_has_its_weights_file_and_the_json_none(run_file):
    data = json.loads(run_file.read_text())
    assert stored_trials(run_file) == [0, 1, 2] == sorted(t["trial"] for t in data["trials"])
    assert all(WEIGHTS_FIELD not in t for t in data["trials"])
    for w, rec in zip(load_run_weights(run_file), data["trials"]):
        assert (w.trial, w.solved, w.stop, w.sequences) == (rec["trial"], rec["solved"], rec["stop"],
                                                            rec["sequences"])
        assert w.settings == data["settings"] and w.topology.n_weights == data["preset"]["topology"]["n_weights"]
        assert sorted(w.kept) == [n for n in KEEP_AT if n <= rec["sequences"]]
        assert all(a.dtype == np.float64 for p in (w.final, *w.kept.values()) for a in p.arrays.values())
        # the initial weights are the trial's: hidden part zero under sequential construction
        assert _equal(w.kept[0], starting_params(PRESET.with_(topology=w.topology), 0, w.trial))
        assert [label for label, _, _ in w.stages()][-1] == "final"


def test_final_weights_are_the_ones_the_final_test_ran_with(run_file):
    data = json.loads(run_file.read_text())
    solved = [t for t in data["trials"] if t["solved"]]
    assert solved, "the quick run should solve a trial"
    rec = solved[0]
    w = load_trial(run_file, rec["trial"])
    # a solved trial's test is its passed stopping test; the last test's sequences come from stream 2. Check the
    # final weights instead against a fresh evaluation: they solve the task (no wrong sequence of 200).
    task = get_task("2a")
    opts = task.options(**data["settings"]["task_options"])
    batch = task.generate(np.random.default_rng(trial_seed(0, rec["trial"], 3)), 200, **opts)
    outs = Network(w.topology).forward(w.final, batch.inputs).outputs
    assert task.correct(outs, batch, **opts).all()
    outs0 = Network(w.topology).forward(w.kept[0], batch.inputs).outputs
    assert not task.correct(outs0, batch, **opts).all()


def test_snapshot_equals_final_weights_of_a_run_capped_there():
    preset = _small(PRESET)
    long = {r["trial"]: r for r in run_trials(preset, [0, 1], seed=3, max_sequences=300, options=SMALL)}
    short = {r["trial"]: r for r in run_trials(preset, [0, 1], seed=3, max_sequences=100, options=SMALL)}
    for t in (0, 1):
        assert short[t]["stop"] == "cap" and short[t]["sequences"] == 100
        kept = long[t][WEIGHTS_FIELD]["kept"]
        assert sorted(kept, key=int) == ["0", "100"]
        assert _equal(unpack_params(kept["100"]), unpack_params(short[t][WEIGHTS_FIELD]["final"]))
        assert kept["0"] == short[t][WEIGHTS_FIELD]["kept"]["0"]
        assert not _equal(unpack_params(kept["100"]), unpack_params(long[t][WEIGHTS_FIELD]["final"]))


def test_snapshots_survive_a_stop_and_resume(tmp_path):
    preset = _small(PRESET)
    whole = run_trials(preset, [0], seed=1, max_sequences=300, options=SMALL)
    store = Checkpoints(tmp_path / "c", {"x": 1}, every=1e9)
    calls = [0]

    def progress(n, err, active):
        calls[0] += 1
        if calls[0] == 150:  # after the snapshot at 100
            trainer.request_stop()

    with pytest.raises(KeyboardInterrupt):
        run_trials(preset, [0], seed=1, max_sequences=300, options=SMALL, on_progress=progress, checkpoints=store)
    resumed = run_trials(preset, [0], seed=1, max_sequences=300, options=SMALL, checkpoints=store)
    assert resumed[0][WEIGHTS_FIELD] == whole[0][WEIGHTS_FIELD]


def test_results_writer_does_not_change_the_record_it_is_given(tmp_path):
    preset = _small(PRESET)
    rec = run_trials(preset, [0], seed=0, max_sequences=50, options=SMALL)[0]
    path = tmp_path / "r.json"
    rf = ResultsFile(path, preset, settings_of(preset, 0, 50, get_task("2a").options(**SMALL), "step"))
    before = dict(rec)
    rf.add(rec, 1)
    assert rec == before and WEIGHTS_FIELD in rec
    assert _equal(load_trial(path, 0).final, unpack_params(rec[WEIGHTS_FIELD]["final"]))
    assert not list(weights_dir(path).glob(".*"))  # no temporary file left


def test_missing_and_corrupt_weights_are_one_line_errors(run_file, tmp_path, capsys):
    with pytest.raises(UserError, match="no stored weights for trial 7.*lstm-proofs replay --weights"):
        load_trial(run_file, 7)
    path = tmp_path / "c.json"
    path.write_text(run_file.read_text())
    weights_dir(path).mkdir()
    weights_path(path, 0).write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(UserError, match="cannot read weights file") as err:
        load_trial(path, 0)
    assert "\n" not in str(err.value)
    src = weights_path(run_file, 1).read_bytes()
    weights_path(path, 1).write_bytes(src[: len(src) // 2])
    with pytest.raises(UserError, match="cannot read weights file"):
        load_trial(path, 1)
    np.savez(weights_path(path, 2), meta=np.array(json.dumps({"format": "other"})))
    with pytest.raises(UserError, match="not a weights file of this version"):
        load_trial(path, 2)


def test_replay_weights_restores_missing_files_bit_for_bit(run_file, tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text(run_file.read_text())
    weights_dir(path).mkdir()
    keep = weights_path(run_file, 0)
    weights_path(path, 0).write_bytes(keep.read_bytes())  # trial 0 has its file; 1 and 2 do not
    assert main(["replay", str(path), "--weights"]) == 0
    out = capsys.readouterr().out
    assert "replaying trial(s)" in out and "weights of 2 trial(s) stored" in out
    assert stored_trials(path) == [0, 1, 2]
    for t in (1, 2):
        a, b = load_trial(path, t), load_trial(run_file, t)
        assert _equal(a.final, b.final) and a.kept.keys() == b.kept.keys()
        assert all(_equal(a.kept[n], b.kept[n]) for n in a.kept)
    assert main(["replay", str(path), "--weights"]) == 0
    assert "every trial has its weights file" in capsys.readouterr().out
    assert json.loads(path.read_text())["replays"][-1]["identical"] is True
