"""``lstm-proofs replay``: finished trials rerun under the current code come out the same, bit for bit; a changed
record is caught; ``results`` reads the replays."""

import json

import pytest

from lstm_proofs.cli import main
import math

from lstm_proofs.commands.replay import ROUNDING_ULPS, choose_trials, compare, differences
from lstm_proofs.training.results import commit_text
from lstm_proofs.training.study import provenance_of, row_report
from lstm_proofs.training.presets import get_preset

QUICK = ["train", "2a", "--row", "lstm", "--opt", "p=5", "--trials", "3", "--max-sequences", "4000", "--quiet"]


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "quick.json"
    assert main([*QUICK, "--json", str(path)]) == 0
    return path


def _copy(run_file, tmp_path, name="run.json"):
    path = tmp_path / name
    path.write_text(run_file.read_text())
    return path


def test_a_file_of_the_current_trainer_needs_no_replay(run_file, tmp_path, capsys):
    path = _copy(run_file, tmp_path)
    assert main(["replay", str(path)]) == 0
    assert "produced by the current trainer" in capsys.readouterr().out
    assert "replays" not in json.loads(path.read_text())


def test_replayed_trials_are_identical_and_recorded(run_file, tmp_path, capsys):
    path = _copy(run_file, tmp_path)
    before = json.loads(path.read_text())
    for rec in before["trials"]:  # as if produced by an older trainer
        rec["code"] = [{**rec["code"][0], "trainer": "0123456789abcdef"}]
    path.write_text(json.dumps(before))
    assert main(["replay", str(path), "--trials", "2"]) == 0
    out = capsys.readouterr().out
    cheapest = [r["trial"] for r in choose_trials(before["trials"], 2)]
    assert f"replaying trial(s) {cheapest[0]}, {cheapest[1]}" in out and out.count("identical") == 2
    after = json.loads(path.read_text())
    assert after["trials"] == before["trials"] and after["settings"] == before["settings"]
    (entry,) = after["replays"]
    assert entry["identical"] is True and entry["trials"] == sorted(cheapest) and entry["differences"] == {}
    assert main(["replay", str(path)]) == 0  # already replayed under this trainer: skipped
    assert "already replayed identically" in capsys.readouterr().out
    # train resuming the file keeps its replays
    assert main([*QUICK, "--trials", "3", "--json", str(path)]) == 0
    assert json.loads(path.read_text())["replays"] == after["replays"]


def test_a_trial_another_trainer_had_a_part_in_is_replayed_first(run_file, tmp_path, capsys):
    """A trial resumed across a change of trainer (one code stamp per stretch) is the one a replay must cover, even
    when a trial the current trainer produced whole is cheaper."""
    path = _copy(run_file, tmp_path)
    data = json.loads(path.read_text())
    dearest = max(data["trials"], key=lambda r: (int(r["sequences"]), int(r["trial"])))
    dearest["code"] = [*dearest["code"], {**dearest["code"][0], "trainer": "0123456789abcdef"}]
    path.write_text(json.dumps(data))
    current = dearest["code"][0]["trainer"]
    assert choose_trials(data["trials"], 1, current) == [dearest]
    assert choose_trials(data["trials"], 1) != [dearest]  # without the fingerprint: the cheapest
    assert main(["replay", str(path), "--trials", "1"]) == 0
    assert f"replaying trial(s) {dearest['trial']} (" in capsys.readouterr().out
    (entry,) = json.loads(path.read_text())["replays"]
    assert entry["identical"] is True and entry["trials"] == [dearest["trial"]]


def test_a_record_the_code_does_not_reproduce_is_reported(run_file, tmp_path, capsys):
    path = _copy(run_file, tmp_path)
    data = json.loads(path.read_text())
    victim = choose_trials(data["trials"], 1)[0]
    victim["test"]["mean_error"] += 1e-9  # one figure, beyond rounding
    path.write_text(json.dumps(data))
    assert main(["replay", str(path), "--again", "--trials", "1"]) == 1
    out = capsys.readouterr().out
    assert f"trial {victim['trial']}: DIFFERS: test.mean_error: stored " in out and "trials differ in" in out
    (entry,) = json.loads(path.read_text())["replays"]
    assert entry["identical"] is False and list(entry["differences"]) == [str(victim["trial"])]


