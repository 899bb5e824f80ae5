"""``lstm-proofs check``: run every verification check; exit 0 only if all pass."""

from __future__ import annotations

import argparse
import time

from lstm_proofs.results import CheckResult


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="verify the generated code and the paper's claims",
                       description="Run every check (gradients against autograd, finite differences, complex step and "
                                   "a 50-digit SymPy reference; the truncated gradient three ways; Section 3's claims; "
                                   "error flow; weight counts). Exit 0 only if every check passes.")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--full", action="store_true", help="the slower, more thorough mode")
    p.add_argument("--only", metavar="PREFIX", help="only checks whose id starts with PREFIX (e.g. gradient/forget)")
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
    from lstm_proofs.verify.runner import checks_payload, run_all

    start = time.perf_counter()
    results = run_all(full=args.full, only=args.only)
    elapsed = time.perf_counter() - start
    if not results:
        raise UserError(f"no check id starts with {args.only!r}")
    print(format_table(results))
    for r in results:
        if not r.passed:
            print(f"FAILED {r.id}: {r.message or r.title}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} of {len(results)} checks passed in {elapsed:.1f} s")
    if args.json:
        write_json_atomic(args.json, checks_payload(results, elapsed))
    return 0 if failed == 0 else 1
