"""``lstm-proofs flow``: measure the error flow back over lags q = 1 ... max_lag with the generated kernels."""

from __future__ import annotations

import argparse
import time
from typing import Any

from lstm_proofs.commands.arguments import int_arg
from lstm_proofs.commands.outputs import force_flag, head_contains, json_with, output_file
from lstm_proofs.errors import UserError

#: Largest --max-lag accepted (runtime grows linearly with it).
MAX_LAG_LIMIT = 100_000


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``flow`` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser(
        "flow", help="error flow against lag (Section 3, Appendix A.2), measured with the generated kernels",
        description="Inject an error at the last step of random networks and measure where it arrives q = 1 ... "
                    "max-lag steps earlier, using the generated kernels: the truncated 1997 CEC (exactly 1), its "
                    "entry and exit scaling (eqs. 40, 41), the full gradient, the forget-gate cell, and conventional "
                    "units below and above |f'(net) w| = 1 (eqs. 1, 2) with the norm bound of Section 3.1. Prints a "
                    "summary table; exits 1 if a claim fails.")
    p.add_argument("--max-lag", default="1000", metavar="Q", help="largest lag q (default 1000)")
    p.add_argument("--seed", default="0", metavar="S", help="seed of the random networks and inputs (default 0)")
    p.add_argument("--json", metavar="PATH", help="write every series and figure to this JSON file")
    p.add_argument("--plot", metavar="PATH", help="draw error flow against lag to this .svg or .png file")
    force_flag(p)
    p.set_defaults(func=run)



def format_table(payload: dict[str, Any], markdown: bool = False) -> str:
    """The summary table of a flow run (from its JSON document).

    Args:
        payload: the document written by ``--json``.
        markdown: a Markdown table instead of aligned text.

    Returns:
        The table, one line per measurement.
    """
    header = ("check", "model", "predicted rate", "measured rate", "rel. deviation / figure", "tolerance", "verdict")
    rows = []
    for m in payload["measurements"]:
        verdict = ("info" if m["passed"] else "FAIL (info)") if m["informational"] else \
            ("pass" if m["passed"] else "FAIL")
        rows.append((m["id"], m["model"], _num(m["predicted_rate"], 7), _num(m["measured_rate"], 7),
                     _num(m["figure"], 3), "-" if m["tolerance"] is None else _num(m["tolerance"], 3), verdict))
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(f"`{r[0]}`" if i == 0 else r[i] for i in range(len(r))) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), *(fmt.format(*r) for r in rows)])


def format_markdown(payload: dict[str, Any]) -> str:
    """The summary table and, per measurement on several networks, a table of its per-network figures (Markdown).

    Args:
        payload: the document written by ``--json``.

    Returns:
        Markdown text (``docs/flow.md`` quotes it between its ``flow-table`` markers).
    """
    parts = [format_table(payload, markdown=True)]
    for m in payload["measurements"]:
        nets = m["details"].get("networks")
        if not nets:
            continue
        keys = list(nets[0])
        lines = [f"`{m['id']}` per network:", "", "| " + " | ".join(k.replace("_", " ") for k in keys) + " |",
                 "|" + "---|" * len(keys)]
        for net in nets:
            lines.append("| " + " | ".join(v if isinstance(v, str) else _num(v, 6) for v in net.values()) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _num(x: Any, digits: int) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):  # non-finite floats are stored as strings in JSON
        return x
    if isinstance(x, bool) or isinstance(x, int):
        return str(x)
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def run(args: argparse.Namespace) -> int:
    """Measure, print the summary table, write the JSON and plot if asked; 1 if a claim fails, else 0."""
    from lstm_proofs.flow.measure import flow_payload, measure_all
    from lstm_proofs.flow.plot import check_plot_path, plot_flow
    from lstm_proofs.results import write_json_atomic

    max_lag = int_arg("--max-lag", args.max_lag, 2, MAX_LAG_LIMIT)
    seed = int_arg("--seed", args.seed, 0, 2**63 - 1)
    json_path = (output_file("--json", args.json, owned=json_with("settings", "lags", "measurements"),
                             what="a results file of lstm-proofs flow", force=args.force)
                 if args.json is not None else None)
    plot_path = None
    if args.plot is not None:
        check_plot_path(args.plot)
        plot_path = output_file("--plot", args.plot, owned=head_contains(b"Matplotlib"),
                                what="a plot made by matplotlib", force=args.force)
    if json_path is not None and plot_path is not None and json_path.resolve() == plot_path.resolve():
        raise UserError("--json and --plot name the same file")
    start = time.perf_counter()
    measurements = measure_all(max_lag, seed)
    payload = flow_payload(measurements, max_lag, seed, time.perf_counter() - start)
    try:
        if json_path is not None:
            write_json_atomic(json_path, payload)
        if plot_path is not None:
            plot_flow(payload, plot_path)
    except OSError as exc:
        raise UserError(f"cannot write {exc.filename or 'output'}: {exc.strerror or exc}") from None
    print(format_table(payload))
    failed = payload["summary"]["failed"]
    for m in measurements:
        if not m.passed:
            print(f"FAIL flow/{m.id}: {m.message}")
    print(f"error flow over q = 1 ... {max_lag} (seed {seed}): {len(measurements) - len(failed)} of "
          f"{len(measurements)} claims hold ({payload['summary']['seconds']:.1f} s)"
          + (f"; wrote {args.json}" if args.json else "") + (f"; plotted {args.plot}" if args.plot else ""))
    return 1 if failed else 0
