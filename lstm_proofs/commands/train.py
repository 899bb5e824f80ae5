"""``lstm-proofs train``: run trials of one table row of the paper and compare with its printed figures."""

from __future__ import annotations

import argparse
import importlib.util
import math
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

from lstm_proofs.commands.arguments import float_arg, int_arg
from lstm_proofs.commands.outputs import output_file
from lstm_proofs.errors import UserError
from lstm_proofs.training.checkpoints import Checkpoints, checkpoint_dir
from lstm_proofs.training.execution import (MAX_LOCAL_WORKERS, ClusterSpec, Runner, TrialBatch, finite_mean,
                                            parse_cluster, runner)
from lstm_proofs.training.presets import (CONSTRUCTIONS, PRESETS, ST3_ERRORS, Preset, get_preset, with_construction,
                                          with_st3_error)

#: Upper bounds of the numeric arguments.
MAX_TRIALS = 10_000
MAX_SEQUENCES_LIMIT = 1_000_000_000
#: What an error about a results file of another run, or one being written, suggests (ablate: its --root).
ELSEWHERE = "use another --json path"


def _rows_epilog() -> str:
    lines = ["rows (TASK, or TASK --row ROW; a full row id also works as TASK):"]
    for p in PRESETS:
        lines.append(f"  {p.row:<20} {p.paper.table:<19} {p.title}")
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser(
        "train", help="train trials of a row of the paper's Tables 1-9 and compare with the printed figures",
        description=textwrap.fill(
                    "Train independent trials of one table row (the paper's online learner for LSTM rows, run in "
                    "lockstep; full-gradient BPTT for the conventional-net baselines of Table 2). Each finished "
                    "trial is written to the results file at once; running again with the same file resumes. "
                    "Prints one line per trial and a summary next to the paper's figures.", 100),
        epilog=_rows_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", nargs="?", help="task name (1, 2a, ..., 6b, or an alias such as adding) or a row id")
    p.add_argument("--row", help="row of the task (e.g. T=500 or 4/T=500); default: the task's first LSTM row")
    p.add_argument("--trials", metavar="N", help="number of trials (default: the paper's count for the row)")
    p.add_argument("--seed", default="0", metavar="S", help="base seed; trial i depends only on (S, i) (default 0)")
    p.add_argument("--max-sequences", metavar="M", help="cap on training sequences per trial (default: the row's)")
    p.add_argument("--json", metavar="PATH", help="results file (default results/train/<row>.json)")
    p.add_argument("--cluster", metavar="SPEC",
                   help="run chunks of trials on a Dask cluster: 'local' (one worker process per core), 'local:N' "
                        "or 'tcp://HOST:PORT' (a running 'dask scheduler'; docs/cluster.md); results are the same "
                        "bit for bit as in one process (default: in this process)")
    p.add_argument("--jobs", metavar="N", help="shorthand for --cluster local:N (1: in this process)")
    p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="task option (repeatable)")
    p.add_argument("--update", choices=("step", "sequence"),
                   help="LSTM weight-update timing (default: the row's, 'step'; spec section 5)")
    p.add_argument("--st3-error", choices=ST3_ERRORS,
                   help="ST3's 'average training error' (Exps. 4, 6): mean absolute error at the sequence end (the "
                        "default) or its mean square (the other reading; its own results file)")
    p.add_argument("--construction", choices=CONSTRUCTIONS,
                   help="LSTM rows: 'sequential' adds the memory cells once the training error has stopped "
                        "decreasing, 'full' has them from the start (default: the row's; sequential for 2a/2b, "
                        "Section 4; the plateau test is ours, see docs/decisions.md)")
    p.add_argument("--reading", action="append", metavar="NAME",
                   help="a reading or contrast of 'lstm-proofs ablate ROW --list' applied to the row, e.g. "
                        "gradient=full (full BPTT, weight changes at the sequence end), cell=forget, h=identity, "
                        "ranges=swapped (repeatable: applied in turn; its own results file)")
    p.add_argument("--backend", choices=("auto", "numpy", "numba"), default="auto",
                   help="generated kernels: numba (compiled, about 50-100x faster at the paper's sizes), numpy (the "
                        "reference), or auto (numba where installed, else numpy; the default)")
    p.add_argument("--checkpoint-every", default="60", metavar="SECONDS",
                   help="save unfinished trials to <results file stem>.ckpt/ this often (and on Ctrl-C or "
                        "SIGTERM), so a rerun resumes them where they were; 0 keeps no checkpoints (default 60)")
    p.add_argument("--extend", action="store_true",
                   help="raise the cap of the existing results file to --max-sequences: its solved trials stay, and "
                        "its trials stopped at the old cap run on from the checkpoint each kept there (from the "
                        "start where none was kept), bit for bit as a run at the new cap")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true", help="list the rows with their conditions and paper figures")
    p.set_defaults(func=run)


