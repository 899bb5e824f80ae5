"""Results files of training runs (``results/train/*.json``), their summaries, and ``docs/results.md``.

A results file holds one run of one table row: the settings (row, seed, task options, update timing, sequence
cap), the preset's description, the paper's figures, and one record per finished trial. It is rewritten atomically
after every finished trial, so an interrupted run keeps every trial it finished; running again with the same file
and settings resumes (finished trials are skipped).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lstm_proofs.errors import UserError
from lstm_proofs.results import write_json_atomic
from lstm_proofs.training.provenance import provenance
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
    return settings


def row_options(preset: Preset) -> dict[str, Any]:
    """The full task options of a row: the task's defaults with the row's settings."""
    from lstm_proofs.tasks import get_task

    return get_task(preset.task).options(**preset.task_options)


def is_paper_setting(preset: Preset, settings: dict[str, Any]) -> bool:
    """True if a run used the row's task options, update timing and construction (its sequence cap may differ)."""
    return (settings["task_options"] == row_options(preset) and settings["update"] == preset.update
            and settings.get("construction") == json.loads(json.dumps(preset.construction.setting()))
            and settings.get("st3_error", "absolute") == "absolute")


def construction_text(settings: dict[str, Any]) -> str:
    """The construction of a run's settings in a word: ``sequential`` or ``full`` (cells from the start)."""
    c = settings.get("construction")
    return "full" if c is None else str(c.get("kind", "sequential"))


def default_path(preset: Preset, options: dict[str, Any], update: str, root: Path = RESULTS_DIR) -> Path:
    """``results/train/<row>.json``; runs with other options, update timing or construction get a suffix naming
    them (``preset`` carries the run's construction)."""
    base = row_options(preset)
    extra = [f"{k}={v}" for k, v in sorted(options.items()) if base.get(k) != v]
    if update != preset.update:
        extra.append(f"update={update}")
    if preset.construction.kind != row_construction(preset):
        extra.append(f"construction={preset.construction.kind}")
    if preset.stopping.error != "absolute":
        extra.append(f"st3={preset.stopping.error}")
    stem = preset.file_stem + ("__" + "_".join(extra) if extra else "")
    return root / (stem.replace("/", "_") + ".json")


