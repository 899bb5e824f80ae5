"""Derive everything the generated code needs from a cell declaration, symbolically.

From the equations of one time step (``target = expr(args)``) SymPy derives:

* the **local partials** ``d target / d arg`` of every equation, written in terms of forward values (``sigma(net_in)``
  becomes ``y_in``, so the backward code reuses what the forward step computed);
* the **adjoint step** (reverse mode, one backpropagation-through-time step of the cell): given the error arriving at
  the cell's outputs and at its state from the next step, the error at its net inputs, previous state and
  parameters. A per-block gate collects the errors of its S cells (``BlockSum``). Two versions: the full gradient
  and the paper's **truncated** gradient, in which a previous state reaches the gradient only through its own state
  equation (the CEC); every other use of it (peepholes) is a truncation point. The truncation of the net inputs'
  dependence on the previous step's activations is applied where the network composes the step (no error leaves
  through the recurrent weights);
* the **adjoint step in terms of local partials** (``backward_linear``, ``backward_linear_truncated``): the same
  reverse accumulation with every non-constant local partial replaced by a named symbol ``pd_<target>__<arg>``.
  The adjoint step is linear in the errors; its coefficients, the local partials, depend on forward values only.
  Generated code evaluates them for many steps at once and runs only the linear part step by step;
* the **trace partials** (forward mode, truncated): ``ds(t)/ds(t-1)`` and ``ds(t)/dnet`` for every net input and
  parameter that reaches the state; they drive the forward-accumulated traces of Appendix A.1 (eqs. 25, 27);
* the **exit partials**: ``dy_c/ds`` with the state held as a variable (eq. 23) and the same-step paths from net
  inputs to the cell output that bypass the state (the output gate, eq. 21).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from lstm_proofs.cells.declaration import CellDeclaration, Equation
from lstm_proofs.symbolic import BlockSum, sigma

Assignment = tuple[sp.Symbol, sp.Expr]


def adjoint(symbol: sp.Symbol) -> sp.Symbol:
    """The symbol holding the error (adjoint) of ``symbol``: ``d_<name>``."""
    return sp.Symbol(f"d_{symbol.name}")


@dataclass
class Derivation:
    """The derived quantities of one cell (see the module docstring).

    Attributes:
        cell: the declaration.
        local: ``(target, arg) -> d target / d arg`` for every equation and every symbol it reads (full gradient).
        local_truncated: the same with the truncation rule applied (zero where a previous state is read outside its
            own state equation).
        backward: assignments of the full adjoint step; outputs ``d_<input>`` for every input.
        backward_truncated: the truncated adjoint step.
        traces: ``input -> d state / d input`` (truncated), for the state's previous value and every net input
            and parameter with a nonzero path to the state.
        exit: ``symbol -> d y_c / d symbol`` with the state held fixed: the state itself and every net input and
            parameter with a same-step path to ``y_c`` that bypasses the state.
        output_derivative: ``d y_k / d net_k`` of the logistic output units, in terms of ``y_k``.
        partials: ``symbol -> expression`` for every non-constant local partial, named ``pd_<target>__<arg>``
            (see :func:`partial_symbol`), in the order of ``local``.
        backward_linear, backward_linear_truncated: the adjoint steps with those partials as symbols (constant
            partials such as the CEC's ``ds/ds_prev = 1`` stay numbers; truncation points are zero).
    """

    cell: CellDeclaration
    local: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] = field(default_factory=dict)
    local_truncated: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] = field(default_factory=dict)
    backward: list[Assignment] = field(default_factory=list)
    backward_truncated: list[Assignment] = field(default_factory=list)
    traces: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)
    exit: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)
    output_derivative: sp.Expr = sp.S.Zero
    partials: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)
    backward_linear: list[Assignment] = field(default_factory=list)
    backward_linear_truncated: list[Assignment] = field(default_factory=list)

    @property
    def state(self) -> sp.Symbol | None:
        return self.cell.states[0] if self.cell.states else None

    @cached_property
    def trace_inputs(self) -> tuple[sp.Symbol, ...]:
        """Net inputs and parameters whose weights need forward traces (they reach the state)."""
        return tuple(u for u in (*self.cell.nets, *self.cell.params) if u in self.traces)

    @cached_property
    def exit_inputs(self) -> tuple[sp.Symbol, ...]:
        """Net inputs and parameters with a same-step path to the cell output that bypasses the state."""
        return tuple(u for u in (*self.cell.nets, *self.cell.params) if u in self.exit)


Y_K, NET_K = sp.symbols("y_k net_k")


def partial_symbol(target: sp.Symbol, arg: sp.Symbol) -> sp.Symbol:
    """The symbol naming the local partial ``d target / d arg``: ``pd_<target>__<arg>``."""
    return sp.Symbol(f"pd_{target.name}__{arg.name}")


def _forward_value_map(cell: CellDeclaration) -> dict[sp.Expr, sp.Symbol]:
    return {eq.expr: eq.target for eq in cell.equations if not eq.expr.is_Symbol and not eq.expr.is_Number}


def _local_partials(cell: CellDeclaration, truncated: bool) -> dict[tuple[sp.Symbol, sp.Symbol], sp.Expr]:
    values = _forward_value_map(cell)
    prevs = {cell.prev(s): s for s in cell.states}
    out: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] = {}
    for eq in cell.equations:
        for arg in sorted(eq.expr.free_symbols, key=lambda s: s.name):
            if truncated and arg in prevs and prevs[arg] != eq.target:
                d = sp.S.Zero  # truncation point: a previous state read outside its own (CEC) equation
            else:
                d = sp.diff(eq.expr, arg).xreplace(values)
            out[(eq.target, arg)] = d
    return out


def _reduce(cell: CellDeclaration, to: sp.Symbol, frm: sp.Symbol, expr: sp.Expr) -> sp.Expr:
    """Sum a per-cell contribution over the block when it flows into a per-block quantity."""
    if cell.level(to) == "block" and cell.level(frm) == "cell":
        return BlockSum(expr)
    return expr


def _adjoint_step(cell: CellDeclaration, local: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr]) -> list[Assignment]:
    """Reverse accumulation over the equations: one named adjoint per target, then one per input."""
    external = {y: adjoint(y) for y in cell.activations}
    external.update({s: adjoint(s) for s in cell.states})
    acc: dict[sp.Symbol, sp.Expr] = {}
    steps: list[Assignment] = []
    equations: list[Equation] = list(cell.equations)
    for eq in reversed(equations):
        total = external.get(eq.target, sp.S.Zero)
        for user in equations:
            d = local.get((user.target, eq.target))
            if d is not None and d != 0 and user.target in acc:
                total += _reduce(cell, eq.target, user.target, acc[user.target] * d)
        if total != 0:
            name = sp.Symbol(f"a_{eq.target.name}")
            steps.append((name, total))
            acc[eq.target] = name
    for u in cell.inputs:
        total = sp.S.Zero
        for eq in equations:
            d = local.get((eq.target, u))
            if d is not None and d != 0 and eq.target in acc:
                total += _reduce(cell, u, eq.target, acc[eq.target] * d)
        steps.append((adjoint(u), total))
    return steps


def _tangent(
    cell: CellDeclaration,
    local: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr],
    seed: sp.Symbol,
    frozen: frozenset[sp.Symbol] = frozenset(),
) -> dict[sp.Symbol, sp.Expr]:
    """Forward-mode derivative of every target with respect to ``seed`` (targets in ``frozen`` held fixed)."""
    tan: dict[sp.Symbol, sp.Expr] = {seed: sp.S.One}
    for eq in cell.equations:
        if eq.target == seed:
            continue
        if eq.target in frozen:
            tan[eq.target] = sp.S.Zero
            continue
        tan[eq.target] = sp.Add(*[local[(eq.target, a)] * tan.get(a, sp.S.Zero) for a in eq.expr.free_symbols])
    return tan


def derive(cell: CellDeclaration) -> Derivation:
    """Derive the local partials, adjoint steps, trace and exit partials of ``cell`` (see module docstring)."""
    der = Derivation(cell)
    der.local = _local_partials(cell, truncated=False)
    der.local_truncated = _local_partials(cell, truncated=True)
    der.backward = _adjoint_step(cell, der.local)
    der.backward_truncated = _adjoint_step(cell, der.local_truncated)
    named = {key: d if d.is_Number else partial_symbol(*key) for key, d in der.local.items()}
    der.partials = {named[key]: d for key, d in der.local.items() if not d.is_Number}
    der.backward_linear = _adjoint_step(cell, named)
    der.backward_linear_truncated = _adjoint_step(
        cell, {key: sp.S.Zero if der.local_truncated[key] == 0 else v for key, v in named.items()})

    state = der.state
    y_c = sp.Symbol("y_c")
    if state is not None:
        for u in (cell.prev(state), *cell.nets, *cell.params):
            d = _tangent(cell, der.local_truncated, u)[state]
            if d != 0:
                der.traces[u] = d
        der.exit[state] = _tangent(cell, der.local_truncated, state)[y_c]
    frozen = frozenset(cell.states)
    for u in (*cell.nets, *cell.params):
        d = _tangent(cell, der.local_truncated, u, frozen)[y_c]
        if d != 0:
            der.exit[u] = d
    der.output_derivative = sp.diff(sigma(NET_K), NET_K).xreplace({sigma(NET_K): Y_K})
    return der
