"""Results files of training runs (``results/train/*.json``), their summaries, and ``docs/results.md``.

A results file holds one run of one table row: the settings (row, seed, task options, update timing, sequence
cap), the preset's description, the paper's figures, and one record per finished trial. It is rewritten atomically
after every finished trial, so an interrupted run keeps every trial it finished; running again with the same file
and settings resumes (finished trials are skipped).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lstm_proofs.errors import UserError
from lstm_proofs.results import write_json_atomic
from lstm_proofs.training.checkpoints import Checkpoints, checkpoint_dir
from lstm_proofs.training.provenance import provenance
from lstm_proofs.training.statistics import percent_text
from lstm_proofs.training.presets import PAPER_ONLY_ROWS, PRESETS, Preset, row_construction

#: Where ``lstm-proofs train`` writes by default and ``lstm-proofs results`` reads.
RESULTS_DIR = Path("results/train")

FORMAT = "lstm-proofs/train/1"


def settings_of(preset: Preset, seed: int, max_sequences: int, options: dict[str, Any], update: str,
                backend: str = "numpy") -> dict[str, Any]:
    """The settings that must match for a results file to be resumed (the backend included: the compiled kernels
    agree with NumPy only to rounding, so a run is reproducible bit for bit with the backend it ran on)."""
    settings = {"row": preset.row, "seed": seed, "max_sequences": max_sequences, "task_options": dict(options),
                "update": update, "method": preset.method, "learning_rate": preset.learning_rate, "backend": backend}
    construction = preset.construction.setting()
    if construction is not None:  # sequential construction; files without the key had the cells from the start
        settings["construction"] = construction
    if preset.stopping.error != "absolute":  # files without the key used the mean absolute error
        settings["st3_error"] = preset.stopping.error
    if preset.readings:  # lstm-proofs ablate's readings and contrasts beyond the keys above
        settings["readings"] = list(preset.readings)
    if preset.diagnostics:
        settings["diagnostics"] = True
    return settings


def row_options(preset: Preset) -> dict[str, Any]:
    """The full task options of a row: the task's defaults with the row's settings."""
    from lstm_proofs.tasks import get_task

    return get_task(preset.task).options(**preset.task_options)


def is_paper_setting(preset: Preset, settings: dict[str, Any]) -> bool:
    """True if a run used the row's task options, update timing and construction (its sequence cap may differ)."""
    return (settings["task_options"] == row_options(preset) and settings["update"] == preset.update
            and settings.get("construction") == json.loads(json.dumps(preset.construction.setting()))
            and settings.get("st3_error", "absolute") == "absolute" and not settings.get("readings"))


def construction_text(settings: dict[str, Any]) -> str:
    """The construction of a run's settings in a word: ``sequential`` or ``full`` (cells from the start)."""
    c = settings.get("construction")
    return "full" if c is None else str(c.get("kind", "sequential"))


def default_path(preset: Preset, options: dict[str, Any], update: str, root: Path = RESULTS_DIR) -> Path:
    """``results/train/<row>.json``; runs with other options, update timing, construction or readings (``train
    --reading``) get a suffix naming them (``preset`` carries the run's construction and readings)."""
    extra = reading_parts(preset, options, update, preset.construction.kind, preset.stopping.error)
    extra += [r for r in preset.readings if r not in extra]
    stem = preset.file_stem + ("__" + "_".join(extra) if extra else "")
    return root / (stem.replace("/", "_") + ".json")


