"""Generate the compiled (numba) module of a cell from the same derivation as the NumPy module.

The module holds what the cell computes in one step, as scalar code: the derivation's expressions printed by
:class:`BlockCode`, one memory-cell block at a time. Values that are per block (a gate's activation and its
partials) are computed once per block, per-cell values in one loop over the block's cells, and a per-block quantity
that collects from the block's cells (``BlockSum`` in the derivation) is an accumulator added to in that loop and
read after it. Every named value is computed once per step. The functions:

* ``_cell_step`` (forward loops): the declaration's equations, and with them the local partials
  (``Derivation.partials``, common-subexpression eliminated), stored per step for the backward pass: the forward
  pass has the sigmoids they are made of at hand, so the backward pass takes no ``exp``;
* ``_cell_adjoint`` (backward loops): the adjoint step written with the stored partials, linear in the errors
  (``Derivation.backward_linear``, or ``backward_linear_truncated`` for the paper's truncated gradient; one code
  path when the two coincide);
* ``_learner_cell``, ``_learner_traces[_lists]``, ``_learner_rows[_lists]`` (learner loops): the equations with the
  trace and exit partials; each weight row's trace update, gradient estimate and weight change in one pass, the
  rows with traces and those with an exit path as the derivation has them (``_lists``: over the listed inputs, see
  :data:`_LISTED`);
* ``_output_derivative``.

The whole-sequence loops around them (net inputs, output units, weight gradients, the input paths) are the same for
every cell and written once, by hand, in :mod:`lstm_proofs.kernels.numba_loops`; :mod:`lstm_proofs.kernels.numba_compile`
writes a module's functions into them (as source text, :mod:`lstm_proofs.kernels.numba_splice`) and compiles them on
first use, and the module's entry points come from
:mod:`lstm_proofs.kernels.numba_entry`. Every sum is taken in the order of the plain loop it replaces and every value
is the same expression of the same inputs, so the kernels give the results of straightforward loops bit for bit; no
fastmath. A weight row's loop walks it along its contiguous axis with no branch inside.

The generated module imports without numba: its functions are plain Python. Calling an entry point without numba
raises :class:`~lstm_proofs.errors.UserError` with an install hint; ``load_kernels(cell, backend="numba")`` checks
``available`` first and falls back to the NumPy module with a message.
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
Level = str  # "block" (one value per memory-cell block) or "cell" (one value per cell)
Load = Callable[[str], str]  # code reading an input, given the name of the cell-index variable
Write = tuple[sp.Symbol, Level, list[str]]  # a value, where its store goes (cell loop or block scope), the lines


class ScalarPrinter(PythonCodePrinter):
    """Prints scalar Python for numba: ``sigma`` as the stable ``_sigmoid``, ``tanh`` from :mod:`math`."""

    printmethod = "_numbacode"

    def _print_sigma(self, expr: sp.Expr) -> str:
        return f"_sigmoid({self._print(expr.args[0])})"

    def _print_tanh(self, expr: sp.Expr) -> str:
        return f"math.tanh({self._print(expr.args[0])})"

    def _print_BlockSum(self, expr: sp.Expr) -> str:  # noqa: N802 - SymPy's naming
        raise ValueError("BlockSum must be turned into an accumulator before printing")


_PRINTER = ScalarPrinter({"fully_qualified_modules": True})


def scalar_code(expr: sp.Expr) -> str:
    """Scalar Python source of ``expr`` (no ``BlockSum`` left in it)."""
    return _PRINTER.doprint(expr)


class BlockCode:
    """Straight-line scalar code for one memory-cell block ``c_`` from assignments, each value computed once.

    A value is per block if everything it reads is per block, else per cell. The code has three parts: per-block
    values that need no sum over the cells (block scope), one loop ``for j_ in range(S)`` computing the per-cell
    values, and per-block values that read a sum over the cells (block scope, after the loop). A ``BlockSum`` in
    an expression becomes an accumulator ``bs<k>_``: zero before the loop, its argument added inside it.

    Args:
        assignments: ``(symbol, expression)`` in an executable order; expressions may contain ``BlockSum``.
        loads: for every input symbol, its level and a function giving the code that reads it for a given
            cell-index variable (a per-block load must not use the variable).

    Raises:
        ValueError (from :meth:`emit`): when a per-cell value would read a block sum, which needs a second loop
        over the cells (adjoint steps never do: a per-cell error only collects from per-cell quantities).
    """

    def __init__(self, assignments: list[Assignment], loads: dict[sp.Symbol, tuple[Level, Load]]) -> None:
        self.loads = loads
        self.sums: dict[sp.Symbol, sp.Expr] = {}
        self.defs: dict[sp.Symbol, sp.Expr] = {}
        for target, expr in assignments:
            while expr.has(BlockSum):  # innermost sums first
                inner = [b for b in expr.atoms(BlockSum) if not b.args[0].has(BlockSum)]
                for b in sorted(inner, key=sp.default_sort_key):
                    name = sp.Symbol(f"bs{len(self.sums)}_")
                    self.sums[name] = b.args[0]
                    expr = expr.xreplace({b: name})
            self.defs[target] = expr

    def _reads(self, s: sp.Symbol) -> set[sp.Symbol]:
        if s in self.defs:
            return set(self.defs[s].free_symbols)
        if s in self.sums:
            return set(self.sums[s].free_symbols)
        if s in self.loads:
            return set()
        raise ValueError(f"no assignment or load for {s.name}")

    def _phases(self, roots: set[sp.Symbol]) -> tuple[dict[sp.Symbol, int], dict[sp.Symbol, Level]]:
        """Phase (-1 block scope before the loop, 0 the loop, 1 block scope after it) and level of every needed
        symbol."""
        phase: dict[sp.Symbol, int] = {}
        level: dict[sp.Symbol, Level] = {}

        def visit(s: sp.Symbol) -> int:
            if s in phase:
                return phase[s]
            reads = self._reads(s)
            p = max((visit(r) for r in reads), default=-1)
            if s in self.loads:
                level[s] = self.loads[s][0]
                phase[s] = -1 if level[s] == "block" else 0
            elif s in self.sums:
                level[s] = "block"
                phase[s] = max(p + p % 2, 0) + 1  # accumulated in the loop after what the argument reads
            else:
                level[s] = "cell" if any(level[r] == "cell" for r in reads) else "block"
                phase[s] = p + (p % 2 if level[s] == "cell" else 1 - p % 2)  # cell: 0, block: -1 or 1
            if phase[s] > 1:
                raise ValueError(f"{s.name} is per cell but reads a sum over the block's cells")
            return phase[s]

        for r in sorted(roots, key=lambda s: s.name):
            visit(r)
        return phase, level

    def levels(self, roots: set[sp.Symbol]) -> dict[sp.Symbol, Level]:
        """The level (``"block"`` or ``"cell"``) of each symbol in ``roots`` and of everything it reads."""
        return self._phases(roots)[1]

    def emit(self, writes: list[Write], indent: str) -> list[str]:
        """Lines computing the written values (and what they read), with the writes' lines.

        Args:
            writes: ``(symbol, level, lines)``: lines storing ``symbol``, placed in the cell loop (level
                ``"cell"``, may use ``j_``) or at block scope right after the value (``"block"``).
            indent: indentation of the block scope.
        """
        phase, level = self._phases({s for s, _, _ in writes})
        inner = indent + "    "

        def loads(p: int) -> list[str]:
            return [f"{inner if p == 0 else indent}{u.name} = {fn('j_')}" for u, (_, fn) in self.loads.items()
                    if phase.get(u) == p]

        def defs(p: int, ind: str) -> list[str]:
            out = []
            for t, e in self.defs.items():
                if phase.get(t) == p:
                    out.append(f"{ind}{t.name} = {scalar_code(e)}")
                    for s, lvl, ls in writes:
                        if s == t and lvl == "block":
                            out += [ind + w for w in ls]
            return out

        for s, lvl, _ in writes:
            if lvl == "block" and (level[s] == "cell" or s not in self.defs):
                raise ValueError(f"{s.name} is not a per-block value computed here")
            if lvl == "cell" and phase[s] > 0:
                raise ValueError(f"{s.name} is available only after the loop over the cells")
        sums = [b for b in self.sums if b in phase]
        lines = loads(-1) + defs(-1, indent) + [f"{indent}{b.name} = 0.0" for b in sums]
        body = loads(0) + defs(0, inner)
        body += [inner + w for s, lvl, ls in writes if lvl == "cell" for w in ls]
        body += [f"{inner}{b.name} += {scalar_code(self.sums[b])}" for b in sums]
        if body:
            lines += [f"{indent}for j_ in range(S):  # the cells of the block"] + body
        return lines + defs(1, indent)


# ----- what each kernel reads and computes -----

def _cell_index(j: str) -> str:
    return f"c_ * S + {j}"


def _gate_row(cell: CellDeclaration, net: sp.Symbol) -> str:
    return f"CS + {cell.gates.index(net.name[4:])} * C + c_"


def _loads(cell: CellDeclaration, net: str, state: str, params: str) -> dict[sp.Symbol, tuple[Level, Load]]:
    """Loads of the cell inputs: ``net``/``state``/``params`` are format strings with ``{i}`` (flat index),
    ``{j}`` (cell-index variable) and ``{p}`` (parameter number)."""
    out: dict[sp.Symbol, tuple[Level, Load]] = {}
    for u in cell.nets:
        idx = _cell_index("{j}") if cell.level(u) == "cell" else _gate_row(cell, u)
        out[u] = (cell.level(u), (lambda idx: lambda j: net.format(i=idx.format(j=j)))(idx))
    for s in cell.states:
        out[cell.prev(s)] = ("cell", lambda j: state.format(j=j))
    for k, p in enumerate(cell.params):
        out[p] = ("cell", (lambda k: lambda j: params.format(p=k, j=j))(k))
    return out


def _forward_assignments(cell: CellDeclaration) -> list[Assignment]:
    return [(eq.target, eq.expr) for eq in cell.equations]


def _activation_writes(cell: CellDeclaration, acts: str) -> list[Write]:
    """Store y_c per cell and each gate's activation per block (a per-cell gate: the block's first cell's)."""
    writes: list[Write] = [(sp.Symbol("y_c"), "cell", [f"{acts.format(i='c_ * S + j_')} = y_c"])]
    for i, y in enumerate(cell.gate_outputs):
        store = f"{acts.format(i=f'CS + {i} * C + c_')} = {y.name}"
        per_block = cell.level(y) == "block"
        writes.append((y, "block", [store]) if per_block else (y, "cell", ["if j_ == 0:", f"    {store}"]))
    return writes


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


