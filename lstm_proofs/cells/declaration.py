"""Cell declarations: a cell is written once, as equations, and everything else is derived from them.

A declaration is a list of assignments, one per line, in the order they are computed within one time step::

    y_in  = sigma(net_in)              # (7) input gate
    y_out = sigma(net_out)             # (8) output gate
    s     = s_prev + y_in * g(net_c)   # (9) CEC: self-connection fixed at 1.0
    y_c   = y_out * h(s)               # (9) cell output

Names the equations may use:

* ``net_c``: the net input of a cell (one per cell), and ``net_<gate>`` for every gate named in ``gates`` (one per
  memory-cell block, shared by the block's S cells); net inputs are computed by the network from its weights;
* ``<state>_prev``: the previous value of a state variable (a name assigned by one of the equations);
* ``p_<name>``: a trainable per-cell parameter (e.g. a peephole weight);
* names assigned by earlier equations;
* functions ``sigma`` (logistic), ``tanh``, ``g(x) = 4 sigma(x) - 2`` and ``h(x) = 2 sigma(x) - 1`` (the 1997
  squashing functions, Appendix A.1 eqs. (4), (5)).

Every declaration assigns ``y_c`` (the cell output) and ``y_<gate>`` for each gate (gate activations are seen by
other hidden units through recurrent connections). The text after ``#`` is the equation's citation label.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import sympy as sp
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

from lstm_proofs.errors import DeclarationError
from lstm_proofs.symbolic import sigma, tanh

Level = Literal["block", "cell"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def g_1997(x: sp.Expr) -> sp.Expr:
    """Cell input squashing ``g(x) = 4 sigma(x) - 2`` (range [-2, 2]), Appendix A.1 eq. (5)."""
    return 4 * sigma(x) - 2


def h_1997(x: sp.Expr) -> sp.Expr:
    """Cell output squashing ``h(x) = 2 sigma(x) - 1`` (range [-1, 1]), Appendix A.1 eq. (4)."""
    return 2 * sigma(x) - 1


FUNCTIONS = {"sigma": sigma, "tanh": tanh, "g": g_1997, "h": h_1997}


@dataclass(frozen=True)
class Equation:
    """One assignment ``target = expr`` of a declaration."""

    target: sp.Symbol
    expr: sp.Expr
    label: str
    text: str


@dataclass(frozen=True)
class CellDeclaration:
    """A cell variant declared as equations (see the module docstring for the format).

    Attributes:
        name: identifier used on the command line and for generated files.
        title: one-line description.
        source: bibliographic source of the equations.
        gates: gate names, in the order their rows appear in the weight matrix.
        equations: the parsed assignments, in computation order.
        text: the declaration text as written.
    """

    name: str
    title: str
    source: str
    gates: tuple[str, ...]
    equations: tuple[Equation, ...]
    text: str
    levels: dict[sp.Symbol, Level] = field(default_factory=dict, compare=False, hash=False)

    # ----- names (derived from the equations once and cached: the runtime reads them at every step) -----
    @property
    def net_c(self) -> sp.Symbol:
        return sp.Symbol("net_c")

    @property
    def gate_nets(self) -> tuple[sp.Symbol, ...]:
        return tuple(sp.Symbol(f"net_{g}") for g in self.gates)

    @cached_property
    def nets(self) -> tuple[sp.Symbol, ...]:
        """All net inputs: the cell input first, then the gates (the row order of ``W_hidden``)."""
        return (self.net_c, *self.gate_nets)

    @cached_property
    def targets(self) -> tuple[sp.Symbol, ...]:
        return tuple(eq.target for eq in self.equations)

    @cached_property
    def states(self) -> tuple[sp.Symbol, ...]:
        """State variables: assigned names whose ``_prev`` value is read."""
        used = set().union(*(eq.expr.free_symbols for eq in self.equations))
        return tuple(t for t in self.targets if sp.Symbol(f"{t.name}_prev") in used)

    def prev(self, state: sp.Symbol) -> sp.Symbol:
        return sp.Symbol(f"{state.name}_prev")

    @cached_property
    def params(self) -> tuple[sp.Symbol, ...]:
        """Per-cell trainable parameters (``p_<name>``), in order of first use."""
        seen: list[sp.Symbol] = []
        for eq in self.equations:
            for s in sorted(eq.expr.free_symbols, key=lambda s: s.name):
                if s.name.startswith("p_") and s not in seen:
                    seen.append(s)
        return tuple(seen)

    @cached_property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        """Everything a time step reads: net inputs, previous states, parameters."""
        return (*self.nets, *(self.prev(s) for s in self.states), *self.params)

    @cached_property
    def gate_outputs(self) -> tuple[sp.Symbol, ...]:
        return tuple(sp.Symbol(f"y_{g}") for g in self.gates)

    @cached_property
    def activations(self) -> tuple[sp.Symbol, ...]:
        """Activations other units see: the cell output, then each gate's activation."""
        return (sp.Symbol("y_c"), *self.gate_outputs)

    @cached_property
    def shared_gates(self) -> bool:
        """True when every gate activation is per block (so blocks may hold S > 1 cells)."""
        return all(self.levels[y] == "block" for y in self.gate_outputs)

    def level(self, symbol: sp.Symbol) -> Level:
        """'block' for per-block quantities (shape (B, C, 1)), 'cell' for per-cell ones (shape (B, C, S))."""
        return self.levels[symbol]

    def equation(self, target: sp.Symbol) -> Equation:
        for eq in self.equations:
            if eq.target == target:
                return eq
        raise KeyError(target)


