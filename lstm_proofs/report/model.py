"""The report's data model: what the builder (``build``) collects and the renderers (``html``, ``markdown``) write.

Imports go one way: model, then the renderers (which import only the model), then ``build``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lstm_proofs.cells import CellDeclaration
from lstm_proofs.codegen.markdown import DerivedItem
from lstm_proofs.flow.storage import STORAGE_COLUMNS, StorageView, storage_lines
from lstm_proofs.report.claims import Claim
from lstm_proofs.training.ablation import (OVERVIEW_COLUMNS, OVERVIEW_TEXT, PAIRED_TEXT, READINGS_COLUMNS, ReadingRun,
                                          agreeing, overview_rows, reading_rows, same_outcomes_text)
from lstm_proofs.training.presets import Preset
from lstm_proofs.training.results import commit_text, fmt_count, paper_cell, reading_text, stats_cells
from lstm_proofs.training.study import RowReport

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
    readings: dict[str, list[ReadingRun]] = field(default_factory=dict)  # lstm-proofs ablate's runs by row
    readings_svg: str | None = None  # internal states of the default readings' trials during training
    storage: dict[str, StorageView] = field(default_factory=dict)  # Exp. 2 rows: what the trained networks store
    trained_flow: dict[str, Any] | None = None  # lstm-proofs flow --trained's document (flow_trained.json)
    trained_svgs: list[tuple[str, str]] = field(default_factory=list)  # (task, SVG) drawn from it


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


#: The fixed files of a report directory (besides its study figures, :func:`figure_file`).
REPORT_FILES = ("index.html", "report.md", "flow.svg")


def trained_figure_file(task: str) -> str:
    """The file name of the report's figure of error flow in the trained networks of ``task`` (``"*"``: the glob)."""
    return f"flow-trained-{task}.svg"

#: The report's figure of internal states during training (``lstm-proofs ablate``'s diagnostics).
READINGS_FIGURE = "readings-states.svg"
