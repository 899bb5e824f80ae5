"""The report: well-formed, self-contained, complete, and its figures equal those in the results files."""

import html
import json
import re
import shutil
import xml.dom.minidom
from pathlib import Path

import pytest

from lstm_proofs.cells import CELLS
from lstm_proofs.cli import main
from lstm_proofs.report import build_report
from lstm_proofs.report.claims import CLAIMS
from lstm_proofs.report.html import _fmt

REPO_RESULTS = Path(__file__).resolve().parents[2] / "results"

CHECKS = {"passed": False, "checks": [
    {"id": "gradient/lstm1997/autograd", "passed": True, "max_rel_error": 3.21e-15, "tolerance": 1e-10,
     "title": "t", "reference": "HIPS autograd", "claim": "", "details": {}, "message": ""},
    {"id": "section3/logistic-derivative-max", "passed": False, "max_rel_error": None, "tolerance": None,
     "title": "t", "reference": "SymPy proof", "claim": "", "details": {}, "message": "wrong"},
]}


@pytest.fixture()
def results(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    (d / "checks.json").write_text(json.dumps(CHECKS))
    shutil.copy(REPO_RESULTS / "flow.json", d / "flow.json")
    shutil.copy(REPO_RESULTS / "flow.svg", d / "flow.svg")
    return d


def test_html_well_formed_self_contained_and_complete(results, tmp_path):
    out = build_report(results, tmp_path / "report")
    text = (out / "index.html").read_text()
    xml.dom.minidom.parseString(text.replace("<!DOCTYPE html>", ""))  # well-formed (XHTML-compatible)
    assert not re.search(r"<(script|link|img|iframe|object)\b", text)
    assert not re.search(r"\b(src|href)\s*=\s*\"(?!#)", text)  # nothing is loaded; only in-page anchors
    assert "@import" not in text and not re.search(r"url\((?!#)", text)  # only in-document references
    assert "<math" in text and "<svg" in text
    for name in CELLS:
        assert f'id="cell-{name}"' in text
    for claim in CLAIMS:
        assert html.escape(claim.statement) in text


def test_figures_and_verdicts_come_from_results_files(results, tmp_path):
    out = build_report(results, tmp_path / "report")
    text = (out / "index.html").read_text()
    row = re.search(r"<code>gradient/lstm1997/autograd</code></td><td>HIPS autograd</td><td>([^<]*)</td>", text)
    assert row and row.group(1) == _fmt(3.21e-15)
    flow = json.loads((results / "flow.json").read_text())
    for m in flow["measurements"]:
        assert re.search(rf"<code>{re.escape(m['id'])}</code></td><td>[^<]*</td><td>{re.escape(_fmt(m['figure']))}</td>", text)
    # the failed Section 3 check makes its claim fail; claims with no results say "not run"
    assert '<span class="fail">fails</span>' in text and '<span class="info">not run</span>' in text
    md = (out / "report.md").read_text()
    assert "$`" in md and "![error flow against lag](flow.svg)" in md and (out / "flow.svg").exists()
    assert "*Not run yet:* no training results" in md


def test_missing_results_say_so(tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    text = (build_report(empty, tmp_path / "r") / "index.html").read_text()
    assert text.count("Not run yet") >= 3


def test_corrupt_results_file_is_a_one_line_error(tmp_path, capsys):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "checks.json").write_text("{not json")
    (d / "flow.json").write_text(json.dumps({"measurements": []}))
    assert main(["report", "--out", str(tmp_path / "o"), "--results", str(d)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lstm-proofs: error:") and "not valid JSON" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_training_results_appear_next_to_the_paper_figures(results, tmp_path):
    (results / "train").mkdir()
    run = {"row": "6a", "settings": {"max_sequences": 313900, "backend": "numba"},
           "paper": {"table": "Table 9", "trials": 20, "success_rate": None, "sequences": 31390},
           "summary": {"trials": 20, "success_rate": 95.0, "mean_sequences": 28765.25}}
    (results / "train" / "6a.json").write_text(json.dumps(run))
    out = build_report(results, tmp_path / "report")
    text = (out / "index.html").read_text()
    cells = ["6a", "Table 9", "20 (20)", _fmt(95.0), _fmt(None), _fmt(28765.25), "31390", "313900", "numba"]
    assert "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>" in text
    md = (out / "report.md").read_text()
    assert "| " + " | ".join(cells) + " |" in md


def test_training_verdicts_follow_the_stated_rule():
    from lstm_proofs.report.build import training_verdict
    from lstm_proofs.tasks import get_task
    from lstm_proofs.training.presets import PRESETS
    from lstm_proofs.training.results import settings_of

    def run(row, rate, mean, paper_rate, paper_mean):
        preset = next(p for p in PRESETS if p.row == row)
        options = get_task(preset.task).options(**preset.task_options)
        return {"row": row, "settings": settings_of(preset, 0, 1000, options, preset.update),
                "summary": {"trials": 10, "success_rate": rate, "mean_sequences": mean},
                "paper": {"table": "T", "success_rate": paper_rate, "sequences": paper_mean}}

    assert training_verdict(run("6a", 100.0, 30000.0, None, 31390))["passed"]
    assert training_verdict(run("6a", 95.0, 62000.0, None, 31390))["passed"]
    assert not training_verdict(run("6a", 100.0, 63000.0, None, 31390))["passed"]  # more than twice the paper's
    assert not training_verdict(run("6a", 85.0, 30000.0, None, 31390))["passed"]  # too many failed trials
    rec = training_verdict(run("2a/bptt/p=100", 0.0, None, 0.0, None))
    assert rec["id"] == "train/baseline/2a/bptt/p=100" and rec["passed"]
    assert not training_verdict(run("2a/bptt/p=100", 5.0, 100.0, 0.0, None))["passed"]
    other = run("6a", 100.0, 30000.0, None, 31390)
    other["settings"]["update"] = "sequence"  # not the paper's settings: not judged
    assert training_verdict(other) is None
