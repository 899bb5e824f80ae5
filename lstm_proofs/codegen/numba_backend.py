"""Generate the compiled (numba) module of a cell from the same derivation as the NumPy module.

The NumPy backend evaluates one time step per call on whole arrays; here every kernel is a plain loop over a whole
sequence (trials or sequences, then time steps, then blocks and cells), so no Python runs between time steps. The
cell arithmetic is the derivation's, printed as scalar code: the declaration's equations, the common-subexpression
eliminated adjoint step (full and truncated), and the trace and exit partials. A per-block quantity that collects
from the cells of its block (``BlockSum`` in the derivation) becomes an inner loop over the block's cells that
recomputes what the sum reads for each of them.

The generated module imports without numba: its kernels are plain Python functions, compiled with ``numba.njit`` on
first use (``cache=True``, so later processes load the compiled code from ``__pycache__``). Calling it without numba
raises :class:`~lstm_proofs.errors.UserError` with an install hint; ``load_kernels(cell, backend="numba")`` checks
:func:`available` first and falls back to the NumPy module with a message.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from lstm_proofs.cells.declaration import CellDeclaration
from lstm_proofs.codegen.emit import cse_assignments, op_count
from lstm_proofs.derive.derivation import Derivation, adjoint
from lstm_proofs.symbolic import BlockSum

GENERATOR_COMMAND = "lstm-proofs derive"

Assignment = tuple[sp.Symbol, sp.Expr]
Load = Callable[[str], str]  # code reading an input, given the name of the cell-index variable


class ScalarPrinter(PythonCodePrinter):
    """Prints scalar Python for numba: ``sigma`` as the stable ``_sigmoid``, ``tanh`` from :mod:`math`."""

    printmethod = "_numbacode"

    def _print_sigma(self, expr: sp.Expr) -> str:
        return f"_sigmoid({self._print(expr.args[0])})"

    def _print_tanh(self, expr: sp.Expr) -> str:
        return f"math.tanh({self._print(expr.args[0])})"

    def _print_BlockSum(self, expr: sp.Expr) -> str:  # noqa: N802 - SymPy's naming
        raise ValueError("BlockSum must be expanded into a loop before printing")


_PRINTER = ScalarPrinter({"fully_qualified_modules": True})


def scalar_code(expr: sp.Expr) -> str:
    """Scalar Python source of ``expr`` (no ``BlockSum`` left in it)."""
    return _PRINTER.doprint(expr)


class ScalarBlock:
    """Straight-line scalar code for one cell (block ``c_``, cell index variable ``j_``) from assignments.

    Args:
        assignments: ``(symbol, expression)`` in an executable order; expressions may contain ``BlockSum``.
        loads: for every input symbol, a function giving the code that reads it for a given cell-index variable.
    """

    def __init__(self, assignments: list[Assignment], loads: dict[sp.Symbol, Load]) -> None:
        self.defs = dict(assignments)
        self.order = [t for t, _ in assignments]
        self.loads = loads
        self._sums = 0

    def _closure(self, roots: set[sp.Symbol]) -> tuple[list[sp.Symbol], list[sp.Symbol]]:
        """The assignments (in order) and inputs (in load order) that ``roots`` need."""
        need: set[sp.Symbol] = set()
        used: set[sp.Symbol] = set(roots)
        stack = list(roots)
        while stack:
            s = stack.pop()
            if s in self.defs and s not in need:
                need.add(s)
                free = self.defs[s].free_symbols
                used |= free
                stack.extend(free)
        return [t for t in self.order if t in need], [u for u in self.loads if u in used]

    def _rename(self, expr: sp.Expr, depth: int) -> sp.Expr:
        if depth == 0:
            return expr
        return expr.xreplace({s: sp.Symbol(f"{s.name}_{depth}") for s in expr.free_symbols
                              if s in self.defs or s in self.loads})

    def _name(self, s: sp.Symbol, depth: int) -> str:
        return s.name if depth == 0 else f"{s.name}_{depth}"

    def _expression(self, expr: sp.Expr, indent: str, depth: int) -> tuple[list[str], str]:
        """Lines computing the block sums inside ``expr`` (outermost first), and the code of ``expr`` itself."""
        lines: list[str] = []
        sums = expr.atoms(BlockSum)
        outer = [b for b in sums if not any(o != b and o.args[0].has(b) for o in sums)]
        for b in sorted(outer, key=sp.default_sort_key):
            name = f"bs{self._sums}_"
            self._sums += 1
            jvar = f"j_{depth + 1}"
            lines.append(f"{indent}{name} = 0.0")
            lines.append(f"{indent}for {jvar} in range(S):  # sum over the cells of the block")
            arg = b.args[0]
            roots = {s for s in arg.free_symbols if s in self.defs or s in self.loads}
            lines += self.emit(roots, indent + "    ", depth + 1)
            pre, code = self._expression(arg, indent + "    ", depth + 1)
            lines += pre
            lines.append(f"{indent}    {name} += {code}")
            expr = expr.xreplace({b: sp.Symbol(name)})
        return lines, scalar_code(self._rename(expr, depth))

    def emit(self, roots: set[sp.Symbol], indent: str, depth: int = 0) -> list[str]:
        """Lines that load the needed inputs and compute ``roots`` (names suffixed ``_<depth>`` inside sums)."""
        targets, inputs = self._closure(set(roots))
        jvar = "j_" if depth == 0 else f"j_{depth}"
        lines = [f"{indent}{self._name(u, depth)} = {self.loads[u](jvar)}" for u in inputs]
        for t in targets:
            pre, code = self._expression(self.defs[t], indent, depth)
            lines += pre
            lines.append(f"{indent}{self._name(t, depth)} = {code}")
        return lines


# ----- what each kernel reads and computes -----

def _cell_index(j: str) -> str:
    return f"c_ * S + {j}"


def _gate_row(cell: CellDeclaration, net: sp.Symbol) -> str:
    return f"CS + {cell.gates.index(net.name[4:])} * C + c_"


def _loads(cell: CellDeclaration, net: str, state: str, params: str) -> dict[sp.Symbol, Load]:
    """Loads of the cell inputs: ``net``/``state``/``params`` are format strings with ``{i}`` (flat index),
    ``{j}`` (cell-index variable) and ``{p}`` (parameter number)."""
    out: dict[sp.Symbol, Load] = {}
    for u in cell.nets:
        idx = _cell_index("{j}") if cell.level(u) == "cell" else _gate_row(cell, u)
        out[u] = (lambda idx: lambda j: net.format(i=idx.format(j=j)))(idx)
    for s in cell.states:
        out[cell.prev(s)] = lambda j: state.format(j=j)
    for k, p in enumerate(cell.params):
        out[p] = (lambda k: lambda j: params.format(p=k, j=j))(k)
    return out


def _forward_assignments(cell: CellDeclaration) -> list[Assignment]:
    return [(eq.target, eq.expr) for eq in cell.equations]


def _store_activations(cell: CellDeclaration, acts: str, indent: str) -> list[str]:
    """Store y_c per cell and each gate's activation per block (written once, by the block's first cell)."""
    lines = [f"{indent}{acts.format(i='c_ * S + j_')} = y_c"]
    if cell.gates:
        lines.append(f"{indent}if j_ == 0:")
        for i, g in enumerate(cell.gates):
            lines.append(f"{indent}    {acts.format(i=f'CS + {i} * C + c_')} = y_{g}")
    return lines


def _partials(der: Derivation) -> tuple[list[Assignment], list[sp.Symbol], list[sp.Symbol]]:
    """Trace partials (J first) and exit partials as one CSE'd list; returns it and the two name lists."""
    cell, state = der.cell, der.state
    items: list[Assignment] = []
    trace_names, exit_names = [], []
    if state is not None:
        for u in (cell.prev(state), *der.trace_inputs):
            trace_names.append(sp.Symbol(f"ds_d{u.name}"))
            items.append((trace_names[-1], der.traces[u]))
        exit_names.append(sp.Symbol(f"dyc_d{state.name}"))
        items.append((exit_names[-1], der.exit[state]))
    for u in der.exit_inputs:
        exit_names.append(sp.Symbol(f"dyc_d{u.name}"))
        items.append((exit_names[-1], der.exit[u]))
    return (cse_assignments(items) if items else []), trace_names, exit_names


