"""The benchmark document is generated from the results file, and its projection inputs follow the task definitions."""

import json
from pathlib import Path

import pytest

from benchmarks import report
from benchmarks.paper_rows import ROWS, reber_mean_length

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results" / "benchmarks.json"


def test_embedded_reber_strings_have_twelve_symbols_on_average():
    assert reber_mean_length() == pytest.approx(12.0, abs=1e-12)


def test_rows_cover_the_paper_tables_with_their_trial_counts():
    assert len(ROWS) == 31
    assert {r.table for r in ROWS} >= {f"Table {i}" for i in range(1, 10)}
    assert all(r.trials in (10, 18, 20, 30) for r in ROWS)


@pytest.mark.skipif(not RESULTS.exists(), reason="no results/benchmarks.json (run python -m benchmarks)")
def test_checked_in_performance_page_is_generated_from_the_results_file():
    payload = json.loads(RESULTS.read_text())
    text = report.render(payload)
    assert (ROOT / "docs" / "performance.md").read_text() == text
    assert all(r.label in text for r in ROWS) and "**total**" in text
    assert [t["target"] for t in payload["targets"]] == [t["target"] for t in report.targets(payload)]


def test_weight_pass_floor_is_measured_for_the_headline_networks_and_rendered():
    pytest.importorskip("numba")
    from benchmarks import suite

    rows = suite.weight_passes(1)
    assert sorted(r["network"] for r in rows) == sorted(suite.HEADLINE)
    assert all(r["B1"]["min_us"] > 0 and r["lockstep"]["min_us"] > 0 for r in rows)
    if RESULTS.exists():
        payload = json.loads(RESULTS.read_text())
        payload["weight_passes"] = rows
        text = report.render(payload)
        assert "## A floor: one pass over the weights" in text
        assert all(f"| {r['network']} | {r['n_weights']} |" in text for r in rows)
        del payload["weight_passes"]
        assert "## A floor" not in report.render(payload)


def test_rounds_merge_to_the_smaller_minimum_and_median_and_keep_other_values():
    from benchmarks.suite import merge_rounds

    a = {"network": "x", "grad": {"numpy": {"min_us": 2.0, "median_us": 3.0, "repeats": 4}, "agreement": 1e-15},
         "none": None}
    b = {"network": "x", "grad": {"numpy": {"min_us": 1.5, "median_us": 3.5, "repeats": 4}, "agreement": 1e-15},
         "none": None}
    assert merge_rounds(a, b) == {"network": "x", "none": None,
                                  "grad": {"numpy": {"min_us": 1.5, "median_us": 3.0, "repeats": 8},
                                           "agreement": 1e-15}}


def test_cluster_projection_packs_core_hours_but_never_splits_a_trial():
    from benchmarks.cluster import projections

    rows = [{"trials": 10, "hours": 10.0}, {"trials": 20, "hours": 40.0}]  # 1 h and 2 h per trial
    out = {p["cores"]: p for p in projections(rows, efficiency=0.8)}
    assert out[1]["ideal_h"] == out[1]["expected_h"] == 50.0
    assert out[8]["ideal_h"] == 50.0 / 8 and out[8]["expected_h"] == pytest.approx(50.0 / 8 / 0.8)
    assert out[64]["ideal_h"] == 2.0  # the longest trial, not 50 / 64


@pytest.mark.skipif(not RESULTS.exists(), reason="no results/benchmarks.json (run python -m benchmarks)")
def test_checked_in_cluster_page_quotes_the_results_file():
    from lstm_proofs.commands.docs import replace_block

    doc = ROOT / "docs" / "cluster.md"
    payload = json.loads(RESULTS.read_text())
    assert replace_block(doc.read_text(), "cluster-figures", report.cluster_markdown(payload)) == doc.read_text()
    if "cluster" in payload:
        assert f"**{payload['cluster']['speedup_2_over_1_workers']:.2f}x**" in doc.read_text()


def test_rows_name_the_trainer_rows_with_the_same_trial_counts():
    from lstm_proofs.training.presets import get_preset

    assert len({r.row_id for r in ROWS}) == len(ROWS)
    for r in ROWS:
        assert get_preset(r.row_id).trials == r.trials, r.row_id  # the trainer runs the paper's count
        assert r.sequences > 0 and r.topology.n_weights == get_preset(r.row_id).topology.n_weights, r.row_id