def _partial_layout(der: Derivation) -> tuple[list[Assignment], dict[sp.Symbol, tuple[Level, str]], int, int]:
    """The local partials (``der.partials``, CSE'd) and where the forward kernel stores them in a step's row of PD.

    Returns:
        The CSE'd assignments; for every partial its level and its index into the row (a format string with
        ``{j}``, the cell-index variable): per-cell partials first, ``k * CS + c_ * S + j``, then per-block ones,
        ``n_cell * CS + k * C + c_``; and the numbers of per-cell and per-block partials.
    """
    cell = der.cell
    partials = cse_assignments(list(der.partials.items())) if der.partials else []
    block = BlockCode(_forward_assignments(cell) + partials, _loads(cell, "NET_[{i}]", "0.0", "0.0"))
    levels = block.levels(set(der.partials))
    per_cell = [p for p in der.partials if levels[p] == "cell"]
    per_block = [p for p in der.partials if levels[p] == "block"]
    where = {p: ("cell", f"{k} * CS + c_ * S + {{j}}") for k, p in enumerate(per_cell)}
    where.update({p: ("block", f"{len(per_cell)} * CS + {k} * C + c_") for k, p in enumerate(per_block)})
    return partials, where, len(per_cell), len(per_block)


def _adjoint_block(der: Derivation, steps: list[Assignment], indent: str) -> list[str]:
    """One block's backward step: the linear adjoint ``steps`` with the local partials the forward kernel stored
    (read from PD), whose block sums accumulate in the loop over the cells; the errors at the inputs are written to
    D_NET, D_SNEW and GP."""
    cell = der.cell
    _, where, _, _ = _partial_layout(der)
    loads = {p: (lvl, (lambda idx: lambda j: f"PD[t_, b_, {idx.format(j=j)}]")(idx))
             for p, (lvl, idx) in where.items()}
    loads[adjoint(sp.Symbol("y_c"))] = ("cell", lambda j: f"D_A[c_ * S + {j}]")
    for i, y in enumerate(cell.gate_outputs):
        loads[adjoint(y)] = ("block", (lambda i: lambda j: f"D_A[CS + {i} * C + c_]")(i))
    for s in cell.states:
        loads[adjoint(s)] = ("cell", lambda j: f"D_S[c_, {j}]")
    writes: list[Write] = [(adjoint(cell.net_c), "cell", ["D_NET[c_ * S + j_] = d_net_c"])]
    writes += [(adjoint(u), "block", [f"D_NET[{_gate_row(cell, u)}] = d_{u.name}"]) for u in cell.gate_nets]
    writes += [(adjoint(cell.prev(s)), "cell", [f"D_SNEW[c_, j_] = d_{s.name}_prev"]) for s in cell.states]
    writes += [(adjoint(p), "cell", [f"GP[{k}, c_, j_] += d_{p.name}"]) for k, p in enumerate(cell.params)]
    return BlockCode(list(steps), loads).emit(writes, indent)


