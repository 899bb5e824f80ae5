"""Compiling the shared loops (``numba_loops``) for one cell, with the cell's generated functions written into them.

A generated module ``derivations/numba_<cell>.py`` defines, as plain Python, what its cell computes in a step
(``CELL_FUNCTIONS``) and its sizes (``CELL_SIZES``). :func:`spliced_source` writes those functions, the loops' own
parts (``numba_loops.INLINED``) and the sums (``numba_sums``) into the loops (``numba_splice``): one module of
source text per cell, with the cell's sizes and the loops' constants at its top. :func:`compile_cell` compiles its
kernels with numba on first use. The kernels are the loops a person would write out for the cell (the same
operations in the same order: the same results bit for bit); the helpers they call (``numba_inputs``, ``_sigmoid``)
are compiled once for every cell, and LLVM inlines the small ones.

Caching (``cache=True``): numba keys a cache by the source file of the function and checks that file's time stamp.
The spliced module is written once to a file named after the cell and a digest of its text and of the sources of
the helpers, the splicing and this module (``kernels_<cell>_<digest>.py``, in the first writable of
:func:`source_dirs`: ``NUMBA_CACHE_DIR`` if set, the user's cache directory, this package's ``__pycache__``) and
never rewritten, so a cached kernel is reused only for the code it was compiled from, and by every checkout of that
code on the machine. A cell module made in memory (``lstm_proofs.codegen.module_from_source``, its text in
``__source__``) is compiled from its text without a file and without caching.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import types
from pathlib import Path

from lstm_proofs.errors import UserError
from lstm_proofs.kernels import numba_inputs, numba_loops, numba_math, numba_splice, numba_sums

#: what a generated module defines for the loops (see numba_loops)
CELL_FUNCTIONS = ("_cell_step", "_cell_adjoint", "_learner_cell", "_learner_traces", "_learner_traces_lists",
                  "_learner_rows", "_learner_rows_lists", "_output_derivative")
CELL_SIZES = ("N_GATES", "N_CELL_PARTIALS", "N_BLOCK_PARTIALS", "N_TRACE_NETS", "N_TRACE_PARAMS", "N_EXIT")
#: compiled once and shared by every cell: called from the loops (LLVM inlines the small ones)
HELPERS = ("_time_major_inputs", "_input_part", "_input_part_sparse", "_mark_seen")
#: written into the loops with the cell's functions
SUMS = ("_forward_sums", "_transposed_sums", "_trial_sums", "_trial_sums_listed")
#: the loops' module constants, written at the top of a spliced module
LOOP_CONSTANTS = ("TIME_CHUNK", "SEEN_ALL")

_SHARED: dict[str, object] = {}


def available() -> bool:
    """True when numba can be imported (the kernels can be compiled)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _numba():
    try:
        import numba
    except ImportError:
        raise UserError("the numba backend needs numba: pip install -e '.[fast]' (or use backend='numpy')") from None
    return numba


def _jit(numba, **options):
    return numba.njit(error_model="numpy", **options)


def shared() -> dict[str, object]:
    """The compiled helpers every cell's kernels call: ``_sigmoid`` and the input helpers (cached), and
    ``_input_nonzero`` (called from Python)."""
    if not _SHARED:
        numba = _numba()
        cached = _jit(numba, cache=True)
        out = {"_sigmoid": cached(numba_math.sigmoid), "_input_nonzero": cached(numba_inputs._input_nonzero)}
        out.update((name, cached(getattr(numba_inputs, name))) for name in HELPERS)
        _SHARED.update(out)
    return _SHARED


def _text(module) -> str:
    return Path(module.__file__).read_text(encoding="utf-8")


def _cell_text(cell_globals: dict) -> str:
    if "__source__" in cell_globals:
        return cell_globals["__source__"]
    return Path(cell_globals["__file__"]).read_text(encoding="utf-8")


