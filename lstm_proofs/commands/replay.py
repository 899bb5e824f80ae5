"""``lstm-proofs replay``: rerun finished trials of results files under the current code and check that they come
out the same, bit for bit.

A results file records the trainer fingerprint of the code that produced each trial
(:mod:`~lstm_proofs.training.provenance`). When the trainer's sources change (a refactor, a new diagnostic, a bug fix
elsewhere in a file the fingerprint covers), ``lstm-proofs results`` marks the file's rows "trainer changed since":
nobody has shown that the current code would give the same trials. ``replay`` shows it, or shows that it would not:
it reruns the cheapest finished trials of each file (the fewest training sequences; ``--trials``), those that another
trainer had a part in first (:func:`choose_trials`), with the file's own settings and backend, compares every field of
each new record with the stored one (except wall time and code stamps), and appends the outcome to the file's
``replays`` list (trainer fingerprint, commit, trials, verdict, differences). ``results`` then shows a row whose
trials were replayed identically under the current trainer as current, with the replay named; a replay that differs
is shown as such, and the command exits with status 1.

Fields that the current code adds to its records (at any depth, e.g. a diagnostic added since) are not differences;
fields it no longer writes are. Floats within :data:`ROUNDING_ULPS` units in the last place of the stored ones (a
running mean summed in another order by a later version) are recorded apart, in the entry's ``rounding``: such a
replay is the same but for rounding, which ``results`` says in those words and counts as current.

A trial that comes out identical also gets its weights file (:mod:`~lstm_proofs.training.weights`) where it has
none: the rerun's weights are the stored trial's, bit for bit, since everything else of the record is. ``--weights``
replays the trials that lack weights files (the cheapest first; all of them unless ``--trials`` limits them), even
where the file is current: that is how rows trained before weights were kept get them.
"""

from __future__ import annotations

import argparse
import json
import textwrap
import time
from pathlib import Path
from typing import Any

from lstm_proofs.commands.arguments import int_arg
from lstm_proofs.errors import UserError
from lstm_proofs.training.execution import RUN_FIELDS, TrialBatch, runner
from lstm_proofs.training.presets import Preset
from lstm_proofs.training.weights import WEIGHTS_FIELD, weights_dir

#: Default number of trials replayed per file.
DEFAULT_TRIALS = 2


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``replay`` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser(
        "replay", help="rerun the cheapest finished trials of results files under the current code, bit for bit",
        description=textwrap.fill(
            "Rerun the cheapest finished trials (fewest training sequences) of each results file under the current "
            "code, with the file's settings and backend, and check that every field of each record comes out the "
            "same (wall time and code stamps aside). The outcome is appended to the file's 'replays' list, which "
            "'lstm-proofs results' reads: a row replayed identically under the current trainer is current. Exit 1 "
            "if any trial differs.", 100))
    p.add_argument("files", nargs="+", metavar="FILE", help="results files of lstm-proofs train")
    p.add_argument("--trials", metavar="K",
                   help=f"trials replayed per file (default {DEFAULT_TRIALS}; with --weights, all that lack weights)")
    p.add_argument("--again", action="store_true",
                   help="replay even where the current trainer produced the trials or has replayed them already")
    p.add_argument("--weights", action="store_true",
                   help="replay the trials that have no stored weights (all of them, or the --trials cheapest) and "
                        "store the weights of those that replay identically (for 'lstm-proofs flow --trained')")
    p.add_argument("--cluster", metavar="SPEC", help="run the trials on a Dask cluster (as for train)")
    p.add_argument("--jobs", metavar="N", help="shorthand for --cluster local:N")
    p.set_defaults(func=run)


def _arguments_of(settings: dict[str, Any]) -> argparse.Namespace:
    """``train``'s arguments that reproduce a results file's settings (a file without a ``construction`` had its
    cells from the start: ``full``, as ``ablate``'s ``construction=full`` still writes them)."""
    from lstm_proofs.training.results import construction_text

    return argparse.Namespace(task=settings["row"], row=None, update=settings["update"],
                              opt=[f"{k}={v}" for k, v in settings["task_options"].items()],
                              construction=construction_text(settings), st3_error=settings.get("st3_error"))


