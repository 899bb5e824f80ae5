"""Loading generated code without writing it to disk: for new cell declarations and for tests of the checks."""

from __future__ import annotations

import types

from lstm_proofs.cells.declaration import CellDeclaration
from lstm_proofs.codegen.numpy_backend import generate_module
from lstm_proofs.derive import derive


def module_from_source(source: str, name: str) -> types.ModuleType:
    """Execute generated module text as a module named ``name`` (not registered in ``sys.modules``); the text is
    kept in its ``__source__`` (the compiled backend splices a cell's functions from it)."""
    module = types.ModuleType(name)
    module.__dict__["__source__"] = source
    exec(compile(source, f"<generated {name}>", "exec"), module.__dict__)  # noqa: S102 - our own generated code
    return module


def kernels_for(declaration: CellDeclaration) -> types.ModuleType:
    """Derive ``declaration`` and return its generated NumPy kernels, in memory.

    Usable with :class:`lstm_proofs.network.Network` and :class:`lstm_proofs.learning.OnlineLearner` through their
    ``kernels`` argument.
    """
    return module_from_source(generate_module(derive(declaration)), f"generated_{declaration.name}")