class ResultsFile:
    """A run's results file: load (to resume), add trial records, rewrite atomically."""

    def __init__(self, path: Path, preset: Preset, settings: dict[str, Any]) -> None:
        self.path = Path(path)
        self.preset = preset
        self.settings = settings
        self.trials: dict[int, dict[str, Any]] = {}
        self.seconds_before = 0.0
        self.started = time.perf_counter()
        if self.path.exists():
            try:
                old = json.loads(self.path.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise UserError(f"cannot read results file {self.path}: {exc}") from None
            if old.get("settings") != json.loads(json.dumps(settings)):
                raise UserError(f"{self.path} holds a run with other settings ({_diff(old.get('settings'), settings)});"
                                " use another --json path or remove the file")
            self.trials = {int(r["trial"]): r for r in old.get("trials", [])}
            self.seconds_before = float(old.get("wall_seconds", 0.0))

    def done(self) -> set[int]:
        return set(self.trials)

    def add(self, record: dict[str, Any], requested: int) -> None:
        """Store a finished trial and rewrite the file."""
        self.trials[int(record["trial"])] = record
        self.write(requested)

    def write(self, requested: int) -> None:
        trials = [self.trials[i] for i in sorted(self.trials)]
        payload = {
            "format": FORMAT, "row": self.preset.row, "task": self.preset.task, "settings": self.settings,
            "requested_trials": requested, "preset": self.preset.describe(), "paper": asdict(self.preset.paper),
            "summary": summarise(trials), "trials": trials,
            "wall_seconds": self.seconds_before + time.perf_counter() - self.started,
            "provenance": provenance(str(self.settings.get("backend", "numpy"))),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        write_json_atomic(self.path, payload)


def _diff(old: Any, new: dict[str, Any]) -> str:
    if not isinstance(old, dict):
        return "unreadable settings"
    keys = [k for k in new if old.get(k) != json.loads(json.dumps(new[k]))]
    return ", ".join(f"{k}: file {old.get(k)!r} vs now {new[k]!r}" for k in keys) or "format"


def summarise(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """Success rate, mean and median sequences to success, and mean test figures of finished trials."""
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


def load_runs(root: Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Every readable results file under ``root`` (sorted by name), each with its ``path``."""
    runs = []
    for path in sorted(Path(root).glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if data.get("format") == FORMAT:
            data["path"] = str(path)
            runs.append(data)
    return runs


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
        out.append(f"options {st['task_options']}, update {st['update']}, construction {construction_text(st)}")
    return out


def generate_markdown(runs: Iterable[dict[str, Any]], presets: Iterable[Preset] = PRESETS) -> str:
    """``docs/results.md``: every preset row with the paper's and the measured figures."""
    runs = list(runs)
    by_row: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_row.setdefault(r["row"], []).append(r)
    lines = [
        "# Training results against the paper's tables",
        "",
        "GENERATED by `lstm-proofs results` from `results/train/*.json`; do not edit by hand.",
        "",
        "Every row of Tables 1-9 of Hochreiter & Schmidhuber (1997). \"Paper\" gives the printed figures (means over",
        "the paper's trials); \"measured\" gives ours: success rate, mean / median / range of training sequences until",
        "the stopping criterion (solved trials only), and the final test figures (means over solved trials). Rows",
        "without a results file are marked *not run*. Conditions and decisions: `docs/decisions.md` (Training).",
        "",
        "| row | method, net | paper | measured | trials, cap | wall time | deviations |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in presets:
        net = (f"{p.method.upper()}, {p.topology.n_blocks}x{p.topology.block_size} {p.topology.cell}, "
               f"{p.topology.n_weights} w, alpha {p.learning_rate:g}")
        matching = [r for r in by_row.get(p.row, []) if is_paper_setting(p, r["settings"])]
        if not matching:
            lines.append(f"| `{p.row}` | {net} | {paper_figures_text(p)} | *not run* | - | - | - |")
            continue
        for r in matching:
            s = r["summary"]
            dev = "; ".join(deviations(p, r)) or "none"
            st = r["settings"]
            lines.append(f"| `{p.row}` | {net} | {paper_figures_text(p)} | {measured_text(s)} | "
                         f"{s['trials']} (seed {st['seed']}), cap {fmt_num(st['max_sequences'])} | "
                         f"{_duration(r.get('wall_seconds'))} | {dev} |")
    lines += ["", "## Rows not trained here", "", "| row | table | method | # weights | learning rate | % success | "
              "success after | why |", "|---|---|---|---|---|---|---|---|"]
    for o in PAPER_ONLY_ROWS:
        lines.append(f"| `{o.row}` | {o.table} | {o.method} | {o.weights} | {o.learning_rate} | {o.success_rate} | "
                     f"{o.sequences} | {o.reason} |")
    others = [r for p in presets for r in by_row.get(p.row, []) if not is_paper_setting(p, r["settings"])]
    known = {p.row for p in presets}
    others += [r for r in runs if r["row"] not in known]
    if others:
        lines += ["", "## Other runs (options, update timing, construction or ST3 reading differ from the paper's row)", "",
                  "| row | file | settings | measured | wall time |", "|---|---|---|---|---|"]
        for r in others:
            st = r["settings"]
            lines.append(f"| `{r['row']}` | `{Path(r['path']).name}` | options {st['task_options']}, update "
                         f"{st['update']}, construction {construction_text(st)}, "
                         f"{'ST3 error ' + st['st3_error'] + ', ' if 'st3_error' in st else ''}"
                         f"cap {fmt_num(st['max_sequences'])}, seed {st['seed']} | "
                         f"{measured_text(r['summary'])} | {_duration(r.get('wall_seconds'))} |")
    return "\n".join(lines) + "\n"


def _duration(seconds: Any) -> str:
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
