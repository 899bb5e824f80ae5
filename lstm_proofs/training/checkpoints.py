"""Checkpoints of unfinished trials, so that a trial longer than a working session loses nothing when stopped.

A run's checkpoints live in a directory beside its results file (``results/train/<row>.ckpt/``), one file per
unfinished trial (``trial_0007.npz``): the trial's weights and every piece of its state (sequence counts, stopping
windows, random-generator states, the construction's plateau test, the code versions that advanced it) at the end
of a training sequence. The trainer writes them every ``every`` seconds and when asked to stop (Ctrl-C, SIGTERM),
each atomically; a trial's file is removed once its record is in the results file. A rerun of the same command
resumes every trial from its checkpoint, and the resumed trial is the same, bit for bit, as one that was never
stopped (the generators are restored exactly; a block of online sequences is regenerated from the generator state
it was drawn from).

A checkpoint records the run's settings; one made under other settings is refused with a one-line error, and an
unreadable one is reported with its path (remove it to restart that trial from the beginning). The one setting that
may differ is the sequence cap: the cap only stops a trial, so a trial checkpointed after n sequences is, up to
there, the same trial under any cap above n, and it resumes under such a cap (a run at a lower cap than the one it
was started with: ``train --max-sequences``).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from lstm_proofs.errors import UserError

FORMAT = "lstm-proofs/checkpoint/1"


def checkpoint_dir(results_path: Path) -> Path:
    """The checkpoint directory of a results file (``x.json`` -> ``x.ckpt``)."""
    results_path = Path(results_path)
    return results_path.with_name(results_path.stem + ".ckpt")


class Checkpoints:
    """The checkpoint files of one run.

    Args:
        directory: where the files live (created on the first save).
        settings: the run's settings (JSON-ready); a checkpoint is only resumed under the same settings.
        every: seconds between periodic saves of the active trials.
    """

    def __init__(self, directory: Path, settings: dict[str, Any], every: float = 60.0) -> None:
        self.directory = Path(directory)
        self.settings = json.loads(json.dumps(settings))
        self.every = float(every)

    def path(self, trial: int) -> Path:
        return self.directory / f"trial_{trial:04d}.npz"

    def load(self, trial: int) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
        """(state, arrays) of a trial's checkpoint, or None if it has none."""
        path = self.path(trial)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read checkpoint {path} ({exc}); remove it to restart trial {trial}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("state"), dict):
            raise UserError(f"{path} is not a checkpoint of this version; remove it to restart trial {trial}")
        settings = meta.get("settings")
        cap = self.settings.get("max_sequences")
        if isinstance(settings, dict) and settings.get("max_sequences") != cap:
            done = meta["state"].get("sequences")
            if isinstance(done, int) and isinstance(cap, int):
                if done >= cap:
                    raise UserError(f"{path} holds trial {trial} after {done:,} sequences, not below this run's cap "
                                    f"of {cap:,}; remove it or use another --json path")
                settings = dict(settings, max_sequences=cap)  # the cap only stops a trial: see the module's text
        if settings != self.settings:
            raise UserError(f"{path} was made under other settings than this run's; remove it or use another --json "
                            "path")
        return meta["state"], arrays

    def peek(self) -> dict[int, dict[str, Any]]:
        """The state of every trial with a checkpoint, by trial, without checking its settings (for reports: the
        sequences and seconds a checkpoint holds); an unreadable checkpoint is left out."""
        out = {}
        for trial in self.pending():
            try:
                with np.load(self.path(trial), allow_pickle=False) as z:
                    state = json.loads(str(z["meta"]))["state"]
            except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, json.JSONDecodeError):
                continue
            if isinstance(state, dict):
                out[trial] = state
        return out

    def save(self, trial: int, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Write a trial's checkpoint atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        meta = json.dumps({"format": FORMAT, "settings": self.settings, "state": state})
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".trial_{trial:04d}.", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, meta=np.array(meta), **arrays)
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path(trial))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remove(self, trial: int) -> None:
        """Drop a finished trial's checkpoint (and the directory once it is empty)."""
        self.path(trial).unlink(missing_ok=True)
        try:
            self.directory.rmdir()
        except OSError:
            pass

    def pending(self) -> list[int]:
        """Trials that have a checkpoint."""
        if not self.directory.is_dir():
            return []
        out = []
        for f in self.directory.glob("trial_*.npz"):
            try:
                out.append(int(f.stem.split("_", 1)[1]))
            except ValueError:
                continue
        return sorted(out)
