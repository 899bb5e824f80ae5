"""``lstm-proofs report``: the derivation and verification report (HTML + Markdown) from results files."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lstm_proofs.commands.outputs import Owned, entries_within, force_flag, input_dir, output_dir
from lstm_proofs.errors import UserError



def report_dir_test() -> Owned:
    """What a report directory holds (``build_report``'s files): only such a directory, or an empty one, is
    replaced unasked."""
    from lstm_proofs.report.model import READINGS_FIGURE, REPORT_FILES, figure_file, trained_figure_file

    return entries_within((*REPORT_FILES, READINGS_FIGURE), (figure_file("*"), trained_figure_file("*")))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the derivation and verification report (HTML and Markdown)",
                       description="Write DIR/index.html (self-contained: MathML, inline SVG, no external resources) "
                                   "and DIR/report.md from the results files in --results. By default missing results "
                                   "are computed quickly (flow; quick checks); --full runs the full check suite.")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (replaced as a whole)")
    p.add_argument("--results", metavar="DIR",
                   help="results directory, which must exist (default: results, created if missing)")
    p.add_argument("--full", action="store_true", help="(re)compute every check in full mode before writing")
    p.add_argument("--fresh", action="store_true", help="recompute checks and flow even if results files exist")
    p.add_argument("--quiet", action="store_true", help="no progress lines while checks are computed")
    force_flag(p)
    p.set_defaults(func=run)


def ensure_results(results: Path, full: bool, fresh: bool, quiet: bool = False) -> None:
    """Compute the checks and flow results files that are missing (or all of them with ``fresh``/``full``).

    The flow is measured once: its measurements go to ``flow.json`` and, as checks, into ``checks.json``. Unless
    ``quiet``, one plain progress line per step goes to standard error.
    """
    import sys

    from lstm_proofs.checks.flow import to_check
    from lstm_proofs.flow.measure import flow_payload, measure_all
    from lstm_proofs.flow.plot import plot_flow
    from lstm_proofs.results import write_json_atomic
    from lstm_proofs.verify.runner import checks_payload, print_progress, run_all

    results.mkdir(parents=True, exist_ok=True)
    redo = fresh or full
    if not redo and (results / "flow.json").exists() and (results / "checks.json").exists():
        return
    start = time.perf_counter()
    if not quiet:
        print("flow: error flow of every model over q = 1 ... 1000 ...", file=sys.stderr, flush=True)
    measurements = measure_all(max_lag=1000, seed=0, full=full)
    flow_seconds = time.perf_counter() - start
    if not quiet:
        print(f"flow: {len(measurements)} measurements, {flow_seconds:.1f} s", file=sys.stderr, flush=True)
    payload = flow_payload(measurements, 1000, 0, flow_seconds, full=full)
    if redo or not (results / "flow.json").exists():
        write_json_atomic(results / "flow.json", payload)
        plot_flow(payload, results / "flow.svg")
    if redo or not (results / "checks.json").exists():
        start = time.perf_counter()
        checks = (run_all(full=full, skip=("flow",), progress=None if quiet else print_progress())
                  + [to_check(m) for m in measurements])
        write_json_atomic(results / "checks.json",
                          checks_payload(checks, time.perf_counter() - start + flow_seconds))


def run(args: argparse.Namespace) -> int:
    from lstm_proofs.report import build_report

    if args.results is None:
        results = Path("results")
        if results.exists() and not results.is_dir():
            raise UserError(f"--results {results} is not a directory")
    else:
        results = input_dir("--results", args.results)
    out = output_dir("--out", args.out, owned=report_dir_test(), what="a report of lstm-proofs", force=args.force)
    if out.resolve() == results.resolve() or out.resolve() in results.resolve().parents:
        raise UserError(f"--out {out} would replace the results directory {results}")
    ensure_results(results, args.full, args.fresh, quiet=args.quiet)
    path = build_report(results, out)
    print(f"report written: {path / 'index.html'} and {path / 'report.md'}")
    return 0
