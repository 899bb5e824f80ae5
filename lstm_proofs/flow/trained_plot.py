"""Figure of ``lstm-proofs flow --trained``: the error reaching the informative input against the lag, per trained
network, drawn from the command's JSON document (LSTM trials solved and failed, conventional nets).

Left panel: ``log10 |error at the informative input|`` per unit error at the target step, one point per sequence
and informative step (final weights): LSTM with the truncated gradient (the error at the cell's net input, best
cell), and conventional nets (the hidden unit's error, with the decay line of their measured rate per step from
the target step). Middle panel: the error carried by the CEC from the target to the informative step with the
full gradient (the truncated gradient carries exactly 1, drawn as a band). Right panel: the median error at the
informative input of each trial at every stored stage of training (initial weights, snapshots, final).
"""

from __future__ import annotations

import math
import os
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from lstm_proofs.flow.plot import FIGURE_STYLE, FIGURE_WIDTH_INCHES, SVG_SETTINGS, check_plot_path, plain_number
from lstm_proofs.results import atomic_file

_COLOURS = {"solved": "#1f77b4", "failed": "#d62728"}
#: One colour per conventional row of a figure, in order.
_CONVENTIONAL = ("#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _kind(doc: dict[str, Any], trial: dict[str, Any]) -> str:
    if doc["method"] != "lstm":
        return "conventional"
    return "solved" if trial["solved"] else "failed"


def trained_figure(docs: list[dict[str, Any]]) -> Figure:
    """The figure of one or more measured rows (see the module docstring)."""
    with matplotlib.rc_context(FIGURE_STYLE):
        fig = Figure(figsize=(FIGURE_WIDTH_INCHES, 4.4), layout="constrained")
        FigureCanvasAgg(fig)
        left, right, during = fig.subplots(1, 3)
        seen: set[str] = set()
        conventional = [d["row"] for d in docs if d["method"] != "lstm"]
        for doc in docs:
            colour = {**_COLOURS, "conventional": _CONVENTIONAL[conventional.index(doc["row"]) % len(_CONVENTIONAL)]
                      if doc["row"] in conventional else "#7f7f7f"}
            for trial in doc["trials"]:
                kind = _kind(doc, trial)
                final = trial["stages"][-1]
                xs = [max(s["sequences"], 1) for s in trial["stages"]]
                ys = [s["median_log10_at_info"] for s in trial["stages"]]
                during.plot(xs, [math.nan if y is None else y for y in ys], color=colour[kind], lw=0.8,
                            marker="s" if kind == "conventional" else ("o" if kind == "solved" else "x"), ms=3)
                label = f"{doc['row']} {kind}" if (doc["row"], kind) not in seen else None
                seen.add((doc["row"], kind))  # type: ignore[arg-type]
                if kind == "conventional":
                    lags = [q for r in final["readings"] for q in r["lags"]]
                    vals = [v for r in final["readings"] for v in r["log10_at_info"]]
                    left.scatter(lags, vals, s=14, marker="s", color=colour[kind], label=label, zorder=3)
                    rate = final["median_measured_rate"]
                    if rate and rate > 0:
                        q = max(lags)
                        left.plot([0, q], [0, q * math.log10(rate)], color=colour[kind], lw=1.2, ls="--",
                                  zorder=2)
                    continue
                readings = final["readings"]
                left.scatter([r["lag"] for r in readings], [r["log10_trunc_c"] for r in readings], s=12,
                             marker="o" if kind == "solved" else "x", color=colour[kind], label=label, zorder=3)
                right.scatter([r["lag"] for r in readings], [r["log10_cec_full"] for r in readings], s=10,
                              marker="o" if kind == "solved" else "x", color=colour[kind], zorder=3,
                              label=f"{doc['row']} {kind} (full gradient)" if label else None)
        xmax = max([1, *(q for d in docs for t in d["trials"] for s in t["stages"] for q in (s["lags"] or [1]))])
        right.plot([0, xmax], [0, 0], color="#9e9e9e", lw=7, alpha=0.55, zorder=1,
                   label="truncated gradient: exactly 1 (eq. 35)")
        left.set_xlabel("lag q = target step - informative step")
        left.set_ylabel("log10 |error at the informative input|")
        left.set_title("error reaching the informative input (final weights)")
        right.set_xlabel("lag q")
        right.set_ylabel("log10 |state error at q| / |at target|")
        right.set_title("error carried by the CEC")
        during.set_xscale("log")  # plain tick labels every two decades (no mathtext exponents, which are smaller)
        during.xaxis.set_major_locator(LogLocator(base=100.0))
        during.xaxis.set_major_formatter(FuncFormatter(plain_number))
        during.xaxis.set_minor_formatter(NullFormatter())
        during.set_xlabel("training sequences (0 drawn at 1)")
        during.set_ylabel("median log10 |error at the informative input|")
        during.set_title("during training (stored stages)")
        during.grid(True, alpha=0.3)
        for ax in (left, right):
            ax.grid(True, alpha=0.3)
            ax.legend(loc="lower left")
    return fig


def plot_trained(docs: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Draw :func:`trained_figure` to an SVG or PNG file, atomically, with deterministic SVG bytes."""
    out = check_plot_path(path)
    fig = trained_figure(docs)
    fmt = out.suffix[1:].lower()
    # no creation date or random ids in the file: the same results give the same bytes
    with atomic_file(out, binary=True) as fh, matplotlib.rc_context(SVG_SETTINGS):
        fig.savefig(fh, format=fmt, metadata={"Date": None} if fmt == "svg" else {})