def _trace_update(k: int, cec: bool, param: bool = False) -> str:
    """The new value of trace ``k`` (eqs. 25, 27: ds(t)/dw = J ds(t-1)/dw + the step's own partial times the source);
    J = ds(t)/ds(t-1) is exactly 1 for the CEC (eq. 30), so there it is no multiplication."""
    old, own = (f"TRP_[{k}, c_, j_]", f"DSP_[{k}, c_, j_]") if param else (f"TR_[{k}, c_, j_, m_]", "d_ * Z_[m_]")
    return f"{old if cec else 'J * ' + old} + {own}"


#: the input columns a learner loop over a weight row takes in the kernel with input lists: ``seen``, those nonzero
#: at some step since the trial began (where a trace can be nonzero), ``now``, those nonzero at this step
_LISTED = {"seen": ("range(ns_)", "SL_[q_]"), "now": ("range(q0_, q1_)", "IDX[q_]")}


def _columns(body: list[str], indent: str, inputs: str | None, end: str = "Z") -> list[str]:
    """A loop over the columns ``m_ < end`` of a weight row with ``body`` (lines, unindented) inside: all of them
    (``inputs`` None), or the inputs listed by ``inputs`` (a key of :data:`_LISTED`; in ascending order for
    ``now``), then the columns from ``I`` on (activations, bias). A skipped column would add exactly zero (a term with a zero input
    or a zero trace, to a sum that is never -0.0), so either loop gives the same values. Once the seen inputs are
    many (``all_``: :data:`SEEN_ALL`), the plain loop over all columns is the faster one and ``seen`` takes it."""
    inner = [indent + "    " + x for x in body]
    if inputs is None:
        return [f"{indent}for m_ in range({end}):", *inner]
    over, column = _LISTED[inputs]
    listed = [f"{indent}for q_ in {over}:", f"{indent}    m_ = {column}", *inner,
              f"{indent}for m_ in range(I, {end}):", *inner]
    if inputs != "seen":
        return listed
    return [f"{indent}if all_:", *_columns(body, indent + "    ", None, end), f"{indent}else:",
            *["    " + x for x in listed]]


