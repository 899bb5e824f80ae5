"""``lstm-proofs report``: the derivation and verification report (HTML + Markdown) from results files."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lstm_proofs.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the derivation and verification report (HTML and Markdown)",
                       description="Write DIR/index.html (self-contained: MathML, inline SVG, no external resources) "
                                   "and DIR/report.md from the results files in --results. By default missing results "
                                   "are computed quickly (flow; quick checks); --full runs the full check suite.")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (replaced as a whole)")
    p.add_argument("--results", default="results", metavar="DIR", help="results directory (default: results)")
    p.add_argument("--full", action="store_true", help="(re)compute every check in full mode before writing")
    p.add_argument("--fresh", action="store_true", help="recompute checks and flow even if results files exist")
    p.set_defaults(func=run)


def ensure_results(results: Path, full: bool, fresh: bool) -> None:
    """Compute the checks and flow results files that are missing (or all of them with ``fresh``/``full``).

    The flow is measured once: its measurements go to ``flow.json`` and, as checks, into ``checks.json``.
    """
    from lstm_proofs.checks.flow import to_check
    from lstm_proofs.flow.measure import flow_payload, measure_all
    from lstm_proofs.flow.plot import plot_flow
    from lstm_proofs.results import write_json_atomic
    from lstm_proofs.verify.runner import checks_payload, run_all

    results.mkdir(parents=True, exist_ok=True)
    redo = fresh or full
    if not redo and (results / "flow.json").exists() and (results / "checks.json").exists():
        return
    start = time.perf_counter()
    measurements = measure_all(max_lag=1000, seed=0, full=full)
    flow_seconds = time.perf_counter() - start
    payload = flow_payload(measurements, 1000, 0, flow_seconds, full=full)
    if redo or not (results / "flow.json").exists():
        write_json_atomic(results / "flow.json", payload)
        plot_flow(payload, results / "flow.svg")
    if redo or not (results / "checks.json").exists():
        start = time.perf_counter()
        checks = run_all(full=full, skip=("flow",)) + [to_check(m) for m in measurements]
        write_json_atomic(results / "checks.json",
                          checks_payload(checks, time.perf_counter() - start + flow_seconds))


def run(args: argparse.Namespace) -> int:
    from lstm_proofs.report import build_report

    results = Path(args.results)
    if results.exists() and not results.is_dir():
        raise UserError(f"--results {results} is not a directory")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a directory")
    ensure_results(results, args.full, args.fresh)
    path = build_report(results, out)
    print(f"report written: {path / 'index.html'} and {path / 'report.md'}")
    return 0