# ----- the three kernels -----

def _forward_kernel(der: Derivation) -> str:
    cell = der.cell
    G = len(cell.gates)
    block = ScalarBlock(_forward_assignments(cell), _loads(
        cell, "NETS[t_, b_, {i}]", "(STATES[t_ - 1, b_, c_, {j}] if t_ > 0 else 0.0)", "PM[{p}, c_, {j}]"))
    roots = {sp.Symbol("y_c"), *cell.gate_outputs, *cell.states}
    body = block.emit(roots, " " * 20)
    if der.state is not None:
        body.append(f"{' ' * 20}STATES[t_, b_, c_, j_] = {der.state.name}")
    body += _store_activations(cell, "ACTS[t_, b_, {i}]", " " * 20)
    return f'''
def _forward_kernel(W_h, W_o, PM, XS, YS, NETK, ACTS, STATES, NETS, C, S):
    """Forward pass over whole sequences, weights shared by the batch (Section 5 timing).

    Fills YS and NETK (T, B, K), ACTS (T, B, N_a), STATES (T, B, C, S) and NETS (T, B, N_a): the outputs, the
    hidden activations, the states and the net inputs of every step.
    """
    T, B, I = XS.shape
    K = W_o.shape[0]
    CS = C * S
    NA = CS + {G} * C
    Z = I + NA + 1
    for b_ in range(B):
        for t_ in range(T):
            for r_ in range(NA):  # eqs. (6)-(9): net inputs from x(t), y(t-1) and the bias
                acc_ = 0.0
                for m_ in range(I):
                    acc_ += W_h[r_, m_] * XS[t_, b_, m_]
                if t_ > 0:
                    for m_ in range(NA):
                        acc_ += W_h[r_, I + m_] * ACTS[t_ - 1, b_, m_]
                NETS[t_, b_, r_] = acc_ + W_h[r_, Z - 1]
            for c_ in range(C):
                for j_ in range(S):  # the cell's equations (the declaration)
{chr(10).join(body)}
            for k_ in range(K):  # output units see x(t), the current activations and the bias; logistic
                acc_ = 0.0
                for m_ in range(I):
                    acc_ += W_o[k_, m_] * XS[t_, b_, m_]
                for m_ in range(NA):
                    acc_ += W_o[k_, I + m_] * ACTS[t_, b_, m_]
                acc_ += W_o[k_, Z - 1]
                NETK[t_, b_, k_] = acc_
                YS[t_, b_, k_] = _sigmoid(acc_)
'''