class ResultsFile:
    """A run's results file: load (to resume), add trial records, rewrite atomically."""

    def __init__(self, path: Path, preset: Preset, settings: dict[str, Any],
                 elsewhere: str = "use another --json path") -> None:
        """``elsewhere``: what the error for a file of another run tells the user to do instead of removing it."""
        self.path = Path(path)
        self.preset = preset
        self.settings = settings
        self.trials: dict[int, dict[str, Any]] = {}
        self.replays: list[dict[str, Any]] = []  # lstm-proofs replay's checks of the trials under later code
        self.extended: list[dict[str, Any]] = []  # raised caps (train --extend): from, to, the trials run on
        self.seconds_before = 0.0
        # core-seconds: wall time times the cores the run holds (set by the command running the trials); None for a
        # file written before they were recorded, whose earlier runs' cores are unknown
        self.core_seconds_before: float | None = 0.0
        self.cores = 1
        self.started = time.perf_counter()
        if self.path.exists():
            try:
                old = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise UserError(f"cannot read results file {self.path}: {exc}") from None
            problem = _shape_problem(old)
            if problem:
                raise UserError(f"{self.path} is not a results file of lstm-proofs train ({problem}); {elsewhere} "
                                "or remove the file")
            new = json.loads(json.dumps(settings))
            if not old.get("trials") and same_but_cap(old.get("settings"), new):
                old["settings"] = new  # no finished trial: a run at another cap takes the file over (checkpoints.py)
            if old.get("settings") != new:
                raise UserError(f"{self.path} holds a run with other settings "
                                f"({settings_diff(old.get('settings'), settings)}); {elsewhere} or remove the file")
            self.trials = {int(r["trial"]): r for r in old.get("trials", [])}
            self.seconds_before = float(old.get("wall_seconds", 0.0))
            held = old.get("core_seconds")
            self.core_seconds_before = float(held) if held is not None else (None if self.seconds_before else 0.0)
            self.replays = list(old.get("replays", []))
            self.extended = list(old.get("extended", []))

    def done(self) -> set[int]:
        return set(self.trials)

    def add(self, record: dict[str, Any], requested: int) -> None:
        """Store a finished trial and rewrite the file. The trial's weights, which the trainer hands over in the
        record's ``weights`` field, are written first to their own file beside this one
        (:mod:`~lstm_proofs.training.weights`) and never into the JSON; ``record`` itself is not changed."""
        from lstm_proofs.training.weights import WEIGHTS_FIELD, save_trial

        record = dict(record)
        payload = record.pop(WEIGHTS_FIELD, None)
        if payload is not None:
            try:
                save_trial(self.path, self.settings, record, payload)
            except OSError as exc:
                raise UserError(f"cannot write the weights of trial {record['trial']} beside {self.path}: "
                                f"{exc.strerror or exc}") from None
        self.trials[int(record["trial"])] = record
        self.write(requested)

    def write(self, requested: int) -> None:
        trials = [self.trials[i] for i in sorted(self.trials)]
        elapsed = time.perf_counter() - self.started
        payload = {
            "format": FORMAT, "row": self.preset.row, "task": self.preset.task, "settings": self.settings,
            "requested_trials": requested, "preset": self.preset.describe(), "paper": asdict(self.preset.paper),
            "summary": summarise(trials, self.settings.get("max_sequences")), "trials": trials,
            "wall_seconds": self.seconds_before + elapsed,
            "provenance": provenance(str(self.settings.get("backend", "numpy"))),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if self.core_seconds_before is not None:
            payload["core_seconds"] = self.core_seconds_before + elapsed * self.cores
        if self.replays:
            payload["replays"] = self.replays
        if self.extended:
            payload["extended"] = self.extended
        write_json_atomic(self.path, payload)


#: where a trial stopped at the cap keeps its last checkpoint, inside the run's checkpoint directory
AT_CAP = "at-cap"


def same_but_cap(old: Any, new: dict[str, Any]) -> bool:
    """True if the settings ``old`` (as read from a file) and ``new`` differ at most in the sequence cap."""
    return isinstance(old, dict) and dict(old, max_sequences=new.get("max_sequences")) == new


def keep_at_cap(store: Checkpoints, trial: int) -> None:
    """Move the checkpoint of a trial that stopped at the cap to ``<ckpt>/at-cap/``, where :func:`extend_results`
    finds it if the file's cap is raised later; nothing if it has none."""
    src = store.path(trial)
    if src.exists():
        (store.directory / AT_CAP).mkdir(exist_ok=True)
        os.replace(src, store.directory / AT_CAP / src.name)


def extend_results(path: Path, settings: dict[str, Any], directory: Path) -> list[int]:
    """Raise the cap of the results file ``path`` to ``settings["max_sequences"]`` (``train --extend``).

    Its solved trials stay (the cap only stops a trial: each solves at the same count under a larger one); its
    trials stopped at the old cap leave the file, to be run on: from the checkpoint each kept at the cap
    (:func:`keep_at_cap`, moved back into ``directory``, the run's checkpoint directory), from the start where none
    was kept. The file records the raise in ``extended`` and is rewritten atomically before any checkpoint moves,
    and a rerun of the same command does what is left. Returns the trials to run on.

    Raises:
        UserError: no such file; other settings than the cap; a cap not above the file's; a file name that gives
            its cap (``__cap=M``).
    """
    if not path.exists():
        raise UserError(f"--extend: {path} does not exist; there is no run to extend")
    data = read_run(path)
    del data["path"]  # read_run's, not the file's
    new = json.loads(json.dumps(settings))
    old, cap = data["settings"], int(new["max_sequences"])
    if not same_but_cap(old, new):
        raise UserError(f"--extend: {path} holds a run with other settings than the cap "
                        f"({settings_diff(old, new)})")
    if not isinstance(old.get("max_sequences"), int) or cap < old["max_sequences"]:
        raise UserError(f"--extend: --max-sequences {cap:,} is below the file's cap of {old['max_sequences']:,}")
    if "__cap=" in path.stem and f"__cap={cap}" not in path.stem:
        raise UserError(f"--extend: the name of {path} gives its cap; rename it (with its .ckpt and .weights "
                        "directories) first")
    if cap > old["max_sequences"]:
        stopped = sorted(int(t["trial"]) for t in data["trials"] if t.get("stop") == "cap")
        data["trials"] = [t for t in data["trials"] if int(t["trial"]) not in stopped]
        data["settings"], data["summary"] = new, summarise(data["trials"], cap)
        data["replays"] = [r for r in data.get("replays", []) if not set(r.get("trials", [])) & set(stopped)]
        data["extended"] = [*data.get("extended", []), {"from": old["max_sequences"], "to": cap,
                                                        "trials": stopped, "date": time.strftime("%Y-%m-%dT%H:%M:%S")}]
        write_json_atomic(path, data)
    done = {int(t["trial"]) for t in data["trials"]}
    active, kept = Checkpoints(Path(directory), new), Checkpoints(Path(directory) / AT_CAP, new)
    for trial in kept.pending():
        if trial not in done:
            os.replace(kept.path(trial), active.path(trial))
    if kept.directory.is_dir() and not any(kept.directory.iterdir()):
        kept.directory.rmdir()
    return sorted({int(t) for e in data.get("extended", []) for t in e["trials"]} - done)


def settings_diff(old: Any, new: dict[str, Any]) -> str:
    """Which settings of ``new`` a file's settings ``old`` differ in, each with both values."""
    if not isinstance(old, dict):
        return "unreadable settings"
    keys = [k for k in new if old.get(k) != json.loads(json.dumps(new[k]))]
    return ", ".join(f"{k}: file {old.get(k)!r} vs now {new[k]!r}" for k in keys) or "format"


def summarise(trials: list[dict[str, Any]], cap: int | None = None) -> dict[str, Any]:
    """Success rate, mean and median sequences to success, and mean test figures of finished trials (all but
    ``statistics`` over solved trials only); with the cap, ``statistics``: the figures over all trials of
    :func:`~lstm_proofs.training.statistics.row_statistics`. ``lstm-proofs results`` recomputes everything from the
    trial records and does not read this summary."""
    solved = [t for t in trials if t["solved"]]
    seqs = [t["sequences"] for t in solved]
    out: dict[str, Any] = {
        "trials": len(trials), "solved": len(solved),
        "success_rate": 100.0 * len(solved) / len(trials) if trials else None,
        "mean_sequences": statistics.fmean(seqs) if seqs else None,
        "median_sequences": statistics.median(seqs) if seqs else None,
        "min_sequences": min(seqs) if seqs else None, "max_sequences": max(seqs) if seqs else None,
        "capped": sum(1 for t in trials if t["stop"] == "cap"),
        "trial_seconds_mean": statistics.fmean(t["seconds"] for t in trials) if trials else None,
    }
    if cap is not None and trials:
        from lstm_proofs.training.statistics import row_statistics

        out["statistics"] = row_statistics(trials, cap).to_json()
    st1 = [t["st1_sequences"] for t in solved if t.get("st1_sequences") is not None]
    if st1:
        out["mean_st1_sequences"] = statistics.fmean(st1)
    tests = [t["test"] for t in solved if "test" in t]
    if tests:
        out["test_size"] = tests[0]["size"]
        out["mean_test_wrong"] = statistics.fmean(x["wrong"] for x in tests)
        out["max_test_wrong"] = max(x["wrong"] for x in tests)
        out["mean_test_fraction_wrong"] = statistics.fmean(x["fraction_wrong"] for x in tests)
        out["mean_test_error"] = statistics.fmean(x["mean_error"] for x in tests)
        if all("mse" in x for x in tests):
            out["mean_test_mse"] = statistics.fmean(x["mse"] for x in tests)
    return out


def read_run(path: Path) -> dict[str, Any]:
    """One results file, with its ``path``.

    Raises:
        UserError: if it is not a readable results file of this format (the one line names the file and why).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} ({type(exc).__name__})") from None
    problem = _shape_problem(data)
    if problem:
        raise UserError(f"{path} ({problem})")
    data["path"] = str(path)
    return data


def load_runs(root: Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Every results file under ``root`` (sorted by name), each with its ``path``.

    Raises:
        UserError: naming every file that is not a readable results file of this format (a truncated or
            hand-edited file is never skipped without a word).
    """
    runs, bad = [], []
    for path in sorted(Path(root).glob("*.json")):
        try:
            runs.append(read_run(path))
        except UserError as exc:
            bad.append(str(exc))
    if bad:
        raise UserError(f"unreadable results file(s): {'; '.join(bad)}")
    return runs


def _shape_problem(data: Any) -> str | None:
    """What is wrong with a parsed results file, or None."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("format") != FORMAT:
        return f"format {data.get('format')!r}, expected {FORMAT!r}"
    settings, trials = data.get("settings"), data.get("trials")
    if not isinstance(data.get("row"), str) or not isinstance(settings, dict) or not isinstance(trials, list):
        return "missing row, settings or trials"
    for key in ("seed", "max_sequences", "task_options", "update"):
        if key not in settings:
            return f"settings without {key!r}"
    for rec in trials:
        if not (isinstance(rec, dict) and isinstance(rec.get("trial"), int) and isinstance(rec.get("solved"), bool)
                and isinstance(rec.get("sequences"), int)):
            return "a trial record without an integer 'trial', boolean 'solved' or integer 'sequences'"
    return None


# ----- formatting -----

def fmt_num(x: Any, digits: int = 0) -> str:
    """A figure for tables: thousands separators for large numbers, ``-`` for None."""
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if isinstance(x, int) or (digits == 0 and float(x).is_integer()):
        return f"{int(round(x)):,}"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def paper_figures_text(preset: Preset) -> str:
    """The paper's figures of a row on one line."""
    pf = preset.paper
    parts = [f"{pf.table}, {pf.trials} trials"]
    if pf.success_rate is not None:
        parts.append(f"success {fmt_num(pf.success_rate)}%")
    if pf.sequences is not None:
        parts.append(f"mean sequences {fmt_num(pf.sequences)}")
    elif pf.success_rate == 0:
        parts.append("no success within 5,000,000")
    for k, v in pf.extra.items():
        parts.append(f"{k.replace('_', ' ')} {fmt_num(v, 3) if isinstance(v, float) and v < 1 else fmt_num(v)}")
    return "; ".join(parts)


def measured_text(summary: dict[str, Any]) -> str:
    """A run's measured figures on one line."""
    s = summary
    parts = [f"{s['trials']} trials", f"success {fmt_num(s['success_rate'], 3)}%" if s["success_rate"] is not None
             else "success -"]
    if s["mean_sequences"] is not None:
        parts.append(f"mean sequences {fmt_num(s['mean_sequences'])} (median {fmt_num(s['median_sequences'])}, "
                     f"range {fmt_num(s['min_sequences'])}-{fmt_num(s['max_sequences'])})")
    if "mean_st1_sequences" in s:
        parts.append(f"st1 {fmt_num(s['mean_st1_sequences'])}")
    if "mean_test_wrong" in s:
        parts.append(f"wrong {fmt_num(s['mean_test_wrong'], 3)} of {fmt_num(s['test_size'])} "
                     f"(max {s['max_test_wrong']}), "
                     f"fraction misclassified {fmt_num(s['mean_test_fraction_wrong'], 3)}, "
                     f"mean test error {fmt_num(s['mean_test_error'], 3)}"
                     + (f", mse {fmt_num(s['mean_test_mse'], 3)}" if "mean_test_mse" in s else ""))
    return "; ".join(parts)


def deviations(preset: Preset, run: dict[str, Any]) -> list[str]:
    """How a run departs from the paper's conditions for its row."""
    out = []
    s, st = run["summary"], run["settings"]
    requested = run.get("requested_trials", 0)
    if requested > s["trials"]:
        out.append(f"incomplete: {s['trials']} of {requested} requested trials finished (running or interrupted; "
                   "the figures cover finished trials only)")
    if s["trials"] < preset.paper.trials:
        out.append(f"{s['trials']} of the paper's {preset.paper.trials} trials")
    budget = 5_000_000 if preset.task in ("2a", "2b", "2c") else None
    if budget and st["max_sequences"] < budget:
        out.append(f"capped at {fmt_num(st['max_sequences'])} sequences (paper: 5,000,000)")
    elif st["max_sequences"] != preset.max_sequences:
        out.append(f"capped at {fmt_num(st['max_sequences'])} sequences")
    if s["capped"]:
        out.append(f"{s['capped']} trial(s) hit the cap")
    if not is_paper_setting(preset, st):
        out.append(f"reading: {reading_text(preset, st)}")
    return out


def reading_parts(preset: Preset, options: dict[str, Any], update: str, construction: str,
                  st3_error: str) -> list[str]:
    """How a run departs from the paper's reading of its row, one ``key=value`` per departure (the task options,
    update timing, construction and ST3 error that differ from the row's)."""
    base = row_options(preset)
    parts = [f"{k}={v}" for k, v in sorted(options.items()) if base.get(k) != v]
    if update != preset.update:
        parts.append(f"update={update}")
    if construction != row_construction(preset):
        parts.append(f"construction={construction}")
    if st3_error != "absolute":
        parts.append(f"st3={st3_error}")
    return parts


def reading_text(preset: Preset, settings: dict[str, Any]) -> str:
    """A run's departures from the paper's reading of its row, in words (``paper`` when it has none)."""
    parts = reading_parts(preset, settings.get("task_options") or {}, settings.get("update"),
                          construction_text(settings), settings.get("st3_error", "absolute"))
    return ", ".join(parts + [str(r) for r in settings.get("readings") or [] if str(r) not in parts]) or "paper"


def fmt_count(x: float | None, censored: bool = False) -> str:
    """A count with thousands separators; ``>= x`` when it is censored; ``-`` for None."""
    if x is None:
        return "-"
    return ("≥ " if censored else "") + f"{int(round(x)):,}"


def _interval(lo: float | None, hi: float | None, largest: float) -> str:
    upper = fmt_count(hi) if hi is not None else fmt_count(largest, True)
    return f"[{fmt_count(lo) if lo is not None else '-'}, {upper}]"


def stats_cells(rep: Any) -> list[str]:
    """The statistics columns of a row report (see :func:`generate_markdown`)."""
    st = rep.stats
    if st is None:
        return ["-"] * 6
    paper = rep.preset.paper
    rate = 100.0 if paper.success_rate is None else paper.success_rate
    inside = st.rate_low <= rate / 100 <= st.rate_high
    success = (f"{st.solved}/{st.trials} = {percent_text(st.rate)} [{percent_text(st.rate_low)}, "
               f"{percent_text(st.rate_high)}]"
               f"; paper's {rate:.0f}%{'' if paper.success_rate is not None else ' (implied)'} "
               + ("inside" if inside else "outside"))
    median = (fmt_count(st.median) if st.median_reached else fmt_count(st.largest, True)) + " " + _interval(
        st.median_low, st.median_high, st.largest)
    rmst = fmt_count(st.restricted_mean, st.censored > 0)
    solved = f"{fmt_count(st.solved_mean)} ({st.solved} solved)" if st.solved_mean is not None else "- (none solved)"
    return [success, median, rmst, solved, f"{st.censored}", rep.verdict.verdict if rep.verdict else "-"]


def commit_text(rep: Any, plain: bool = False) -> str:
    """The commit(s) of a row's trials, each marked where its checkout was dirty, and the trainer-changed mark
    (Markdown, or ``plain``)."""
    pv = rep.provenance
    if pv is None:
        return "-"
    tick = "" if plain else "`"
    if not pv.commits and not pv.unknown:
        return "- (no finished trial)"
    text = ", ".join(f"{tick}{c[:7]}{tick}" + (" (dirty tree)" if c in pv.dirty else "") for c in pv.commits) \
        or "unknown"
    if pv.unknown:
        text += f" ({pv.unknown} trial(s) without provenance)"
    if pv.changed:
        replay = pv.replay
        if replay is None:
            text += " (trainer changed since)" if plain else " **trainer changed since**"
        elif replay.get("identical"):
            n = len(replay.get("trials", []))
            text += f" (trainer changed since; {n} trial(s) replayed identically by the current one)"
        elif replay.get("rounding"):
            n = len(replay.get("trials", []))
            text += (f" (trainer changed since; {n} trial(s) replayed by the current one, the same but for rounding "
                     f"in the last place of {_rounded_fields(replay['rounding'])})")
        else:
            differs = "trainer changed since; replay differs"
            text += f" ({differs})" if plain else f" **{differs}**"
    return text


def _rounded_fields(rounding: dict[str, list[str]]) -> str:
    """The fields a replay reproduced only to rounding, without list indices ('train_window.mean_error')."""
    import re

    names = sorted({re.sub(r"\[\d+\]", "", item.split(": ")[0]) for items in rounding.values() for item in items})
    return ", ".join(names)


def row_seconds(run: dict[str, Any]) -> float:
    """The wall time a row's trials took: the results file's own (which counts only the runs that wrote it) or, if
    longer, the longest a trial took (its ``seconds`` include the time before each checkpoint it resumed from)."""
    longest = max((float(t.get("seconds") or 0.0) for t in run.get("trials", [])), default=0.0)
    return max(float(run.get("wall_seconds") or 0.0), longest)


def run_cores(run: dict[str, Any]) -> float | None:
    """The cores a run held on average: its core-seconds over its wall time; None where the file does not record
    core-seconds (written before they were, or by runs before then), whose runs may have held several."""
    wall, cores = float(run.get("wall_seconds") or 0.0), run.get("core_seconds")
    return float(cores) / wall if cores is not None and wall > 0 else None


def _in_progress(rep: Any) -> str:
    """``; N in progress, unsolved at M sequences``: the row's unfinished trials that have a checkpoint (a trial that
    solves finishes, so these are unsolved at the sequences their checkpoints hold); empty when there are none."""
    done = {int(t["trial"]) for t in rep.run["trials"]}
    held = [v[0] for t, v in (checkpointed(rep.run["path"]) if rep.run.get("path") else {}).items() if t not in done]
    if not held:
        return ""
    lo, hi = min(held), max(held)
    return f"; {len(held)} in progress, unsolved at {fmt_count(lo)}" + (f" to {fmt_count(hi)}" if hi != lo else "") \
        + " sequences"


def checkpointed(results_path: str | Path) -> dict[int, tuple[int, float]]:
    """The unfinished trials of a results file that have a checkpoint: (training sequences, seconds of training)
    by trial, read from the files' metadata (an unreadable checkpoint counts as none)."""
    out = {}
    for trial, state in Checkpoints(checkpoint_dir(Path(results_path)), {}).peek().items():
        try:
            out[trial] = (int(state["sequences"]), float(state["seconds"]))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def completion(rep: Any) -> dict[str, Any] | None:
    """What completing a row at its default cap (the paper's 5,000,000 for Exps. 2a-2c, ten times the paper's mean
    elsewhere) and the paper's trial count still takes, at most: every trial not yet run, and every trial stopped at
    a lower cap (``train --extend``: solved trials stay), runs to the cap; checkpointed sequences are done, those
    kept at the lower cap included. The rate is the row's own (:func:`row_rate`). None for a row with nothing
    left."""
    p = rep.preset
    target, n = int(p.max_sequences), int(p.paper.trials)
    if rep.run is None:
        return {"row": p.row, "cap": None, "target": target, "left": n, "sequences": n * target, "rate": None}
    trials = rep.run["trials"][:n]
    done = {int(t["trial"]) for t in trials}
    ckpt = {t: v for t, v in (checkpointed(rep.run["path"]) if rep.run.get("path") else {}).items() if t not in done}
    held = {t: q for t, (q, _) in ckpt.items()}
    if rep.cap >= target:
        rerun = 0
        left = n - len(trials)
        todo = left * target - sum(held.values())
    else:  # train --extend: solved trials stay, those stopped at the lower cap run on from the checkpoint kept there
        kept = {t: int(v["sequences"]) for t, v in Checkpoints(checkpoint_dir(Path(rep.run["path"])) / AT_CAP, {})
                .peek().items()} if rep.run.get("path") else {}
        stopped = [int(t["trial"]) for t in trials if not t["solved"]]
        rerun = len(stopped)
        left = n - len(trials) + rerun
        todo = sum(target - kept.get(t, 0) for t in stopped) + (n - len(trials)) * target - sum(held.values())
    if todo <= 0:
        return None
    return {"row": p.row, "cap": int(rep.cap), "target": target, "left": left, "rerun": rerun,
            "sequences": todo, "rate": row_rate(rep.run, trials, ckpt)}


def row_rate(run: dict[str, Any], trials: list[dict[str, Any]] | None = None,
             ckpt: dict[int, tuple[int, float]] | None = None) -> float | None:
    """A run's own rate so far on one core, in trial-sequences per second: the sequences of its finished trials and
    of its checkpoints over the longer of the file's wall time (:func:`row_seconds`) and the longest time a
    checkpoint records, times the cores the run held on average (:func:`run_cores`; 1 where the file does not
    record them, which overstates the rate of a run on several cores). Trials in lockstep share the wall time; a
    serial run's current trial adds to it, so this overstates such a run's rate by at most that trial's part. None
    where the run has done nothing yet. ``trials`` (default: all of the file's) and ``ckpt`` (default:
    :func:`checkpointed` without the finished trials) narrow what counts."""
    trials = run["trials"] if trials is None else trials
    if ckpt is None:
        done = {int(t["trial"]) for t in trials}
        ckpt = {t: v for t, v in (checkpointed(run["path"]) if run.get("path") else {}).items() if t not in done}
    seq = sum(int(t["sequences"]) for t in trials) + sum(q for q, _ in ckpt.values())
    wall = max(row_seconds(run), max((sec for _, sec in ckpt.values()), default=0.0)) * (run_cores(run) or 1.0)
    return seq / wall if wall > 0 and seq > 0 else None


def sequences_left(run: dict[str, Any], trials: int, cap: int) -> int:
    """The training sequences a run of ``trials`` trials to ``cap`` still needs at most: every unfinished trial to
    the cap, less what its checkpoint holds."""
    done = {int(t["trial"]) for t in run["trials"]}
    ckpt = {t: q for t, (q, _) in (checkpointed(run["path"]) if run.get("path") else {}).items() if t not in done}
    return sum(cap - min(ckpt.get(t, 0), cap) for t in range(trials) if t not in done)


def completion_lines(reports: list[Any]) -> list[str]:
    """docs/results.md's section on what completing the table still takes on the machine the rows ran on."""
    rows = [c for c in (completion(r) for r in reports) if c is not None]
    if not rows:
        return []
    lines = ["", "## What completing the table still takes", "",
             "Per row left incomplete: the trials still to run to the row's default cap (the paper's 5,000,000 "
             "sequences for Exps. 2a-2c, ten times the paper's mean elsewhere; a row run at a lower cap is run on "
             "with `lstm-proofs train ROW --max-sequences CAP --extend` (a file named for its cap, `__cap=M`, renamed "
             "first): its solved trials stay, its trials stopped at the lower cap run on from the checkpoint kept "
             "there, or from the start where none was kept), the "
             "trial-sequences that is at most (every unsolved trial to the cap; checkpointed sequences count as "
             "done), and the hours on one "
             "core of the machine the row ran on, at the row's own average rate: the trial-sequences of its "
             "finished trials over the core-seconds of its runs (of its checkpoints where none has finished), so a "
             "busy machine, pauses and the final tests count against it; a file written before core-seconds were "
             "recorded gives a rate over wall time, which a run on two cores doubles, so its hours can be half "
             "what one core takes (docs/decisions.md). Trials that "
             "solve early cost less. Rows not run have no rate here (docs/performance.md projects them from the "
             "benchmark).", "",
             "| row | cap run | default cap | trials to run | trial-sequences to run (at most) | "
             "rate (trial-sequences per second on one core) | one core (at most) |", "|---|---|---|---|---|---|---|"]
    total_h = 0.0
    for c in rows:
        hours = c["sequences"] / c["rate"] / 3600 if c["rate"] else None
        total_h += hours or 0.0
        cap = fmt_count(c["cap"]) if c["cap"] is not None else "*not run*"
        trials = f"{c['left']}" + (f" ({c['rerun']} stopped at the lower cap)" if c.get("rerun") else "")
        lines.append(f"| `{c['row']}` | {cap} | {fmt_count(c['target'])} | {trials} | {fmt_count(c['sequences'])} | "
                     f"{fmt_count(c['rate']) if c['rate'] else '-'} | {hours_text(hours)} |")
    lines.append(f"| **total** (rows with a rate) | | | | | | **{hours_text(total_h)}** |")
    return lines


def hours_text(h: float | None) -> str:
    """Hours as minutes below one, with one decimal below a hundred, whole above; '-' for None."""
    if h is None:
        return "-"
    return f"{h * 60:.0f} min" if h < 1 else f"{h:,.1f} h" if h < 100 else f"{h:,.0f} h"


def generate_markdown(runs: Iterable[dict[str, Any]], presets: Iterable[Preset] = PRESETS) -> str:
    """``docs/results.md``: every table row at the paper's reading, its statistics over all trials, verdict,
    like-for-like comparisons and provenance; then the other runs, each labelled by its reading."""
    from lstm_proofs.training.provenance import trainer_fingerprint
    from lstm_proofs.training.statistics import LEVEL, SPEED_FACTOR
    from lstm_proofs.training.study import row_report, study

    runs = list(runs)
    presets = tuple(presets)
    current = trainer_fingerprint()
    reports = study(runs, presets)
    chosen = {id(r.run) for r in reports if r.run is not None}
    level = f"{100 * LEVEL:.0f}%"
    lines = [
        "# Training results against the paper's tables",
        "",
        "GENERATED by `lstm-proofs results` from `results/train/*.json`; do not edit by hand "
        "(`lstm-proofs results --check` fails when this page is stale).",
        "",
        "Every row of Tables 1-9 of Hochreiter & Schmidhuber (1997) at the paper's reading, with statistics over",
        "*all* trials (how they are computed, and the verdict rule: `docs/statistics.md`). A trial ends solved or at",
        "the row's sequence cap, where it is right-censored; trials \"in progress\" have a checkpoint and are unsolved",
        f"at the sequences it holds (they count once they finish). Success: k solved of n, with the exact {level}",
        "(Clopper-Pearson) interval, and whether the paper's rate lies in it (where the paper prints no rate, its",
        "means over all its trials imply 100%). Median: the Kaplan-Meier median of sequences to success over all",
        f"trials, with its {level} interval; \"≥\" marks a censored figure (not reached within the cap). Restricted",
        "mean: the mean of min(sequences to success, cap) over all trials, a lower bound of the mean where trials were",
        f"censored. Solved-only mean: over solved trials only, the kind of figure the paper prints. Verdicts use a",
        f"factor of {SPEED_FACTOR:g} on sequences. Conditions and decisions: `docs/decisions.md` (Training). Where a",
        "row does not reproduce, `docs/readings.md` runs it under the other readings of the paper and contrasts, with",
        "measurements of what the trained networks do (`lstm-proofs ablate ROW`).",
        "",
        "## Every row",
        "",
        "| row | paper | trials | success k/n [" + level + " CI] | median sequences [" + level + " CI] | "
        "restricted mean (to the cap) | solved-only mean | censored | cap | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rep in reports:
        p = rep.preset
        paper = paper_cell(p)
        if rep.run is None:
            lines.append(f"| `{p.row}` | {paper} | *not run* | - | - | - | - | - | {fmt_count(p.max_sequences)} | - |")
            continue
        trials = f"{rep.finished} of {p.paper.trials}" + (f" ({rep.requested} requested)" if rep.requested
                                                             != p.paper.trials else "")
        trials += _in_progress(rep)
        cap = fmt_count(rep.cap) + (f" (paper: {fmt_count(rep.budget)})" if rep.budget and rep.cap < rep.budget
                                    else "")
        cells = stats_cells(rep)
        lines.append(f"| `{p.row}` | {paper} | {trials} | " + " | ".join(cells[:5]) + f" | {cap} | {cells[5]} |")
    lines += ["", "## Verdicts and provenance", "",
              "| row | verdict | why | commit | backend | seed | wall time |", "|---|---|---|---|---|---|---|"]
    for rep in reports:
        if rep.run is None:
            continue
        why = rep.verdict.reason if rep.verdict else "no finished trial"
        lines.append(f"| `{rep.preset.row}` | {rep.verdict.verdict if rep.verdict else '-'} | {why} | "
                     f"{commit_text(rep)} | {rep.provenance.backend} | {rep.run['settings']['seed']} | "
                     f"{_duration(row_seconds(rep.run))} |")
    lines += ["", "## Like for like: the paper's other figures next to ours", "",
              "Ours are means over the solved trials (the paper's are over its trials, all of which reached the "
              "criterion).", "", "| row | figure | paper | ours | over |", "|---|---|---|---|---|"]
    for rep in reports:
        for c in rep.comparisons:
            lines.append(f"| `{rep.preset.row}` | {c.label} | {_fig(c.paper)} | {_fig(c.ours)} | "
                         f"{c.over} solved trial(s) |")
    lines += learning_rate_lines(reports)
    lines += completion_lines(reports)
    lines += ["", "## Rows not trained here", "", "| row | table | method | # weights | learning rate | % success | "
              "success after | why |", "|---|---|---|---|---|---|---|---|"]
    for o in PAPER_ONLY_ROWS:
        lines.append(f"| `{o.row}` | {o.table} | {o.method} | {o.weights} | {o.learning_rate} | {o.success_rate} | "
                     f"{o.sequences} | {o.reason} |")
    by_row = {p.row: p for p in presets}
    others = [r for r in runs if id(r) not in chosen]
    if others:
        lines += ["", "## Other runs", "",
                  "Runs under another reading of the paper (labelled), or further runs of a row at its reading.", "",
                  "| row | reading | file | trials | success k/n [" + level + " CI] | median sequences [" + level
                  + " CI] | restricted mean | solved-only mean | censored | cap | verdict | commit |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in others:
            p = by_row.get(r["row"])
            if p is None:
                lines.append(f"| `{r['row']}` | unknown row | `{Path(r['path']).name}` | {len(r['trials'])} |"
                             + " - |" * 8)
                continue
            rep = row_report(p, r, current)
            cells = stats_cells(rep)
            lines.append(f"| `{p.row}` | {reading_text(p, r['settings'])} | `{Path(r['path']).name}` | "
                         f"{rep.finished} | " + " | ".join(cells[:5]) + f" | {fmt_count(rep.cap)} | "
                         f"{cells[5]} | {commit_text(rep)} |")
    return "\n".join(lines) + "\n"


def learning_rate_lines(reports: list[Any]) -> list[str]:
    """docs/results.md's section on rows that differ only in the learning rate: per group, the paper's success
    rate and ours at each rate in a row, so that a trend (or its reversal) can be read off."""
    groups: dict[str, list[Any]] = {}
    for rep in reports:
        head, sep, _ = rep.preset.row.rpartition("/lr=")
        if sep and rep.run is not None and rep.stats is not None:
            groups.setdefault(head, []).append(rep)
    groups = {k: sorted(v, key=lambda r: r.preset.learning_rate) for k, v in groups.items() if len(v) > 1}
    if not groups:
        return []
    lines = ["", "## Learning rate", "",
             "Rows that differ only in the learning rate, at the paper's reading: the paper's success rate (100% "
             "where it prints only a mean) and ours, from the lowest rate to the highest (each row's cap and "
             "trials as above; * marks a row with trials still to run).", "",
             "| rows | learning rates | paper's success | ours |", "|---|---|---|---|"]
    for head, reps in groups.items():
        rates = " → ".join(f"{r.preset.learning_rate:g}" for r in reps)
        paper = " → ".join(f"{100.0 if r.preset.paper.success_rate is None else r.preset.paper.success_rate:g}%"
                           for r in reps)
        ours = " → ".join(f"{percent_text(r.stats.solved / r.stats.trials)} ({r.stats.solved}/{r.stats.trials}"
                          + ("*" if r.finished < r.preset.paper.trials else "") + ")" for r in reps)
        lines.append(f"| `{head}/lr=...` | {rates} | {paper} | {ours} |")
    return lines


def paper_cell(p: Preset) -> str:
    """The paper's figures of a row in one table cell."""
    pf = p.paper
    parts = [f"{pf.table}, {pf.trials} trials"]
    if pf.success_rate is not None:
        parts.append(f"{fmt_num(pf.success_rate)}%")
    parts.append(f"mean {fmt_count(pf.sequences)}" if pf.sequences is not None else
                 "no success within 5,000,000")
    return "; ".join(parts)


def _fig(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 100:
        return fmt_count(x)
    return f"{x:.3g}"


def _duration(seconds: Any) -> str:
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