def spliced_source(cell_globals: dict) -> str:
    """The source text of the cell's kernels (numba_loops.KERNELS), with the cell's functions, the loops' parts and
    the sums written into them (numba_splice), the cell's sizes and the loops' constants first."""
    loops = numba_splice.functions(_text(numba_loops))
    sums = numba_splice.functions(_text(numba_sums))
    cell = numba_splice.functions(_cell_text(cell_globals))
    library = {name: loops[name] for name in numba_loops.INLINED}
    library.update((name, sums[name]) for name in SUMS)
    library.update((name, cell[name]) for name in CELL_FUNCTIONS)
    head = [f'"""The compiled kernels of cell {cell_globals["CELL"]!r}: lstm_proofs/kernels/numba_loops.py with the '
            f"cell's functions written in (lstm_proofs/kernels/numba_compile.py; a build product, not a source).",
            "", f"The names {', '.join(('_sigmoid',) + HELPERS)} are bound to compiled helpers when this is compiled.",
            '"""', "", "import math", "", "import numpy as np", ""]
    head += [f"{name} = {cell_globals[name]!r}" for name in CELL_SIZES]
    head += [f"{name} = {getattr(numba_loops, name)!r}" for name in LOOP_CONSTANTS]
    kernels = [numba_splice.splice(loops[name], library) for name in numba_loops.KERNELS]
    return "\n".join(head) + "\n\n\n" + "\n\n\n".join(kernels) + "\n"


def source_dirs() -> list[Path]:
    """Where spliced modules may be written, in order: ``$NUMBA_CACHE_DIR/lstm_proofs_spliced`` if that is set, the
    user's cache (``$XDG_CACHE_HOME/lstm-proofs/kernels``, by default ``~/.cache/lstm-proofs/kernels``), this
    package's ``__pycache__/spliced``. A module's name is a digest of everything it is compiled from, so checkouts of
    the same code on one machine share its compiled kernels, and a changed cell is compiled alone."""
    out = []
    if os.environ.get("NUMBA_CACHE_DIR"):
        out.append(Path(os.environ["NUMBA_CACHE_DIR"]) / "lstm_proofs_spliced")
    try:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        out.append(cache / "lstm-proofs" / "kernels")
    except RuntimeError:  # no home directory
        pass
    out.append(Path(__file__).resolve().parent / "__pycache__" / "spliced")
    return out


def _source_dir() -> Path | None:
    """The first of :func:`source_dirs` that can be written; None if none can."""
    for directory in source_dirs():
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(directory, os.W_OK):
            return directory
    return None


def _write_once(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it holds it already (its time stamp, which numba's cache checks, then stays
    put); atomically, so that processes compiling at once never see half a file. False if it cannot be written."""
    try:
        if path.exists() and path.read_text(encoding="utf-8") == text:
            return True
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        return False
    return True


def kernels_tag(cell: str, source: str) -> str:
    """``<cell>_<digest>``: the name of a cell's spliced module, from its text and the sources of everything else
    its kernels are compiled from: the helpers they call (numba's cache does not notice a changed function that a
    kernel calls), the splicing and this module (which binds the helpers and sets numba's options). A change to any
    of them is compiled afresh, never served from a cache that other code filled."""
    texts = [source] + [_text(m) for m in (numba_inputs, numba_math, numba_splice, sys.modules[__name__])]
    return f"{cell}_{hashlib.sha256(chr(0).join(texts).encode()).hexdigest()[:12]}"


def compile_cell(cell_globals: dict) -> dict[str, object]:
    """The compiled kernels of the cell module whose globals are ``cell_globals``, by name (``_forward_kernel``,
    ..., ``_learner_kernel_lists`` of numba_loops, and ``_input_nonzero``); compiled on their first call.

    Raises:
        UserError: numba is not installed.
    """
    numba = _numba()
    helpers = shared()
    source = spliced_source(cell_globals)
    tag = kernels_tag(cell_globals["CELL"], source)
    directory = _source_dir() if "__source__" not in cell_globals else None
    path = directory / f"kernels_{tag}.py" if directory is not None else None
    cached = path is not None and _write_once(path, source)
    name = f"lstm_proofs_kernels_{tag}"  # registered: numba's cache finds a kernel's globals by module name
    module = sys.modules.get(name) if cached else None
    if module is None:
        module = types.ModuleType(name)
        module.__dict__.update((n, helpers[n]) for n in ("_sigmoid",) + HELPERS)
        exec(compile(source, str(path) if cached else f"<kernels of {tag}>", "exec"), module.__dict__)  # noqa: S102
        if cached:
            sys.modules[name] = module
    kernel = _jit(numba, cache=cached)
    out = {n: kernel(getattr(module, n)) for n in numba_loops.KERNELS}
    out["_input_nonzero"] = helpers["_input_nonzero"]
    return out
