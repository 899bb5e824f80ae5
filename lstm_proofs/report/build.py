"""Collect the report's content (cells, derivations, generated code, checks, claims, flow, tasks) and write it.

The report reads results files (``checks.json``, ``flow.json``, ``train/*.json``) from a results directory; sections
whose results do not exist say so. The error-flow plot is drawn from ``flow.json`` in the report's figure style
(``flow.svg`` is read only where the JSON is missing). The report is written into a temporary directory and moved
into place at the end, so an interrupted run leaves no half-written report.
"""

from __future__ import annotations

import ast
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from lstm_proofs.cells import CELLS
from lstm_proofs.codegen.files import DERIVATIONS_DIR
from lstm_proofs.codegen.markdown import derivation_items
from lstm_proofs.derive import derive
from lstm_proofs.errors import UserError
from lstm_proofs.flow.plot import flow_svg
from lstm_proofs.flow.storage import readings_storage
from lstm_proofs.report.claims import CLAIMS, claim_verdict
from lstm_proofs.report.html import render_html
from lstm_proofs.report.markdown import render_report_markdown
from lstm_proofs.report.figures import readings_states_svg, study_figures
from lstm_proofs.report.model import (READINGS_FIGURE, REPORT_FILES, CellSection, ReportData, figure_file,
                                      trained_figure_file)
from lstm_proofs.training.ablation import AGREEING as LSTM_AGREEING, load_ablations
from lstm_proofs.training.presets import PRESETS, Preset
from lstm_proofs.training.provenance import trainer_fingerprint
from lstm_proofs.training.results import load_runs
from lstm_proofs.training.statistics import SPEED_FACTOR
from lstm_proofs.training.study import RowReport, row_report, study


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
    if flow is not None:  # drawn afresh, in the report's style, from the measurements
        svg: str | None = flow_svg(flow)
    else:
        svg = (results / "flow.svg").read_text() if (results / "flow.svg").exists() else None
    runs = load_runs(results / "train") if (results / "train").is_dir() else []
    rows = study(runs)
    data = ReportData(sections, checks, str(checks_path) if checks_path.exists() else None, flow, svg, runs, rows,
                      other_runs(runs, rows))
    data.figures = study_figures(rows) if runs else []
    if (results / "ablate").is_dir():
        data.readings = load_ablations(results / "ablate")
        data.readings_svg = readings_states_svg(data.readings)
        data.storage = readings_storage(data.readings)
    if (results / "flow_trained.json").exists():  # error flow in trained networks, drawn afresh per task
        from lstm_proofs.flow.plot import svg_text
        from lstm_proofs.flow.trained_plot import trained_figure

        data.trained_flow = _read_json(results / "flow_trained.json")
        tasks = dict.fromkeys(d["task"] for d in data.trained_flow.get("rows", []))
        data.trained_svgs = [(t, svg_text(trained_figure([d for d in data.trained_flow["rows"] if d["task"] == t])))
                             for t in tasks]
    verdicts = dict(checks)
    for rep in rows:
        rec = training_verdict(rep)
        if rec is not None:
            verdicts[rec["id"]] = rec
    data.claims = [(c, *claim_verdict(c, verdicts)) for c in CLAIMS]
    return data


#: Verdicts of a row (docs/statistics.md) under which it supports the paper's claim: LSTM rows that succeed more
#: often than printed still support "LSTM solves the task"; baselines that do contradict "baselines fail".
AGREEING = {"lstm": LSTM_AGREEING, "baseline": ("reproduces",)}


def training_verdict(rep: RowReport) -> dict[str, Any] | None:
    """A claim record for one table row from its statistics (None when the row has no finished trial).

    The record passes when the row's verdict (:func:`lstm_proofs.training.statistics.verdict`, stated in
    ``docs/statistics.md``) is one of :data:`AGREEING` for its kind; an ``inconclusive`` row is marked so, and a claim with such
    rows (and no failing one) is inconclusive. The record's figure is our restricted mean sequences to success over
    the paper's mean (None where the paper gives no mean).
    """
    if rep.stats is None or rep.verdict is None:
        return None
    p, st = rep.preset, rep.stats
    kind = "lstm" if p.method == "lstm" else "baseline"
    ratio = st.restricted_mean / p.paper.sequences if p.paper.sequences else None
    rate = "-" if p.paper.success_rate is None else f"{p.paper.success_rate:g}%"
    return {"id": f"train/{kind}/{p.row}", "passed": rep.verdict.verdict in AGREEING[kind],
            "inconclusive": rep.verdict.verdict == "inconclusive", "max_rel_error": ratio,
            "tolerance": SPEED_FACTOR if p.paper.sequences else None,
            "reference": f"the paper's {p.paper.table}",
            "title": f"{p.row}: {rep.verdict.verdict}; success {st.solved}/{st.trials} (paper {rate}); "
                     f"{rep.verdict.reason}"}


def other_runs(runs: list[dict[str, Any]], rows: list[RowReport],
               presets: tuple[Preset, ...] = PRESETS) -> list[tuple[dict[str, Any], RowReport | None]]:
    """The runs that represent no table row (another reading, or a further run at the paper's reading), each with
    its statistics (None for a row that is not declared), in file-name order."""
    chosen = {id(r.run) for r in rows if r.run is not None}
    by_row = {p.row: p for p in presets}
    current = trainer_fingerprint()
    out: list[tuple[dict[str, Any], RowReport | None]] = []
    for run in runs:
        if id(run) in chosen:
            continue
        preset = by_row.get(run["row"])
        out.append((run, None if preset is None else row_report(preset, run, current)))
    return out


def build_report(results: Path, out: Path, cells: list[str] | None = None) -> Path:
    """Write ``out/index.html``, ``out/report.md`` and the plot files; returns ``out``.

    The output is assembled in a temporary directory beside ``out`` and moved into place at the end.
    """
    data = load_report_data(results, cells)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        html_file, markdown_file, flow_file = REPORT_FILES
        (tmp / html_file).write_text(render_html(data))
        (tmp / markdown_file).write_text(render_report_markdown(data))
        if data.flow_svg is not None:
            (tmp / flow_file).write_text(data.flow_svg)
        for i, (_, svg) in enumerate(data.figures, 1):
            (tmp / figure_file(i)).write_text(svg)
        if data.readings_svg is not None:
            (tmp / READINGS_FIGURE).write_text(data.readings_svg)
        for task, svg in data.trained_svgs:
            (tmp / trained_figure_file(task)).write_text(svg)
        if out.exists():
            shutil.rmtree(out)
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