def test_differences_ignore_run_fields_and_added_fields_but_not_dropped_ones():
    stored = {"trial": 1, "sequences": 10, "seconds": 3.0, "code": [{"commit": "a"}], "test": {"wrong": 0}}
    assert differences(stored, {**stored, "seconds": 9.0, "code": [], "new_field": 1}) == []
    assert differences(stored, {k: v for k, v in stored.items() if k != "test"}) == ["test: missing in the rerun"]
    assert differences(stored, {**stored, "sequences": 11}) == ["sequences: stored 10, rerun 11"]
    # at any depth: a diagnostic added since is not a difference, a value that changed is
    deep = {"trial": 1, "diagnostics": {"samples": [{"sequences": 100, "gate": [0.5]}], "end": {"gate": [0.25]}}}
    added = {"trial": 1, "diagnostics": {"samples": [{"sequences": 100, "gate": [0.5], "new": 0.1}],
                                         "end": {"gate": [0.25], "new": 0.2}}}
    assert differences(deep, added) == []
    changed = json.loads(json.dumps(added))
    changed["diagnostics"]["samples"][0]["gate"][0] = 0.75
    assert differences(deep, changed) == ["diagnostics.samples[0].gate[0]: stored 0.5, rerun 0.75"]
    changed["diagnostics"]["samples"] = []
    assert differences(deep, changed) == ["diagnostics.samples: stored [{'sequences': 100, 'gate': [0.5]}], rerun []"]


def test_floats_within_a_few_ulps_differ_by_rounding_only():
    x = 0.04573017254066722
    near = x
    for _ in range(ROUNDING_ULPS):
        near = math.nextafter(near, 1.0)
    stored = {"trial": 1, "train_window": {"mean_error": x}}
    assert compare(stored, {"trial": 1, "train_window": {"mean_error": near}})[0] == []
    (item,) = compare(stored, {"trial": 1, "train_window": {"mean_error": near}})[1]
    assert item.startswith("train_window.mean_error: ")
    beyond = math.nextafter(near, 1.0)
    assert compare(stored, {"trial": 1, "train_window": {"mean_error": beyond}})[0] != []
    assert compare({"a": 1}, {"a": 1.0000000000000002}) == (["a: stored 1, rerun 1.0000000000000002"], [])


def test_a_replay_the_same_but_for_rounding_is_current_and_said_so(run_file, tmp_path, capsys):
    path = _copy(run_file, tmp_path)
    data = json.loads(path.read_text())
    for rec in data["trials"]:  # as if produced by an older trainer that summed a figure in another order
        rec["code"] = [{**rec["code"][0], "trainer": "0123456789abcdef"}]
    victim = choose_trials(data["trials"], 1)[0]
    victim["train_window"]["mean_error"] = math.nextafter(victim["train_window"]["mean_error"], 1.0)
    path.write_text(json.dumps(data))
    assert main(["replay", str(path), "--trials", "1"]) == 0
    assert f"trial {victim['trial']}: the same but for rounding (train_window.mean_error: " in capsys.readouterr().out
    run = json.loads(path.read_text())
    (entry,) = run["replays"]
    assert entry["identical"] is False and entry["differences"] == {} and list(entry["rounding"]) == [
        str(victim["trial"])]
    rep = row_report(get_preset("2a/lstm"), run)
    assert rep.provenance.current
    assert "the same but for rounding in the last place of train_window.mean_error" in commit_text(rep)
    assert main(["replay", str(path)]) == 0
    assert "already replayed the same but for rounding under the current trainer" in capsys.readouterr().out


