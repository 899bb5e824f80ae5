"""The generated tree: which files `lstm-proofs derive` writes, and the staleness check."""

from __future__ import annotations

import difflib
from pathlib import Path

from lstm_proofs.cells import CELLS
from lstm_proofs.codegen.markdown import render_markdown
from lstm_proofs.codegen.numba_backend import generate_numba_module
from lstm_proofs.codegen.numpy_backend import generate_module
from lstm_proofs.derive import derive

#: The checked-in directory of generated files (the package ``lstm_proofs.derivations``).
DERIVATIONS_DIR = Path(__file__).resolve().parents[2] / "derivations"


def render_all(cells: list[str] | None = None) -> dict[str, str]:
    """Every generated file, by file name, for the given cells (default: all declared cells)."""
    out: dict[str, str] = {}
    for name in cells or list(CELLS):
        der = derive(CELLS[name])
        out[f"{name}.py"] = generate_module(der)
        out[f"{name}.md"] = render_markdown(der)
        out[f"numba_{name}.py"] = generate_numba_module(der)  # compiled backend from the same derivation
    return out


def stale_files(files: dict[str, str], directory: Path = DERIVATIONS_DIR) -> dict[str, str]:
    """Unified diffs of the files whose checked-in text differs from ``files`` (missing files included)."""
    diffs = {}
    for name, text in files.items():
        path = directory / name
        old = path.read_text() if path.exists() else ""
        if old != text:
            diffs[name] = "".join(difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                                       f"checked-in/{name}", f"regenerated/{name}"))
    return diffs


def write_files(files: dict[str, str], directory: Path = DERIVATIONS_DIR) -> list[str]:
    """Write the files that changed (atomically, one by one); returns their names."""
    written = []
    for name, text in files.items():
        path = directory / name
        if path.exists() and path.read_text() == text:
            continue
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        written.append(name)
    return written