def list_rows() -> str:
    """The rows table of ``--list``."""
    from lstm_proofs.training.results import fmt_num, paper_figures_text

    header = ("row", "method", "weights", "alpha", "init", "stopping", "trials", "cap")
    rows = [(p.row, p.method, str(p.topology.n_weights), f"{p.learning_rate:g}", f"+-{p.init_interval:g}",
             p.stopping.describe(), str(p.trials), fmt_num(p.max_sequences)) for p in PRESETS]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header)]
    for p, r in zip(PRESETS, rows):
        out.append(fmt.format(*r))
        out.append("    paper: " + paper_figures_text(p))
    return "\n".join(out)


def resolve(args: argparse.Namespace) -> tuple[Preset, dict[str, Any], str]:
    """The preset (adapted to the task options and ``--construction``), the validated task options and the update
    timing."""
    from lstm_proofs.tasks import get_task

    if not args.task:
        raise UserError("name a task or row (see 'lstm-proofs train --list')")
    task, row = args.task, args.row
    if row is None and "/" in task and task not in {p.row for p in PRESETS}:  # judged as task and row
        task, row = task.split("/", 1)  # (here, not in presets.py, a trainer source: see training/provenance.py)
    preset = get_preset(task, row)
    task = get_task(preset.task)
    overrides: dict[str, Any] = {}
    for pair in args.opt:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--opt must be KEY=VALUE, got {pair!r}")
        overrides[key.strip()] = task.option_spec(key.strip()).parse(text.strip())
    options = task.options(**{**preset.task_options, **overrides})
    n_in, n_out = task.n_inputs(**options), task.n_outputs(**options)
    if (n_in, n_out) != (preset.topology.n_in, preset.topology.n_out):  # e.g. --opt p=10 on Exp. 2a
        preset = preset.with_(topology=preset.topology.with_(n_in=n_in, n_out=n_out))
    update = args.update or preset.update
    if args.update and preset.method != "lstm" and args.update != preset.update:
        raise UserError(f"--update applies to LSTM rows; row {preset.row} updates after each sequence")
    construction = getattr(args, "construction", None)
    if construction and preset.method != "lstm" and construction != preset.construction.kind:
        raise UserError(f"--construction applies to LSTM rows; row {preset.row} is {preset.method}")
    return with_st3_error(with_construction(preset, construction), getattr(args, "st3_error", None)), options, update


def run(args: argparse.Namespace) -> int:
    """Run the trials, print per-trial lines and the summary; 0 on completion."""
    if args.list:
        print(list_rows())
        return 0
    from lstm_proofs.training.results import default_path

    preset, options, update = resolve(args)
    if args.reading:
        from lstm_proofs.training.readings import apply_reading

        for name in args.reading:
            preset, options, update = apply_reading((preset, options, update), name.strip())
    trials = int_arg("--trials", args.trials, 1, MAX_TRIALS) if args.trials is not None else preset.trials
    seed = int_arg("--seed", args.seed, 0, 2**63 - 1)
    if args.extend and args.max_sequences is None:
        raise UserError("--extend needs --max-sequences, the new cap")
    cap = (int_arg("--max-sequences", args.max_sequences, 1, MAX_SEQUENCES_LIMIT)
           if args.max_sequences is not None else preset.max_sequences)
    cluster = cluster_arg(args)
    every = float_arg("--checkpoint-every", args.checkpoint_every, 0.0, 1e6)
    path = output_file("--json", args.json if args.json is not None else default_path(preset, options, update),
                       owned=None)  # an existing file is checked (and resumed from) by ResultsFile
    backend = choose_backend(args.backend)
    lock = results_lock(path)
    try:
        if args.extend:
            extend_row(path, preset, options, update, seed, cap, backend)
        return train_row(preset, options, update, trials, seed, cap, cluster, every, path, backend, args.quiet)
    finally:
        lock.release()


def extend_row(path: Path, preset: Preset, options: dict[str, Any], update: str, seed: int, cap: int,
               backend: str) -> None:
    """``--extend``: raise the cap of the results file ``path`` (locked by the caller) to ``cap`` before its run
    (:func:`~lstm_proofs.training.results.extend_results`); prints what runs on."""
    from lstm_proofs.training.results import extend_results, settings_of

    again = extend_results(path, settings_of(preset, seed, cap, options, update, backend), checkpoint_dir(path))
    if again:
        print(f"cap of {path} raised to {cap:,}: trial(s) {', '.join(map(str, again))} run on", flush=True)


