"""The reproduction study: each table row's results file turned into its statistics, verdict, like-for-like
comparisons with the paper and provenance (what ``docs/results.md`` and the report show).

Everything here is computed from the trial records of the results files (``results/train/*.json``); the summaries
those files carry are not read, so a reader can recompute every figure from the records alone.
"""

from __future__ import annotations

import statistics as pystats
from dataclasses import dataclass, field
from typing import Any

from lstm_proofs.training.presets import EXP2_BUDGET, PRESETS, Preset
from lstm_proofs.training.provenance import trainer_fingerprint
from lstm_proofs.training.statistics import RowStatistics, Verdict, row_statistics, verdict

#: The paper's figures of Tables 3-9 next to ours: (label, how ours is computed from a record, format).
#: Ours are means over solved trials (the paper's are over its trials, every one of which reached its criterion).
COMPARISONS: dict[str, tuple[str, str]] = {
    "st1": ("sequences to ST1", "st1"),
    "fraction_misclassified": ("fraction of the 2,560 test sequences misclassified", "fraction_wrong"),
    "mean_error": ("mean absolute test error", "mean_error"),
    "wrong": ("wrong test sequences of 2,560", "wrong"),
    "mse": ("mean absolute test error (the paper's 'MSE' column; its text says 'average test error below "
            "0.026 (0.013)', an absolute error)", "mean_error"),
}


@dataclass
class Comparison:
    """One of the paper's figures next to ours of the same kind."""

    label: str
    paper: float
    ours: float | None
    over: int  # the trials ours is a mean over


@dataclass
class Provenance:
    """Where a row's trials came from."""

    commits: list[str]
    dirty: list[str]  # the commits of those processes whose checkout had uncommitted changes (outside results/)
    unknown: int  # trials without a code stamp
    fingerprints: list[str]
    changed: bool  # the trainer's fingerprint differs from the current tree's (or a trial has no stamp)
    backend: str
    replay: dict[str, Any] | None = None  # the latest ``lstm-proofs replay`` under the current trainer, if any

    @property
    def current(self) -> bool:
        """The trials are the current trainer's: produced by it, or replayed under it identically or the same but
        for float rounding (``lstm-proofs replay``)."""
        return not self.changed or (self.replay is not None and replay_holds(self.replay))


def replay_holds(entry: dict[str, Any]) -> bool:
    """Whether an ``lstm-proofs replay`` entry reproduced its trials: identically, or the same but for float
    rounding (its ``rounding``)."""
    return bool(entry.get("identical") or entry.get("rounding"))


@dataclass
class RowReport:
    """A table row with its run at the paper's reading (``run`` None: not run yet)."""

    preset: Preset
    run: dict[str, Any] | None
    stats: RowStatistics | None = None
    verdict: Verdict | None = None
    comparisons: list[Comparison] = field(default_factory=list)
    provenance: Provenance | None = None

    @property
    def cap(self) -> int | None:
        return None if self.run is None else int(self.run["settings"]["max_sequences"])

    @property
    def finished(self) -> int:
        return 0 if self.stats is None else self.stats.trials

    @property
    def requested(self) -> int:
        return 0 if self.run is None else int(self.run.get("requested_trials", 0))

    @property
    def complete(self) -> bool:
        """Every requested trial finished (a run exists)."""
        return self.run is not None and self.finished >= self.requested

    @property
    def budget(self) -> int | None:
        """The paper's own cap, where it states one (Exps. 2a-2c)."""
        return EXP2_BUDGET if self.preset.task in ("2a", "2b", "2c") else None


def trials_of(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The trial records of a results file, sorted by trial."""
    return sorted(run.get("trials", []), key=lambda r: int(r["trial"]))


def provenance_of(run: dict[str, Any], current: str | None = None) -> Provenance:
    """Commits, dirty flags and trainer fingerprints over a run's trials."""
    current = trainer_fingerprint() if current is None else current
    commits: list[str] = []
    prints: list[str] = []
    dirty: list[str] = []
    unknown = 0
    for rec in trials_of(run):
        stamps = rec.get("code")
        if not stamps:
            unknown += 1
            continue
        for s in stamps:
            c = str(s.get("commit") or "unknown")
            if c not in commits:
                commits.append(c)
            if s.get("trainer") not in prints:
                prints.append(str(s.get("trainer")))
            if s.get("dirty") and c not in dirty:
                dirty.append(c)
    changed = unknown > 0 or any(f != current for f in prints)
    replays = [r for r in run.get("replays", []) if r.get("trainer") == current]
    return Provenance(commits, dirty, unknown, prints, changed, str(run["settings"].get("backend", "numpy")),
                      replays[-1] if replays else None)


def comparisons_of(preset: Preset, trials: list[dict[str, Any]]) -> list[Comparison]:
    """The paper's extra figures of the row next to ours (means over solved trials)."""
    solved = [t for t in trials if t["solved"]]
    out = []
    for key, paper in preset.paper.extra.items():
        label, ours_key = COMPARISONS[key]
        if key == "st1":
            values = [t["st1_sequences"] for t in solved if t.get("st1_sequences") is not None]
        else:
            values = [t["test"][ours_key] for t in solved if isinstance(t.get("test"), dict)]
        out.append(Comparison(label, float(paper), pystats.fmean(values) if values else None, len(values)))
    return out


def row_report(preset: Preset, run: dict[str, Any] | None, current: str | None = None) -> RowReport:
    """The statistics, verdict, comparisons and provenance of one row's run."""
    rep = RowReport(preset, run)
    if run is None:
        return rep
    trials = trials_of(run)
    rep.provenance = provenance_of(run, current)
    if not trials:
        return rep
    rep.stats = row_statistics(trials, rep.cap)
    p = preset.paper
    rep.verdict = verdict(rep.stats, p.trials, p.success_rate, p.sequences, rep.cap, rep.budget)
    rep.comparisons = comparisons_of(preset, trials)
    return rep


def paper_reading_runs(runs: list[dict[str, Any]], preset: Preset) -> list[dict[str, Any]]:
    """The runs of a row at the paper's reading (its task options, update timing, construction, ST3 error)."""
    from lstm_proofs.training.results import is_paper_setting

    return [r for r in runs if r.get("row") == preset.row and is_paper_setting(preset, r["settings"])]


def choose_run(candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The run that represents a row: the one with the most finished trials, then the largest cap, then the file
    name (so the choice does not depend on the order files are read in)."""
    if not candidates:
        return None
    return max(candidates, key=lambda r: (len(r.get("trials", [])), r["settings"]["max_sequences"],
                                          str(r.get("path", ""))))


def study(runs: list[dict[str, Any]], presets: tuple[Preset, ...] = PRESETS) -> list[RowReport]:
    """One :class:`RowReport` per preset, from the run that represents it."""
    current = trainer_fingerprint()
    return [row_report(p, choose_run(paper_reading_runs(runs, p)), current) for p in presets]
