"""``lstm-proofs demo``: the quick end-to-end run (derive, generate, verify, report) the README starts with."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from lstm_proofs.commands.outputs import entries_within, force_flag, output_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="quick end-to-end run: derive, check generated code, verify, report",
                       description="Derive every cell and compare with the checked-in generated code, run the quick "
                                   "verification suite and the error-flow measurements, and write the report into "
                                   "--out (about two minutes).")
    p.add_argument("--out", default="lstm-proofs-demo", metavar="DIR", help="output directory (default lstm-proofs-demo)")
    force_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lstm_proofs.codegen import files as gen
    from lstm_proofs.commands.report import ensure_results
    from lstm_proofs.report import build_report
    from lstm_proofs.report.build import load_checks

    out = output_dir("--out", args.out, owned=entries_within(("results", "report")),
                     what="an earlier demo's output (results/, report/)", force=args.force)
    results = out / "results"
    start = time.perf_counter()
    print("1/4 derive: SymPy derives every cell and regenerates the NumPy kernels in memory ...")
    t = time.perf_counter()
    files = gen.render_all()
    stale = gen.stale_files(files, gen.DERIVATIONS_DIR) if gen.DERIVATIONS_DIR.is_dir() else {}
    print(f"    {len(gen.CELLS)} cells derived and generated in {time.perf_counter() - t:.1f} s; "
          + (f"STALE checked-in files: {', '.join(stale)} (run 'lstm-proofs derive')" if stale
             else "checked-in derivations/ are up to date"))
    print("2/4 verify: gradients, truncated gradient, Section 3 claims, weight counts; 3/4 error flow ...")
    t = time.perf_counter()
    ensure_results(results, full=False, fresh=True)
    checks = load_checks(results / "checks.json")
    failed = [cid for cid, rec in checks.items() if not rec["passed"]]
    for cid, rec in checks.items():
        fig = "-" if rec.get("max_rel_error") is None else f"{rec['max_rel_error']:.3g}"
        print(f"    {cid:<52} {fig:>10}  {'pass' if rec['passed'] else 'FAIL'}")
    print(f"    {len(checks) - len(failed)} of {len(checks)} checks passed in {time.perf_counter() - t:.1f} s")
    print("4/4 report ...")
    trained = Path("results") / "train"  # task results of `lstm-proofs train` runs in this checkout, if any
    if trained.is_dir():
        shutil.copytree(trained, results / "train", ignore=shutil.ignore_patterns("logs"), dirs_exist_ok=True)
    build_report(results, out / "report")
    print(f"done in {time.perf_counter() - start:.0f} s: open {out / 'report' / 'index.html'} "
          f"(Markdown: {out / 'report' / 'report.md'})")
    return 0 if not failed and not stale else 1
