"""``python -m benchmarks [--repeats N] [--quick]`` runs every benchmark, prints a table, writes
``results/benchmarks.json`` and regenerates ``docs/performance.md``; ``python -m benchmarks --report`` only
regenerates the document from the results file. Run from the repository root.

BLAS and torch are held to one thread, so that the backends are compared on equal terms.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from benchmarks import check_time, cluster, report, suite, training, versus  # noqa: E402
from lstm_proofs.commands.docs import replace_block  # noqa: E402
from lstm_proofs.errors import UserError  # noqa: E402
from lstm_proofs.results import write_json_atomic  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring); returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--report", action="store_true", help="only regenerate the document from the results file")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per figure (minimum reported; default 5)")
    p.add_argument("--rounds", type=int, default=3,
                   help="passes over the paper's networks the repeats are split into (default 3)")
    p.add_argument("--quick", action="store_true", help="2 repeats, memory only up to T = 1000 (a smoke run)")
    p.add_argument("--only", choices=("cluster", "check", "versus"),
                   help="run one group of measurements and merge it into the existing results file (cluster: "
                        "train --cluster from 1 to 2 workers; check: lstm-proofs check cold and warm; versus: the "
                        "compiled kernels against those of --against, in one run)")
    p.add_argument("--against", default=versus.BASELINE, metavar="REV",
                   help=f"the commit --only versus compares with (default {versus.BASELINE}: the per-cell loops)")
    p.add_argument("--json", type=Path, default=ROOT / "results" / "benchmarks.json", help="results file")
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance.md", help="generated document")
    args = p.parse_args(argv)
    try:
        if args.report or args.only:
            if not args.json.exists():
                raise UserError(f"{args.json} not found: run 'python -m benchmarks' first")
            payload = json.loads(args.json.read_text())
            if args.only == "cluster":
                print(f"lstm-proofs train --cluster: {cluster.ROW}, {cluster.TRIALS} trials", flush=True)
                payload["cluster"] = cluster.scaling()
            if args.only == "check":
                print("lstm-proofs check, default run: cold (fresh numba cache), then warm", flush=True)
                payload["check"] = check_time.timing()
            if args.only == "versus":
                print(f"compiled kernels: this tree against {args.against}", flush=True)
                try:
                    payload["versus"] = versus.versus(args.against, rounds=args.rounds, repeats=args.repeats)
                except RuntimeError as exc:
                    raise UserError(str(exc)) from None
            if args.only:
                write_json_atomic(args.json, payload)
        else:
            if args.repeats < 1 or args.rounds < 1:
                raise UserError(f"--repeats and --rounds must be at least 1, got {args.repeats}, {args.rounds}")
            try:  # read before the long run, so that a corrupt file stops it at once
                previous = json.loads(args.json.read_text()) if args.json.exists() else {}
            except (OSError, ValueError) as exc:
                raise UserError(f"cannot read {args.json} for its versus block: {exc}") from None
            payload = run(2 if args.quick else args.repeats, quick=args.quick, rounds=1 if args.quick else args.rounds)
            if "versus" in previous:  # measured on its own (--only versus), with the commit it measured
                payload["versus"] = previous["versus"]
            write_json_atomic(args.json, payload)
            print(report.table(payload))
        _write_text(args.doc, report.render(payload))
        for name, block, render in (("cluster.md", "cluster-figures", report.cluster_markdown),
                                    ("verification.md", "check-time", report.check_time_markdown)):
            doc = args.doc.with_name(name)
            if doc.exists():
                _write_text(doc, replace_block(doc.read_text(), block, render(payload)))
        print(f"wrote {args.doc}" + ("" if args.report else f" and {args.json}"))
        return 0
    except UserError as exc:
        print(f"python -m benchmarks: {exc}", file=sys.stderr)
        return 2


def run(repeats: int, quick: bool = False, rounds: int = 1) -> dict:
    """Every measurement; the results document."""
    start = time.perf_counter()
    if suite.torch_version():
        import torch

        torch.set_num_threads(1)
    payload = {"machine": suite.machine(), "repeats": repeats, "rounds": rounds, "lockstep_trials": suite.LOCKSTEP}
    print("paper networks (T = 100):", flush=True)
    payload["networks"] = suite.paper_networks(repeats, rounds=rounds)
    print("modern size (forget cell, I = 32, H = 128, batch 64)", flush=True)
    payload["modern"] = functools.reduce(suite.merge_rounds, [suite.modern(max(1, -(-repeats // rounds)))
                                                             for _ in range(rounds)])
    payload["growth"] = suite.growth(payload["networks"])
    print("one pass over the weights (numba)", flush=True)
    payload["weight_passes"] = suite.weight_passes(repeats)
    print("learner memory against sequence length", flush=True)
    payload["memory"] = suite.memory((100, 1000) if quick else (100, 1000, 10000))
    print("lstm-proofs train: " + ", ".join(training.ROWS), flush=True)
    payload["training"] = training.all_costs(suite.numba_available())
    if suite.numba_available():
        print(f"lstm-proofs train --cluster: {cluster.ROW}, {cluster.TRIALS} trials", flush=True)
        payload["cluster"] = cluster.scaling()
    print("lstm-proofs check, default run: cold (fresh numba cache), then warm", flush=True)
    payload["check"] = check_time.timing()
    payload["targets"] = report.targets(payload)
    payload["elapsed_s"] = round(time.perf_counter() - start, 1)
    return payload


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


if __name__ == "__main__":
    raise SystemExit(main())
