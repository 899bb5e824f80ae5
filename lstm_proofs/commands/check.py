"""``lstm-proofs check``: run every verification check; exit 0 only if all pass."""

from __future__ import annotations

import argparse
import time

from lstm_proofs.commands.outputs import force_flag, json_with, output_file
from lstm_proofs.results import CheckResult

#: An existing ``--json`` file that ``check`` may replace: a check results document.
CHECKS_JSON = json_with("passed", "checks")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="verify the generated code and the paper's claims",
                       description="Run every check (gradients against autograd, finite differences, complex step and "
                                   "a 50-digit SymPy reference; the truncated gradient three ways; Section 3's claims; "
                                   "error flow; weight counts). Exit 0 only if every check passes.")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--full", action="store_true", help="the slower, more thorough mode")
    p.add_argument("--only", metavar="PREFIX", help="only checks whose id starts with PREFIX (e.g. gradient/forget)")
    p.add_argument("--quiet", action="store_true", help="no progress lines (one per check group, on stderr)")
    force_flag(p)
    p.set_defaults(func=run)


def format_table(results: list[CheckResult]) -> str:
    """One aligned line per check: id, figure, tolerance, verdict."""
    width = max([len(r.id) for r in results] + [5])
    lines = [f"{'check':<{width}}  {'figure':>10}  {'tolerance':>9}  verdict"]
    for r in results:
        fig = "-" if r.max_rel_error is None else f"{r.max_rel_error:.3g}"
        tol = "-" if r.tolerance is None else f"{r.tolerance:.0e}"
        lines.append(f"{r.id:<{width}}  {fig:>10}  {tol:>9}  {'pass' if r.passed else 'FAIL'}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from lstm_proofs.errors import UserError
    from lstm_proofs.results import write_json_atomic
    from lstm_proofs.verify.runner import checks_payload, print_progress, run_all

    json_path = (output_file("--json", args.json, owned=CHECKS_JSON, what="a results file of lstm-proofs check",
                             force=args.force) if args.json is not None else None)
    start = time.perf_counter()
    results = run_all(full=args.full, only=args.only, progress=None if args.quiet else print_progress())
    elapsed = time.perf_counter() - start
    if not results:
        raise UserError(f"no check id starts with {args.only!r}")
    print(format_table(results))
    for r in results:
        if not r.passed:
            print(f"FAILED {r.id}: {r.message or r.title}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} of {len(results)} checks passed in {elapsed:.1f} s")
    if json_path is not None:
        try:
            write_json_atomic(json_path, checks_payload(results, elapsed))
        except OSError as exc:
            raise UserError(f"cannot write {json_path}: {exc.strerror or exc}") from None
    return 0 if failed == 0 else 1
