"""Exact reference: SymPy unrolls a tiny network from the cell declarations and differentiates its loss.

The network is unrolled over ``T <= 3`` steps with exact rational inputs and targets (every float64 is a rational
number) and symbolic weights. The unrolled computation is kept as a tape of named intermediate expressions (net
inputs, every equation of the cell declaration for every cell and step, outputs, loss terms), so that shared
subexpressions stay shared. SymPy differentiates every tape entry symbolically with respect to the entries and
weights it reads, and the chain rule runs backwards over the tape (reverse accumulation). This is the symbolic
derivative of the whole loss; differentiating the fully expanded expression instead gives the same result but takes
minutes even at T = 3, because the expression tree of an unrolled LSTM grows exponentially with T.

The derivatives are evaluated at the float64 weights (exact rationals) with mpmath at ``digits`` significant
digits. Nothing here uses the derivation module or the generated code.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp
from sympy.printing.pycode import MpmathPrinter

from lstm_proofs.cells import CELLS
from lstm_proofs.errors import UserError
from lstm_proofs.network.topology import Params, Topology
from lstm_proofs.symbolic import sigma

MAX_T = 3


def _rational(x: float) -> sp.Rational:
    return sp.Rational(*float(x).as_integer_ratio())


class Tape:
    """Named intermediate expressions of an unrolled computation, in evaluation order."""

    def __init__(self) -> None:
        self.entries: list[tuple[sp.Symbol, sp.Expr]] = []

    def define(self, expr: sp.Expr) -> sp.Expr:
        """A new tape symbol standing for ``expr`` (numbers and lone symbols are returned as they are)."""
        expr = sp.sympify(expr)
        if expr.is_Atom:
            return expr
        sym = sp.Symbol(f"_v{len(self.entries)}")
        self.entries.append((sym, expr))
        return sym


def unrolled_loss(top: Topology, xs: np.ndarray, targets: np.ndarray,
                  mask: np.ndarray) -> tuple[Tape, sp.Expr, list[sp.Symbol]]:
    """The unrolled network as a tape, the loss (a tape symbol) and the weight symbols in flat-vector order."""
    T, B, _ = xs.shape
    if T > MAX_T:
        raise UserError(f"the exact reference unrolls at most {MAX_T} steps, got T = {T}")
    decl = CELLS[top.cell]
    masks = top.masks()
    weights: list[sp.Symbol] = []
    dense: dict[str, np.ndarray] = {}
    for name, shape in top.param_shapes().items():
        arr = np.full(shape, sp.S.Zero, dtype=object)
        for idx in np.argwhere(masks[name]):
            w = sp.Symbol(f"{name}[{','.join(map(str, idx))}]")
            arr[tuple(idx)] = w
            weights.append(w)
        dense[name] = arr
    tape = Tape()
    C, S, rows = top.n_blocks, top.block_size, top.row_slices()
    m = mask if mask.ndim == 3 else np.repeat(mask[..., None], top.n_out, axis=2)
    terms = []
    for b in range(B):
        a = [sp.S.Zero] * top.n_activations
        state = {(j, v): sp.S.Zero for j in range(C) for v in range(S)}
        for t in range(T):
            z = [_rational(x) for x in xs[t, b]] + a + [sp.S.One]
            net = [tape.define(sum(dense["W_hidden"][r, c] * z[c] for c in range(len(z)))) for r in range(top.n_units)]
            y_c, gate_act, new_state = {}, {g: {} for g in decl.gates}, {}
            for j in range(C):
                for v in range(S):
                    values: dict[sp.Symbol, sp.Expr] = {sp.Symbol("net_c"): net[rows["c"].start + j * S + v]}
                    for g in decl.gates:
                        values[sp.Symbol(f"net_{g}")] = net[rows[g].start + j]
                    for st in decl.states:
                        values[decl.prev(st)] = state[(j, v)]
                    for p in decl.params:
                        values[p] = dense["P_" + p.name[2:]][j, v]
                    for eq in decl.equations:
                        values[eq.target] = tape.define(eq.expr.xreplace(values))
                    y_c[(j, v)] = values[sp.Symbol("y_c")]
                    for g in decl.gates:
                        gate_act[g].setdefault(j, values[sp.Symbol(f"y_{g}")])  # shared by the block's cells
                    if decl.states:
                        new_state[(j, v)] = values[decl.states[0]]
            state = new_state or state
            a = [y_c[(j, v)] for j in range(C) for v in range(S)] + [gate_act[g][j] for g in decl.gates for j in range(C)]
            u = [_rational(x) for x in xs[t, b]] + a + [sp.S.One]
            for k in range(top.n_out):
                if m[t, b, k] == 0:
                    continue
                y = tape.define(sigma(sum(dense["W_output"][k, c] * u[c] for c in range(len(u)))))
                terms.append(tape.define(_rational(m[t, b, k]) * (_rational(targets[t, b, k]) - y) ** 2 / 2))
    loss = tape.define(sp.Add(*terms))
    return tape, loss, weights


def _gradient_program(tape: Tape, loss: sp.Expr, weights: list[sp.Symbol]) -> str:
    """Python source (mpmath) of the forward sweep over the tape and the backward chain rule."""
    printer = MpmathPrinter({"fully_qualified_modules": True})
    names = {w: f"w[{i}]" for i, w in enumerate(weights)}
    names.update({sym: sym.name for sym, _ in tape.entries})

    def code(expr: sp.Expr) -> str:
        expr = expr.rewrite(sp.exp)
        return printer.doprint(expr.xreplace({s: sp.Symbol(n) for s, n in names.items() if s in expr.free_symbols}))

    lines = [f"{sym.name} = {code(expr)}" for sym, expr in tape.entries]
    adjoint: dict[sp.Symbol, list[str]] = {loss: ["1"]} if loss in names else {}
    for sym, expr in reversed(tape.entries):
        if sym not in adjoint:
            continue
        lines.append(f"a{sym.name} = " + " + ".join(f"({t})" for t in adjoint.pop(sym)))
        for dep in expr.free_symbols:
            partial = sp.diff(expr, dep)  # symbolic local partial derivative
            if partial != 0:
                adjoint.setdefault(dep, []).append(f"a{sym.name} * ({code(partial)})")
    grads = [" + ".join(f"({t})" for t in adjoint.get(w, ["0"])) for w in weights]
    body = "\n".join("    " + line for line in lines + [f"return [{', '.join(grads)}]"])
    return "def gradient(w):\n" + body + "\n"


def exact_gradient(top: Topology, params: Params, xs: np.ndarray, targets: np.ndarray, mask: np.ndarray,
                   digits: int = 50) -> Params:
    """``dL/dparams`` of the unrolled network, evaluated at ``digits`` significant digits, rounded to float64.

    Args:
        top: a small network (every weight becomes a symbol).
        params: the float64 weights (used as exact rationals).
        xs, targets, mask: time-major sequences with ``T <= 3``.
        digits: working precision of the evaluation.

    Raises:
        UserError: if ``T > 3``.
    """
    tape, loss, weights = unrolled_loss(top, xs, targets, mask)
    namespace: dict[str, object] = {"mpmath": mpmath}
    exec(_gradient_program(tape, loss, weights), namespace)  # noqa: S102 - code printed from our own expressions
    with mpmath.workdps(digits):
        w = [mpmath.mpf(v.p) / v.q for v in (_rational(x) for x in params.to_vector(top))]
        out = namespace["gradient"](w)  # type: ignore[operator]
        values = np.array([float(mpmath.mpf(v)) for v in out])
    return Params.from_vector(top, values)
