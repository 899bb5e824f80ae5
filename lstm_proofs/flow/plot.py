"""Plot of the error flow against the lag, drawn from the JSON document of ``lstm-proofs flow``.

Matplotlib's object-oriented API with the Agg canvas is used directly (no pyplot, no global backend switch), so
plotting works without a display and does not disturb other users of matplotlib in the same process.

The figure is sized for the report's page: :data:`FIGURE_WIDTH_INCHES` wide, it is shown at its natural size in the
report's text column, where every text of :data:`FIGURE_STYLE` (8.5 pt at the smallest) is at least 11 px high.
Tick labels are plain numbers (no mathtext exponents, whose superscripts would be smaller).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from lstm_proofs.errors import UserError
from lstm_proofs.results import atomic_file

#: File types the plot can be written as.
PLOT_SUFFIXES = (".svg", ".png")

#: Width of the flow plot and of the report's figures: 756 pt = 1,008 CSS px, narrower than the report's text column.
FIGURE_WIDTH_INCHES = 10.5
#: Font sizes (points) of every figure of the report; the smallest, 8.5 pt, is 11.3 CSS px at the natural size.
FIGURE_STYLE: dict[str, Any] = {
    "font.size": 10.0, "axes.titlesize": 11.0, "axes.labelsize": 10.0, "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0, "legend.fontsize": 8.5, "legend.title_fontsize": 9.0, "figure.titlesize": 12.0,
}
#: Settings that make the SVG text deterministic (no random ids, no date) and independent of installed fonts.
SVG_SETTINGS: dict[str, Any] = {"svg.hashsalt": "lstm-proofs", "svg.fonttype": "path"}

#: Measurements drawn in the left panel (all models, log10 |flow| against q), in drawing order.
_OVERVIEW = (
    "flow/lstm1997-truncated-constant", "flow/forget-product-of-gates", "flow/lstm1997-full-deviation",
    "flow/rnn-logistic-vanishing-rate", "flow/rnn-logistic-w6-stable-rate", "flow/rnn-logistic-exploding-fixed-point",
    "flow/rnn-logistic-exploding-rate", "flow/rnn-linear-decay-rate", "flow/rnn-linear-growth-rate",
)
#: Measurements drawn in the right panel (memory cells near 1, log-log).
_CELLS = ("flow/lstm1997-truncated-constant", "flow/lstm1997-full-deviation", "flow/forget-product-of-gates")
#: Markers that tell apart curves lying on top of each other (drawn at staggered lags).
_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">")
#: The truncated 1997 cell's flow (exactly 1) is drawn as a wide pale band beneath the other curves, so that curves
#: lying on it stay visible on top and the band stays visible around them.
_BAND = {"color": "#9e9e9e", "linewidth": 7.0, "alpha": 0.55, "solid_capstyle": "butt", "zorder": 1}


def check_plot_path(path: str | os.PathLike[str]) -> Path:
    """The plot path, if its suffix is a supported file type.

    Raises:
        UserError: for other suffixes.
    """
    p = Path(path)
    if p.suffix.lower() not in PLOT_SUFFIXES:
        raise UserError(f"--plot: file name must end in {' or '.join(PLOT_SUFFIXES)}, got {str(path)!r}")
    return p


def plain_number(value: float, _pos: object = None) -> str:
    """A tick label as a plain number (``0.001``, ``1``, ``100``), whole numbers with thousands separators."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


def plain_log_ticks(axis: Any, subs: tuple[float, ...] = (1.0,)) -> None:
    """Label a log-scaled axis with plain numbers at ``subs`` times the powers of ten, no minor labels."""
    axis.set_major_locator(LogLocator(base=10.0, subs=subs))
    axis.set_major_formatter(FuncFormatter(plain_number))
    axis.set_minor_formatter(NullFormatter())


def network_name(label: str) -> str:
    """A short name of a measured network from its series label: its weight distribution (``weights U[-1, 1]``)."""
    m = re.search(r"weights U\[[^\]]*\]", label)
    return m.group(0) if m else label.split(":")[0]


def _legend_below(ax: Axes, ncols: int = 1) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.13), ncols=ncols, frameon=False, borderaxespad=0.0)