def _learner_traces(trace_nets: list[sp.Symbol], trace_params: list[sp.Symbol], cec: bool,
                    lists: bool = False) -> list[str]:
    """Lines updating every trace (kernel-relative indentation 0), for a step without output error. With ``lists``
    the inputs seen since the trial began; for the CEC (J = 1, eq. 30) only those nonzero now: a trace whose input
    is zero at this step gains exactly zero and keeps its value, so a step costs O(nonzero inputs), not O(seen)."""
    if not trace_nets and not trace_params:
        return []
    lines = ["for c_ in range(C):", "    for j_ in range(S):"] + ([] if cec else ["        J = J_[c_, j_]"])
    inputs = ("now" if cec else "seen") if lists else None
    for k in range(len(trace_nets)):
        lines += [f"        d_ = DS_[{k}, c_, j_]"]
        lines += _columns([f"TR_[{k}, c_, j_, m_] = {_trace_update(k, cec)}"], " " * 8, inputs)
    lines += [f"        TRP_[{k}, c_, j_] = {_trace_update(k, cec, param=True)}" for k in range(len(trace_params))]
    return lines


def _learner_updates(der: Derivation, trace_nets: list[sp.Symbol], trace_params: list[sp.Symbol],
                     cec: bool, lists: bool = False) -> list[str]:
    """Lines of a step with output error (kernel-relative indentation 0): the error at the cell outputs and states,
    then one pass per weight row: its traces updated, its gradient estimate G formed and added, scaled by sc_ and
    masked, to the row of the target (the weights, or the sequence's sum). With ``lists`` a row whose G has trace
    terms takes the inputs seen since the trial began, one whose G is proportional to x(t) those nonzero now."""
    cell, state = der.cell, der.state
    seen, now = ("seen", "now") if lists else (None, None)
    exit_inputs = list(der.exit_inputs)
    j_line = [] if cec else ["J = J_[c_, j_]"]
    lines = ["for c_ in range(C):",
             "    for j_ in range(S):  # error arriving at the cell output from the output units",
             "        acc_ = 0.0",
             "        for k_ in range(K):",
             "            acc_ += EK_[k_] * W_o[b_, k_, I + c_ * S + j_]",
             "        EYC_[c_, j_] = acc_"]
    if state is not None:
        lines.append("        ES_[c_, j_] = acc_ * DYS_[c_, j_]  # eq. (23): error at the state")
    lines += ["for k_ in range(K):  # eq. (22), output units", "    e_ = EK_[k_]"]
    lines += _columns(["TO_[k_, m_] += sc_ * ((e_ * U_[m_]) * MO_[k_, m_])"], "    ", now)

    # cell-input weights, one row per cell: eqs. (24), (26), (28) through the trace, (21) through the exit path
    net_c, terms = cell.net_c, []
    lines += ["for c_ in range(C):  # cell-input weights: one row per cell", "    for j_ in range(S):",
              "        r_ = c_ * S + j_"]
    if net_c in trace_nets:
        lines += [" " * 8 + x for x in j_line] + [f"        d_ = DS_[{trace_nets.index(net_c)}, c_, j_]",
                                                   "        es_ = ES_[c_, j_]"]
        terms.append("es_ * tr_")
    if net_c in exit_inputs:
        lines.append(f"        ex_ = EYC_[c_, j_] * DYX_[{exit_inputs.index(net_c)}, c_, j_]")
        terms.append("ex_ * Z_[m_]")
    body = []
    if net_c in trace_nets:
        k = trace_nets.index(net_c)
        body += [f"tr_ = {_trace_update(k, cec)}", f"TR_[{k}, c_, j_, m_] = tr_"]
    body.append(f"TH_[r_, m_] += sc_ * (({' + '.join(terms) or '0.0'}) * MH_[r_, m_])")
    lines += _columns(body, " " * 8, seen if net_c in trace_nets else now)

    for u in cell.gate_nets:  # gate weights, one row per block: the block's cells' contributions summed
        lines += [f"for c_ in range(C):  # {u.name} weights: one row per block", f"    r_ = {_gate_row(cell, u)}"]
        g = "0.0"
        if u in exit_inputs:
            lines += ["    ex_ = 0.0", "    for j_ in range(S):",
                      f"        ex_ += EYC_[c_, j_] * DYX_[{exit_inputs.index(u)}, c_, j_]"]
            g = "ex_ * Z_[m_]"
        if u in trace_nets:  # the cells' terms summed in GR_, cell by cell, as their traces are updated
            k = trace_nets.index(u)
            lines += _columns(["GR_[m_] = 0.0"], "    ", seen) + ["    for j_ in range(S):"]
            lines += [" " * 8 + x for x in j_line] + [f"        d_ = DS_[{k}, c_, j_]", "        es_ = ES_[c_, j_]"]
            lines += _columns([f"tr_ = {_trace_update(k, cec)}", f"TR_[{k}, c_, j_, m_] = tr_",
                               "GR_[m_] += es_ * tr_"], " " * 8, seen)
            g = "GR_[m_] + ex_ * Z_[m_]" if u in exit_inputs else "GR_[m_]"
        lines += _columns([f"TH_[r_, m_] += sc_ * (({g}) * MH_[r_, m_])"], "    ", seen if u in trace_nets else now)

    if cell.params:  # per-cell parameters (peepholes): their traces, then their change
        lines += ["for c_ in range(C):  # per-cell parameters: their traces, then their change",
                  "    for j_ in range(S):"]
        lines += [" " * 8 + x for x in j_line] if trace_params else []
        for kp, p in enumerate(cell.params):
            terms = []
            if p in trace_params:
                k = trace_params.index(p)
                lines.append(f"        TRP_[{k}, c_, j_] = {_trace_update(k, cec, param=True)}")
                terms.append(f"ES_[c_, j_] * TRP_[{k}, c_, j_]")
            if p in exit_inputs:
                terms.append(f"EYC_[c_, j_] * DYX_[{exit_inputs.index(p)}, c_, j_]")
            lines.append(f"        TP_[{kp}, c_, j_] += sc_ * ({' + '.join(terms) or '0.0'})")
    return lines


