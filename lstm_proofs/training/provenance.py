"""Where a training result came from: the code version, the packages, the backend and the machine.

Every results file of ``lstm-proofs train`` records the provenance of the process that wrote it, and every trial
record the code version that produced it (the commits of every process that advanced it, when it was resumed from a
checkpoint). Two figures identify the code:

* ``commit``: the git commit of the checkout the package was imported from, and ``dirty``, whether that checkout
  had uncommitted changes (None where the package is not in a git checkout, e.g. installed from a wheel);
* ``trainer``: a SHA-256 fingerprint of the source files that determine a trial's outcome (the trainer, presets,
  learner, network, tasks, input and numeric helpers, the generated kernels and the hand-written runtime they share,
  lstm_proofs/kernels). ``lstm-proofs results`` compares
  it with the current tree's and marks a row "trainer changed since" when they differ; unlike a commit, it needs no
  git and does not change when only documentation, reports or other commands change.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parents[1]

#: Source files (relative to the package, or ``derivations/``) whose content decides a trial's outcome.
TRAINER_SOURCES = ("training/trainer.py", "training/presets.py", "training/checkpoints.py", "training/diagnostics.py",
                   "learning/*.py", "network/*.py", "tasks/*.py", "inputs.py", "numerics.py", "kernels/*.py")

#: Packages whose versions are recorded.
PACKAGES = ("numpy", "numba", "llvmlite", "scipy", "sympy")


def _derivations_dir() -> Path:
    import lstm_proofs.derivations as d

    return Path(d.__file__).resolve().parent


def trainer_files() -> list[Path]:
    """The files :func:`trainer_fingerprint` hashes, sorted."""
    files = {f for pattern in TRAINER_SOURCES for f in _PACKAGE.glob(pattern)}
    files |= set(_derivations_dir().glob("*.py"))
    return sorted(f for f in files if f.is_file())


@functools.cache
def trainer_fingerprint() -> str:
    """A short SHA-256 over the names and contents of :func:`trainer_files` (16 hex digits)."""
    h = hashlib.sha256()
    roots = (_PACKAGE, _derivations_dir())
    for f in trainer_files():
        rel = next((f.relative_to(r) for r in roots if f.is_relative_to(r)), f.name)
        h.update(str(rel).replace(os.sep, "/").encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=_PACKAGE, capture_output=True, text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


@functools.cache
def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout holding the package; (None, None) outside one or without git.

    ``dirty`` counts changes to tracked files outside ``results/`` only: results files and checkpoints being written
    (untracked, or tracked and advanced by a resumed run) do not make the code dirty."""
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return None, None
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ":/", ":(exclude,top)results")
    return commit, (None if status is None else bool(status))


def package_versions() -> dict[str, str | None]:
    """Installed versions of :data:`PACKAGES` (None where not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(backend: str) -> dict[str, Any]:
    """The provenance of this process for a results file."""
    commit, dirty = git_state()
    try:
        version = importlib.metadata.version("lstm-proofs")
    except importlib.metadata.PackageNotFoundError:
        version = None
    return {"commit": commit, "dirty": dirty, "trainer": trainer_fingerprint(), "lstm_proofs": version,
            "backend": backend, "python": platform.python_version(), "packages": package_versions(),
            "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count(),
                        "node": platform.node()}}


def code_stamp() -> dict[str, Any]:
    """The short form kept with each trial: commit, dirty flag and trainer fingerprint."""
    commit, dirty = git_state()
    return {"commit": commit, "dirty": dirty, "trainer": trainer_fingerprint()}