def _backward_kernel(der: Derivation) -> str:
    cell = der.cell
    G = len(cell.gates)
    loads = _loads(cell, "NETS[t_, b_, {i}]", "(STATES[t_ - 1, b_, c_, {j}] if t_ > 0 else 0.0)",
                   "PM[{p}, c_, {j}]")
    loads[adjoint(sp.Symbol("y_c"))] = lambda j: f"D_A[c_ * S + {j}]"
    for i, y in enumerate(cell.gate_outputs):
        loads[adjoint(y)] = (lambda i: lambda j: f"D_A[CS + {i} * C + c_]")(i)
    for s in cell.states:
        loads[adjoint(s)] = lambda j: f"D_S[c_, {j}]"
    outputs = {adjoint(u) for u in cell.inputs}
    branches = []
    for steps in (der.backward_truncated, der.backward):
        block = ScalarBlock(_forward_assignments(cell) + cse_assignments(steps), loads)
        branches.append(block.emit(outputs, " " * 24))
    ops = op_count(e for _, e in cse_assignments(der.backward))
    writes = [f"{' ' * 20}D_NET[c_ * S + j_] = d_net_c"]
    gate_writes = [f"{' ' * 24}D_NET[{_gate_row(cell, u)}] = d_{u.name}" for u in cell.gate_nets]
    if gate_writes:
        writes += [f"{' ' * 20}if j_ == 0:", *gate_writes]
    for s in cell.states:
        writes.append(f"{' ' * 20}D_SNEW[c_, j_] = d_{s.name}_prev")
    for k, p in enumerate(cell.params):
        writes.append(f"{' ' * 20}GP[{k}, c_, j_] += d_{p.name}")
    return f'''
def _backward_kernel(W_h, W_o, PM, XS, NETK, YS, ACTS, STATES, NETS, DYS, truncated, C, S,
                     GW_h, GW_o, GP, D_A, D_S, D_SNEW, D_NET):
    """Backpropagation through time over whole sequences (adjoint step: {ops} ops per cell), summed into GW_h,
    GW_o, GP. DYS (T, B, K) is dL/dy_k; the forward values come from _forward_kernel. With ``truncated`` the
    paper's truncated gradient (Section 4, Appendix A.1). D_A, D_S, D_SNEW, D_NET are scratch.
    """
    T, B, I = XS.shape
    K = W_o.shape[0]
    CS = C * S
    NA = CS + {G} * C
    Z = I + NA + 1
    for b_ in range(B):
        D_A[:] = 0.0
        D_S[:, :] = 0.0
        for t_ in range(T - 1, -1, -1):
            for k_ in range(K):  # output units: error at net_k through f'(net_k) written with y_k
                y_k = YS[t_, b_, k_]
                net_k = NETK[t_, b_, k_]
                dnk_ = DYS[t_, b_, k_] * ({scalar_code(der.output_derivative)})
                for m_ in range(I):
                    GW_o[k_, m_] += dnk_ * XS[t_, b_, m_]
                for m_ in range(NA):
                    GW_o[k_, I + m_] += dnk_ * ACTS[t_, b_, m_]
                    D_A[m_] += dnk_ * W_o[k_, I + m_]
                GW_o[k_, Z - 1] += dnk_
            for c_ in range(C):
                for j_ in range(S):  # the derived adjoint step of the cell
                    if truncated:
{chr(10).join(branches[0])}
                    else:
{chr(10).join(branches[1])}
{chr(10).join(writes)}
            for r_ in range(NA):  # dL/dw_lm += error at net_l times source y^m (x(t), y(t-1), bias)
                g_ = D_NET[r_]
                for m_ in range(I):
                    GW_h[r_, m_] += g_ * XS[t_, b_, m_]
                if t_ > 0:
                    for m_ in range(NA):
                        GW_h[r_, I + m_] += g_ * ACTS[t_ - 1, b_, m_]
                GW_h[r_, Z - 1] += g_
            if truncated:  # truncation: no error flows into y(t-1) through the net inputs
                D_A[:] = 0.0
            else:
                for m_ in range(NA):
                    acc_ = 0.0
                    for r_ in range(NA):
                        acc_ += D_NET[r_] * W_h[r_, I + m_]
                    D_A[m_] = acc_
            D_S[:, :] = D_SNEW
'''


