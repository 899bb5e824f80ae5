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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lstm_proofs.cells import CELLS, CellDeclaration
from lstm_proofs.codegen.files import DERIVATIONS_DIR
from lstm_proofs.codegen.markdown import DerivedItem, derivation_items
from lstm_proofs.derive import derive
from lstm_proofs.errors import UserError
from lstm_proofs.flow.plot import flow_svg
from lstm_proofs.report.claims import CLAIMS, Claim, claim_verdict
from lstm_proofs.report.figures import study_figures
from lstm_proofs.training.presets import PRESETS, Preset
from lstm_proofs.training.provenance import trainer_fingerprint
from lstm_proofs.training.results import commit_text, fmt_count, load_runs, paper_cell, reading_text, stats_cells
from lstm_proofs.training.statistics import SPEED_FACTOR
from lstm_proofs.training.study import RowReport, row_report, study

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
    rows: list[RowReport] = field(default_factory=list)  # one per table row, from its run at the paper's reading
    others: list[tuple[dict[str, Any], RowReport | None]] = field(default_factory=list)  # the other runs
    claims: list[tuple[Claim, str, list[dict[str, Any]]]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (title, SVG) per table of the paper
    trained_flow: dict[str, Any] | None = None  # lstm-proofs flow --trained's document (flow_trained.json)
    trained_svgs: list[tuple[str, str]] = field(default_factory=list)  # (task, SVG) drawn from it


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
AGREEING = {"lstm": ("reproduces", "faster", "more reliable"), "baseline": ("reproduces",)}


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


#: Columns of the task-results table.
TRAINING_COLUMNS = ("row", "reading", "paper", "trials", "success k/n [95% CI]", "median sequences [95% CI]",
                    "restricted mean (to the cap)", "solved-only mean", "censored", "cap", "verdict", "commit")
#: Columns of the table of the other runs (the file instead of the paper's figures).
OTHER_COLUMNS = ("row", "reading", "file", *TRAINING_COLUMNS[3:])


def run_reading(preset: Preset, run: dict[str, Any]) -> str:
    """How a run departs from the paper's reading of its row, in words: the departures of
    :func:`~lstm_proofs.training.results.reading_text` (task options, update timing, construction, ST3 error) and a
    sequence cap other than the row's (``cap=500,000``); ``paper`` when there are none."""
    text = reading_text(preset, run["settings"])
    cap = int(run["settings"]["max_sequences"])
    if cap == preset.max_sequences:
        return text
    return ("" if text == "paper" else text + ", ") + f"cap={fmt_count(cap)}"


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


def figure_text(value: Any) -> str:
    """A figure for the report's tables: counts (integers, and whole numbers from 1,000 on) with thousands
    separators, other numbers (and counts beyond 10^12) to 3 significant digits, text as it is, ``–`` for None."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and 1000 <= abs(value) < 1e12 else f"{value:.3g}"
    return str(value)


def _trials(rep: RowReport) -> str:
    return f"{fmt_count(rep.finished)} of {fmt_count(rep.preset.paper.trials)}"


def training_rows(rows: list[RowReport]) -> list[tuple[Any, ...]]:
    """One line per table row with finished trials (columns :data:`TRAINING_COLUMNS`)."""
    out = []
    for rep in rows:
        if rep.stats is None or rep.run is None:
            continue
        cells = stats_cells(rep)
        out.append((rep.preset.row, run_reading(rep.preset, rep.run), paper_cell(rep.preset), _trials(rep),
                    *cells[:5], fmt_count(rep.cap), cells[5], commit_text(rep, plain=True)))
    return out


def other_training_rows(others: list[tuple[dict[str, Any], RowReport | None]]) -> list[tuple[Any, ...]]:
    """One line per other run (columns :data:`OTHER_COLUMNS`), labelled by its reading."""
    out = []
    for run, rep in others:
        name = Path(run["path"]).name
        if rep is None:
            out.append((run["row"], "unknown row", name, fmt_count(len(run["trials"])),
                        *["-"] * (len(OTHER_COLUMNS) - 4)))
            continue
        cells = stats_cells(rep)
        out.append((rep.preset.row, run_reading(rep.preset, run), name, _trials(rep), *cells[:5], fmt_count(rep.cap),
                    cells[5], commit_text(rep, plain=True)))
    return out


def figure_file(index: int | str) -> str:
    """The file name of the report's ``index``-th study figure (1-based; ``"*"`` gives the glob of them all)."""
    return f"study-{index}.svg"


def trained_figure_file(task: str) -> str:
    """The file name of the report's figure of error flow in the trained networks of ``task`` (``"*"``: the glob)."""
    return f"flow-trained-{task}.svg"


#: The fixed files of a report directory (besides its study figures, :func:`figure_file`, and the trained-flow
#: figures, :func:`trained_figure_file`).
REPORT_FILES = ("index.html", "report.md", "flow.svg")


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
        html_file, markdown_file, flow_file = REPORT_FILES
        (tmp / html_file).write_text(render_html(data))
        (tmp / markdown_file).write_text(render_report_markdown(data))
        if data.flow_svg is not None:
            (tmp / flow_file).write_text(data.flow_svg)
        for i, (_, svg) in enumerate(data.figures, 1):
            (tmp / figure_file(i)).write_text(svg)
        for task, svg in data.trained_svgs:
            (tmp / trained_figure_file(task)).write_text(svg)
        if out.exists():
            shutil.rmtree(out)
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
