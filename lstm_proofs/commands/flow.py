"""``lstm-proofs flow``: measure the error flow back over lags q = 1 ... max_lag with the generated kernels."""

from __future__ import annotations

import argparse
import time
from typing import Any

from lstm_proofs.commands.arguments import int_arg
from lstm_proofs.commands.outputs import force_flag, head_contains, json_with, output_file
from lstm_proofs.errors import UserError
from lstm_proofs.flow.text import format_table, format_trained

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
    p.add_argument("--trained", nargs="+", metavar="ROW",
                   help="measure the networks train trained instead (their stored weights): the error injected at "
                        "the target step and read at the informative input, truncated, full, entry and exit "
                        "(eqs. 40, 41); ROW is a row id (6a, 2a/rtrl/p=4/lr=10) found in --dir, or a results file "
                        "(docs/flow.md, 'Trained networks')")
    p.add_argument("--dir", default="results/train", metavar="DIR",
                   help="where --trained looks for results files (default results/train)")
    p.add_argument("--sequences", default="10", metavar="N",
                   help="--trained: fresh task sequences per trial and stage (default 10)")
    p.add_argument("--final-only", action="store_true",
                   help="--trained: the final weights only, not the snapshots during training")
    force_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Measure, print the summary table, write the JSON and plot if asked; 1 if a claim fails, else 0."""
    from lstm_proofs.flow.measure import flow_payload, measure_all
    from lstm_proofs.flow.plot import check_plot_path, plot_flow
    from lstm_proofs.results import write_json_atomic

    if args.trained:
        return run_trained(args)
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


# ----- lstm-proofs flow --trained -----

def run_trained(args: argparse.Namespace) -> int:
    """``flow --trained``: measure the trained networks of the given rows, print per trial and stage, the checks
    and the verdict; write the JSON and the figure if asked; 1 if a check fails, else 0."""
    from pathlib import Path

    from lstm_proofs.flow.trained import find_results, measure_run, task_of, verdicts
    from lstm_proofs.flow.trained_plot import plot_trained
    from lstm_proofs.flow.plot import check_plot_path
    from lstm_proofs.results import write_json_atomic

    sequences = int_arg("--sequences", args.sequences, 1, 100_000)
    seed = int_arg("--seed", args.seed, 0, 2**63 - 1)
    json_path = (output_file("--json", args.json, owned=json_with("format", "rows", "verdicts"),
                             what="a results file of lstm-proofs flow --trained", force=args.force)
                 if args.json is not None else None)
    paths = [find_results(spec, Path(args.dir)) for spec in args.trained]
    plots = {}
    if args.plot is not None:
        check_plot_path(args.plot)
        tasks = list(dict.fromkeys(task_of(p) for p in paths))
        for task in tasks:  # one figure per task: PATH itself for one task, PATH's stem + _<task> for several
            name = Path(args.plot) if len(tasks) == 1 else Path(args.plot).with_name(
                f"{Path(args.plot).stem}_{task}{Path(args.plot).suffix}")
            plots[task] = output_file("--plot", str(name), owned=head_contains(b"Matplotlib"),
                                      what="a plot made by matplotlib", force=args.force)
    start = time.perf_counter()
    docs = [measure_run(p, sequences, seed, stages=not args.final_only) for p in paths]
    payload = {"format": "lstm-proofs/flow-trained/1", "rows": docs, "verdicts": verdicts(docs),
               "plots": {task: str(p) for task, p in plots.items()}, "seconds": time.perf_counter() - start}
    try:
        if json_path is not None:
            write_json_atomic(json_path, compact_document(payload))
        for task, plot_path in plots.items():
            plot_trained([d for d in docs if d["task"] == task], plot_path)
    except OSError as exc:
        raise UserError(f"cannot write {exc.filename or 'output'}: {exc.strerror or exc}") from None
    print(format_trained(payload))
    failed = [c["id"] + f" ({d['row']})" for d in docs for c in d["checks"] if not c["passed"]]
    print(f"{len(docs)} row(s), {sum(len(d['trials']) for d in docs)} trial(s) measured in {payload['seconds']:.1f} s"
          + (f"; wrote {args.json}" if args.json else "")
          + (f"; plotted {', '.join(map(str, plots.values()))}" if plots else ""))
    for f in failed:
        print(f"FAIL {f}")
    return 1 if failed else 0


def compact_document(payload: dict[str, Any]) -> dict[str, Any]:
    """The document as ``--json`` writes it: every stage keeps its figures, but only the final weights keep their
    readings per sequence and informative step (what the figure and the verdicts use); the rest would make the file
    megabytes long and is measured again by rerunning the command."""
    rows = []
    for doc in payload["rows"]:
        trials = [{**t, "stages": [s if s["label"] == "final" else {k: v for k, v in s.items() if k != "readings"}
                                   for s in t["stages"]]} for t in doc["trials"]]
        rows.append({**doc, "trials": trials})
    return {**payload, "rows": rows}