def test_results_show_a_changed_trainer_and_a_replay_under_the_current_one(run_file):
    run = json.loads(run_file.read_text())
    preset = get_preset("2a/lstm")
    assert not provenance_of(run).changed
    other = "0123456789abcdef"
    changed = row_report(preset, run, current=other)
    assert changed.provenance.changed and not changed.provenance.current
    assert "**trainer changed since**" in commit_text(changed)
    replays = [{"trainer": other, "identical": True, "trials": [0, 2]}]
    replayed = row_report(preset, {**run, "replays": replays}, current=other)
    assert replayed.provenance.current
    assert "trainer changed since; 2 trial(s) replayed identically by the current one" in commit_text(replayed)
    differs = row_report(preset, {**run, "replays": [{**replays[0], "identical": False}]}, current=other)
    assert "replay differs" in commit_text(differs) and not differs.provenance.current


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["settings"].update(learning_rate=0.123), "cannot reproduce the file's settings"),
    (lambda d: d.update(trials="x"), "missing row, settings or trials"),
])
def test_unreplayable_files_are_one_line_errors(run_file, tmp_path, capsys, edit, message):
    path = _copy(run_file, tmp_path)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    assert main(["replay", str(path), "--again"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_file_is_a_one_line_error(tmp_path, capsys):
    assert main(["replay", str(tmp_path / "none.json")]) == 2
    assert "no such results file" in capsys.readouterr().err


def test_a_results_file_without_finished_trials_names_no_commit(run_file):
    run = json.loads(run_file.read_text())
    empty = row_report(get_preset("2a/lstm"), {**run, "trials": []})
    assert commit_text(empty) == "- (no finished trial)"


def _as_older(path):
    data = json.loads(path.read_text())
    for rec in data["trials"]:  # as if produced by an older trainer
        rec["code"] = [{**rec["code"][0], "trainer": "0123456789abcdef"}]
    path.write_text(json.dumps(data))


def test_every_committed_results_file_can_be_replayed():
    """The current presets reproduce the settings of every committed results file (train's and ablate's), so
    that each can be replayed; a change to a row's defaults that breaks this is caught here, not hours into a
    replay queue."""
    from pathlib import Path

    from lstm_proofs.commands.replay import replay_setup
    from lstm_proofs.training.results import read_run

    root = Path(__file__).resolve().parents[2] / "results"
    files = sorted(root.glob("train/*.json")) + sorted(root.glob("ablate/*/*.json"))
    if not files:
        pytest.skip("no committed results files beside this checkout")
    for f in files:
        replay_setup(f, read_run(f)["settings"])


def test_a_file_without_a_construction_replays_with_the_cells_from_the_start(tmp_path, capsys):
    """ablate's construction=full writes no construction key (the cells from the start, as files of the time
    before sequential construction): replay reproduces it as such."""
    root = tmp_path / "ablate"
    assert main(["ablate", "2a/lstm", "--readings", "construction=full", "--trials", "1",
                 "--max-sequences", "30", "--quiet", "--root", str(root)]) == 0
    (path,) = sorted((root / "2a_lstm").glob("*.json"))
    assert "construction" not in json.loads(path.read_text())["settings"]
    _as_older(path)
    capsys.readouterr()
    assert main(["replay", str(path), "--trials", "1"]) == 0
    assert "identical" in capsys.readouterr().out


def test_a_file_that_cannot_be_replayed_stops_the_batch_before_it_starts(run_file, tmp_path, capsys):
    good, bad = _copy(run_file, tmp_path, "good.json"), _copy(run_file, tmp_path, "bad.json")
    _as_older(good)
    data = json.loads(bad.read_text())
    data["settings"]["learning_rate"] = 0.123  # no row has this: the presets cannot reproduce it
    bad.write_text(json.dumps(data))
    assert main(["replay", str(good), str(bad), "--trials", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.json: the current presets cannot reproduce the file's settings" in err[0]
    assert "replays" not in json.loads(good.read_text())  # nothing replayed