def replay_setup(path: Path, settings: dict[str, Any]) -> tuple[Preset, dict[str, Any], str, str]:
    """(preset, task options, update timing, backend) that reproduce a results file's settings.

    Raises:
        UserError: the current presets cannot reproduce them (a row's defaults changed since).
    """
    from lstm_proofs.commands.train import resolve
    from lstm_proofs.training.readings import recorded_readings
    from lstm_proofs.training.results import settings_of

    try:
        preset, options, update = resolve(_arguments_of(settings))
        preset = recorded_readings(preset, list(settings.get("readings") or []))
    except UserError as exc:
        raise UserError(f"{path}: {exc}; it cannot be replayed") from None
    if settings.get("diagnostics"):
        preset = preset.with_(diagnostics=True)
    backend = str(settings.get("backend", "numpy"))
    if json.loads(json.dumps(settings_of(preset, int(settings["seed"]), int(settings["max_sequences"]), options,
                                         update, backend))) != settings:
        raise UserError(f"{path}: the current presets cannot reproduce the file's settings (a row's defaults "
                        "changed); it cannot be replayed")
    return preset, options, update, backend


#: Floats of a rerun that differ from the stored ones by at most this many units in the last place differ by
#: rounding only (a summary statistic summed in another order by a later version of the code), not in substance.
ROUNDING_ULPS = 4


def compare(stored: Any, new: Any, path: str = "") -> tuple[list[str], list[str]]:
    """(differences, rounding) between a stored value of a trial record and a rerun's, field by field: a dict key
    the rerun adds (a field the current code adds to its records) is not a difference, at any depth; one it no
    longer writes is; floats within :data:`ROUNDING_ULPS` units in the last place of each other are listed apart,
    in ``rounding``, as 'field: relative difference'."""
    import math

    if not path:  # a rerun's record as its results file would keep it (tuples as lists), but for fields not stored
        new = {k: json.loads(json.dumps(v)) for k, v in new.items() if k in stored}
    if isinstance(stored, dict) and isinstance(new, dict):
        diffs, rounding = [], []
        for key in sorted(set(stored) - (set(RUN_FIELDS) if not path else set())):
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                diffs.append(f"{where}: missing in the rerun")
            else:
                d, r = compare(stored[key], new[key], where)
                diffs += d
                rounding += r
        return diffs, rounding
    if isinstance(stored, list) and isinstance(new, list) and len(stored) == len(new):
        diffs, rounding = [], []
        for i, (a, b) in enumerate(zip(stored, new)):
            d, r = compare(a, b, f"{path}[{i}]")
            diffs += d
            rounding += r
        return diffs, rounding
    if (isinstance(stored, float) and isinstance(new, float) and stored != new and math.isfinite(stored)
            and abs(stored - new) <= ROUNDING_ULPS * math.ulp(max(abs(stored), abs(new)))):
        return [], [f"{path}: {abs(stored - new) / max(abs(stored), abs(new)):.1g}"]
    if stored != new:
        return [f"{path}: stored {stored!r}, rerun {new!r}"], []
    return [], []