def declare_cell(name: str, title: str, source: str, gates: tuple[str, ...] | list[str], equations: str) -> CellDeclaration:
    """Parse and validate a cell declaration.

    Args:
        name: identifier (letters, digits, underscores).
        title: one-line description.
        source: where the equations come from.
        gates: gate names (each gate ``x`` brings a net input ``net_x`` and must assign ``y_x``).
        equations: one assignment per line, ``target = expression  # label``.

    Returns:
        The validated :class:`CellDeclaration`.

    Raises:
        DeclarationError: on any unknown name, reassignment, missing output, or unparsable line.
    """
    if not _NAME.match(name or ""):
        raise DeclarationError(f"cell name {name!r} must be an identifier (letters, digits, underscores)")
    gates = tuple(gates)
    for g in gates:
        if not _NAME.match(g) or g == "c":
            raise DeclarationError(f"cell {name!r}: gate name {g!r} must be an identifier other than 'c'")
    if len(set(gates)) != len(gates):
        raise DeclarationError(f"cell {name!r}: gate names repeat: {gates}")

    lines = [(i, ln) for i, ln in enumerate(equations.splitlines(), 1) if ln.split("#", 1)[0].strip()]
    if not lines:
        raise DeclarationError(f"cell {name!r}: no equations")
    parsed: list[tuple[str, str, str, str]] = []
    for lineno, line in lines:
        code, _, label = line.partition("#")
        if "=" not in code:
            raise DeclarationError(f"cell {name!r}, line {lineno}: expected 'name = expression', got {code.strip()!r}")
        lhs, rhs = (part.strip() for part in code.split("=", 1))
        if not _NAME.match(lhs) or keyword.iskeyword(lhs):
            raise DeclarationError(f"cell {name!r}, line {lineno}: {lhs!r} is not a valid name to assign")
        parsed.append((lhs, rhs, label.strip(), line.strip()))

    assigned = [p[0] for p in parsed]
    dup = {a for a in assigned if assigned.count(a) > 1}
    if dup:
        raise DeclarationError(f"cell {name!r}: {sorted(dup)[0]!r} is assigned more than once")
    states = {a for a in assigned if any(re.search(rf"\b{a}_prev\b", p[1]) for p in parsed)}

    levels: dict[sp.Symbol, Level] = {sp.Symbol("net_c"): "cell"}
    levels.update({sp.Symbol(f"net_{g}"): "block" for g in gates})
    levels.update({sp.Symbol(f"{s}_prev"): "cell" for s in states})
    known: dict[str, sp.Basic] = {s.name: s for s in levels}
    known.update(FUNCTIONS)

    eqs: list[Equation] = []
    for lineno_idx, (lhs, rhs, label, text) in enumerate(parsed):
        local = dict(known)
        for tok in set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", rhs)):
            if tok.startswith("p_") and tok not in local:
                local[tok] = sp.Symbol(tok)
                levels[local[tok]] = "cell"
        for tok in re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\b(\s*\()?", rhs):
            word, call = tok
            if call and word not in FUNCTIONS:
                raise DeclarationError(f"cell {name!r}: unknown function {word!r} in {text!r}; "
                                       f"available: {', '.join(FUNCTIONS)}")
            if not call and word not in local:
                hint = " (assigned by a later equation)" if word in assigned else ""
                raise DeclarationError(f"cell {name!r}: unknown name {word!r} in {text!r}{hint}")
        try:
            expr = parse_expr(rhs, local_dict=local, global_dict={"Integer": sp.Integer, "Float": sp.Float,
                              "Rational": sp.Rational, "Symbol": sp.Symbol}, transformations=standard_transformations,
                              evaluate=True)
        except Exception as exc:  # SymPy raises many kinds for bad syntax
            raise DeclarationError(f"cell {name!r}: cannot parse {text!r}: {type(exc).__name__}: {exc}".splitlines()[0]) from None
        if not isinstance(expr, sp.Expr):
            raise DeclarationError(f"cell {name!r}: {text!r} is not an expression")
        unknown = sorted(s.name for s in expr.free_symbols if s.name not in local or local[s.name] != s)
        undefined = [f.func.__name__ for f in expr.atoms(sp.Function) if f.func not in (sigma, tanh)]
        if unknown or undefined:
            what = (unknown + undefined)[0]
            hint = " (a later equation's name?)" if what in assigned else ""
            raise DeclarationError(f"cell {name!r}: unknown name {what!r} in {text!r}{hint}")
        target = sp.Symbol(lhs)
        if lhs in known:
            raise DeclarationError(f"cell {name!r}: {lhs!r} is an input name and cannot be assigned")
        levels[target] = "cell" if any(levels.get(s) == "cell" for s in expr.free_symbols) else "block"
        known[lhs] = target
        eqs.append(Equation(target, expr, label, text))

    decl = CellDeclaration(name, title, source, gates, tuple(eqs), equations, levels)
    if sp.Symbol("y_c") not in decl.targets:
        raise DeclarationError(f"cell {name!r}: no equation assigns the cell output 'y_c'")
    for g in gates:
        if sp.Symbol(f"y_{g}") not in decl.targets:
            raise DeclarationError(f"cell {name!r}: gate {g!r} has no activation 'y_{g}'")
        if not any(sp.Symbol(f"net_{g}") in eq.expr.free_symbols for eq in eqs):
            raise DeclarationError(f"cell {name!r}: gate {g!r} never reads its net input 'net_{g}'")
    if not any(sp.Symbol("net_c") in eq.expr.free_symbols for eq in eqs):
        raise DeclarationError(f"cell {name!r}: the cell never reads its net input 'net_c'")
    if len(decl.states) > 1:
        raise DeclarationError(f"cell {name!r}: at most one state variable is supported, got {[s.name for s in decl.states]}")
    return decl
