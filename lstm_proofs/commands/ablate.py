"""``lstm-proofs ablate``: run a table row under its default reading and under each reading and contrast that
applies to it, one change at a time (:mod:`lstm_proofs.training.readings`)."""

from __future__ import annotations

import argparse
import json
import os
import textwrap
from pathlib import Path
from typing import Any

from lstm_proofs.commands.arguments import float_arg, int_arg
from lstm_proofs.commands.outputs import output_file
from lstm_proofs.commands.train import (MAX_SEQUENCES_LIMIT, MAX_TRIALS, choose_backend, cluster_arg, extend_row,
                                        resolve, results_lock, train_row)
from lstm_proofs.errors import UserError
from lstm_proofs.training.ablation import ABLATE_DIR
from lstm_proofs.training.checkpoints import checkpoint_dir
from lstm_proofs.training.presets import sanitise
from lstm_proofs.training.readings import SameRun
from lstm_proofs.training.results import ResultsFile, settings_of

#: What an error about a readings file of another run (another seed, say) suggests.
ELSEWHERE = "use another --root (for seeds of your own, say)"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ablate`` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser(
        "ablate", help="run a row under every documented reading of the paper and contrast, one change at a time",
        description=textwrap.fill(
            "Run one table row under its default reading (docs/decisions.md) and under each documented "
            "alternative reading of the paper and each contrast (full gradient, forget-gate cell, other squashing "
            "ranges) that applies to it, one change at a time, with the row's trial count and seeds. Each reading "
            "has its own results file, <root>/<row>/<reading>.json, resumed like train's; trials record "
            "diagnostics (internal states, gate activations, where the errors are). A reading that is, on the "
            "row, another's run bit for bit (update=sequence where the only target is at the sequence end) runs "
            "only when --readings names it. 'lstm-proofs results' turns the files into docs/readings.md.", 100),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", nargs="?", help="task name or row id, as for train")
    p.add_argument("--row", help="row of the task, as for train")
    p.add_argument("--readings", metavar="LIST",
                   help="comma-separated readings to run ('default' is the row's own; see --list; default: all)")
    p.add_argument("--list", action="store_true", help="list the readings and contrasts that apply to the row")
    p.add_argument("--trials", metavar="N", help="trials per reading (default: the paper's count for the row)")
    p.add_argument("--seed", default="0", metavar="S", help="base seed, as for train (default 0)")
    p.add_argument("--max-sequences", metavar="M", help="cap on training sequences per trial (default: the row's)")
    p.add_argument("--extend", action="store_true",
                   help="raise the cap of the readings already run at a lower one to --max-sequences: each "
                        "reading's file is renamed for the new cap (with its checkpoints and weights), its solved "
                        "trials stay, and its trials stopped at the old cap run on, from the checkpoint kept there "
                        "(from the start for files written before ablate kept them); readings not yet run run at "
                        "the new cap")
    p.add_argument("--root", default=str(ABLATE_DIR), metavar="DIR",
                   help=f"directory of the results files (default {ABLATE_DIR}, which holds the committed "
                        "matrix at seed 0: give another for seeds of your own)")
    p.add_argument("--cluster", metavar="SPEC", help="run the trials on a Dask cluster (as for train)")
    p.add_argument("--jobs", metavar="N", help="shorthand for --cluster local:N")
    p.add_argument("--backend", choices=("auto", "numpy", "numba"), default="auto", help="as for train")
    p.add_argument("--checkpoint-every", default="60", metavar="SECONDS", help="as for train (default 60)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _base(args: argparse.Namespace) -> tuple[Any, dict[str, Any], str]:
    ns = argparse.Namespace(task=args.task, row=args.row, opt=[], update=None, construction=None, st3_error=None)
    return resolve(ns)


def reading_path(root: Path, row: str, reading: str, cap: int | None) -> Path:
    """``<root>/<row>/<reading>[__cap=M].json`` (the cap in the name when it is given; :func:`run` gives it when
    it is not the row's)."""
    return Path(root) / sanitise(row) / (sanitise(reading) + (f"__cap={cap}" if cap is not None else "") + ".json")


def _at_other_caps(path: Path, reading: str) -> list[Path]:
    """The results files of ``reading`` beside ``path`` at caps other than its own."""
    stem = sanitise(reading)
    return [p for p in sorted(path.parent.glob("*.json"))
            if p != path and (p.stem == stem or p.stem.startswith(stem + "__cap="))]


def extend_source(path: Path, reading: str, settings: dict[str, Any]) -> Path | None:
    """``--extend``: the results file of ``reading`` at a lower cap that becomes ``path``, the file of the new cap
    ``settings["max_sequences"]``; None when there is none (``path`` exists already, or the reading has not run).

    Raises:
        UserError: the reading has files at several caps, or at the new cap and another; the file's settings
            differ in more than the cap, or its cap is above the new one.
    """
    from lstm_proofs.training.results import read_run, same_but_cap, settings_diff

    others = _at_other_caps(path, reading)
    if not others:
        return None
    if path.exists() or len(others) > 1:
        names = ", ".join(str(p) for p in ([path] if path.exists() else []) + others)
        raise UserError(f"--extend: reading {reading} has results files at several caps ({names}); keep one")
    old, new = others[0], json.loads(json.dumps(settings))
    held = read_run(old)["settings"]
    if not same_but_cap(held, new):
        raise UserError(f"--extend: {old} holds a run with other settings than the cap "
                        f"({settings_diff(held, new)})")
    if not isinstance(held.get("max_sequences"), int) or held["max_sequences"] > new["max_sequences"]:
        raise UserError(f"--extend: --max-sequences {new['max_sequences']:,} is below the cap of {old} "
                        f"({held.get('max_sequences')})")
    return old


def move_for_extend(old: Path, path: Path) -> None:
    """Give the results file ``old`` the name ``path`` (:func:`extend_source`), with its checkpoint and weights
    directories, moved first so that a rerun finishes an interrupted move.

    Raises:
        UserError: ``old`` is being written; a directory of the new name exists already.
    """
    from lstm_proofs.training.weights import weights_dir

    lock = results_lock(old)
    try:
        for directory in (checkpoint_dir, weights_dir):
            src, dst = directory(old), directory(path)
            if src.exists():
                if dst.exists():
                    raise UserError(f"--extend: {dst} exists already; move it away to extend {old}")
                os.replace(src, dst)
        os.replace(old, path)
    finally:
        lock.release()


def run(args: argparse.Namespace) -> int:
    """Run the chosen readings of the row one after another; print the matrix; 0 on completion."""
    from lstm_proofs.training.readings import DEFAULT, apply_reading, matrix_readings, readings_for, same_runs

    base = _base(args)
    preset, options, update = base
    available = readings_for(preset, options, update)
    same = same_runs(preset, options, update)
    if args.list:
        print(f"readings of row {preset.row} (each run with the row's other settings unchanged):")
        print(f"  {DEFAULT:<22} reading   our default (docs/decisions.md)")
        for r in available:
            print(f"  {r.name:<22} {r.kind:<9} {r.text} [{r.source}]")
            if r.name in same:
                print(f"  {'':<22} {'':<9} on this row: {_same_text(same[r.name])}")
            if r.optional:
                print(f"  {'':<22} {'':<9} not part of the row's matrix: run only when --readings names it")
        return 0
    # every argument checked before anything is printed or run
    trials = int_arg("--trials", args.trials, 1, MAX_TRIALS) if args.trials is not None else preset.trials
    seed = int_arg("--seed", args.seed, 0, 2**63 - 1)
    if args.extend and args.max_sequences is None:
        raise UserError("--extend needs --max-sequences, the new cap")
    cap = (int_arg("--max-sequences", args.max_sequences, 1, MAX_SEQUENCES_LIMIT)
           if args.max_sequences is not None else None)
    if cap == preset.max_sequences:
        cap = None  # the row's own: no cap in the file names
    cluster = cluster_arg(args)
    every = float_arg("--checkpoint-every", args.checkpoint_every, 0.0, 1e6)
    backend = choose_backend(args.backend)
    names = [DEFAULT] + [r.name for r in available]
    if args.readings is not None:
        chosen = [n.strip() for n in args.readings.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in names]
        if unknown or not chosen:
            raise UserError(f"--readings: {', '.join(unknown) or 'empty list'} not a reading of row {preset.row}; "
                            f"its readings: {', '.join(names)}")
        names = list(dict.fromkeys(chosen))
    else:  # a reading that is another's run bit for bit, or a follow-up contrast, runs only when named
        chosen = matrix_readings(preset, options, update)
        for name in [n for n in names if n not in chosen]:
            why = f"on this row {_same_text(same[name])}" if name in same else "a follow-up contrast"
            print(f"-- not run: {name}, {why} (--readings {name} runs it)")
        names = chosen
    runs = []
    for name in names:  # paths, readings and what --extend moves checked before anything runs
        r_preset, r_options, r_update = apply_reading(base, name)
        r_preset = r_preset.with_(diagnostics=True)
        path = output_file("--root", str(reading_path(Path(args.root), preset.row, name, cap)), owned=None)
        settings = settings_of(r_preset, seed, cap or preset.max_sequences, r_options, r_update, backend)
        source = extend_source(path, name, settings) if args.extend else None
        if source is None and path.exists():  # a file of another run (another seed): refused before any runs
            ResultsFile(path, r_preset, settings, ELSEWHERE)
        runs.append((name, r_preset, r_options, r_update, path, source))
    for i, (name, r_preset, r_options, r_update, path, source) in enumerate(runs):
        print(f"== reading {i + 1} of {len(runs)}: {name}", flush=True)
        lock = results_lock(path, ELSEWHERE)
        try:
            if source is not None:
                move_for_extend(source, path)
                print(f"{source} renamed {path.name} for the new cap", flush=True)
            if args.extend and path.exists():
                extend_row(path, r_preset, r_options, r_update, seed, cap or preset.max_sequences, backend)
            train_row(r_preset, r_options, r_update, trials, seed, cap or preset.max_sequences, cluster, every, path,
                      backend, args.quiet, elsewhere=ELSEWHERE)
        finally:
            lock.release()
    print(matrix_text(preset, [(name, path) for name, _, _, _, path, _ in runs]))
    return 0


def _same_text(same: SameRun) -> str:
    """'the same run as X, bit for bit (to rounding): why'."""
    return (f"the same run as {same.reading}, {'bit for bit' if same.exact else 'to rounding'}, by construction: "
            f"{same.why}")


def matrix_text(preset: Any, files: list[tuple[str, Path]]) -> str:
    """The readings of a row side by side: trials, success with its interval, median sequences, trials censored at
    the cap, verdict."""
    from lstm_proofs.training.ablation import ReadingRun, reading_rows
    from lstm_proofs.training.results import read_run
    from lstm_proofs.training.study import row_report

    runs = [ReadingRun(name, "", row_report(preset, read_run(path)), path) for name, path in files]
    lines = [f"readings of {preset.row} ({preset.paper.table}):"]
    for run, (name, _, n, _, success, median, verdict, paired) in zip(runs, reading_rows(runs)):
        censored = run.report.stats.censored if run.report.stats is not None else 0
        lines.append(f"  {name:<22} {n:>3} trials; success {success}; median {median}; {censored} censored at "
                     f"the cap; {verdict}" + ("" if paired == "-" else f"; paired with {paired}"))
    return "\n".join(lines)