def differences(stored: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The fields of a stored trial record that a rerun does not reproduce (:func:`compare`; rounding apart)."""
    return compare(stored, new)[0]


def choose_trials(records: list[dict[str, Any]], k: int, current: str | None = None) -> list[dict[str, Any]]:
    """The ``k`` records to replay: those with the fewest training sequences (then the lowest trial index), and with
    ``current`` (a trainer fingerprint) first those that some other trainer had a part in producing. A trial resumed
    across a change of trainer carries one code stamp per stretch, and replaying a trial the current trainer produced
    whole would show nothing about the other."""
    def key(r: dict[str, Any]) -> tuple[bool, int, int]:
        own = current is not None and all(s.get("trainer") == current for s in r.get("code") or [{}])
        return own, int(r["sequences"]), int(r["trial"])
    return sorted(records, key=key)[:k]


def replay_file(path: Path, k: int | None, cluster: Any, again: bool, weights: bool = False) -> bool | None:
    """Replay ``k`` trials of one results file (``weights``: of those without a weights file, all of them when ``k``
    is None); True if identical, False if not, None if skipped. Identical trials get their weights files."""
    from lstm_proofs.commands.train import results_lock
    from lstm_proofs.training.provenance import code_stamp, trainer_fingerprint
    from lstm_proofs.results import write_json_atomic
    from lstm_proofs.training.results import read_run
    from lstm_proofs.training.study import replay_holds
    from lstm_proofs.training.weights import save_trial, stored_trials

    lock = results_lock(path)
    try:
        data = read_run(path)
        settings = data["settings"]
        current = trainer_fingerprint()
        stamps = [s for r in data["trials"] for s in r.get("code") or [{}]]
        if not data["trials"]:
            print(f"{path}: no finished trials to replay")
            return None
        candidates = data["trials"]
        if weights:
            have = set(stored_trials(path))
            candidates = [r for r in data["trials"] if int(r["trial"]) not in have]
            if not candidates:
                print(f"{path}: every trial has its weights file; nothing to replay")
                return None
        elif not again and stamps and all(s.get("trainer") == current for s in stamps):
            print(f"{path}: produced by the current trainer ({current}); nothing to replay")
            return None
        held = [r for r in data.get("replays", []) if r.get("trainer") == current and replay_holds(r)]
        if not again and not weights and held:
            how = "identically" if any(r.get("identical") for r in held) else "the same but for rounding"
            print(f"{path}: already replayed {how} under the current trainer ({current})")
            return None
        preset, options, update, backend = replay_setup(path, settings)
        chosen = choose_trials(candidates, len(candidates) if k is None else k, current)
        print(f"{path}: replaying trial(s) {', '.join(str(r['trial']) for r in chosen)} "
              f"({sum(int(r['sequences']) for r in chosen):,} sequences) under trainer {current}", flush=True)
        batch = TrialBatch(preset, tuple(int(r["trial"]) for r in chosen), int(settings["seed"]),
                           int(settings["max_sequences"]), options, update, backend)
        new: dict[int, dict[str, Any]] = {}
        started = time.perf_counter()
        with runner(cluster, announce=print) as run_batch:
            run_batch(batch, lambda *a: None, lambda rec: new.__setitem__(int(rec["trial"]), rec))
        compared = {int(r["trial"]): compare(r, new[int(r["trial"])]) for r in chosen}
        diffs = {t: d for t, (d, _) in compared.items()}
        rounding = {t: r for t, (_, r) in compared.items() if r}
        identical = not any(diffs.values()) and not rounding
        entry = {**code_stamp(), "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 "seconds": round(time.perf_counter() - started, 1), "trials": sorted(diffs),
                 "identical": identical, "differences": {str(t): d for t, d in diffs.items() if d}}
        if rounding and not any(diffs.values()):
            entry["rounding"] = {str(t): r for t, r in rounding.items()}  # the same but for float rounding
        data = read_run(path)  # unchanged under the lock, but read again so that nothing else is lost
        data.pop("path", None)
        data["replays"] = [*data.get("replays", []), entry]
        stored = 0
        for r in chosen:  # an identical rerun's weights are the stored trial's
            t = int(r["trial"])
            if not diffs[t] and t not in rounding and WEIGHTS_FIELD in new[t] and (weights or t not in
                                                                                   stored_trials(path)):
                try:
                    save_trial(path, settings, r, new[t][WEIGHTS_FIELD])
                except OSError as exc:
                    raise UserError(f"cannot write the weights of trial {t} beside {path}: "
                                    f"{exc.strerror or exc}") from None
                stored += 1
        write_json_atomic(path, data)
    finally:
        lock.release()
    for t, d in diffs.items():
        print(f"  trial {t}: " + ("DIFFERS: " + "; ".join(d) if d else
                                  f"the same but for rounding ({'; '.join(rounding[t])})" if t in rounding else
                                  "identical"))
    if stored:
        print(f"  weights of {stored} trial(s) stored in {weights_dir(path)}")
    return not any(diffs.values())


def run(args: argparse.Namespace) -> int:
    """Replay every file; 1 if a trial differed, else 0."""
    from lstm_proofs.commands.train import cluster_arg

    if args.trials is not None:
        k: int | None = int_arg("--trials", args.trials, 1, 10_000)
    else:
        k = None if args.weights else DEFAULT_TRIALS
    cluster = cluster_arg(args)
    paths = [Path(f) for f in args.files]
    from lstm_proofs.training.results import read_run

    for p in paths:  # every file readable and reproducible before any is replayed
        if not p.is_file():
            raise UserError(f"{p}: no such results file")
        replay_setup(p, read_run(p)["settings"])
    outcomes = [replay_file(p, k, cluster, args.again, args.weights) for p in paths]
    differ = [str(p) for p, o in zip(paths, outcomes) if o is False]
    if differ:
        print(f"lstm-proofs: replay: trials differ in {', '.join(differ)}")
        return 1
    return 0