# ----- the cell's functions, inlined by numba into the shared loops (lstm_proofs/kernels/numba_loops.py) -----

def _function(name: str, args: str, doc: str, body: list[str]) -> str:
    """A generated function's source: its signature (wrapped at 120 columns), docstring and body lines (already
    indented by four spaces; ``pass`` when empty)."""
    sig = f"def {name}({args}):"
    if len(sig) > 120:
        cut = sig.rindex(", ", 0, 119) + 1
        sig = sig[:cut] + "\n" + " " * (len(name) + 5) + sig[cut + 1:]
    return f'{sig}\n    """{doc}"""\n' + "\n".join(body or ["    pass"]) + "\n"


def _cell_step(der: Derivation) -> str:
    """The forward loops' cell function: a block's equations and local partials, stored per step in PD."""
    cell = der.cell
    partials, where, _, _ = _partial_layout(der)
    block = BlockCode(_forward_assignments(cell) + partials, _loads(
        cell, "NET_[{i}]", "(STATES[t_ - 1, b_, c_, {j}] if t_ > 0 else 0.0)", "PM[{p}, c_, {j}]"))
    writes = [(s, "cell", [f"STATES[t_, b_, c_, j_] = {s.name}"]) for s in cell.states]
    writes += [(p, lvl, [f"PD[t_, b_, {idx.format(j='j_')}] = {p.name}"]) for p, (lvl, idx) in where.items()]
    ops = op_count(e for _, e in partials)
    doc = (f"Block c_ at step t_ of sequence b_ (forward loops): the declaration's equations, writing the states\n"
           f"    and activations, and the local partials ({ops} ops), stored in PD for the backward loops (here the "
           "sigmoids\n    they are made of are at hand).")
    return _function("_cell_step", "NET_, PM, STATES, ACTS, PD, t_, b_, c_, C, S, CS", doc,
                     block.emit(writes + _activation_writes(cell, "ACTS[t_, b_, {i}]"), " " * 4))