def flow_figure(payload: dict[str, Any]) -> Figure:
    """The error-flow figure of a ``lstm-proofs flow --json`` document.

    Left: ``log10 |flow|`` against q (semilog) for every model: exponential decay and growth are straight lines,
    the truncated 1997 cell lies on 0 (flow exactly 1). Right: the memory cells on log-log axes near 1.
    """
    by_id = {m["id"]: m for m in payload["measurements"]}
    lags = payload["lags"]
    with matplotlib.rc_context(FIGURE_STYLE):
        fig = Figure(figsize=(FIGURE_WIDTH_INCHES, 7.6), layout="constrained")
        FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2, width_ratios=(1.2, 1))

        left.axhline(0.0, color="#555555", linewidth=0.8, linestyle="--", zorder=0.5)
        for k, mid in enumerate(_OVERVIEW):
            m = by_id.get(mid)
            if m is None or not m["series"]:
                continue
            y = [v if v is not None else float("nan") for v in m["series"][0]["flow_log10_abs"]]
            rate = f" (rate {m['measured_rate']:.4g})" if m["measured_rate"] is not None else ""
            if mid == "flow/lstm1997-truncated-constant":
                left.plot(lags, y, label=m["model"] + rate, **_BAND)
            else:
                left.plot(lags, y, marker=_MARKERS[k % len(_MARKERS)], markersize=4, markevery=(k % 4, 4),
                          linewidth=1.3, zorder=2, label=m["model"] + rate)
        left.set_xlabel("lag q (steps)")
        left.set_ylabel("log10 of |error flow|")
        left.set_title(f"Error flow against the lag, q = 1 to {plain_number(payload['settings']['max_lag'])}")
        left.grid(alpha=0.3)
        _legend_below(left)

        right.axhline(1.0, color="#555555", linewidth=0.8, linestyle="--", zorder=0.5)
        k = 0
        for mid in _CELLS:
            m = by_id.get(mid)
            if m is None:
                continue
            truncated = mid == "flow/lstm1997-truncated-constant"
            for s in m["series"][:1] if truncated else m["series"]:
                y = [abs(v) if v is not None else float("nan") for v in s["flow"]]
                if truncated:
                    right.plot(lags, y, label=f"{m['model']} (exactly 1, every network)", **_BAND)
                    continue
                right.plot(lags, y, marker=_MARKERS[k % len(_MARKERS)], markersize=4, markevery=(k % 5, 5),
                           linewidth=1.2, zorder=2, label=f"{m['model']}, {network_name(s['label'])}")
                k += 1
        right.set_xscale("log")
        right.set_yscale("log")
        right.set_ylim(1e-3, 1e2)
        plain_log_ticks(right.xaxis)
        plain_log_ticks(right.yaxis)
        right.set_xlabel("lag q (steps)")
        right.set_ylabel("|d s(t) / d s(t-q)|")
        right.set_title("Memory cells: error flow through the cell state")
        right.grid(alpha=0.3, which="both")
        _legend_below(right)
    return fig


def svg_text(fig: Figure) -> str:
    """The SVG of a figure as text, the same bytes for the same figure (no date, fixed ids)."""
    buf = io.StringIO()
    with matplotlib.rc_context(SVG_SETTINGS):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def flow_svg(payload: dict[str, Any]) -> str:
    """The error-flow figure of a ``lstm-proofs flow --json`` document as SVG text."""
    return svg_text(flow_figure(payload))


def plot_flow(payload: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Draw error flow against lag (:func:`flow_figure`) and save it as SVG or PNG (by extension).

    Args:
        payload: the JSON document written by ``lstm-proofs flow --json``.
        path: output file, ``.svg`` or ``.png``.
    """
    out = check_plot_path(path)
    fig = flow_figure(payload)
    fmt = out.suffix[1:].lower()
    # no creation date or random ids in the file: the same results give the same bytes
    with atomic_file(out, binary=True) as fh, matplotlib.rc_context(SVG_SETTINGS):
        fig.savefig(fh, format=fmt, metadata={"Date": None} if fmt == "svg" else {})
