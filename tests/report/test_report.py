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


def _run(row, sequences, solved, cap, **settings):
    """A results file of ``row`` at the paper's reading with one trial per entry of ``sequences``."""
    from lstm_proofs.tasks import get_task
    from lstm_proofs.training.presets import get_preset
    from lstm_proofs.training.results import FORMAT, settings_of

    preset = get_preset(row)
    options = get_task(preset.task).options(**preset.task_options)
    stamp = [{"commit": "0123456789abcdef", "dirty": False, "trainer": "f" * 16}]
    trials = [{"trial": i, "solved": bool(ok), "stop": "criterion" if ok else "cap", "sequences": int(n),
               "seconds": 1.0, "code": stamp} for i, (n, ok) in enumerate(zip(sequences, solved))]
    st = {**settings_of(preset, 0, cap, options, preset.update, "numba"), **settings}
    return {"format": FORMAT, "row": row, "settings": st, "requested_trials": len(trials), "trials": trials}


def test_training_results_appear_next_to_the_paper_figures(results, tmp_path):
    (results / "train").mkdir()
    seqs = [20_000 + 1000 * i for i in range(20)]
    run = _run("6a", seqs, [True] * 20, 313_900)
    (results / "train" / "6a.json").write_text(json.dumps(run))
    out = build_report(results, tmp_path / "report")
    text = (out / "index.html").read_text()
    assert "<td>6a</td>" in text and "20/20 = 100% [83%, 100%]; paper&#x27;s 100% (implied) inside" in text
    assert "<td>29,000 [24,000, 34,000]</td><td>29,500</td>" in text  # KM median and interval; restricted mean
    assert "<td>reproduces</td><td>0123456 (trainer changed since)</td>" in text
    assert text.count("<svg") >= 2 and "Section 5.6, Table 9: temporal order" in text  # the flow plot and the figure
    md = (out / "report.md").read_text()
    assert "| 6a |" in md and "![Section 5.6, Table 9: temporal order](study-7.svg)" in md
    assert all((out / f"study-{i}.svg").read_text().startswith("<?xml") for i in range(1, 8))
    # the claim of Section 5.6 is judged from the row
    assert "Section 5.6, Table 9" in md and "**holds**" in md.split("Section 5.6, Table 9", 1)[1].split("\n", 1)[0]


def test_training_verdicts_follow_the_stated_rule():
    from lstm_proofs.report.build import training_verdict
    from lstm_proofs.training.presets import get_preset
    from lstm_proofs.training.study import row_report

    def rec(row, seqs, solved, cap):
        return training_verdict(row_report(get_preset(row), _run(row, seqs, solved, cap)))

    assert rec("6a", [30_000] * 20, [True] * 20, 313_900)["passed"]
    slow = rec("6a", [70_000] * 20, [True] * 20, 313_900)  # more than twice the paper's mean
    assert not slow["passed"] and not slow["inconclusive"] and "slower" in slow["title"]
    unreliable = rec("6a", [30_000] * 16 + [313_900] * 4, [True] * 16 + [False] * 4, 313_900)
    assert not unreliable["passed"] and "less reliable" in unreliable["title"]
    incomplete = rec("6a", [30_000] * 5, [True] * 5, 313_900)
    assert incomplete["inconclusive"] and not incomplete["passed"]
    base = rec("2a/bptt/p=100", [5_000_000] * 18, [False] * 18, 5_000_000)
    assert base["id"] == "train/baseline/2a/bptt/p=100" and base["passed"]
    assert rec("2a/bptt/p=100", [200_000] * 18, [False] * 18, 200_000)["inconclusive"]  # cap below the paper's
    assert not rec("2a/bptt/p=100", [100] * 6 + [5_000_000] * 12, [True] * 6 + [False] * 12, 5_000_000)["passed"]