def _cell_adjoint(der: Derivation) -> str:
    """The backward loops' cell function: a block's adjoint step with the stored partials (full or truncated)."""
    ops = op_count(e for _, e in der.backward_linear)
    if der.backward_linear_truncated == der.backward_linear:  # no previous state read outside its CEC equation
        body = ["    # truncated or not, the same adjoint step here (truncation only cuts the error into y(t-1))",
                *_adjoint_block(der, der.backward_linear, " " * 4)]
    else:
        body = ["    if truncated:", *_adjoint_block(der, der.backward_linear_truncated, " " * 8),
                "    else:", *_adjoint_block(der, der.backward_linear, " " * 8)]
    doc = (f"Block c_ at step t_ of sequence b_ (backward loops): the adjoint step, linear in the errors ({ops} "
           "ops),\n    with the local partials _cell_step stored; errors at the block's activations and states in, "
           "errors at\n    its net inputs, previous states and parameters out. With ``truncated`` the paper's "
           "truncated gradient.")
    return _function("_cell_adjoint", "PD, D_A, D_S, D_NET, D_SNEW, GP, truncated, t_, b_, c_, C, S, CS", doc, body)


def _learner_split(der: Derivation) -> tuple[list[sp.Symbol], list[sp.Symbol], bool]:
    """The net inputs and the per-cell parameters with traces, and whether J = ds(t)/ds(t-1) is exactly 1 (CEC)."""
    cell, state = der.cell, der.state
    trace_nets = [u for u in der.trace_inputs if u in cell.nets]
    trace_params = [u for u in der.trace_inputs if u in cell.params]
    cec = state is not None and der.traces[cell.prev(state)] == 1
    return trace_nets, trace_params, cec