def _learner_kernel(der: Derivation) -> str:
    cell, state = der.cell, der.state
    G = len(cell.gates)
    params = list(cell.params)
    partials, trace_names, exit_names = _partials(der)
    block = ScalarBlock(_forward_assignments(cell) + partials,
                        _loads(cell, "NET_[{i}]", "SP_[c_, {j}]", "PM[b_, {p}, c_, {j}]"))
    roots = {sp.Symbol("y_c"), *cell.gate_outputs, *cell.states, *trace_names, *exit_names}
    i20 = " " * 20
    body = block.emit(roots, i20)
    if state is not None:
        body.append(f"{i20}SN_[c_, j_] = {state.name}")
    body += _store_activations(cell, "A_[{i}]", i20)
    trace_nets = [u for u in der.trace_inputs if u in cell.nets]
    trace_params = [u for u in der.trace_inputs if u in params]
    exit_inputs = list(der.exit_inputs)
    if state is not None:
        body.append(f"{i20}J_[c_, j_] = {trace_names[0].name}")
        for k, u in enumerate(trace_nets):
            body.append(f"{i20}DS_[{k}, c_, j_] = ds_d{u.name}")
        for k, u in enumerate(trace_params):
            body.append(f"{i20}DSP_[{k}, c_, j_] = ds_d{u.name}")
        body.append(f"{i20}DYS_[c_, j_] = dyc_d{state.name}")
    for k, u in enumerate(exit_inputs):
        body.append(f"{i20}DYX_[{k}, c_, j_] = dyc_d{u.name}")

    # forward traces, eqs. (25), (27); J = ds(t)/ds(t-1) is exactly 1 for the CEC (eq. 30): no multiplication then
    traces = []
    if state is not None:
        cec = der.traces[cell.prev(state)] == 1
        traces.append("            for c_ in range(C):")
        traces.append("                for j_ in range(S):")
        if not cec:
            traces.append("                    J = J_[c_, j_]")
        for k in range(len(trace_nets)):
            traces.append(f"                    d_ = DS_[{k}, c_, j_]")
            traces.append("                    for m_ in range(Z):")
            upd = (f"TR_[{k}, c_, j_, m_] += d_ * Z_[m_]" if cec
                   else f"TR_[{k}, c_, j_, m_] = J * TR_[{k}, c_, j_, m_] + d_ * Z_[m_]")
            traces.append(f"                        {upd}")
        for k in range(len(trace_params)):
            upd = (f"TRP_[{k}, c_, j_] += DSP_[{k}, c_, j_]" if cec
                   else f"TRP_[{k}, c_, j_] = J * TRP_[{k}, c_, j_] + DSP_[{k}, c_, j_]")
            traces.append(f"                    {upd}")

    grads = []
    es = "ES_[c_, j_]" if state is not None else None
    # cell-input weights, one row per cell: eqs. (24), (26), (28) through the trace, (21) through the exit path
    net_c = cell.net_c
    terms = []
    if net_c in trace_nets:
        terms.append(f"ES_[c_, j_] * TR_[{trace_nets.index(net_c)}, c_, j_, m_]")
    if net_c in exit_inputs:
        terms.append(f"EYC_[c_, j_] * DYX_[{exit_inputs.index(net_c)}, c_, j_] * Z_[m_]")
    grads += ["            for c_ in range(C):", "                for j_ in range(S):",
              "                    for m_ in range(Z):",
              f"                        GH_[c_ * S + j_, m_] = {' + '.join(terms) if terms else '0.0'}"]
    for u in cell.gate_nets:  # gate weights, one row per block: the block's cells' contributions summed
        grads.append(f"            for c_ in range(C):  # {u.name}")
        ex = "0.0"
        if u in exit_inputs:
            grads.append("                ex_ = 0.0")
            grads.append("                for j_ in range(S):")
            grads.append(f"                    ex_ += EYC_[c_, j_] * DYX_[{exit_inputs.index(u)}, c_, j_]")
            ex = "ex_ * Z_[m_]"
        grads.append("                for m_ in range(Z):")
        if u in trace_nets:
            grads.append("                    acc_ = 0.0")
            grads.append("                    for j_ in range(S):")
            grads.append(f"                        acc_ += ES_[c_, j_] * TR_[{trace_nets.index(u)}, c_, j_, m_]")
            grads.append(f"                    GH_[{_gate_row(cell, u)}, m_] = acc_ + {ex}" if ex != "0.0"
                         else f"                    GH_[{_gate_row(cell, u)}, m_] = acc_")
        else:
            grads.append(f"                    GH_[{_gate_row(cell, u)}, m_] = {ex}")
    if params:
        grads += ["            for c_ in range(C):", "                for j_ in range(S):"]
        for k, p in enumerate(params):
            terms = []
            if p in trace_params:
                terms.append(f"ES_[c_, j_] * TRP_[{trace_params.index(p)}, c_, j_]")
            if p in exit_inputs:
                terms.append(f"EYC_[c_, j_] * DYX_[{exit_inputs.index(p)}, c_, j_]")
            grads.append(f"                    GPR_[{k}, c_, j_] = {' + '.join(terms) if terms else '0.0'}")
    e_state = ("                    ES_[c_, j_] = acc_ * DYS_[c_, j_]  # eq. (23): error at the state"
               if es else "")
    return f'''
def _learner_kernel(W_h, W_o, PM, LR, XS, TG, TM, MH, MO, mode, YS, OUT_H, OUT_O, OUT_P, C, S,
                    Z_, U_, NET_, A_, SP_, SN_, TR_, TRP_, J_, DS_, DSP_, DYS_, DYX_, EK_, EYC_, ES_,
                    GH_, GO_, GPR_, ACC_H, ACC_O, ACC_P):
    """The paper's online learner (Appendix A.1) over whole sequences, each batch element an independent trial.

    Per step (Section 5): net inputs, the cell's equations, outputs; the forward traces ds/dw (eqs. 25, 27); the
    output error (eq. 19) and this step's gradient estimate G = -dE(t)/dw (eqs. 20-28). ``mode``: 0 forward
    only, 1 add LR * G (masked by MH, MO) to the weights at every step, 2 sum G over the sequence and add it at
    the end, 3 return the summed G in OUT_H, OUT_O, OUT_P without changing the weights. A step whose output
    error is exactly zero adds exactly zero (G is e_k times finite factors) and is skipped. Arguments after S
    are scratch arrays.
    """
    T, B, I = XS.shape
    K = W_o.shape[1]
    CS = C * S
    NA = CS + {G} * C
    Z = I + NA + 1
    NP = PM.shape[1]
    for b_ in range(B):
        lr_ = LR[b_]
        A_[:] = 0.0
        SP_[:, :] = 0.0
        TR_[:] = 0.0
        TRP_[:] = 0.0
        if mode >= 2:
            ACC_H[:, :] = 0.0
            ACC_O[:, :] = 0.0
            ACC_P[:] = 0.0
        for t_ in range(T):
            for m_ in range(I):  # sources y^m: x(t), y(t-1), bias
                Z_[m_] = XS[t_, b_, m_]
            for m_ in range(NA):
                Z_[I + m_] = A_[m_]
            Z_[Z - 1] = 1.0
            for r_ in range(NA):  # eqs. (6)-(9)
                acc_ = 0.0
                for m_ in range(Z):
                    acc_ += W_h[b_, r_, m_] * Z_[m_]
                NET_[r_] = acc_
            for c_ in range(C):
                for j_ in range(S):  # the cell's equations, then its trace and exit partials
{chr(10).join(body)}
            for m_ in range(I):  # output units see x(t), the current activations and the bias
                U_[m_] = XS[t_, b_, m_]
            for m_ in range(NA):
                U_[I + m_] = A_[m_]
            U_[Z - 1] = 1.0
            err_ = False
            for k_ in range(K):
                acc_ = 0.0
                for m_ in range(Z):
                    acc_ += W_o[b_, k_, m_] * U_[m_]
                net_k = acc_
                y_k = _sigmoid(net_k)
                YS[t_, b_, k_] = y_k
                e_ = ({scalar_code(der.output_derivative)}) * (TG[t_, b_, k_] - y_k) * TM[t_, b_, k_]  # eq. (19)
                EK_[k_] = e_
                if e_ != 0.0:
                    err_ = True
            SP_[:, :] = SN_
            if mode == 0:
                continue
{chr(10).join(traces)}
            if not err_:
                continue
            for c_ in range(C):
                for j_ in range(S):  # error arriving at the cell output from the output units
                    acc_ = 0.0
                    for k_ in range(K):
                        acc_ += EK_[k_] * W_o[b_, k_, I + c_ * S + j_]
                    EYC_[c_, j_] = acc_
{e_state}
            for k_ in range(K):  # eq. (22), output units
                for m_ in range(Z):
                    GO_[k_, m_] = EK_[k_] * U_[m_]
{chr(10).join(grads)}
            if mode == 1:  # eq. (17): weight change alpha * (-dE/dw), every step
                for r_ in range(NA):
                    for m_ in range(Z):
                        W_h[b_, r_, m_] += lr_ * (GH_[r_, m_] * MH[r_, m_])
                for k_ in range(K):
                    for m_ in range(Z):
                        W_o[b_, k_, m_] += lr_ * (GO_[k_, m_] * MO[k_, m_])
                for p_ in range(NP):
                    for c_ in range(C):
                        for j_ in range(S):
                            PM[b_, p_, c_, j_] += lr_ * GPR_[p_, c_, j_]
            else:
                ACC_H += GH_
                ACC_O += GO_
                ACC_P += GPR_
        if mode == 2:
            for r_ in range(NA):
                for m_ in range(Z):
                    W_h[b_, r_, m_] += lr_ * (ACC_H[r_, m_] * MH[r_, m_])
            for k_ in range(K):
                for m_ in range(Z):
                    W_o[b_, k_, m_] += lr_ * (ACC_O[k_, m_] * MO[k_, m_])
            for p_ in range(NP):
                for c_ in range(C):
                    for j_ in range(S):
                        PM[b_, p_, c_, j_] += lr_ * ACC_P[p_, c_, j_]
        elif mode == 3:
            OUT_H[b_] = ACC_H
            OUT_O[b_] = ACC_O
            OUT_P[b_] = ACC_P
''', len(trace_nets), len(trace_params), len(exit_inputs)


