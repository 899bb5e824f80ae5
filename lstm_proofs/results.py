"""The record every check produces, and its JSON form.

A check is one verifiable statement (a gradient agrees with a reference, a claim of the paper holds) with the
figure that was measured and the tolerance it was held to.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator


@dataclass
class CheckResult:
    """Outcome of one check.

    Args:
        id: stable identifier, e.g. ``gradient/lstm1997/autograd`` or ``section3/logistic-derivative-max``.
        passed: the verdict.
        max_rel_error: the measured figure (a relative error, or None for checks without one).
        tolerance: the bound ``max_rel_error`` was held to (None where not applicable).
        title: one line saying what was checked.
        reference: what the figure was measured against (autograd, finite differences, SymPy proof, ...).
        claim: paper section/equation the check tests, if any.
        details: further measured figures (JSON-serialisable).
        message: on failure, what failed (cell, parameter, index, both values, rule).
    """

    id: str
    passed: bool
    max_rel_error: float | None = None
    tolerance: float | None = None
    title: str = ""
    reference: str = ""
    claim: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict (non-finite floats become strings so the file stays valid JSON)."""
        return _jsonable(asdict(self))


def wanted(group: str, only: str | None) -> bool:
    """Whether checks with ids starting ``group`` (e.g. ``gradient/forget/``) can match the id prefix ``only``."""
    return not only or group.startswith(only) or only.startswith(group)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        return _jsonable(value.item())
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    return value


def write_json_atomic(path: str | os.PathLike[str], payload: Any) -> None:
    """Write ``payload`` as JSON to ``path`` atomically (see :func:`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(_jsonable(payload), indent=2, sort_keys=False) + "\n")


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path) as fh:
        fh.write(text)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], binary: bool = False) -> Iterator[IO[Any]]:
    """An open file whose contents replace ``path`` when the block ends without an exception: written to a
    temporary file beside ``path`` and renamed into place, so an interrupted run never leaves a half-written file
    behind (the temporary file is removed on any exception). Parent directories are created; the file is made
    readable by all (results files are meant to be shared)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as fh:
            yield fh
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
