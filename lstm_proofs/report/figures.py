"""The reproduction study's figures, one per table of the paper: success rate with its exact interval against the
paper's rate, and sequences to success relative to the paper's mean on a log scale.

Drawn from :class:`~lstm_proofs.training.study.RowReport` objects with matplotlib's object-oriented API and the Agg
canvas (no pyplot, no display). The SVG text is deterministic: a fixed hash salt and no date in the metadata.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

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


def table_figure(title: str, rows: Sequence[RowReport]) -> str:
    """The SVG of one table's figure (rows without finished trials are drawn as 'not run')."""
    n = len(rows)
    fig = Figure(figsize=(10.0, 0.9 + 0.32 * n))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [1, 1.3]})
    ys = list(range(n))[::-1]
    labels = [r.preset.row for r in rows]
    for y, rep in zip(ys, rows):
        paper = rep.preset.paper
        rate = 100.0 if paper.success_rate is None else paper.success_rate
        left.plot([rate], [y], marker="D", color="#d62728", markersize=6, linestyle="none",
                  fillstyle="full" if paper.success_rate is not None else "none")
        st = rep.stats
        if st is None:
            left.text(50, y, "not run", ha="center", va="center", fontsize=8, color="#777777")
            continue
        left.errorbar([100 * st.rate], [y], xerr=[[100 * (st.rate - st.rate_low)], [100 * (st.rate_high - st.rate)]],
                      fmt="o", color="#1f77b4", capsize=3, markersize=5)
        if paper.sequences:
            ratio = st.restricted_mean / paper.sequences
            right.plot([ratio], [y], marker=">" if st.censored else "o", color="#1f77b4", linestyle="none",
                       markersize=6)
            if st.median_reached:
                lo = (st.median_low or st.median) / paper.sequences
                hi = (st.median_high or st.largest) / paper.sequences
                right.errorbar([st.median / paper.sequences], [y + 0.22],
                               xerr=[[st.median / paper.sequences - lo], [hi - st.median / paper.sequences]],
                               fmt="s", color="#2ca02c", capsize=3, markersize=4)
            else:
                right.plot([st.largest / paper.sequences], [y + 0.22], marker=">", color="#2ca02c",
                           linestyle="none", markersize=5)
    left.set_xlim(-5, 105)
    left.set_xlabel("success % (blue: ours with exact 95% interval; red: paper, open = implied)")
    left.set_yticks(ys, labels, fontsize=8)
    left.grid(axis="x", alpha=0.3)
    right.set_xscale("log")
    right.axvline(1.0, color="#d62728", linewidth=1)
    for f in (0.5, 2.0):
        right.axvline(f, color="#d62728", linewidth=0.6, linestyle=":")
    right.set_xlabel("sequences / paper's mean (blue: restricted mean, > censored; green: KM median, 95% CI)")
    right.grid(axis="x", which="both", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "lstm-proofs", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def study_figures(reports: Sequence[RowReport]) -> list[tuple[str, str]]:
    """(title, SVG) for every table of :data:`FIGURE_TABLES` that has rows."""
    out = []
    for title, tables in FIGURE_TABLES:
        rows = [r for r in reports if r.preset.paper.table in tables]
        if rows:
            out.append((title, table_figure(title, rows)))
    return out
