"""Compiling the shared loops (``numba_loops``) around one cell's generated functions, on first use.

A generated module ``derivations/numba_<cell>.py`` defines, as plain Python, what its cell computes in a step
(``CELL_FUNCTIONS``) and its sizes (``CELL_SIZES``). :func:`compile_cell` gives every function of ``numba_loops``
a namespace of its own for that cell: the loops' module, the compiled helpers (``numba_math``, ``numba_inputs``,
``numba_sums``), the cell's functions compiled with ``inline="always"`` and its sizes. numba resolves those names
when it compiles, so each cell gets its own machine code with its functions inlined into the loops: the code a
loop written out for that cell would give (the same operations in the same order: the same results bit for bit).

Caching (``cache=True``): numba keys a cache file by the function's source file and qualified name; each cell's
loops are named after the cell and a digest of the cell module's text and of this package's loop sources, so a
cached kernel is reused only for the code it was compiled from (numba alone would not notice a changed cell
function inlined from another file).
"""

from __future__ import annotations

import hashlib
import types
from pathlib import Path

from lstm_proofs.errors import UserError
from lstm_proofs.kernels import numba_inputs, numba_loops, numba_math, numba_sums

#: what a generated module defines for the loops (see numba_loops)
CELL_FUNCTIONS = ("_cell_step", "_cell_adjoint", "_learner_cell", "_learner_traces", "_learner_traces_lists",
                  "_learner_rows", "_learner_rows_lists", "_output_derivative")
CELL_SIZES = ("N_GATES", "N_CELL_PARTIALS", "N_BLOCK_PARTIALS", "N_TRACE_NETS", "N_TRACE_PARAMS", "N_EXIT")
#: compiled once and shared by every cell: called from the loops (LLVM inlines the small ones, as before)
HELPERS = ("_time_major_inputs", "_input_part", "_input_part_sparse", "_mark_seen")
#: inlined into the loops by numba
SUMS = ("_forward_sums", "_transposed_sums", "_trial_sums", "_trial_sums_listed")

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
    """The compiled helpers every cell's loops call: ``_sigmoid``, the input helpers (cached), the sums (inlined),
    and ``_input_nonzero`` (called from Python)."""
    if not _SHARED:
        numba = _numba()
        cached, inline = _jit(numba, cache=True), _jit(numba, inline="always")
        out = {"_sigmoid": cached(numba_math.sigmoid), "_input_nonzero": cached(numba_inputs._input_nonzero)}
        out.update((name, cached(getattr(numba_inputs, name))) for name in HELPERS)
        out.update((name, inline(getattr(numba_sums, name))) for name in SUMS)
        _SHARED.update(out)
    return _SHARED


def _digest(cell_globals: dict) -> str:
    texts = [Path(m.__file__).read_bytes() for m in (numba_loops, numba_sums, numba_inputs, numba_math)]
    source = cell_globals.get("__file__")
    texts.append(Path(source).read_bytes() if source and Path(source).exists() else b"")
    return hashlib.sha256(b"\0".join(texts)).hexdigest()[:12]


def compile_cell(cell_globals: dict) -> dict[str, object]:
    """The compiled kernels of the cell module whose globals are ``cell_globals``, by name (``_forward_kernel``,
    ..., ``_learner_kernel_lists`` of numba_loops, and ``_input_nonzero``); compiled on their first call.

    Raises:
        UserError: numba is not installed.
    """
    numba = _numba()
    helpers = shared()
    cell_globals["_sigmoid"] = helpers["_sigmoid"]  # the cell functions' logistic function, resolved at compile time
    inline = _jit(numba, inline="always")
    cached = bool(cell_globals.get("__file__"))
    kernel = _jit(numba, cache=cached)
    env = dict(vars(numba_loops))
    env.update(helpers)
    env.update((name, inline(cell_globals[name])) for name in CELL_FUNCTIONS)
    env.update((name, cell_globals[name]) for name in CELL_SIZES)
    tag = f"{cell_globals['CELL']}_{_digest(cell_globals)}"

    def bind(name: str) -> types.FunctionType:
        loop = getattr(numba_loops, name)
        f = types.FunctionType(loop.__code__, env, name, loop.__defaults__)
        f.__qualname__ = f"{name}_{tag}"  # the cache file's name: one per cell and code version
        f.__doc__ = loop.__doc__
        return f

    env.update((name, inline(bind(name))) for name in numba_loops.INLINED)
    out = {name: kernel(bind(name)) for name in numba_loops.KERNELS}
    out["_input_nonzero"] = helpers["_input_nonzero"]
    return out
