"""``lstm-proofs ablate``: a row under its readings, resumable, its default equal to train's run, its files read by
``results`` (docs/readings.md) and ``replay``."""

import json

import pytest

from lstm_proofs.cli import main

QUICK = ["6a", "--trials", "2", "--max-sequences", "300", "--quiet"]
OUTCOME = ("trial", "solved", "stop", "sequences", "test", "train_window", "stopping_checks")


@pytest.fixture(scope="module")
def ablated(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablate")
    assert main(["ablate", *QUICK, "--readings", "default,origin=0,gradient=full,update=sequence", "--root",
                 str(root)]) == 0
    return root


def _trials(path):
    return json.loads(path.read_text())["trials"]


def test_each_reading_has_its_own_file_with_diagnostics(ablated):
    files = sorted(p.name for p in (ablated / "6a").iterdir() if p.suffix == ".json")
    assert files == ["default__cap=300.json", "gradient=full__cap=300.json", "origin=0__cap=300.json",
                     "update=sequence__cap=300.json"]
    full = json.loads((ablated / "6a" / "gradient=full__cap=300.json").read_text())
    assert full["settings"]["readings"] == ["gradient=full"] and full["settings"]["method"] == "bptt"
    assert json.loads((ablated / "6a" / "origin=0__cap=300.json").read_text())["settings"]["task_options"][
        "origin"] == 0
    for rec in _trials(ablated / "6a" / "default__cap=300.json"):
        d = rec["diagnostics"]
        assert [s["sequences"] for s in d["samples"]] == [100, 200] and len(d["end"]["max_abs_state"]) == 4
        assert set(d["end"]["gate_mean"]) == {"in", "out"} and d["error_sites"] is None


def test_default_reading_equals_train_and_diagnostics_change_nothing(ablated, tmp_path):
    path = tmp_path / "train.json"
    assert main(["train", *QUICK, "--json", str(path)]) == 0
    trained = {r["trial"]: r for r in _trials(path)}
    for rec in _trials(ablated / "6a" / "default__cap=300.json"):
        assert {k: rec.get(k) for k in OUTCOME} == {k: trained[rec["trial"]].get(k) for k in OUTCOME}
        assert "diagnostics" not in trained[rec["trial"]]


def test_rerun_resumes_and_list_shows_the_readings(ablated, capsys):
    assert main(["ablate", *QUICK, "--readings", "default", "--root", str(ablated)]) == 0
    out = capsys.readouterr().out
    assert "(2 already in" in out and "readings of 6a (Table 9):" in out
    line = next(x for x in out.splitlines() if x.startswith("  default "))
    unsolved = sum(not r["solved"] for r in _trials(ablated / "6a" / "default__cap=300.json"))
    assert " 2 trials; success " in line and f"; {unsolved} censored at the cap;" in line
    assert main(["ablate", "6a", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("origin=0", "update=sequence", "st3-error=squared", "out-bias=section4", "gradient=full",
                 "cell=forget", "h=identity", "ranges=swapped"):
        assert f"  {name} " in out


@pytest.mark.parametrize("args, message", [
    (["--readings", "cell=forget,nope=1"], "--readings: nope=1 not a reading of row 6a"),
    (["--readings", ","], "--readings: empty list"),
    (["--trials", "0"], "--trials"),
    (["--max-sequences", "-5"], "--max-sequences"),
    (["--seed", "x"], "--seed"),
    (["--extend"], "--extend needs --max-sequences"),
])
def test_bad_arguments_are_one_line_errors(args, message, tmp_path, capsys):
    assert main(["ablate", "6a", "--root", str(tmp_path), *args]) == 2
    out, err = capsys.readouterr()
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert out == ""  # refused before the matrix's notes
    assert not any(tmp_path.iterdir())


def test_results_writes_the_readings_page_and_figure(ablated, tmp_path, capsys):
    out, readings = tmp_path / "results.md", tmp_path / "readings.md"
    args = ["results", "--out", str(out), "--ablate-dir", str(ablated), "--readings-out", str(readings)]
    assert main(args) == 0
    text = readings.read_text()
    assert "## `6a`" in text and "| `gradient=full__cap=300` | contrast | 2 | 300 |" in text
    assert "| `origin=0__cap=300` | reading |" in text and (tmp_path / "readings-states.png").stat().st_size > 0
    assert "largest \\|s\\|, unsolved" in text
    assert main([*args, "--check"]) == 0
    readings.write_text(text.replace("contrast", "kontrast"))
    assert main([*args, "--check"]) == 1


def test_replay_rebuilds_a_reading(ablated, tmp_path, capsys):
    path = tmp_path / "full.json"
    data = json.loads((ablated / "6a" / "gradient=full__cap=300.json").read_text())
    for rec in data["trials"]:  # as if produced by an older trainer
        rec["code"] = [{**rec["code"][0], "trainer": "0123456789abcdef"}]
    path.write_text(json.dumps(data))
    assert main(["replay", str(path), "--trials", "1"]) == 0
    assert json.loads(path.read_text())["replays"][0]["identical"] is True


def test_ablate_on_a_local_cluster_equals_the_serial_run(ablated, tmp_path):
    assert main(["ablate", *QUICK, "--readings", "origin=0", "--root", str(tmp_path), "--cluster", "local:2"]) == 0
    serial = {r["trial"]: {k: r.get(k) for k in (*OUTCOME, "diagnostics")}
              for r in _trials(ablated / "6a" / "origin=0__cap=300.json")}
    cluster = {r["trial"]: {k: r.get(k) for k in (*OUTCOME, "diagnostics")}
               for r in _trials(tmp_path / "6a" / "origin=0__cap=300.json")}
    assert cluster == serial


def test_coverage_counts_the_complete_readings_of_a_row_that_does_not_reproduce(ablated):
    from lstm_proofs.training.ablation import coverage, load_ablations
    from lstm_proofs.training.presets import get_preset
    from lstm_proofs.training.results import hours_text, row_rate, row_seconds
    from lstm_proofs.training.study import row_report

    matrix = load_ablations(ablated)
    run = json.loads((ablated / "6a" / "default__cap=300.json").read_text())
    rep = row_report(get_preset("6a"), run)
    assert rep.verdict.verdict not in ("reproduces", "faster", "more reliable")  # 300 sequences solve nothing
    [(row, verdict, state, command, cost, hours)] = coverage([rep], matrix)
    assert row == "6a" and verdict == rep.verdict.verdict
    # update=sequence is the default's run on 6a (target at the end only): not counted, though it ran
    assert state == "3 of 8 readings complete; `update=sequence` is `default`'s run (2 trials, cap 300)"
    assert command == f"lstm-proofs ablate 6a --trials 2 --max-sequences 300 --root {ablated}"
    # the 5 readings left, 2 trials each to the cap of 300, at the rate of the row's run
    rate = row_rate(run)
    assert rate == sum(t["sequences"] for t in run["trials"]) / row_seconds(run)
    assert hours == pytest.approx(5 * 2 * 300 / rate / 3600, rel=1e-12) and cost == hours_text(hours)
    assert coverage([row_report(get_preset("6a"), None)], {})[0][1:] == (
        "not run", "0 of 8 readings complete; `update=sequence` is `default`'s run", "lstm-proofs ablate 6a", "-",
        None)


def test_coverage_takes_the_scale_of_a_matrix_in_progress(ablated, tmp_path):
    """With only an unfinished reading, the command and the cost are those at its cap and requested trials."""
    from lstm_proofs.training.ablation import coverage, load_ablations
    from lstm_proofs.training.presets import get_preset
    from lstm_proofs.training.results import row_rate, row_seconds
    from lstm_proofs.training.study import row_report

    (tmp_path / "6a").mkdir()
    data = json.loads((ablated / "6a" / "default__cap=300.json").read_text())
    data["trials"] = data["trials"][:1]
    (tmp_path / "6a" / "default__cap=300.json").write_text(json.dumps(data))
    run = json.loads((ablated / "6a" / "default__cap=300.json").read_text())
    [(_, _, state, command, _, hours)] = coverage([row_report(get_preset("6a"), run)], load_ablations(tmp_path))
    assert state == "0 of 8 readings complete, 1 in progress; `update=sequence` is `default`'s run (2 trials, cap 300)"
    assert command == f"lstm-proofs ablate 6a --trials 2 --max-sequences 300 --root {tmp_path}"
    # the 7 readings not started at the row's rate; the default's last trial at the default's own rate so far
    own = data["trials"][0]["sequences"] / row_seconds(data)
    assert hours == pytest.approx(7 * 2 * 300 / row_rate(run) / 3600 + 300 / own / 3600, rel=1e-12)


def test_row_rate_and_sequences_left_count_checkpoints(tmp_path):
    """A reading in progress: its checkpoints' sequences are done, and count in its rate (lockstep trials share the
    wall time their checkpoints record)."""
    from lstm_proofs.training.checkpoints import Checkpoints, checkpoint_dir
    from lstm_proofs.training.results import row_rate, sequences_left

    path = tmp_path / "r.json"
    run = {"trials": [{"trial": 0, "sequences": 500, "seconds": 10.0}], "wall_seconds": 10.0, "path": str(path)}
    assert row_rate(run) == 50.0 and sequences_left(run, 3, 1000) == 2000
    ckpt = Checkpoints(checkpoint_dir(path), {})
    ckpt.save(1, {"sequences": 700, "seconds": 30.0}, {})
    ckpt.save(2, {"sequences": 700, "seconds": 30.0}, {})
    # lockstep: 500 + 700 + 700 sequences in the 30 s the checkpoints record; 300 left of each unfinished trial
    assert row_rate(run) == (500 + 700 + 700) / 30.0 and sequences_left(run, 3, 1000) == 600
    # a checkpoint beyond a lower cap leaves nothing of its trial
    assert sequences_left(run, 3, 600) == 0
    assert row_rate({"trials": [], "path": str(tmp_path / "none.json")}) is None
    # a run that held 2 cores on average: the rate on one core is half
    assert row_rate({**run, "core_seconds": 20.0}) == (500 + 700 + 700) / 60.0


def test_results_files_record_core_seconds_from_their_first_run_only(tmp_path):
    """A run in this process holds one core; a file written before core-seconds were recorded gets none, since its
    earlier runs' cores are unknown (docs/decisions.md)."""
    from lstm_proofs.training.results import run_cores

    path = tmp_path / "r.json"
    args = ["train", "6a", "--max-sequences", "50", "--quiet", "--json", str(path)]
    assert main([*args, "--trials", "1"]) == 0
    data = json.loads(path.read_text())
    assert data["core_seconds"] == pytest.approx(data["wall_seconds"], rel=1e-3)
    assert run_cores(data) == pytest.approx(1.0, rel=1e-3)
    del data["core_seconds"]
    path.write_text(json.dumps(data))
    assert main([*args, "--trials", "2"]) == 0
    data = json.loads(path.read_text())
    assert len(data["trials"]) == 2 and "core_seconds" not in data and run_cores(data) is None


def test_ablate_skips_a_reading_that_is_the_default_run_unless_named(tmp_path, capsys):
    assert main(["ablate", "6a", "--list"]) == 0
    out = capsys.readouterr().out
    assert "on this row: the same run as default, bit for bit, by construction: the only target" in out
    assert main(["ablate", "6a", "--trials", "1", "--max-sequences", "100", "--quiet", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "-- not run: update=sequence, on this row the same run as default, bit for bit" in out
    assert "(--readings update=sequence runs it)" in out
    assert "-- not run: cell=forget-open, a follow-up contrast (--readings cell=forget-open runs it)" in out
    names = sorted(p.stem.split("__")[0] for p in (tmp_path / "6a").glob("*.json"))
    assert "update=sequence" not in names and {"default", "origin=0", "gradient=full", "cell=forget"} <= set(names)
    assert "cell=forget-open" not in names and len(names) == 8


def test_readings_page_names_readings_that_are_another_run(ablated, tmp_path):
    """The bit-for-bit identity is checked on the files, and a pair that should be one run but differs is named."""
    from lstm_proofs.training.ablation import load_ablations, readings_markdown

    text = readings_markdown(load_ablations(ablated))
    assert ("`update=sequence__cap=300` as `default__cap=300` (by construction, bit for bit; the records are "
            "identical but for timings)") in text
    assert "`update=sequence` is `default`'s run, bit for bit (not run unless named), on 24 row(s)" in text
    assert "`6a` 2 of 2 trials the same outcome, 2 the same record but for timings" in text
    root = tmp_path / "root"
    (root / "6a").mkdir(parents=True)
    for name in ("default__cap=300.json", "update=sequence__cap=300.json"):
        (root / "6a" / name).write_text((ablated / "6a" / name).read_text())
    data = json.loads((root / "6a" / "update=sequence__cap=300.json").read_text())
    data["trials"][0]["sequences"] -= 1
    data["trials"][0]["solved"] = True
    (root / "6a" / "update=sequence__cap=300.json").write_text(json.dumps(data))
    text = readings_markdown(load_ablations(root))
    assert "*`update=sequence__cap=300` differs from `default__cap=300`*, which it equals by construction" in text
    assert "`6a` 1 of 2 trials the same outcome, 1 the same record but for timings" in text


def test_extend_raises_the_cap_of_readings_and_equals_a_run_at_the_new_cap(ablated, tmp_path, capsys):
    """ablate --extend: each reading's file at the lower cap is renamed for the new one with its checkpoints kept
    at the cap; solved trials stay, the others run on from their checkpoints, and the records equal those of the
    readings run at the new cap from the start (the fixture's, at 300)."""
    low = ["6a", "--trials", "2", "--quiet", "--root", str(tmp_path), "--readings", "default,origin=0"]
    assert main(["ablate", *low, "--max-sequences", "150", "--checkpoint-every", "0.000001"]) == 0
    kept = sorted(p.name for p in (tmp_path / "6a" / "default__cap=150.ckpt" / "at-cap").iterdir())
    capped = [r["trial"] for r in _trials(tmp_path / "6a" / "default__cap=150.json") if r["stop"] == "cap"]
    assert capped and kept == [f"trial_{t:04d}.npz" for t in capped]
    capsys.readouterr()
    assert main(["ablate", *low, "--max-sequences", "300", "--extend"]) == 0
    out = capsys.readouterr().out
    assert "default__cap=150.json renamed default__cap=300.json for the new cap" in out
    assert "raised to 300: trial(s) " in out
    files = sorted(p.name for p in (tmp_path / "6a").iterdir() if p.suffix == ".json")
    assert files == ["default__cap=300.json", "origin=0__cap=300.json"]
    for name in files:
        extended = {r["trial"]: {k: r.get(k) for k in OUTCOME} for r in _trials(tmp_path / "6a" / name)}
        direct = {r["trial"]: {k: r.get(k) for k in OUTCOME} for r in _trials(ablated / "6a" / name)}
        assert extended == direct
        assert json.loads((tmp_path / "6a" / name).read_text())["extended"][0]["from"] == 150
    assert main(["ablate", *low, "--max-sequences", "300", "--extend"]) == 0  # again: nothing left to do
    assert "renamed" not in capsys.readouterr().out


def test_extend_refuses_before_anything_moves(ablated, tmp_path, capsys):
    row = tmp_path / "6a"
    row.mkdir()
    for name in ("default__cap=300.json", "origin=0__cap=300.json"):
        (row / name).write_text((ablated / "6a" / name).read_text())
    args = ["ablate", "6a", "--trials", "2", "--root", str(tmp_path), "--readings", "default,origin=0"]
    assert main([*args, "--extend"]) == 2
    assert "--extend needs --max-sequences" in capsys.readouterr().err
    assert main([*args, "--extend", "--max-sequences", "200"]) == 2
    assert "--max-sequences 200 is below the cap of" in capsys.readouterr().err
    (row / "origin=0__cap=250.json").write_text((row / "origin=0__cap=300.json").read_text())
    assert main([*args, "--extend", "--max-sequences", "400"]) == 2
    assert "reading origin=0 has results files at several caps" in capsys.readouterr().err
    (row / "origin=0__cap=250.json").unlink()
    assert main([*args, "--extend", "--max-sequences", "400", "--seed", "5"]) == 2
    assert "holds a run with other settings than the cap (seed: file 0 vs now 5, " in capsys.readouterr().err
    assert sorted(p.name for p in row.iterdir() if p.suffix == ".json") == [
        "default__cap=300.json", "origin=0__cap=300.json"]  # nothing moved


def test_readings_page_tells_a_pair_equal_to_rounding_that_parted(ablated, tmp_path):
    """gradient=full is update=sequence's run to rounding only on 2a: outcomes that part are reported as such, not
    as a fault."""
    from lstm_proofs.training.ablation import load_ablations, same_outcomes_text

    row = tmp_path / "2a_lstm"
    row.mkdir()
    data = json.loads((ablated / "6a" / "default__cap=300.json").read_text())
    data["row"] = "2a/lstm"
    (row / "update=sequence__cap=300.json").write_text(json.dumps(data))
    (row / "gradient=full__cap=300.json").write_text(json.dumps(data))
    [same] = [same_outcomes_text(runs) for runs in load_ablations(tmp_path).values()]
    assert "`gradient=full__cap=300` as `update=sequence__cap=300` (by construction, to rounding)" in same
    data["trials"][0]["sequences"] -= 1
    data["trials"][0]["solved"] = True
    (row / "gradient=full__cap=300.json").write_text(json.dumps(data))
    [same] = [same_outcomes_text(runs) for runs in load_ablations(tmp_path).values()]
    assert "`gradient=full__cap=300` parts from `update=sequence__cap=300`, which it equals to rounding only" in same


def test_readings_of_a_baseline_row_with_weights_render(tmp_path):
    """An Exp. 2 baseline row's readings store weights too; the storage measurement is for memory cells and leaves
    them out instead of failing the page."""
    root = tmp_path / "ablate"
    assert main(["ablate", "2a", "--row", "rtrl/p=4/lr=10", "--readings", "criterion=end", "--trials", "1",
                 "--max-sequences", "200", "--quiet", "--root", str(root)]) == 0
    assert any((root / "2a_rtrl_p=4_lr=10").glob("*.weights"))
    readings = tmp_path / "readings.md"
    assert main(["results", "--out", str(tmp_path / "results.md"), "--ablate-dir", str(root), "--readings-out",
                 str(readings)]) == 0
    assert "## `2a/rtrl/p=4/lr=10`" in readings.read_text()


def test_forget_gate_table_comes_from_the_trials_gate_means(ablated, tmp_path):
    """The open forget-gate contrast (run only when named) starts its gates near sigma(5); the row's forget-gate
    table gives the medians of the recorded gate means and the half-lives they imply, and the section explaining
    them appears only when some row has forget gates."""
    import math

    import numpy as np

    from lstm_proofs.training.ablation import load_ablations, readings_markdown
    from lstm_proofs.training.diagnosis import FORGET_SECTION, half_life

    assert half_life(0.5) == pytest.approx(1.0) and half_life(1.0) == math.inf and half_life(0.0) == 0.0
    assert half_life(1 / (1 + math.exp(-5.0))) == pytest.approx(103.2, abs=0.05)
    assert FORGET_SECTION[0] not in readings_markdown(load_ablations(ablated))
    assert main(["ablate", "6a", "--trials", "2", "--max-sequences", "200", "--quiet", "--root", str(tmp_path),
                 "--readings", "cell=forget-open"]) == 0
    trials = _trials(tmp_path / "6a" / "cell=forget-open__cap=200.json")
    first = np.median([t["diagnostics"]["samples"][0]["gate_mean"]["forget"] for t in trials], axis=0)
    end = np.median([t["diagnostics"]["end"]["gate_mean"]["forget"] for t in trials], axis=0)
    assert np.all(first > 0.95)
    text = readings_markdown(load_ablations(tmp_path))
    row = next(x for x in text.splitlines() if x.startswith("| `cell=forget-open__cap=200` | 2 ("))
    assert ", ".join(f"{f:.3f}" for f in first) in row and ", ".join(f"{f:.3f}" for f in end) in row
    assert ", ".join(f"{half_life(f):.3g}" for f in end) in row
    assert FORGET_SECTION[0] in text
    # a trial stopped before the first diagnostic sample (at 100 sequences) has no first sample to show
    assert main(["ablate", "6a", "--trials", "1", "--max-sequences", "50", "--quiet", "--root", str(tmp_path / "few"),
                 "--readings", "cell=forget"]) == 0
    text = readings_markdown(load_ablations(tmp_path / "few"))
    assert any(x.startswith("| `cell=forget__cap=50` | 1 (0 solved) | - | - | ") for x in text.splitlines())


def test_unsolved_trials_test_is_shown_next_to_the_best_constant_output(ablated):
    """On rows whose only target is at the end, the diagnostics give the unsolved trials' final test (medians), the
    best constant output's on as many sequences, and the recent training window's wrong sequences; the constant
    output's figures agree with the adding problem's analytic value."""
    import numpy as np

    from lstm_proofs.training.ablation import load_ablations, readings_markdown
    from lstm_proofs.training.diagnosis import constant_output_figures

    # Adding (Exp. 4): target 0.5 + (X1 + X2)/4; X1 is 0 when it falls on the first pair (1 in 10). The median
    # output 0.5 errs by |X1 + X2|/4: wrong (>= 0.04) with probability 0.9 (1 - 0.16 + 0.16^2/4) + 0.1 (1 - 0.16),
    # mean error 0.9 (2/3)/4 + 0.1 (1/2)/4.
    wrong, error = constant_output_figures("4", (("T", 100),), 20000)
    assert wrong == pytest.approx(0.9 * 0.8464 + 0.1 * 0.84, abs=0.01)
    assert error == pytest.approx(0.9 / 6 + 0.1 / 8, abs=0.003)
    text = readings_markdown(load_ablations(ablated))
    trials = [t for t in _trials(ablated / "6a" / "default__cap=300.json") if not t["solved"]]
    assert trials
    row = next(x for x in text.splitlines() if x.startswith("| `default__cap=300` | ") and "constant output" in x)
    wrong = np.median([t["test"]["wrong"] for t in trials])
    error = np.median([t["test"]["mean_error"] for t in trials])
    assert f"test {wrong:,.0f} of " in row and f"mean error {error:.3g}" in row
    window = np.median([t["train_window"]["wrong"] for t in trials])
    size = np.median([t["train_window"]["size"] for t in trials])
    assert f"the last {size:,.0f} training sequences: {window:,.0f} wrong" in row


def test_overview_gives_each_row_its_default_and_best_other_reading(ablated, tmp_path):
    from lstm_proofs.training.ablation import load_ablations, overview_lines
    from lstm_proofs.training.diagnosis import unsolved_errors

    matrix = load_ablations(ablated)
    lines = overview_lines(matrix)
    assert lines[0] == "## What the matrices show"
    (row,) = [x for x in lines if x.startswith("| `6a` |")]
    solved = {p.stem: sum(t["solved"] for t in _trials(p)) for p in (ablated / "6a").glob("*.json")}
    assert f" | {solved['default__cap=300']}/2 at 300 | " in row
    others = {k: v for k, v in solved.items() if k != "default__cap=300"}
    best = max(others.values())
    if best:
        first = next(r.name for r in matrix["6a"] if r.name in others and others[r.name] == best)
        assert f"`{first}` {best}/2" in row
    else:
        assert "none solves a trial" in row
    default = next(r for r in matrix["6a"] if r.kind == "default")
    assert row.endswith(f" | {unsolved_errors(default)} |")
    root = tmp_path / "partial"
    (root / "6a").mkdir(parents=True)
    data = json.loads((ablated / "6a" / "default__cap=300.json").read_text())
    data["trials"] = data["trials"][:1]
    (root / "6a" / "default__cap=300.json").write_text(json.dumps(data))
    (row,) = [x for x in overview_lines(load_ablations(root)) if x.startswith("| `6a` |")]
    assert f" | {int(data['trials'][0]['solved'])}/1 at 300 (of 2 trials; in progress) | none | - | " in row
    # a reading in progress is not ranked among the others
    (root / "6a" / "origin=0__cap=300.json").write_text(json.dumps(data))
    (row,) = [x for x in overview_lines(load_ablations(root)) if x.startswith("| `6a` |")]
    assert " | none | - | " in row


def test_paired_column_compares_each_reading_with_its_baseline_trial_by_trial(ablated, tmp_path):
    from lstm_proofs.training.ablation import changes_text, load_ablations, paired_comparisons, reading_rows
    from lstm_proofs.training.statistics import holm

    # 6a: update=sequence is the default's run by construction, so gradient=full is paired with the default and
    # update=sequence stays out of the Holm family
    root = tmp_path / "paired"
    (root / "6a").mkdir(parents=True)
    for name in ("default", "origin=0", "gradient=full", "update=sequence"):
        data = json.loads((ablated / "6a" / f"{name}__cap=300.json").read_text())
        if name == "origin=0":  # make the trials differ from the default's: trial 0 solved here only
            data["trials"][0].update(solved=True, stop="criterion", sequences=200)
        if name == "default":
            data["trials"][0].update(solved=False, stop="cap", sequences=300)
        (root / "6a" / f"{name}__cap=300.json").write_text(json.dumps(data))
    runs = load_ablations(root)["6a"]
    paired = paired_comparisons(runs)
    assert set(paired) == {"origin=0__cap=300", "gradient=full__cap=300", "update=sequence__cap=300"}
    base, c, adjusted = paired["origin=0__cap=300"]
    default = {t["trial"]: t["solved"] for t in _trials(root / "6a" / "default__cap=300.json")}
    mine = {t["trial"]: t["solved"] for t in _trials(root / "6a" / "origin=0__cap=300.json")}
    assert base.name == "default__cap=300" and c.pairs == 2
    assert c.only_first == sum(mine[i] and not default[i] for i in default) >= 1
    assert c.only_second == sum(default[i] and not mine[i] for i in default)
    assert paired["gradient=full__cap=300"][0].name == "default__cap=300"
    tested = [paired[n][1].p_value for n in ("origin=0__cap=300", "gradient=full__cap=300")]
    assert [paired[n][2] for n in ("origin=0__cap=300", "gradient=full__cap=300")] == holm(tested)
    assert paired["update=sequence__cap=300"][2] is None
    cells = {r[0]: r[-1] for r in reading_rows(runs)}
    assert cells["default__cap=300"] == "-"
    assert cells["update=sequence__cap=300"].endswith("the same run by construction")
    assert cells["origin=0__cap=300"].startswith(f"default__cap=300: +{c.only_first} −{c.only_second} (2); p ")
    assert changes_text(runs) == "none"  # two trials cannot show a difference at 0.05
    # Exp. 1: update=sequence is a run of its own, and gradient=full is paired with it
    assert main(["ablate", "1/3x2/lr=0.5", "--trials", "2", "--max-sequences", "100", "--quiet", "--readings",
                 "default,update=sequence,gradient=full", "--root", str(root)]) == 0
    runs = load_ablations(root)["1/3x2/lr=0.5"]
    paired = paired_comparisons(runs)
    assert paired["gradient=full__cap=100"][0].name == "update=sequence__cap=100"
    assert paired["update=sequence__cap=100"][0].name == "default__cap=100"
    assert all(h is not None for _, _, h in paired.values())


def test_changes_text_names_a_reading_whose_paired_difference_survives_holm(ablated, tmp_path):
    from lstm_proofs.training.ablation import changes_text, load_ablations

    root = tmp_path / "many"
    (root / "6a").mkdir(parents=True)
    data = json.loads((ablated / "6a" / "default__cap=300.json").read_text())
    base = data["trials"][0]
    unsolved = [dict(base, trial=i, solved=False, stop="cap", sequences=300) for i in range(12)]
    solved = [dict(t, solved=True, stop="criterion", sequences=150) for t in unsolved]
    data.update(trials=unsolved, requested_trials=12)
    (root / "6a" / "default__cap=300.json").write_text(json.dumps(data))
    (root / "6a" / "origin=0__cap=300.json").write_text(json.dumps(dict(data, trials=solved)))
    # 12 discordant pairs all one way: p = 2 / 2**12, one comparison
    assert changes_text(load_ablations(root)["6a"]) == "`origin=0__cap=300` (+12 −0 against `default`)"


def test_unsolved_errors_count_the_trials_wrong_at_each_site():
    from types import SimpleNamespace

    from lstm_proofs.training.diagnosis import unsolved_errors

    def trial(solved, long_lag, elsewhere):
        return {"solved": solved, "diagnostics": {"error_sites": {
            "sequences": 256, "wrong_long_lag": long_lag, "wrong_elsewhere": elsewhere}}}

    trials = [trial(False, 128, 0), trial(False, 120, 0), trial(False, 0, 64), trial(False, 100, 30),
              trial(True, 0, 0)]
    run = SimpleNamespace(report=SimpleNamespace(run={"trials": trials}))
    pooled_long, pooled_else = (128 + 120 + 100) / 1024, (64 + 30) / 1024
    assert unsolved_errors(run) == (f"sequences wrong at long lag {pooled_long:.0%}, elsewhere {pooled_else:.0%}; "
                                    "trials wrong only at long lag 2, only elsewhere 1, at both 1")


def test_readings_page_gives_each_reading_its_commit_and_a_rerun_command_that_reproduces_it(ablated, tmp_path):
    import re
    import subprocess

    readings = tmp_path / "readings.md"
    assert main(["results", "--out", str(tmp_path / "results.md"), "--ablate-dir", str(ablated),
                 "--readings-out", str(readings)]) == 0
    text = readings.read_text()
    head = subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], capture_output=True, text=True).stdout.strip()
    (line,) = [x for x in text.splitlines() if x.startswith("| `origin=0__cap=300` | `")]
    if head:  # in a git checkout (provenance records no commit elsewhere)
        assert f"`{head}`" in line
    command = re.search(r"\| `(lstm-proofs ablate [^`]*)` \|$", line).group(1)
    assert command == f"lstm-proofs ablate 6a --readings origin=0 --trials 2 --max-sequences 300 --root {ablated}"
    assert main([*command.split()[1:], "--quiet", "--root", str(tmp_path / "again")]) == 0
    again = {r["trial"]: {k: r.get(k) for k in OUTCOME} for r in _trials(tmp_path / "again" / "6a" /
                                                                           "origin=0__cap=300.json")}
    assert again == {r["trial"]: {k: r.get(k) for k in OUTCOME} for r in _trials(ablated / "6a" /
                                                                               "origin=0__cap=300.json")}


def test_states_figure_draws_the_saturation_line_only_where_h_squashes_and_one_legend():
    from matplotlib.figure import Figure

    from lstm_proofs.training.ablation import SATURATED_LABEL, draw_states

    trial = {"solved": True, "diagnostics": {"samples": [{"sequences": 100, "max_abs_state": [2.0, 7.0]},
                                                         {"sequences": 200, "max_abs_state": [3.0, 9.0]}]}}
    fig = Figure()
    draw_states(fig, [("6a", [trial], 5.29), ("2a/lstm", [trial], None)])
    squashing, identity = fig.axes
    assert [ln.get_ydata()[0] for ln in squashing.lines if ln.get_linestyle() == ":"] == [5.29]
    assert not [ln for ln in identity.lines if ln.get_linestyle() == ":"]
    assert list(squashing.lines[0].get_ydata()) == [7.0, 9.0]
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["solved", "not solved", SATURATED_LABEL]


def test_another_seed_is_refused_before_any_reading_runs(tmp_path, capsys):
    """A readings file of another run (here: seed 0) stops the matrix before it starts, with the option to use."""
    args = ["ablate", "6a", "--trials", "1", "--max-sequences", "50", "--quiet", "--root", str(tmp_path)]
    assert main([*args, "--readings", "origin=0"]) == 0
    capsys.readouterr()
    assert main([*args, "--readings", "default,origin=0", "--seed", "7"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "origin=0__cap=50.json holds a run with other settings (seed: file 0 vs now 7)" in err[0]
    assert "use another --root" in err[0]
    assert sorted(p.name for p in (tmp_path / "6a").glob("*.json")) == ["origin=0__cap=50.json"]  # default not run
    assert main([*args, "--readings", "default,origin=0", "--seed", "7", "--root", str(tmp_path / "mine")]) == 0


def test_the_pages_commands_carry_a_matrix_own_seed_and_root(tmp_path, capsys):
    """A matrix run with seeds of one's own, elsewhere: the readings page's commands name that seed and directory,
    so that they resume it rather than stop at its files (another seed) or start a new matrix in results/ablate."""
    import re

    root = tmp_path / "mine"
    args = ["ablate", "6a", "--trials", "1", "--max-sequences", "50", "--quiet", "--seed", "7", "--root", str(root)]
    assert main([*args, "--readings", "default,origin=0"]) == 0
    readings = tmp_path / "readings.md"
    (tmp_path / "train").mkdir()  # no run at the paper's reading: every row is in the coverage table
    assert main(["results", "--dir", str(tmp_path / "train"), "--out", str(tmp_path / "results.md"), "--ablate-dir",
                 str(root), "--readings-out", str(readings)]) == 0
    text = readings.read_text()
    (cover,) = [x for x in text.splitlines() if x.startswith("| `6a` | ") and "readings complete" in x]
    assert f"`lstm-proofs ablate 6a --trials 1 --max-sequences 50 --seed 7 --root {root}`" in cover
    (line,) = [x for x in text.splitlines() if x.startswith("| `origin=0__cap=50` | `")]
    command = re.search(r"\| `(lstm-proofs ablate [^`]*)` \|$", line).group(1)
    assert command.endswith(f"--seed 7 --trials 1 --max-sequences 50 --root {root}")
    capsys.readouterr()
    before = (root / "6a" / "origin=0__cap=50.json").read_text()
    assert main([*command.split()[1:], "--quiet"]) == 0  # resumes the matrix: nothing left to run
    assert (root / "6a" / "origin=0__cap=50.json").read_text() == before


def test_train_runs_a_reading_as_ablate_does(ablated, tmp_path, capsys, monkeypatch):
    """``train --reading NAME`` applies the reading as ``ablate --readings NAME`` does: the same trials (ablate adds
    only diagnostics), with the reading recorded and named in the default file name."""
    from lstm_proofs.training.presets import get_preset
    from lstm_proofs.training.readings import apply_reading
    from lstm_proofs.training.results import default_path

    out = tmp_path / "full.json"
    assert main(["train", "6a", "--reading", "gradient=full", "--trials", "2", "--max-sequences", "300", "--quiet",
                 "--json", str(out)]) == 0
    run = json.loads(out.read_text())
    assert run["settings"]["readings"] == ["gradient=full"] and run["settings"]["method"] == "bptt"
    trained = {r["trial"]: {k: r.get(k) for k in OUTCOME} for r in run["trials"]}
    ablate = {r["trial"]: {k: r.get(k) for k in OUTCOME}
              for r in _trials(ablated / "6a" / "gradient=full__cap=300.json")}
    assert trained == ablate
    p = get_preset("6a")
    assert default_path(*apply_reading((p, dict(p.task_options), p.update), "gradient=full")).name == \
        "6a__gradient=full.json"
    capsys.readouterr()
    assert main(["train", "6a", "--reading", "nope", "--trials", "1", "--json", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "reading 'nope' does not apply to row 6a; its readings: origin=0" in err[0]
    assert not (tmp_path / "x.json").exists()