# ----- the module -----

def _header(der: Derivation) -> str:
    cell = der.cell
    decl = textwrap.indent(textwrap.dedent(cell.text).strip("\n"), "    ")
    return f'''"""Cell '{cell.name}', compiled backend (numba): {cell.title}.

GENERATED FILE - DO NOT EDIT. Generated by `{GENERATOR_COMMAND}` from the declaration of cell '{cell.name}' in
lstm_proofs/cells/library.py ({cell.source}); derivatives by lstm_proofs/derive/derivation.py (the same derivation
as derivations/{cell.name}.py), code by lstm_proofs/codegen/numba_backend.py. `lstm-proofs derive --check` fails
while this file is stale.

Declaration:
{decl}

Whole-sequence kernels: loops over sequences (or trials), time steps, blocks and cells, with the derived cell
arithmetic as scalar code, compiled by numba on first use (numba is imported only then; without it the functions
raise UserError). Network and OnlineLearner call forward_sequence, gradient_sequence and learner_sequence when a
module defines them. Shapes as in derivations/{cell.name}.py; float64 only.
"""

import math

import numpy as np

from lstm_proofs.errors import UserError

CELL = {cell.name!r}
BACKEND = "numba"
GATES = {tuple(cell.gates)!r}
STATE = {der.state.name if der.state is not None else None!r}
PARAMS = {tuple(p.name for p in cell.params)!r}
TARGETS = {tuple(t.name for t in cell.targets)!r}
TRACE_INPUTS = {tuple(u.name for u in der.trace_inputs)!r}
EXIT_INPUTS = {tuple(u.name for u in der.exit_inputs)!r}
MODES = {{"forward": 0, "step": 1, "sequence": 2, "gradient": 3}}


def _sigmoid(x):
    """Logistic function, the same stable branches as lstm_proofs.numerics.sigmoid."""
    if x < 0.0:
        e = math.exp(x)
        return e / (1.0 + e)
    e = math.exp(-x)
    return 1.0 / (1.0 + e)
'''


