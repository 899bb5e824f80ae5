"""The reproduction study's figures, one per table of the paper: success rate with its exact interval against the
paper's rate, and sequences to success relative to the paper's mean on a log scale.

Drawn from :class:`~lstm_proofs.training.study.RowReport` objects with matplotlib's object-oriented API and the Agg
canvas (no pyplot, no display), in the flow plot's size and font style (:data:`~lstm_proofs.flow.plot.FIGURE_STYLE`:
legible at the width the report shows them). Reference marks (the paper's rate, the paper's mean and the factor-2
band) are drawn beneath our figures. The SVG text is deterministic: a fixed hash salt and no date in the metadata.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from lstm_proofs.flow.plot import FIGURE_STYLE, FIGURE_WIDTH_INCHES, plain_log_ticks, svg_text
from lstm_proofs.training.statistics import SPEED_FACTOR
from lstm_proofs.training.study import RowReport

#: The figures: title and the paper tables whose rows they show.
FIGURE_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Section 5.1, Table 1: embedded Reber grammar", ("Table 1",)),
    ("Section 5.2, Table 2 and text: long time lags (2a, 2b)", ("Table 2", "Section 5.2 (text)")),
    ("Section 5.2, Table 3: very long lags (2c)", ("Table 3",)),
    ("Section 5.3, Tables 4-6: two-sequence problem", ("Table 4", "Table 5", "Table 6")),
    ("Section 5.4, Table 7: adding problem", ("Table 7",)),
    ("Section 5.5, Table 8: multiplication problem", ("Table 8",)),
    ("Section 5.6, Table 9: temporal order", ("Table 9",)),
)

OURS = "#1f77b4"  # our success rate and restricted mean
MEDIAN = "#2ca02c"  # our Kaplan-Meier median
PAPER = "#d62728"  # the paper's figures
PAPER_IMPLIED = "#f08c8c"  # the paper's rate implied by its means (it prints none)
REFERENCE = "#7f7f7f"  # reference lines: the paper's mean, the factor-2 band
NOT_RUN = "#666666"


def _ratio_limits(ratios: list[float]) -> tuple[float, float]:
    """Log-axis limits holding every plotted ratio and the factor-2 band around 1, with a margin."""
    lo = min([1 / SPEED_FACTOR, *ratios])
    hi = max([SPEED_FACTOR, *ratios])
    return lo / 1.6, hi * 1.6


def table_figure(title: str, rows: Sequence[RowReport]) -> Figure:
    """One table's figure (rows without finished trials are drawn as 'not run')."""
    n = len(rows)
    with matplotlib.rc_context(FIGURE_STYLE):
        fig = Figure(figsize=(FIGURE_WIDTH_INCHES, 2.7 + 0.36 * n), layout="constrained")
        FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2, sharey=True, width_ratios=(1, 1.25))
        ys = list(range(n))[::-1]
        ratios: list[float] = []
        no_mean: list[int] = []
        for y, rep in zip(ys, rows):
            paper = rep.preset.paper
            implied = paper.success_rate is None
            left.plot([100.0 if implied else paper.success_rate], [y], marker="D", markersize=10, linestyle="none",
                      markerfacecolor="none", markeredgewidth=1.8, color=PAPER_IMPLIED if implied else PAPER,
                      zorder=2)
            st = rep.stats
            if st is None:  # the note stays clear of the paper's mark
                left.text(25 if (paper.success_rate or 100.0) > 50 else 75, y, "not run", ha="center", va="center",
                          color=NOT_RUN)
                continue
            spread = [[100 * (st.rate - st.rate_low)], [100 * (st.rate_high - st.rate)]]
            left.errorbar([100 * st.rate], [y], xerr=spread, fmt="o", color=OURS, capsize=3, markersize=5, zorder=3)
            if not paper.sequences:
                no_mean.append(y)
                continue
            ratio = st.restricted_mean / paper.sequences
            right.plot([ratio], [y], marker=">" if st.censored else "o", color=OURS, linestyle="none", markersize=6,
                       zorder=3)
            ratios.append(ratio)
            if st.median_reached:
                med = st.median / paper.sequences
                lo = (st.median_low or st.median) / paper.sequences
                hi = (st.median_high or st.largest) / paper.sequences
                right.errorbar([med], [y + 0.25], xerr=[[med - lo], [hi - med]], fmt="s", color=MEDIAN, capsize=3,
                               markersize=5, zorder=3)
                ratios += [lo, hi]
            else:
                right.plot([st.largest / paper.sequences], [y + 0.25], marker=">", color=MEDIAN, linestyle="none",
                           markersize=6, zorder=3)
                ratios.append(st.largest / paper.sequences)
        left.set_xlim(-5, 105)
        left.set_xlabel("success rate (%)")
        left.set_title("Trials solved")
        left.set_yticks(ys, [r.preset.row for r in rows])
        left.set_ylim(-0.7, n - 0.3)
        left.grid(axis="x", alpha=0.3)

        right.set_xscale("log")
        right.set_xlim(*_ratio_limits(ratios))
        lo, hi = right.get_xlim()
        plain_log_ticks(right.xaxis, (1.0,) if math.log10(hi / lo) > 2.5 else (1.0, 2.0, 5.0))
        right.axvline(1.0, color=REFERENCE, linewidth=1.0, linestyle="--", zorder=1)
        right.axvspan(1 / SPEED_FACTOR, SPEED_FACTOR, color=REFERENCE, alpha=0.12, linewidth=0, zorder=0.5)
        on_axes = blended_transform_factory(right.transAxes, right.transData)
        for y in no_mean:
            right.text(0.5, y, "the paper gives no mean", transform=on_axes, ha="center", va="center", color=NOT_RUN)
        right.set_xlabel("sequences to success / the paper's mean (log scale)")
        right.set_title("Training sequences relative to the paper")
        right.grid(axis="x", which="major", alpha=0.3)

        def mark(marker: str, color: str, label: str, filled: bool = True) -> Line2D:
            return Line2D([], [], marker=marker, linestyle="none", color=color, markersize=7, label=label,
                          markerfacecolor=color if filled else "none", markeredgewidth=1.8 if not filled else 1.0)

        stated = [r.preset.paper.success_rate is not None for r in rows]
        rates = [mark("o", OURS, "ours, with its exact 95% interval")]
        if any(stated):
            rates.append(mark("D", PAPER, "the paper's rate", filled=False))
        if not all(stated):
            rates.append(mark("D", PAPER_IMPLIED, "the paper's rate implied by its means", filled=False))
        sequences = [
            mark("o", OURS, "our restricted mean (> where trials hit the cap)"),
            mark("s", MEDIAN, "our Kaplan-Meier median, 95% interval (> not reached)"),
            Line2D([], [], color=REFERENCE, linestyle="--", linewidth=1.0,
                   label=f"the paper's mean; shaded: within a factor of {SPEED_FACTOR:g}"),
        ]
        fig.legend(handles=rates, loc="outside lower left", frameon=False)
        fig.legend(handles=sequences, loc="outside lower right", frameon=False)
        fig.suptitle(title)
    return fig


