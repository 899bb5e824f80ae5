"""Collect the report's content (cells, derivations, generated code, checks, claims, flow, tasks) and write it.

The report reads results files (``checks.json``, ``flow.json``, ``train/*.json``) from a results directory; sections
whose results do not exist say so. It is written into a temporary directory and moved into place at the end, so an
interrupted run leaves no half-written report.
"""

from __future__ import annotations

import ast
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lstm_proofs.cells import CELLS, CellDeclaration
from lstm_proofs.codegen.files import DERIVATIONS_DIR
from lstm_proofs.codegen.markdown import DerivedItem, derivation_items
from lstm_proofs.derive import derive
from lstm_proofs.errors import UserError
from lstm_proofs.report.claims import CLAIMS, Claim, claim_verdict
from lstm_proofs.training.presets import PRESETS
from lstm_proofs.training.results import is_paper_setting

#: Which generated function implements which kind of derived result.
KERNEL_OF_KIND = {"F": "cell_forward", "L": "cell_partials", "BT": "cell_adjoint_truncated", "B": "cell_adjoint",
                  "T": "cell_traces", "X": "cell_exit"}
#: The network-level functions and the paper's equations they implement.
NETWORK_FUNCTIONS = {
    "forward_step": "Section 5 timing; eqs. (6)-(9) and the output units",
    "backward_step": "one step of backpropagation through time (full or truncated, Appendix A.1)",
    "learner_step": "the paper's online learner: eqs. (19)-(28) with forward traces (25), (27)",
    "forward_sequence": "forward_step over whole sequences, step-independent work outside the time loop",
    "gradient_sequence": "backpropagation through time over whole sequences: cell_partials per chunk of steps, "
                         "cell_adjoint per step",
    "learner_sequence": "learner_step over whole sequences with the weight changes of eq. (17) applied (per step "
                        "or per sequence)",
}


@dataclass
class CellSection:
    """What the report shows for one cell."""

    cell: CellDeclaration
    items: list[DerivedItem]
    code: dict[str, str]  # generated function name -> source


@dataclass
class ReportData:
    """Everything the writers need."""

    cells: list[CellSection]
    checks: dict[str, dict[str, Any]]
    checks_source: str | None
    flow: dict[str, Any] | None
    flow_svg: str | None
    training: list[dict[str, Any]]
    claims: list[tuple[Claim, str, list[dict[str, Any]]]] = field(default_factory=list)


def generated_functions(cell: str) -> dict[str, str]:
    """Source text of each top-level function of the generated module ``derivations/<cell>.py``."""
    path = DERIVATIONS_DIR / f"{cell}.py"
    text = path.read_text()
    tree = ast.parse(text)
    return {node.name: ast.get_source_segment(text, node) or "" for node in tree.body if isinstance(node, ast.FunctionDef)}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def load_checks(path: Path) -> dict[str, dict[str, Any]]:
    """Check records by id from a ``lstm-proofs check --json`` file."""
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise UserError(f"{path}: not a check results file (expected an object with a 'checks' list)")
    return {rec["id"]: rec for rec in data["checks"] if isinstance(rec, dict) and "id" in rec}


def load_report_data(results: Path, cells: list[str] | None = None) -> ReportData:
    """Read the results directory and derive the cells.

    Args:
        results: directory holding ``checks.json``, ``flow.json`` (+ ``flow.svg``), ``train/*.json``; any may be
            missing.
        cells: cells to include (default: all declared cells).

    Returns:
        The report's content.
    """
    sections = []
    for name in cells or list(CELLS):
        sections.append(CellSection(CELLS[name], derivation_items(derive(CELLS[name])), generated_functions(name)))
    checks_path = results / "checks.json"
    checks = load_checks(checks_path) if checks_path.exists() else {}
    flow = _read_json(results / "flow.json") if (results / "flow.json").exists() else None
    if flow is not None:
        for m in flow.get("measurements", []):
            checks.setdefault(m["id"], {"id": m["id"], "passed": m["passed"], "max_rel_error": m.get("figure"),
                                        "tolerance": m.get("tolerance"), "title": m.get("title", ""),
                                        "reference": m.get("reference", ""), "claim": m.get("claim", "")})
    svg = (results / "flow.svg").read_text() if (results / "flow.svg").exists() else None
    training = []
    for path in sorted((results / "train").glob("*.json")) if (results / "train").is_dir() else []:
        data = _read_json(path)
        if isinstance(data, dict):
            data.setdefault("_file", path.name)
            training.append(data)
    data = ReportData(sections, checks, str(checks_path) if checks_path.exists() else None, flow, svg, training)
    verdicts = dict(checks)
    for run in training:
        rec = training_verdict(run)
        if rec is not None:
            verdicts[rec["id"]] = rec
    data.claims = [(c, *claim_verdict(c, verdicts)) for c in CLAIMS]
    return data