_WRAPPERS = '''

# ----- compilation on first use -----

_JIT = {}


def available():
    """True when numba can be imported (the kernels can be compiled)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _kernels():
    if not _JIT:
        try:
            import numba
        except ImportError:
            raise UserError("the numba backend needs numba: pip install -e '.[fast]' (or use backend='numpy')") from None
        jit = numba.njit(cache=True, error_model="numpy")
        g = globals()
        g["_sigmoid"] = jit(_sigmoid)  # the kernels resolve _sigmoid at compile time, so bind the compiled one
        for name in ("_forward_kernel", "_backward_kernel", "_learner_kernel"):
            _JIT[name] = jit(g[name])
    return _JIT


def _f64(x):
    x = np.asarray(x)
    if x.dtype != np.float64:
        if np.iscomplexobj(x):
            raise UserError("the numba backend computes in float64 only; use backend='numpy' for complex inputs")
        x = x.astype(np.float64)
    return np.ascontiguousarray(x)


def _stack_params(P, lead, C, S):
    if not P:
        return np.zeros((*lead, 0, C, S))
    return np.ascontiguousarray(np.stack([_f64(p) for p in P], axis=len(lead)))


# ----- whole-sequence entry points -----

def forward_sequence(W_hidden, W_output, P, xs, C, S):
    """Forward pass over xs (T, B, I) from zero activations and states, weights shared by the batch.

    Returns:
        ys (T, B, K), activations (T, B, N_a), states (T, B, C, S) (zeros for a cell without state), and the
        cache that gradient_sequence needs.
    """
    k = _kernels()
    xs = _f64(xs)
    W_h, W_o = _f64(W_hidden), _f64(W_output)
    T, B, _ = xs.shape
    K, NA = W_o.shape[0], W_h.shape[0]
    PM = _stack_params(P, (), C, S)
    ys, netk = np.empty((T, B, K)), np.empty((T, B, K))
    acts, nets = np.empty((T, B, NA)), np.empty((T, B, NA))
    states = np.zeros((T, B, C, S))
    k["_forward_kernel"](W_h, W_o, PM, xs, ys, netk, acts, states, nets, C, S)
    return ys, acts, states, [nets, netk, PM, states]


def gradient_sequence(W_hidden, W_output, xs, ys, acts, cache, d_ys, truncated, C, S):
    """Backpropagation through time over the sequences of a forward_sequence call.

    Args:
        d_ys: (T, B, K) dL/dy_k; truncated: the paper's truncated gradient instead of the full one.

    Returns:
        dW_hidden, dW_output, dP (tuple in PARAMS order), summed over the batch (not masked).
    """
    k = _kernels()
    nets, netk, PM, states = cache
    W_h, W_o = _f64(W_hidden), _f64(W_output)
    NA = W_h.shape[0]
    gW_h, gW_o, gP = np.zeros(W_h.shape), np.zeros(W_o.shape), np.zeros(PM.shape)
    k["_backward_kernel"](W_h, W_o, PM, _f64(xs), netk, ys, acts, states, nets, _f64(d_ys), bool(truncated), C, S,
                          gW_h, gW_o, gP, np.zeros(NA), np.zeros((C, S)), np.zeros((C, S)), np.zeros(NA))
    return gW_h, gW_o, tuple(gP[i].copy() for i in range(gP.shape[0]))


def learner_sequence(W_hidden, W_output, P, learning_rate, xs, targets, mask, mask_hidden, mask_output, mode, C, S):
    """The online learner over one sequence per trial (weights changed in place unless mode is 'forward' or
    'gradient').

    Args:
        W_hidden (B, N_a, Z), W_output (B, K, U), P (tuple of (B, C, S)): per-trial weights.
        learning_rate: (B,); xs (T, B, I); targets (T, B, K); mask (T, B, K) or broadcastable to it.
        mask_hidden, mask_output: 1.0 where a weight exists; mode: one of MODES; C, S: blocks and cells per block.

    Returns:
        ys (T, B, K), and for mode 'gradient' the summed G = -dE/dw per trial (G_hidden, G_output, G_P tuple),
        else None.
    """
    k = _kernels()
    if mode not in MODES:
        raise UserError(f"learner mode must be one of {tuple(MODES)}, got {mode!r}")
    mode = MODES[mode]
    xs = _f64(xs)
    T, B, _ = xs.shape
    K, NA, Z = W_output.shape[1], W_hidden.shape[1], W_hidden.shape[2]
    W_h = W_hidden if (W_hidden.dtype == np.float64 and W_hidden.flags.c_contiguous) else _f64(W_hidden)
    W_o = W_output if (W_output.dtype == np.float64 and W_output.flags.c_contiguous) else _f64(W_output)
    PM = _stack_params(P, (B,), C, S)
    NP = PM.shape[1]
    lr = _f64(np.broadcast_to(np.asarray(learning_rate, dtype=float).reshape(-1), (B,)))
    tg = _f64(targets)
    mask = np.asarray(mask)
    tm = _f64(np.broadcast_to(mask if mask.ndim == 3 else mask[..., None], (T, B, K)))
    ys = np.empty((T, B, K))
    nb = B if mode == 3 else 1
    out_h, out_o, out_p = np.zeros((nb, NA, Z)), np.zeros((nb, K, Z)), np.zeros((nb, NP, C, S))
    scratch = (np.zeros(Z), np.zeros(Z), np.zeros(NA), np.zeros(NA), np.zeros((C, S)), np.zeros((C, S)),
               np.zeros((N_TRACE_NETS, C, S, Z)), np.zeros((N_TRACE_PARAMS, C, S)), np.zeros((C, S)),
               np.zeros((N_TRACE_NETS, C, S)), np.zeros((N_TRACE_PARAMS, C, S)), np.zeros((C, S)),
               np.zeros((N_EXIT, C, S)), np.zeros(K), np.zeros((C, S)), np.zeros((C, S)),
               np.zeros((NA, Z)), np.zeros((K, Z)), np.zeros((NP, C, S)),
               np.zeros((NA, Z)), np.zeros((K, Z)), np.zeros((NP, C, S)))
    k["_learner_kernel"](W_h, W_o, PM, lr, xs, tg, tm, _f64(mask_hidden), _f64(mask_output), mode, ys,
                         out_h, out_o, out_p, C, S, *scratch)
    if W_h is not W_hidden:
        W_hidden[...] = W_h
    if W_o is not W_output:
        W_output[...] = W_o
    for i, p in enumerate(P):
        p[...] = PM[:, i]
    if mode == 3:
        return ys, (out_h, out_o, tuple(out_p[:, i] for i in range(NP)))
    return ys, None
'''


def generate_numba_module(der: Derivation) -> str:
    """The complete source of the generated numba module of a derived cell (deterministic text).

    Args:
        der: the cell's derivation.

    Returns:
        Python source text; it imports without numba.
    """
    cell = der.cell
    learner, n_tn, n_tp, n_ex = _learner_kernel(der)
    sizes = f"\nN_TRACE_NETS = {n_tn}  # traces (C, S, Z) of net inputs\nN_TRACE_PARAMS = {n_tp}  # traces (C, S) of per-cell parameters\nN_EXIT = {n_ex}  # exit partials\n"
    parts = [_header(der), "\n# ----- kernels (plain Python; compiled by numba on first use) -----\n",
             _forward_kernel(der), "\n", _backward_kernel(der), "\n", learner, sizes, _WRAPPERS]
    return "".join(parts).rstrip("\n") + "\n"