def cluster_arg(args: argparse.Namespace) -> ClusterSpec | None:
    """Where to run from ``--cluster`` and ``--jobs`` (None: in this process)."""
    if args.cluster is not None and args.jobs is not None:
        raise UserError("give --cluster or --jobs, not both (--jobs N is --cluster local:N)")
    if args.jobs is not None:
        jobs = int_arg("--jobs", args.jobs, 1, MAX_LOCAL_WORKERS)
        return None if jobs == 1 else ClusterSpec("local", workers=jobs)
    return None if args.cluster is None else parse_cluster(args.cluster)


def results_lock(path: Path, elsewhere: str = ELSEWHERE) -> Any:
    """An acquired lock on the results file ``path`` (a hidden ``.<name>.lock`` beside it), so that a second
    ``train`` on the same file refuses instead of running every trial again (``elsewhere``: the alternative the
    error suggests)."""
    from filelock import FileLock, Timeout

    lock_path = path.with_name(f".{path.name}.lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(lock_path)
        lock.acquire(timeout=0)
    except Timeout:
        raise UserError(f"{path} is being written by another lstm-proofs run (lock {lock_path}); wait for it to "
                        f"finish, or {elsewhere}") from None
    except OSError as exc:
        raise UserError(f"cannot lock {path}: {exc.strerror or exc}") from None
    return lock


def train_row(preset: Preset, options: dict[str, Any], update: str, trials: int, seed: int, cap: int,
              cluster: ClusterSpec | None, every: float, path: Path, backend: str, quiet: bool,
              keep: bool = True, elsewhere: str = ELSEWHERE) -> int:
    """Run the pending trials of the results file ``path`` (locked by the caller, :func:`results_lock`); print
    the summary. Returns 0. With ``keep``, a trial that stops at the cap keeps its last checkpoint for ``--extend``
    (``keep_at_cap``). ``elsewhere``: what the error for a file of another run suggests (the command's option)."""
    from lstm_proofs.training.results import ResultsFile, keep_at_cap, settings_of

    settings = settings_of(preset, seed, cap, options, update, backend)
    results = ResultsFile(path, preset, settings, elsewhere)
    pending = [i for i in range(trials) if i not in results.done()]
    store = Checkpoints(checkpoint_dir(path), settings, every) if every > 0 else None
    if store is not None:
        for i in set(store.pending()) & results.done():  # a trial finished after its last checkpoint
            store.remove(i)
        resumed = [i for i in store.pending() if i in pending]
    from lstm_proofs.training.results import row_options

    changed = {k: v for k, v in options.items() if row_options(preset).get(k) != v}
    print(f"row {preset.row} ({preset.paper.table}): {preset.title}"
          + (f" with {', '.join(f'{k}={v}' for k, v in changed.items())}" if changed else "")
          + f"; {preset.topology.n_weights} weights, "
          f"alpha {preset.learning_rate:g}, {preset.method}, update {update}, "
          + ("cells added sequentially, " if preset.construction.kind == "sequential" else "")
          + f"{backend} kernels; trials {trials} "
          f"({trials - len(pending)} already in {path}), seed {seed}, cap {cap:,} sequences, "
          + (f"on cluster {cluster}" if cluster else "in this process"))
    if store is not None and resumed:
        print(f"resuming trial(s) {', '.join(map(str, resumed))} from their checkpoints in {store.directory}")
    with runner(cluster if pending else None, announce=lambda text: print(text, flush=True)) as run_batch:
        results.cores = run_batch.cores(len(pending))
        try:
            if pending or not path.exists():  # a complete file keeps the provenance of the runs that wrote it
                results.write(trials)
        except OSError as exc:
            raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None

        def on_result(rec: dict[str, Any]) -> None:
            results.add(rec, trials)
            if store is not None:  # only once the record is in the results file
                if keep and rec.get("stop") == "cap":  # kept, so that --extend can run it on under a larger cap
                    keep_at_cap(store, int(rec["trial"]))
                store.remove(int(rec["trial"]))
            print(trial_line(rec), flush=True)

        if pending:
            previous = {sig: signal.signal(sig, _stop_handler) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                batch = TrialBatch(preset, tuple(pending), seed, cap, options, update, backend, store)
                _execute(batch, run_batch, on_result, quiet)
            except KeyboardInterrupt:
                saved = f"; unfinished trials saved in {store.directory}" if store is not None else ""
                print(f"stopped: {len(results.trials)} finished trial(s) kept in {path}{saved}; rerun the same "
                      "command to resume", file=sys.stderr)
                raise
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
    print(summary_text(preset, results.trials, results.settings, path))
    return 0


def choose_backend(requested: str) -> str:
    """``numba`` or ``numpy`` for ``--backend`` (``auto``: numba where it is installed)."""
    if requested != "auto":
        if requested == "numba" and importlib.util.find_spec("numba") is None:
            raise UserError("--backend numba: numba is not installed (pip install -e '.[fast]')")
        return requested
    if importlib.util.find_spec("numba") is None:
        print("note: numba is not installed, training with the NumPy kernels (pip install -e '.[fast]' is about "
              "50-100x faster)", file=sys.stderr)
        return "numpy"
    return "numba"


def _stop_handler(signum: int, frame: Any) -> None:
    """Ctrl-C or SIGTERM: the trainer saves its active trials at the end of their sequences and stops; a second
    signal stops at once (the trials then resume from their last periodic checkpoint)."""
    from lstm_proofs.training.trainer import request_stop, stop_requested

    if stop_requested():
        raise KeyboardInterrupt
    request_stop()


def trial_line(rec: dict[str, Any]) -> str:
    """One line per finished trial."""
    head = (f"trial {rec['trial']}: " + (f"solved after {rec['sequences']:,} sequences" if rec["solved"]
                                          else f"not solved within {rec['sequences']:,} sequences"))
    if rec.get("st1_sequences") is not None:
        head += f" (ST1 at {rec['st1_sequences']:,})"
    if "cell_added" in rec:
        head += (f" (cell added after {rec['cell_added']:,})" if rec["cell_added"] is not None
                 else " (cell never added)")
    test = rec.get("test")
    if test:
        head += (f"; test: {test['wrong']} wrong of {test['size']:,}, mean error {test['mean_error']:.4g}"
                 + (f", mse {test['mse']:.4g}" if "mse" in test else ""))
    if "train_set" in rec:
        head += f"; training set: {rec['train_set']['wrong']} wrong of {rec['train_set']['size']}"
    return head + f" ({rec['seconds']:.0f} s)"


def summary_text(preset: Preset, trials: dict[int, dict[str, Any]], settings: dict[str, Any], path: Path) -> str:
    """The run's summary next to the paper's figures for the row."""
    from lstm_proofs.training.results import deviations, measured_text, paper_figures_text, summarise

    recs = [trials[i] for i in sorted(trials)]
    summary = summarise(recs)
    from lstm_proofs.training.study import row_report
    from lstm_proofs.training.results import stats_cells

    rep = row_report(preset, {"settings": settings, "trials": recs, "requested_trials": len(recs)})
    dev = deviations(preset, {"summary": summary, "settings": settings}) if recs else []
    lines = [f"summary of {preset.row} ({path}):",
             f"  measured: {measured_text(summary)}" if recs else "  measured: no finished trials",
             f"  paper:    {paper_figures_text(preset)}"]
    if rep.stats is not None:
        success, median, rmst, _, censored, verdict = stats_cells(rep)
        lines.append(f"  all trials: success {success}; median sequences {median}; restricted mean {rmst}; "
                     f"{censored} censored at the cap")
        lines.append(f"  verdict: {verdict} ({rep.verdict.reason}; rule: docs/statistics.md)")
    if preset.paper.note:
        lines.append(f"            ({preset.paper.note})")
    if dev:
        lines.append("  deviations: " + "; ".join(dev))
    return "\n".join(lines)


# ----- execution: in this process or on a Dask cluster -----

def resumed_sequences(batch: TrialBatch) -> int:
    """Training sequences the checkpoints of the batch's trials already hold (where a resumed run's bar starts)."""
    if batch.store is None:
        return 0
    done = 0
    for i in set(batch.store.pending()) & set(batch.trials):
        loaded = batch.store.load(i)
        if loaded is not None:
            done += int(loaded[0].get("sequences", 0))
    return done


def _execute(batch: TrialBatch, run_batch: Runner, on_result: Any, quiet: bool) -> None:
    """Run ``batch`` with ``run_batch`` behind a progress bar over its sequence budget."""
    from lstm_proofs.commands.progress import progress_bar

    cap = batch.cap
    bar = progress_bar(disable=quiet, total=len(batch.trials) * cap, unit="seq", desc=batch.preset.row,
                       unit_scale=True, initial=resumed_sequences(batch))
    solved = [0]
    errors: dict[str, float] = {}

    def progress(source: str, n: int, err: float) -> None:
        errors[source] = err
        bar.update(n)
        mean = finite_mean(list(errors.values()))
        bar.set_postfix_str(f"err {mean:.4g}, solved {solved[0]}" if math.isfinite(mean) else "", refresh=False)

    def result(rec: dict[str, Any]) -> None:
        solved[0] += bool(rec["solved"])
        bar.total -= cap - rec["sequences"]  # the unused budget of a trial that stopped early
        bar.refresh()
        on_result(rec)

    try:
        run_batch(batch, progress, result)
    finally:
        bar.close()
