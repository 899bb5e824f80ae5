"""Turning lists of symbolic assignments into straight-line code: CSE, ordering, printing, op counts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

Assignment = tuple[sp.Symbol, sp.Expr]


class KernelPrinter(NumPyPrinter):
    """NumPy printer that refers to NumPy as ``np`` and to the stable primitives as ``_k`` (see numerics.py)."""

    def _module_format(self, fqn: str, register: bool = True) -> str:
        if fqn.startswith("numpy."):
            return "np." + fqn[len("numpy."):]
        return super()._module_format(fqn, register)


_PRINTER = KernelPrinter({"fully_qualified_modules": True, "allow_unknown_functions": False})


def pycode(expr: sp.Expr) -> str:
    """NumPy source text of ``expr``."""
    return _PRINTER.doprint(expr)


def op_count(exprs: Iterable[sp.Expr]) -> int:
    """Number of operations (SymPy's ``count_ops``) in the given expressions."""
    return int(sum(sp.count_ops(e) for e in exprs))


def cse_assignments(assignments: Sequence[Assignment], prefix: str = "t") -> list[Assignment]:
    """Common-subexpression elimination over a list of assignments, returned in dependency order.

    Shared subexpressions become named temporaries ``<prefix>0, <prefix>1, ...``; named assignments keep their
    names. Items are emitted as soon as every symbol they read has been defined (or is an input), so a temporary
    that reads a named assignment follows it.

    Args:
        assignments: ``(symbol, expression)`` pairs; later ones may read earlier symbols.
        prefix: name prefix of the temporaries.

    Returns:
        The assignments with temporaries, in an order that can be executed top to bottom.
    """
    targets = [t for t, _ in assignments]
    reps, reduced = sp.cse([e for _, e in assignments], symbols=sp.numbered_symbols(prefix), order="canonical")
    items: list[Assignment] = list(reps) + list(zip(targets, reduced))
    defined_later = {t for t, _ in items}
    done: set[sp.Symbol] = set()
    ordered: list[Assignment] = []
    pending = items
    while pending:
        rest = []
        progressed = False
        for target, expr in pending:
            needs = {s for s in expr.free_symbols if s in defined_later}
            if needs <= done:
                ordered.append((target, expr))
                done.add(target)
                progressed = True
            else:
                rest.append((target, expr))
        if not progressed:  # pragma: no cover - cse output is acyclic
            raise RuntimeError("cyclic assignments in code generation")
        pending = rest
    return ordered


def emit_lines(assignments: Sequence[Assignment], indent: str = "    ", notes: dict[sp.Symbol, str] | None = None) -> list[str]:
    """Source lines ``name = <code>`` for the assignments, with an optional trailing comment per name."""
    notes = notes or {}
    lines = []
    for target, expr in assignments:
        line = f"{indent}{target.name} = {pycode(expr)}"
        if target in notes:
            line += f"  # {notes[target]}"
        lines.append(line)
    return lines
