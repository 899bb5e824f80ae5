"""Output paths of the sub-commands, checked before any work is done.

Every command that writes a file or a directory calls :func:`output_file` or :func:`output_dir` on it first, so a
path that cannot be written (an empty name, a directory where a file is wanted, a parent that is a file or not
writable) is a one-line error before minutes of computing, and an existing file or directory that is not the
command's own kind of output is never replaced unless the user says ``--force``. Messages name the user's path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from lstm_proofs.errors import UserError

#: Decides whether an existing path is a command's own output (which it may replace without ``--force``).
Owned = Callable[[Path], bool]


def _writable_parent(option: str, path: Path) -> None:
    """Raise unless the nearest existing ancestor of ``path`` is a writable directory (missing ones are created)."""
    for ancestor in path.parents:  # as the user wrote it (relative ones end at ".")
        if ancestor.exists():
            if not ancestor.is_dir():
                raise UserError(f"{option} {path}: {ancestor} is not a directory")
            if not os.access(ancestor, os.W_OK | os.X_OK):
                raise UserError(f"{option} {path}: directory {ancestor} is not writable")
            return
        if ancestor.is_symlink():  # a dangling link where a directory should be
            raise UserError(f"{option} {path}: {ancestor} is a broken link")


def _named(option: str, text: str | os.PathLike[str] | None) -> Path:
    if text is None or str(text).strip() == "":
        raise UserError(f"{option} needs a path, got an empty one")
    return Path(text)


def output_file(option: str, text: str | os.PathLike[str] | None, *, owned: Owned | None, what: str = "",
                force: bool = False) -> Path:
    """The path of an output file, validated before any work.

    Args:
        option: the option's name for messages (``--json``).
        text: the path as the user gave it.
        owned: true for an existing file the command may replace (its own kind of output); None where the
            command checks an existing file's content itself (``train`` resumes from it).
        what: what the command writes, for messages (``a check results file``).
        force: replace an existing file whatever it holds.

    Raises:
        UserError: an empty path, a directory, an unwritable or impossible parent, or an existing file of another
            kind without ``force``.
    """
    path = _named(option, text)
    if path.is_dir():
        raise UserError(f"{option} {path} is a directory; name a file")
    _writable_parent(option, path)
    if path.exists() and not force and owned is not None and not owned(path):
        raise UserError(f"{option} {path} exists and is not {what}; choose another path or pass --force to "
                        "replace it")
    return path


def output_dir(option: str, text: str | os.PathLike[str] | None, *, owned: Owned, what: str,
               force: bool = False) -> Path:
    """The path of an output directory that the command replaces as a whole, validated before any work.

    An existing directory is replaced only when it is empty, holds the command's own kind of output, or ``force``.
    """
    path = _named(option, text)
    if path.exists() and not path.is_dir():
        raise UserError(f"{option} {path} exists and is not a directory")
    _writable_parent(option, path)
    if path.is_dir() and not force and any(path.iterdir()) and not owned(path):
        raise UserError(f"{option} {path} is a directory that does not hold {what}; its contents would be "
                        "replaced: choose another path or pass --force")
    return path


def input_dir(option: str, text: str | os.PathLike[str] | None) -> Path:
    """An existing directory the command reads from (a missing one is a typo, not something to create)."""
    path = _named(option, text)
    if not path.exists():
        raise UserError(f"{option} {path} does not exist")
    if not path.is_dir():
        raise UserError(f"{option} {path} is not a directory")
    return path


def json_with(*keys: str) -> Owned:
    """An :data:`Owned` test: a JSON object holding every one of ``keys``."""

    def test(path: Path) -> bool:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return False
        return isinstance(data, dict) and set(keys) <= set(data)

    return test


def entries_within(names: Iterable[str], patterns: Iterable[str] = ()) -> Owned:
    """An :data:`Owned` test for directories: every entry is one of ``names`` or matches a glob of ``patterns``."""
    allowed, globs = set(names), tuple(patterns)

    def test(path: Path) -> bool:
        return all(e.name in allowed or any(e.match(g) for g in globs) for e in path.iterdir())

    return test


def head_contains(marker: bytes) -> Owned:
    """An :data:`Owned` test: a file whose first 4 KiB contain ``marker`` (a generated page's header line)."""

    def test(path: Path) -> bool:
        try:
            with path.open("rb") as fh:
                return marker in fh.read(4096)
        except OSError:
            return False

    return test


def npz_with(*keys: str) -> Owned:
    """An :data:`Owned` test: a NumPy ``.npz`` archive holding every one of ``keys``."""

    def test(path: Path) -> bool:
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as data:
                return set(keys) <= set(data.files)
        except (OSError, ValueError, EOFError):
            return False

    return test


def force_flag(parser: object) -> None:
    """Add ``--force`` (replace an existing output that is not the command's own) to a sub-parser."""
    parser.add_argument("--force", action="store_true",  # type: ignore[attr-defined]
                        help="replace an existing output even if it is not this command's own kind")