def study_figures(reports: Sequence[RowReport]) -> list[tuple[str, str]]:
    """(title, SVG) for every table of :data:`FIGURE_TABLES` that has rows."""
    out = []
    for title, tables in FIGURE_TABLES:
        rows = [r for r in reports if r.preset.paper.table in tables]
        if rows:
            out.append((title, svg_text(table_figure(title, rows))))
    return out


def readings_states_svg(matrix: dict[str, list[Any]]) -> str | None:
    """The internal states of the default readings' trials during training (``lstm-proofs ablate``'s diagnostics)
    as SVG in the report's style, or None when no run has them."""
    from lstm_proofs.training.ablation import draw_states, state_panels

    panels = state_panels(matrix)
    if not panels:
        return None
    rows = (len(panels) + 2) // 3
    with matplotlib.rc_context(FIGURE_STYLE):
        fig = Figure(figsize=(FIGURE_WIDTH_INCHES, 3.4 * rows), layout="constrained")
        FigureCanvasAgg(fig)
        draw_states(fig, panels)
        for ax in fig.axes:  # plain numbers: mathtext powers of ten render too small at the page's width
            if ax.get_xscale() == "log":
                plain_log_ticks(ax.xaxis)
                plain_log_ticks(ax.yaxis, (1.0, 2.0, 5.0))
    return svg_text(fig)