#: A trained row agrees with the paper when its success rate is at most this many points below the paper's ...
SUCCESS_SLACK = 10.0
#: ... and its mean sequences to success are within this factor of the paper's (issue 4's criterion).
SEQUENCES_FACTOR = 2.0


def training_verdict(run: dict[str, Any]) -> dict[str, Any] | None:
    """A claim record for one results file of ``lstm-proofs train`` run at the paper's settings (else None).

    LSTM rows (id ``train/lstm/<row>``) hold when the measured success rate is at most :data:`SUCCESS_SLACK` points
    below the paper's (100% where the paper prints no rate) and the mean number of training sequences to success is
    within a factor :data:`SEQUENCES_FACTOR` of the paper's. Baseline rows (``train/baseline/<row>``) whose paper
    figure is 0% hold when no trial succeeds. The record's figure is measured / paper mean sequences.
    """
    preset = next((p for p in PRESETS if p.row == run.get("row")), None)
    summary, paper = run.get("summary") or {}, run.get("paper") or {}
    try:
        paper_setting = preset is not None and is_paper_setting(preset, run.get("settings") or {})
    except (KeyError, TypeError):  # an incomplete results file is shown in the table but not judged
        paper_setting = False
    if not paper_setting or not summary.get("trials"):
        return None
    rate, paper_rate = summary.get("success_rate") or 0.0, paper.get("success_rate")
    mean, paper_mean = summary.get("mean_sequences"), paper.get("sequences")
    ratio = mean / paper_mean if mean and paper_mean else None
    if preset.method != "lstm" and paper_rate == 0:
        passed, kind = rate == 0, "baseline"
    else:
        kind = "lstm" if preset.method == "lstm" else "baseline"
        passed = (rate >= (100.0 if paper_rate is None else paper_rate) - SUCCESS_SLACK
                  and (paper_mean is None or (ratio is not None and 1 / SEQUENCES_FACTOR <= ratio <= SEQUENCES_FACTOR)))
    return {"id": f"train/{kind}/{preset.row}", "passed": bool(passed), "max_rel_error": ratio,
            "tolerance": SEQUENCES_FACTOR if paper_mean else None, "reference": f"the paper's {paper.get('table')}",
            "title": f"{preset.row}: success {rate:.0f}% (paper {paper_rate if paper_rate is not None else '-'}%), "
                     f"mean sequences {mean if mean is None else round(mean)} (paper {paper_mean})"}


#: Columns of the task-results table: measured figures next to the paper's.
TRAINING_COLUMNS = ("row", "paper table", "trials (paper)", "success % (measured)", "success % (paper)",
                    "mean sequences to success (measured)", "mean sequences (paper)", "sequence cap", "kernels")


def training_rows(runs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """One row per results file of ``lstm-proofs train`` (columns :data:`TRAINING_COLUMNS`)."""
    rows = []
    for run in runs:
        s = run.get("summary") if isinstance(run.get("summary"), dict) else {}
        p = run.get("paper") if isinstance(run.get("paper"), dict) else {}
        st = run.get("settings") if isinstance(run.get("settings"), dict) else {}
        rows.append((run.get("row", run.get("_file")), p.get("table"), f"{s.get('trials')} ({p.get('trials')})",
                     s.get("success_rate"), p.get("success_rate"), s.get("mean_sequences"), p.get("sequences"),
                     st.get("max_sequences"), st.get("backend", "numpy")))
    return rows


def build_report(results: Path, out: Path, cells: list[str] | None = None) -> Path:
    """Write ``out/index.html``, ``out/report.md`` and the plot files; returns ``out``.

    The output is assembled in a temporary directory beside ``out`` and moved into place at the end.
    """
    from lstm_proofs.report.html import render_html
    from lstm_proofs.report.markdown import render_report_markdown

    data = load_report_data(results, cells)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "index.html").write_text(render_html(data))
        (tmp / "report.md").write_text(render_report_markdown(data))
        if data.flow_svg is not None:
            (tmp / "flow.svg").write_text(data.flow_svg)
        if out.exists():
            shutil.rmtree(out)
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