def test_check_time_block_marks_a_run_over_the_limit():
    c = {"cpus": 2, "load_average_at_start": [0.5, 0.2, 0.1], "limit_s": 120.0,
         "cold": {"wall_s": 300.0, "cpu_s": 600.0, "exit": 0, "checks": 259},
         "warm": {"wall_s": 90.0, "cpu_s": 95.0, "exit": 0, "checks": 259}}
    text = report.check_time_markdown({"check": c})
    cold, warm = (line for line in text.splitlines() if line.startswith(("| cold", "| warm")))
    assert "300 s" in cold and "600 s" in cold and "**no** (2.5x)" in cold
    assert "90 s" in warm and warm.endswith("| yes |")
    assert "not measured" in report.check_time_markdown({})
    assert "runnable" not in text  # measured before the field existed
    assert "; 1 process(es) runnable at start" in report.check_time_markdown({"check": {**c, "runnable_at_start": 1}})


@pytest.mark.skipif(not RESULTS.exists(), reason="no results/benchmarks.json (run python -m benchmarks)")
def test_checked_in_verification_page_quotes_the_check_timing():
    from lstm_proofs.commands.docs import replace_block

    doc = ROOT / "docs" / "verification.md"
    payload = json.loads(RESULTS.read_text())
    assert replace_block(doc.read_text(), "check-time", report.check_time_markdown(payload)) == doc.read_text()


def test_versus_block_gives_both_figures_and_their_ratio():
    v = {"baseline": {"rev": "abc^", "commit": "1234567"}, "current": {"commit": "89abcde"}, "rounds": 3,
         "repeats": 5, "load_average_at_start": [0.5, 0.4, 0.3], "median_ratio": 0.9, "max_ratio": 1.25,
         "networks": [{"network": "Exp 1", "gradient_us": {"baseline": 2.0, "current": 2.5, "ratio": 1.25},
                       "learner_us": {"baseline": 0.8, "current": 0.6, "ratio": 0.75}}]}
    text = report.versus_markdown({"versus": v})
    assert "| Exp 1 | 2.00 | 2.50 | 1.25 | 0.800 | 0.600 | 0.75 |" in text
    assert "`89abcde` against `1234567` = `abc^`" in text and "**0.90**" in text and "largest: 1.25" in text
    assert "not measured" in report.versus_markdown({})


@pytest.mark.slow
def test_versus_times_two_trees_in_separate_processes():
    pytest.importorskip("numba")
    from benchmarks import versus

    out = versus.versus("HEAD", rounds=1, repeats=1)
    assert len(out["networks"]) >= 10
    assert all(row[f]["baseline"] > 0 and row[f]["current"] > 0 for row in out["networks"]
               for f in ("gradient_us", "learner_us"))


def test_a_full_run_keeps_the_versus_measurement_of_the_results_file(tmp_path, monkeypatch):
    """``--only versus`` is measured on its own; a full run, which does not measure it, keeps it."""
    import benchmarks.__main__ as entry

    payload = json.loads(RESULTS.read_text()) if RESULTS.exists() else pytest.skip("no results/benchmarks.json")
    versus = payload.pop("versus")
    monkeypatch.setattr(entry, "run", lambda *a, **k: json.loads(json.dumps(payload)))
    out, doc = tmp_path / "b.json", tmp_path / "performance.md"
    out.write_text(json.dumps({"versus": versus}))
    assert entry.main(["--json", str(out), "--doc", str(doc)]) == 0
    assert json.loads(out.read_text())["versus"] == versus and "per-cell loops" in doc.read_text()
    out.unlink()
    assert entry.main(["--json", str(out), "--doc", str(doc)]) == 0
    assert "versus" not in json.loads(out.read_text())


def test_a_full_run_refuses_a_corrupt_results_file_before_measuring(tmp_path, monkeypatch, capsys):
    import benchmarks.__main__ as entry

    def never(*a, **k):
        raise AssertionError("measured before the results file was read")

    monkeypatch.setattr(entry, "run", never)
    out = tmp_path / "b.json"
    out.write_text("{not json")
    assert entry.main(["--json", str(out), "--doc", str(tmp_path / "p.md")]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "p.md").exists()