def _learner_cell(der: Derivation) -> str:
    """The learner loops' cell function: a block's equations with the trace and exit partials."""
    cell, state = der.cell, der.state
    partials, trace_names, _ = _partials(der)
    trace_nets, trace_params, _ = _learner_split(der)
    block = BlockCode(_forward_assignments(cell) + partials,
                      _loads(cell, "NET_[{i}]", "SP_[c_, {j}]", "PM[b_, {p}, c_, {j}]"))
    writes = [(s, "cell", [f"SN_[c_, j_] = {s.name}"]) for s in cell.states]
    writes += _activation_writes(cell, "A_[{i}]")
    if state is not None:
        writes.append((trace_names[0], "cell", [f"J_[c_, j_] = {trace_names[0].name}"]))
        writes += [(sp.Symbol(f"ds_d{u.name}"), "cell", [f"DS_[{k}, c_, j_] = ds_d{u.name}"])
                   for k, u in enumerate(trace_nets)]
        writes += [(sp.Symbol(f"ds_d{u.name}"), "cell", [f"DSP_[{k}, c_, j_] = ds_d{u.name}"])
                   for k, u in enumerate(trace_params)]
        writes.append((sp.Symbol(f"dyc_d{state.name}"), "cell", [f"DYS_[c_, j_] = dyc_d{state.name}"]))
    writes += [(sp.Symbol(f"dyc_d{u.name}"), "cell", [f"DYX_[{k}, c_, j_] = dyc_d{u.name}"])
               for k, u in enumerate(der.exit_inputs)]
    doc = ("Block c_ of trial b_ at one step (learner loops): the declaration's equations, then the trace\n"
           "    partials J = ds(t)/ds(t-1) (J_) and ds/du (DS_, DSP_; eqs. 25, 27) and the exit partials dy_c/ds (DYS_, "
           "eq. 23)\n    and dy_c/du (DYX_, eq. 21).")
    return _function("_learner_cell", "NET_, PM, SP_, SN_, A_, J_, DS_, DSP_, DYS_, DYX_, b_, c_, C, S, CS", doc,
                     block.emit(writes, " " * 4))


_LIST_ARGS = ", IDX, q0_, q1_, SL_, ns_, all_"


def _learner_traces_function(der: Derivation, lists: bool) -> str:
    trace_nets, trace_params, cec = _learner_split(der)
    body = ["    " + x for x in _learner_traces(trace_nets, trace_params, cec, lists)]
    name = "_learner_traces_lists" if lists else "_learner_traces"
    doc = ("A step without output error (learner loops): every trace moves on (eqs. 25, 27"
           + ("; J = 1, the CEC, eq. 30" if cec else "") + ")"
           + (".\n    Listed inputs: " + ("only the traces of the step's nonzero inputs change (the others gain "
                                          "exactly zero)." if cec else "the traces of the inputs seen in the "
                                                                       "trial (the others are zero).")
              if lists else ".") + "")
    return _function(name, "TR_, TRP_, DS_, DSP_, J_, Z_, Z, C, S" + (", I" + _LIST_ARGS if lists else ""), doc,
                     body)


