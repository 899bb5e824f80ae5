"""Plot of the error flow against the lag, drawn from the JSON document of ``lstm-proofs flow``.

Matplotlib's object-oriented API with the Agg canvas is used directly (no pyplot, no global backend switch), so
plotting works without a display and does not disturb other users of matplotlib in the same process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lstm_proofs.errors import UserError

#: File types the plot can be written as.
PLOT_SUFFIXES = (".svg", ".png")

#: Measurements drawn in the left panel (all models, log10 |flow| against q), in drawing order.
_OVERVIEW = (
    "flow/lstm1997-truncated-constant", "flow/forget-product-of-gates", "flow/lstm1997-full-deviation",
    "flow/rnn-logistic-vanishing-rate", "flow/rnn-logistic-w6-stable-rate", "flow/rnn-logistic-exploding-fixed-point",
    "flow/rnn-logistic-exploding-rate", "flow/rnn-linear-decay-rate", "flow/rnn-linear-growth-rate",
)
#: Measurements drawn in the right panel (memory cells near 1, log-log).
_CELLS = ("flow/lstm1997-truncated-constant", "flow/lstm1997-full-deviation", "flow/forget-product-of-gates")


def check_plot_path(path: str | os.PathLike[str]) -> Path:
    """The plot path, if its suffix is a supported file type.

    Raises:
        UserError: for other suffixes.
    """
    p = Path(path)
    if p.suffix.lower() not in PLOT_SUFFIXES:
        raise UserError(f"--plot: file name must end in {' or '.join(PLOT_SUFFIXES)}, got {str(path)!r}")
    return p


def plot_flow(payload: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Draw error flow against lag, one curve per model, and save it as SVG or PNG (by extension).

    Left: ``log10 |flow|`` against q (semilog) for every model: exponential decay and growth are straight lines,
    the truncated 1997 cell lies on 0 (flow exactly 1). Right: the memory cells on log-log axes near 1.

    Args:
        payload: the JSON document written by ``lstm-proofs flow --json``.
        path: output file, ``.svg`` or ``.png``.
    """
    out = check_plot_path(path)
    by_id = {m["id"]: m for m in payload["measurements"]}
    lags = payload["lags"]
    fig = Figure(figsize=(13, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, width_ratios=(1.35, 1))

    for mid in _OVERVIEW:
        m = by_id.get(mid)
        if m is None or not m["series"]:
            continue
        s = m["series"][0]
        y = [v if v is not None else float("nan") for v in s["flow_log10_abs"]]
        truncated = mid == "flow/lstm1997-truncated-constant"
        label = m["model"] + (f" (rate {m['measured_rate']:.4g})" if m["measured_rate"] is not None else "")
        left.plot(lags, y, marker="o", markersize=2.5, linewidth=2.6 if truncated else 1.2,
                  color="black" if truncated else None, zorder=5 if truncated else 2, label=label)
    left.axhline(0.0, color="grey", linewidth=0.6, linestyle=":")
    left.set_xlabel("lag q (steps)")
    left.set_ylabel("log10 |error flow|")
    left.set_title(f"Error flow over q = 1 ... {payload['settings']['max_lag']}")
    left.legend(fontsize=7, loc="lower left")
    left.grid(alpha=0.3)

    for mid in _CELLS:
        m = by_id.get(mid)
        if m is None:
            continue
        truncated = mid == "flow/lstm1997-truncated-constant"
        series = m["series"][:1] if truncated else m["series"]
        for i, s in enumerate(series):
            y = [abs(v) if v is not None else float("nan") for v in s["flow"]]
            right.plot(lags, y, marker="o" if truncated else None, markersize=3, linewidth=2.6 if truncated else 1.0,
                       color="black" if truncated else None, zorder=5 if truncated else 2,
                       label=f"{m['model']} (exactly 1)" if truncated else f"{m['model']}, network {i + 1}")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_ylim(1e-3, 1e2)
    right.set_xlabel("lag q (steps)")
    right.set_ylabel("|d s(t) / d s(t-q)|")
    right.set_title("Memory cells (networks as listed in the JSON)")
    right.legend(fontsize=7, loc="lower left")
    right.grid(alpha=0.3, which="both")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{out.suffix}")
    try:
        fmt = out.suffix[1:].lower()
        # no creation date or random ids in the file: the same results give the same bytes
        meta = {"Date": None} if fmt == "svg" else {}
        with matplotlib.rc_context({"svg.hashsalt": "lstm-proofs"}):
            fig.savefig(tmp, format=fmt, metadata=meta)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
