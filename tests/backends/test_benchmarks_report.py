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