def _learner_rows_function(der: Derivation, lists: bool) -> str:
    trace_nets, trace_params, cec = _learner_split(der)
    body = ["    " + x for x in _learner_updates(der, trace_nets, trace_params, cec, lists)]
    name = "_learner_rows_lists" if lists else "_learner_rows"
    doc = ("A step with output error (learner loops): the errors at the cell outputs and states, then one pass\n"
           "    per weight row: its traces updated, its gradient estimate G (eqs. 20-28) formed and added, scaled by "
           "sc_ and\n    masked, to the row of TH_, TO_, TP_ (the weights, or the sequence's sum)."
           + ("\n    Listed inputs: a row with trace terms takes the inputs seen in the trial, a row proportional to "
              "x(t) the\n    step's nonzero ones." if lists else ""))
    args = ("W_o, b_, EK_, EYC_, ES_, DYS_, DYX_, J_, DS_, DSP_, TR_, TRP_, GR_, Z_, U_, TH_, TO_, TP_, MH_, MO_, sc_, "
            "I" + (_LIST_ARGS if lists else ""))  # at most 30 (more: Python passes them as *args, which numba rejects)
    sizes = ["    C, S = EYC_.shape", "    CS = C * S", "    K, Z = EK_.shape[0], Z_.shape[0]"]
    return _function(name, args, doc, sizes + body)


def _output_derivative(der: Derivation) -> str:
    return _function("_output_derivative", "net_k, y_k", "f'(net_k) of a logistic output unit, from its value y_k.",
                     [f"    return {scalar_code(der.output_derivative)}"])


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

What this cell computes in one step, as scalar code per memory-cell block (CSE temporaries t0, t1, ...; a sum over
a block's cells is an accumulator bs<k>_). The whole-sequence loops around it (sequences or trials, time steps,
blocks; the net inputs, output units and weight gradients) are written once for every cell in
lstm_proofs/kernels/numba_loops.py; these functions are written into them and compiled by numba on first use
(lstm_proofs/kernels/numba_compile.py; numba is imported only then, and without it the entry points raise
UserError). Network and OnlineLearner call forward_sequence, gradient_sequence and learner_sequence
(lstm_proofs/kernels/numba_entry.py). Shapes as in derivations/{cell.name}.py; float64 only.
"""

import math

from lstm_proofs.kernels import numba_entry as _entry
from lstm_proofs.kernels.numba_math import sigmoid as _sigmoid  # the kernels call it compiled

CELL = {cell.name!r}
BACKEND = "numba"
GATES = {tuple(cell.gates)!r}
STATE = {der.state.name if der.state is not None else None!r}
PARAMS = {tuple(p.name for p in cell.params)!r}
TARGETS = {tuple(t.name for t in cell.targets)!r}
TRACE_INPUTS = {tuple(u.name for u in der.trace_inputs)!r}
EXIT_INPUTS = {tuple(u.name for u in der.exit_inputs)!r}
MODES = _entry.MODES
'''


_ENTRY_POINTS = '''

# ----- entry points: the shared loops compiled around the functions above -----

_CELL = _entry.CompiledCell(globals())
available = _entry.available
input_path = _CELL.input_path
forward_sequence = _CELL.forward_sequence
gradient_sequence = _CELL.gradient_sequence
learner_sequence = _CELL.learner_sequence
'''


def generate_numba_module(der: Derivation) -> str:
    """The complete source of the generated numba module of a derived cell (deterministic text).

    Args:
        der: the cell's derivation.

    Returns:
        Python source text; it imports without numba.
    """
    _, _, n_cell_partials, n_block_partials = _partial_layout(der)
    trace_nets, trace_params, _ = _learner_split(der)
    sizes = "".join(f"{name} = {value}  # {what}\n" for name, value, what in (
        ("N_GATES", len(der.cell.gates), "gate units per block"),
        ("N_CELL_PARTIALS", n_cell_partials, "local partials _cell_step stores per cell and step"),
        ("N_BLOCK_PARTIALS", n_block_partials, "local partials _cell_step stores per block and step"),
        ("N_TRACE_NETS", len(trace_nets), "net inputs whose weights have traces ds/dw"),
        ("N_TRACE_PARAMS", len(trace_params), "per-cell parameters with traces"),
        ("N_EXIT", len(der.exit_inputs), "exit partials dy_c/du")))
    functions = [_cell_step(der), _cell_adjoint(der), _learner_cell(der), _learner_traces_function(der, False),
                 _learner_traces_function(der, True), _learner_rows_function(der, False),
                 _learner_rows_function(der, True), _output_derivative(der)]
    parts = [_header(der), sizes, "\n\n# ----- the cell's step (plain Python; written into the loops before numba compiles them) -----\n\n\n",
             "\n\n".join(functions), _ENTRY_POINTS]
    return "".join(parts).rstrip("\n") + "\n"
