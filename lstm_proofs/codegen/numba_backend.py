"""Generate the compiled (numba) module of a cell from the same derivation as the NumPy module.

The NumPy backend works on whole arrays; here every kernel is a plain loop over a whole sequence (trials or
sequences, then time steps, then blocks and cells), so no Python runs between time steps. The cell arithmetic is
the derivation's, printed as scalar code by :class:`BlockCode`, one memory-cell block at a time: values that are
per block (a gate's activation and its partials) are computed once per block, per-cell values in one loop over the
block's cells, and a per-block quantity that collects from the block's cells (``BlockSum`` in the derivation) is an
accumulator added to in that loop and read after it. Every named value is computed once per step.

* forward kernel: the declaration's equations, and with them the local partials (``Derivation.partials``,
  common-subexpression eliminated), stored per step for the backward kernel: the forward pass has the sigmoids
  they are made of at hand, so the backward pass takes no ``exp``; likewise the output units' ``f'(net_k)``;
* backward kernel (BPTT over whole sequences): the adjoint step written with the stored partials, linear in the
  errors (``Derivation.backward_linear``, or ``backward_linear_truncated`` for the paper's truncated gradient;
  one code path when the two coincide). Output units, weight gradients and the error through the recurrent
  weights are plain loops around it;
* learner kernel (the paper's online learner): the equations with the trace and exit partials; each weight row's
  trace update, gradient estimate and weight change in one pass.

Speed without changing a sum. Every sum is taken in the order of the plain loop it replaces (left to right over
the sources, forward in time for the forward pass, backward for BPTT), and every value is the same expression of
the same inputs, so the kernels give the results of straightforward loops bit for bit (the lockstep and
numba-vs-NumPy rules are unaffected by any of this); no fastmath. What makes them fast is how the independent work
is laid out:

* a running sum waits on its previous add (a few cycles), so a dot product over many sources is bound by that
  latency. Matrix-vector products interleave rows (:func:`_matvec_lines`), each still one running sum in plain
  order; they are written inline, indexing the arrays directly (a helper taking array views would pay reference
  counting at every call);
* the input part of the net inputs (``x(t)`` through fixed weights) is known for a whole sequence in advance: the
  forward kernel computes it for a chunk of steps at once with time innermost (independent sums, vectorised;
  ``_input_part``) and continues each sum with the recurrent part step by step;
* weight rows are walked along their contiguous axis, and no branch sits inside a loop over weights;
* the logistic function is branch-free (a select: the sign of a net input is unpredictable), and written so that
  ``sigma(x)`` and ``sigma(-x)`` of the same ``x`` share one ``exp`` once inlined;
* the learner keeps no per-step gradient arrays: each row's gradient goes straight into the weights (every step)
  or into the sequence's sum, selected once per trial;
* inputs that are mostly exactly zero (the paper's one-hot codes) take a sparse path: the wrapper lists each
  step's nonzero inputs once (``_input_nonzero``, chosen by density: :data:`SPARSE_DENSITY`,
  :data:`SPARSE_MIN_INPUTS`; inputs held as lists, such as ``lstm_proofs.inputs.OneHotInputs``, give their lists
  directly and never become dense on this path), and ``_forward_kernel_sparse``, ``_backward_kernel_sparse`` and
  ``_learner_kernel_lists`` are the same kernels with the input columns of the net inputs, of the input-weight
  gradients and of the learner's traces and weight changes taken from the lists (the learner's from the inputs
  seen since its traces were reset, ``_mark_seen``). A column left out would add ``w * 0.0``, exactly +-0.0, to a
  sum that starts at +0.0 and so is never -0.0: the sparse path gives the dense path's results bit for bit (finite
  values; the one possible difference is a weight that is -0.0 keeping its sign where the dense learner, adding
  +0.0, makes it +0.0). Dense inputs keep the dense kernels, unchanged.

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


# ----- loops laid out for speed (the order of every sum unchanged) -----

#: time steps whose input parts the forward kernel computes together (its scratch grows with it, not with T)
TIME_CHUNK = 32
#: the kernels take only the nonzero inputs when fewer than this fraction of them is nonzero per step (on average)
SPARSE_DENSITY = 0.25
#: ... and there are at least this many inputs (below, listing them costs about what it saves)
SPARSE_MIN_INPUTS = 16
#: the learner with input lists updates the trace columns of all inputs, not only of those seen in the trial, once
#: this fraction of them has been seen (a plain loop over contiguous columns beats a list that long)
SEEN_ALL = 0.5
#: rows that one pass of a matrix-vector product interleaves, largest first
MATVEC_BLOCKS = (8, 4, 2, 1)


def _matvec_lines(rows: str, cols: str, w: str, z: str, init: str, store: str, indent: str,
                  listed: tuple[str, str] | None = None) -> list[str]:
    """Code for ``store(r, init(r) + sum_m w(r, m) * z(m))`` for every row ``r < rows``, ``m < cols``.

    A running sum waits on its previous add, so one row at a time is bound by the latency of an add; here rows go
    in blocks of :data:`MATVEC_BLOCKS`, whose sums are independent and overlap, each still one running sum in plain
    order (from ``init``, then ``m = 0, 1, ...``): bit for bit a loop per row. Inline code indexing the arrays
    directly (a helper function would take array views, which cost reference counting at every call).

    Args:
        rows, cols: code of the row and source counts.
        w, z, init: format strings of a weight (``{r}``, ``{m}``), a source (``{m}``) and a sum's start (``{r}``).
        store: format string of the line storing a row's sum ``{a}`` (``{r}``).
        indent: indentation of the lines.
        listed: code of a range of ``q_`` and of the ``q_``-th of a list of nonzero inputs (ascending): the sums
            take those inputs, then the sources from ``I`` on; the same sums when every input left out is zero (a term
            ``w * 0.0`` added to a running sum from ``+0.0`` changes nothing, the sum never being -0.0).
    """
    lines = [f"{indent}r_ = 0"]
    for q in MATVEC_BLOCKS:
        rs = [f"r_ + {i}" if i else "r_" for i in range(q)]
        ind = indent + "    "
        lines.append(f"{indent}{'while' if q == MATVEC_BLOCKS[0] else 'if'} r_ + {q} <= {rows}:")
        lines += [f"{ind}a{i}_ = {init.format(r=r)}" for i, r in enumerate(rs)]
        terms = [f"{ind}    z_ = {z.format(m='m_')}"]
        terms += [f"{ind}    a{i}_ += {w.format(r=r, m='m_')} * z_" for i, r in enumerate(rs)]
        if listed is None:
            lines += [f"{ind}for m_ in range({cols}):", *terms]
        else:
            lines += [f"{ind}for q_ in {listed[0]}:", f"{ind}    m_ = {listed[1]}", *terms,
                      f"{ind}for m_ in range(I, {cols}):", *terms]
        lines += [f"{ind}{store.format(r=r, a=f'a{i}_')}" for i, r in enumerate(rs)]
        if q != MATVEC_BLOCKS[-1]:
            lines.append(f"{ind}r_ += {q}")
    return lines


# ----- the three kernels (and their variants for sparse inputs) -----

def _forward_kernel(der: Derivation, sparse: bool = False) -> str:
    """The forward kernel; with ``sparse`` the variant ``_forward_kernel_sparse``, whose input parts take only each
    step's nonzero inputs (the same sums, :func:`_input_part_sparse` in the module)."""
    cell = der.cell
    G = len(cell.gates)
    partials, where, _, _ = _partial_layout(der)
    block = BlockCode(_forward_assignments(cell) + partials, _loads(
        cell, "NET_[{i}]", "(STATES[t_ - 1, b_, c_, {j}] if t_ > 0 else 0.0)", "PM[{p}, c_, {j}]"))
    writes = [(s, "cell", [f"STATES[t_, b_, c_, j_] = {s.name}"]) for s in cell.states]
    writes += [(p, lvl, [f"PD[t_, b_, {idx.format(j='j_')}] = {p.name}"]) for p, (lvl, idx) in where.items()]
    body = block.emit(writes + _activation_writes(cell, "ACTS[t_, b_, {i}]"), " " * 20)
    rec = _matvec_lines("NA", "n_rec_", "W_h[{r}, I + {m}]", "ACTS[t_ - 1, b_, {m}]", "NX_[{r}, u_]",
                        "NET_[{r}] = {a} + W_h[{r}, Z - 1]", " " * 16)
    out = _matvec_lines("K", "NA", "W_o[{r}, I + {m}]", "ACTS[t_, b_, {m}]", "NX_[NA + {r}, u_]",
                        "NK_[{r}] = {a} + W_o[{r}, Z - 1]", " " * 16)
    ops = op_count(e for _, e in partials)
    if sparse:
        name = "_forward_kernel_sparse"
        note = ";\n    here over each step's nonzero inputs only (the same sums: _input_part_sparse)"
        args, scratch = "T, B, I, OFF, IDX, VAL", "# OFF, IDX, VAL: the nonzero inputs of every step (_input_nonzero)"
        inputs = [f"{' ' * 12}NX_[:, :n_] = 0.0  # eqs. (6)-(9) and the output units: the sums over x(t), for the "
                  "chunk's steps at once",
                  f"{' ' * 12}_input_part_sparse(W_h, B, OFF, IDX, VAL, b_, t0_, n_, NX_, 0)",
                  f"{' ' * 12}_input_part_sparse(W_o, B, OFF, IDX, VAL, b_, t0_, n_, NX_, NA)"]
    else:
        name, note, args = "_forward_kernel", "", "XS"
        scratch = "XT_ = np.empty((I, TC))  # a chunk's inputs, time innermost"
        inputs = [f"{' ' * 12}_time_major_inputs(XS, b_, t0_, n_, XT_)  # the chunk's inputs x(t), time innermost",
                  f"{' ' * 12}NX_[:, :n_] = 0.0  # eqs. (6)-(9) and the output units: the sums over x(t), for the "
                  "chunk's steps at once",
                  f"{' ' * 12}_input_part(W_h, XT_, n_, NX_, 0)", f"{' ' * 12}_input_part(W_o, XT_, n_, NX_, NA)"]
    shape = _shape_line(sparse)
    return f'''
def {name}(W_h, W_o, PM, {args}, YS, FK, ACTS, STATES, PD, C, S):
    """Forward pass over whole sequences, weights shared by the batch (Section 5 timing).

    Fills YS (T, B, K), ACTS (T, B, N_a) and STATES (T, B, C, S): the outputs, hidden activations and states of
    every step; and for the backward pass FK (T, B, K), the output units' derivatives f'(net_k), and PD (T, B, .),
    the cell's local partials ({ops} ops per block and step; computed here, where the sigmoids they are made of
    are at hand). A sequence goes in chunks of TC steps, whose input parts (x(t) through the weights) are computed
    together{note}.
    """{shape}
    K = W_o.shape[0]
    CS = C * S
    NA = CS + {G} * C
    Z = I + NA + 1
    TC = min(max(T, 1), TIME_CHUNK)
    {scratch}
    NX_ = np.empty((NA + K, TC))  # the sums over the chunk's inputs
    NET_, NK_ = np.empty(NA), np.empty(K)  # the net inputs of the hidden units and of the output units
    for b_ in range(B):
        for t0_ in range(0, T, TC):
            n_ = min(TC, T - t0_)
{chr(10).join(inputs)}
            for u_ in range(n_):
                t_ = t0_ + u_
                n_rec_ = NA if t_ > 0 else 0  # net inputs: each sum over x(t) continued over y(t-1), then the bias
{chr(10).join(rec)}
                for c_ in range(C):  # the cell's equations (the declaration) and local partials, per block
{chr(10).join(body)}
                # output units see x(t), the current activations and the bias; logistic
{chr(10).join(out)}
                for k_ in range(K):
                    net_k = NK_[k_]
                    y_k = _sigmoid(net_k)
                    YS[t_, b_, k_] = y_k
                    FK[t_, b_, k_] = {scalar_code(der.output_derivative)}
'''


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


def _backward_kernel(der: Derivation, sparse: bool = False) -> str:
    """The backward kernel; with ``sparse`` the variant ``_backward_kernel_sparse``, whose input-weight gradients
    take only each step's nonzero inputs."""
    cell = der.cell
    G = len(cell.gates)
    i16 = " " * 16
    if der.backward_linear_truncated == der.backward_linear:  # no previous state read outside its CEC equation
        step = [f"{i16}# truncated or not, the same adjoint step here (truncation only cuts the error into y(t-1))",
                *_adjoint_block(der, der.backward_linear, i16)]
    else:
        step = [f"{i16}if truncated:", *_adjoint_block(der, der.backward_linear_truncated, i16 + "    "),
                f"{i16}else:", *_adjoint_block(der, der.backward_linear, i16 + "    ")]
    ops = op_count(e for _, e in der.backward_linear)
    # error sums over many rows, taken column by column so that independent sums interleave (_matvec_lines)
    from_outputs = _matvec_lines("NA", "K", "W_o[{m}, I + {r}]", "DNK_[{m}]", "D_A[{r}]", "D_A[{r}] = {a}", " " * 12)
    recurrent = _matvec_lines("NA", "NA", "W_h[{m}, I + {r}]", "D_NET[{m}]", "0.0", "D_A[{r}] = {a}", " " * 16)
    i12 = " " * 12
    if sparse:
        name = "_backward_kernel_sparse"
        note = (" Here the input-weight gradients take\n    only each step's nonzero inputs (a term with x_m = 0 "
                "would add +-0.0 to a sum that is never -0.0: nothing).")
        args, scratch = "T, B, I, OFF, IDX, VAL", ""
        sources = [f"{i12}q0_, q1_ = OFF[t_ * B + b_], OFF[t_ * B + b_ + 1]  # the step's nonzero inputs: IDX[q0_:q1_]",
                   f"{i12}for q_ in range(q0_, q1_):  # the output units' sources: x(t) (its nonzero entries), y(t)",
                   f"{i12}    SRC_[IDX[q_]] = VAL[q_]"]
    else:
        name, note, scratch, args = "_backward_kernel", "", "", "XS"
        sources = [f"{i12}for m_ in range(I):  # the output units' sources: x(t), y(t)",
                   f"{i12}    SRC_[m_] = XS[t_, b_, m_]"]
    listed = "now" if sparse else None
    out_row = _columns(["GW_o[k_, m_] += dnk_ * SRC_[m_]"], i16, listed, end="Z - 1")
    hidden_row = _columns(["GW_h[r_, m_] += g_ * SRC_[m_]"], i16, listed, end="n_src_")
    shape = _shape_line(sparse)
    return f'''
def {name}(W_h, W_o, {args}, ACTS, FK, PD, DYS, truncated, C, S, GW_h, GW_o, GP):
    """Backpropagation through time over whole sequences, summed into GW_h, GW_o, GP. DYS (T, B, K) is dL/dy_k;
    the activations, the output units' f'(net_k) (FK) and the cell's local partials (PD) come from
    _forward_kernel. With ``truncated`` the paper's truncated gradient (Section 4, Appendix A.1).

    Per step and block: the adjoint step, linear in the errors ({ops} ops), with the stored local partials; a sum
    over the block's cells accumulates in the loop over the cells.{note}
    """{shape}
    K = W_o.shape[0]
    CS = C * S
    NA = CS + {G} * C
    Z = I + NA + 1
    D_A, D_NET = np.empty(NA), np.empty(NA)  # errors at the activations y and at the net inputs
    D_S, D_SNEW = np.empty((C, S)), np.empty((C, S))  # errors at the states s(t) and s(t-1)
    SRC_, DNK_ = np.empty(Z), np.empty(K)  # the sources y^m of a step; the output units' errors{scratch}
    for b_ in range(B):
        D_A[:] = 0.0
        D_S[:, :] = 0.0
        for t_ in range(T - 1, -1, -1):
{chr(10).join(sources)}
            for m_ in range(NA):
                SRC_[I + m_] = ACTS[t_, b_, m_]
            for k_ in range(K):  # output units: the error at net_k (eq. 19 with dL/dy_k), then dL/dw_km
                dnk_ = DYS[t_, b_, k_] * FK[t_, b_, k_]
                DNK_[k_] = dnk_
{chr(10).join(out_row)}
                GW_o[k_, Z - 1] += dnk_
            # the error at the activations y(t): what came back through the recurrent weights, plus the output units'
{chr(10).join(from_outputs)}
            for c_ in range(C):  # the derived adjoint step of the cell
{chr(10).join(step)}
            n_src_ = I
            if t_ > 0:  # the net inputs' sources: x(t), y(t-1) (none at the first step), the bias
                n_src_ = Z - 1
                for m_ in range(NA):
                    SRC_[I + m_] = ACTS[t_ - 1, b_, m_]
            for r_ in range(NA):  # dL/dw_lm += error at net_l times source y^m
                g_ = D_NET[r_]
{chr(10).join(hidden_row)}
                GW_h[r_, Z - 1] += g_
            if truncated:  # truncation: no error flows into y(t-1) through the net inputs
                D_A[:] = 0.0
            else:  # the error into y(t-1) through the recurrent weights
{chr(10).join(recurrent)}
            D_S[:, :] = D_SNEW
'''


def _indent(lines: list[str], n: int) -> str:
    return "\n".join(" " * n + line for line in lines)


def _trace_update(k: int, cec: bool, param: bool = False) -> str:
    """The new value of trace ``k`` (eqs. 25, 27: ds(t)/dw = J ds(t-1)/dw + the step's own partial times the source);
    J = ds(t)/ds(t-1) is exactly 1 for the CEC (eq. 30), so there it is no multiplication."""
    old, own = (f"TRP_[{k}, c_, j_]", f"DSP_[{k}, c_, j_]") if param else (f"TR_[{k}, c_, j_, m_]", "d_ * Z_[m_]")
    return f"{old if cec else 'J * ' + old} + {own}"


def _shape_line(listed: bool) -> str:
    """A kernel's first line: the sizes T, B, I from the inputs XS, unless it takes its inputs as lists (the
    variants for mostly-zero inputs take the sizes as arguments and the nonzero inputs as OFF, IDX, VAL)."""
    return "" if listed else "\n    T, B, I = XS.shape"


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


def _learner_kernel(der: Derivation, lists: bool = False) -> str:
    """The online learner's kernel; with ``lists`` the variant for inputs that are mostly zero,
    ``_learner_kernel_lists``: the same arithmetic on the input columns that can be nonzero."""
    cell, state = der.cell, der.state
    G = len(cell.gates)
    params = list(cell.params)
    partials, trace_names, exit_names = _partials(der)
    block = BlockCode(_forward_assignments(cell) + partials,
                      _loads(cell, "NET_[{i}]", "SP_[c_, {j}]", "PM[b_, {p}, c_, {j}]"))
    trace_nets = [u for u in der.trace_inputs if u in cell.nets]
    trace_params = [u for u in der.trace_inputs if u in params]
    exit_inputs = list(der.exit_inputs)
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
               for k, u in enumerate(exit_inputs)]
    body = block.emit(writes, " " * 16)

    cec = state is not None and der.traces[cell.prev(state)] == 1
    listed = _LISTED["now"] if lists else None
    nets = _matvec_lines("NA", "Z", "W_h[b_, {r}, {m}]", "Z_[{m}]", "0.0", "NET_[{r}] = {a}", " " * 12, listed)
    outs = _matvec_lines("K", "Z", "W_o[b_, {r}, {m}]", "U_[{m}]", "0.0", "NK_[{r}] = {a}", " " * 12, listed)
    traces = _learner_traces(trace_nets, trace_params, cec, lists)
    grads = _learner_updates(der, trace_nets, trace_params, cec, lists)
    n_tn, n_tp, n_ex = len(trace_nets), len(trace_params), len(exit_inputs)
    if lists:
        doc = '''

    Inputs listed: the variant of _learner_kernel for inputs that are mostly zero, with the same results. Each
    step's nonzero inputs are listed (OFF, IDX, VAL: _input_nonzero), and so are the inputs nonzero at some step
    since the trial began (_mark_seen): a trace ds/dw_im sums terms proportional to x_m, so it is exactly zero
    elsewhere. The net inputs take the nonzero inputs, the traces and the rows of G with trace terms the seen ones
    (all inputs once SEEN_ALL of them were seen: a plain loop is then faster; at a step without output error, for
    the CEC, only the nonzero ones), the rows of G proportional to x(t) the nonzero ones. Every column left out
    would add exactly zero (finite values; the one difference possible is the sign of a weight that is -0.0, which
    adding +0.0 would turn into +0.0).'''
        name, args = "_learner_kernel_lists", "T, B, I, OFF, IDX, VAL"
        scratch = ("\n    SEEN_, SL_ = np.zeros(I, np.bool_), np.empty(I, np.int64)  # inputs seen in the trial"
                   "\n    NS_ALL = max(1, int(SEEN_ALL * I))  # from this many seen inputs on, loops take all columns")
        reset = ("\n        Z_[:] = 0.0  # x(t) is kept in Z_ and U_ by its nonzero entries"
                 "\n        U_[:] = 0.0\n        SEEN_[:] = False\n        q0_, q1_, ns_ = 0, 0, 0\n        all_ = False")
        sources = '''            # sources y^m: x(t) (its nonzero entries; the last step's set back to zero), y(t-1), bias
            for q_ in range(q0_, q1_):
                Z_[IDX[q_]] = 0.0
                U_[IDX[q_]] = 0.0
            q0_, q1_ = OFF[t_ * B + b_], OFF[t_ * B + b_ + 1]  # the step's nonzero inputs: IDX[q0_:q1_]
            for q_ in range(q0_, q1_):
                Z_[IDX[q_]] = VAL[q_]
            ns_ = _mark_seen(IDX, q0_, q1_, SEEN_, SL_, ns_)
            all_ = ns_ >= NS_ALL'''
        out_sources = '''            # output units see x(t), the current activations and the bias
            for q_ in range(q0_, q1_):
                U_[IDX[q_]] = VAL[q_]'''
    else:
        name, args, doc, scratch, reset = "_learner_kernel", "XS", "", "", ""
        sources = '''            for m_ in range(I):  # sources y^m: x(t), y(t-1), bias
                Z_[m_] = XS[t_, b_, m_]'''
        out_sources = '''            for m_ in range(I):  # output units see x(t), the current activations and the bias
                U_[m_] = XS[t_, b_, m_]'''
    return f'''
def {name}(W_h, W_o, PM, LR, {args}, TG, TM, MH, MO, mode, YS, OUT_H, OUT_O, OUT_P,
{' ' * (len(name) + 5)}C, S):
    """The paper's online learner (Appendix A.1) over whole sequences, each batch element an independent trial.

    Per step (Section 5): net inputs, the cell's equations, outputs; the forward traces ds/dw (eqs. 25, 27); the
    output error (eq. 19) and this step's gradient estimate G = -dE(t)/dw (eqs. 20-28). ``mode``: 0 forward
    only, 1 add LR * G (masked by MH, MO) to the weights at every step, 2 sum G over the sequence and add it at
    the end, 3 return the summed G in OUT_H, OUT_O, OUT_P without changing the weights. Each weight row's trace
    update, gradient and change (or sum) are one pass over the row. A step whose output error is exactly zero
    adds exactly zero (G is e_k times finite factors) and is skipped, its traces still updated.{doc}
    """{_shape_line(lists)}
    K = W_o.shape[1]
    CS = C * S
    NA = CS + {G} * C
    Z = I + NA + 1
    NP = PM.shape[1]
    Z_, U_, GR_ = np.zeros(Z), np.zeros(Z), np.zeros(Z)  # sources of the net inputs, of the outputs; a G row
    NET_, A_, NK_, EK_ = np.zeros(NA), np.zeros(NA), np.zeros(K), np.zeros(K)  # hidden, output units: net, y, e
    SP_, SN_, J_ = np.zeros((C, S)), np.zeros((C, S)), np.zeros((C, S))  # states s(t-1), s(t); ds(t)/ds(t-1)
    TR_, DS_ = np.zeros(({n_tn}, C, S, Z)), np.zeros(({n_tn}, C, S))  # traces of net-input weights, their partials
    TRP_, DSP_ = np.zeros(({n_tp}, C, S)), np.zeros(({n_tp}, C, S))  # traces of per-cell parameters, partials
    DYS_, DYX_ = np.zeros((C, S)), np.zeros(({n_ex}, C, S))  # exit partials
    EYC_, ES_ = np.zeros((C, S)), np.zeros((C, S))  # errors at the cell outputs and at the states
    ACC_H, ACC_O, ACC_P = np.zeros((NA, Z)), np.zeros((K, Z)), np.zeros((NP, C, S))  # a sequence's sum of G
    ONE_H, ONE_O = np.ones((NA, Z)), np.ones((K, Z))  # the masks of the sums{scratch}
    for b_ in range(B):
        lr_ = LR[b_]
        A_[:] = 0.0
        SP_[:, :] = 0.0
        TR_[:] = 0.0
        TRP_[:] = 0.0{reset}
        if mode == 1:  # eq. (17): each step's change alpha * (-dE/dw), masked, goes into the weights at once
            TH_, TO_, TP_, MH_, MO_, sc_ = W_h[b_], W_o[b_], PM[b_], MH, MO, lr_
        else:  # the sum of G over the sequence: adding 1.0 * (G * 1.0) adds G exactly
            ACC_H[:, :] = 0.0
            ACC_O[:, :] = 0.0
            ACC_P[:] = 0.0
            TH_, TO_, TP_, MH_, MO_, sc_ = ACC_H, ACC_O, ACC_P, ONE_H, ONE_O, 1.0
        for t_ in range(T):
{sources}
            for m_ in range(NA):
                Z_[I + m_] = A_[m_]
            Z_[Z - 1] = 1.0
            # eqs. (6)-(9)
{chr(10).join(nets)}
            for c_ in range(C):  # the cell's equations, then its trace and exit partials; per-block values once
{chr(10).join(body)}
{out_sources}
            for m_ in range(NA):
                U_[I + m_] = A_[m_]
            U_[Z - 1] = 1.0
{chr(10).join(outs)}
            err_ = False
            for k_ in range(K):
                net_k = NK_[k_]
                y_k = _sigmoid(net_k)
                YS[t_, b_, k_] = y_k
                e_ = ({scalar_code(der.output_derivative)}) * (TG[t_, b_, k_] - y_k) * TM[t_, b_, k_]  # eq. (19)
                EK_[k_] = e_
                if e_ != 0.0:
                    err_ = True
            SP_[:, :] = SN_
            if mode == 0:
                continue
            if not err_:  # G is zero at this step: only the traces move on
{_indent(traces, 16)}
                continue
{_indent(grads, 12)}
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
'''


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
    """Logistic function from exp(-|x|) only (never overflows): exp(x) / (1 + exp(x)) for x < 0, else
    1 / (1 + exp(-x)). Branch-free (the select picks the numerator), and sigma(x), sigma(-x) of one x take the
    same exp, which the compiler computes once when both appear in a kernel."""
    e = math.exp(-abs(x))
    return (e if x < 0.0 else 1.0) / (1.0 + e)


def _time_major_inputs(XS, b, t0, n, XT):
    """XT[m, u] = XS[t0 + u, b, m] for u < n: a chunk of one sequence's inputs, time innermost. Eight inputs at a
    time, so that each row of XS is read a cache line at once."""
    I = XS.shape[2]
    m = 0
    while m + 8 <= I:
        for u in range(n):
            XT[m, u] = XS[t0 + u, b, m]
            XT[m + 1, u] = XS[t0 + u, b, m + 1]
            XT[m + 2, u] = XS[t0 + u, b, m + 2]
            XT[m + 3, u] = XS[t0 + u, b, m + 3]
            XT[m + 4, u] = XS[t0 + u, b, m + 4]
            XT[m + 5, u] = XS[t0 + u, b, m + 5]
            XT[m + 6, u] = XS[t0 + u, b, m + 6]
            XT[m + 7, u] = XS[t0 + u, b, m + 7]
        m += 8
    while m < I:
        for u in range(n):
            XT[m, u] = XS[t0 + u, b, m]
        m += 1


def _input_part(W, XT, n, out, o0):
    """out[o0 + r, u] += sum_m W[r, m] * XT[m, u] for u < n: the input part of rows of W (the sources x(t), m <
    XT.shape[0]) for n time steps at once. Each sum runs over m in plain order, as a row's own loop would start;
    the innermost loop is over time steps, independent sums that the compiler vectorises, and four inputs are
    added (in order) before a sum is stored again."""
    R, M = W.shape[0], XT.shape[0]
    for r in range(R):
        m = 0
        while m + 4 <= M:
            w0, w1, w2, w3 = W[r, m], W[r, m + 1], W[r, m + 2], W[r, m + 3]
            for u in range(n):
                out[o0 + r, u] = (((out[o0 + r, u] + w0 * XT[m, u]) + w1 * XT[m + 1, u]) + w2 * XT[m + 2, u]) \\
                    + w3 * XT[m + 3, u]
            m += 4
        while m < M:
            w = W[r, m]
            for u in range(n):
                out[o0 + r, u] += w * XT[m, u]
            m += 1


def _input_nonzero(XS, OFF, IDX, VAL):
    """The nonzero inputs of every step, as compressed rows: step t of sequence b (row r = t * B + b) has the
    inputs m = IDX[OFF[r]:OFF[r + 1]] with x_m(t) = VAL[OFF[r]:OFF[r + 1]] != 0 (ascending; NaN counts as
    nonzero). Returns their number, or -1 as soon as they would not fit in IDX (the inputs are not sparse enough
    for the lists to pay). The inputs are tested eight at a time, so that the zero stretches of a one-hot input go
    by quickly."""
    T, B, I = XS.shape
    n = IDX.shape[0]
    c = 0
    for t in range(T):
        for b in range(B):
            OFF[t * B + b] = c
            m = 0
            while m < I:
                e = min(m + 8, I)
                if m + 8 > I or (XS[t, b, m] != 0.0) | (XS[t, b, m + 1] != 0.0) | (XS[t, b, m + 2] != 0.0) | \\
                        (XS[t, b, m + 3] != 0.0) | (XS[t, b, m + 4] != 0.0) | (XS[t, b, m + 5] != 0.0) | \\
                        (XS[t, b, m + 6] != 0.0) | (XS[t, b, m + 7] != 0.0):
                    for q in range(m, e):
                        if XS[t, b, q] != 0.0:
                            if c == n:
                                return -1
                            IDX[c] = q
                            VAL[c] = XS[t, b, q]
                            c += 1
                m = e
    OFF[T * B] = c
    return c


def _input_part_sparse(W, B, OFF, IDX, VAL, b, t0, n, out, o0):
    """_input_part over the nonzero inputs listed by _input_nonzero: out[o0 + r, u] += sum W[r, m] * x_m(t0 + u)
    over the inputs m of step t0 + u of sequence b, in ascending order. A skipped term is w * 0.0 = +-0.0, and a
    running sum that starts at +0.0 is never -0.0 (x + (-x) rounds to +0.0), so adding it would change nothing:
    each sum is bit for bit the dense one (for finite weights; an infinite weight times 0.0 would be NaN there)."""
    R = W.shape[0]
    for u in range(n):
        t = t0 + u
        for q in range(OFF[t * B + b], OFF[t * B + b + 1]):
            m = IDX[q]
            x = VAL[q]
            for r in range(R):
                out[o0 + r, u] += W[r, m] * x


def _mark_seen(IDX, q0, q1, SEEN, SL, ns):
    """Adds the inputs IDX[q0:q1] not yet in the list SL[:ns] (flags SEEN) to it; returns its new length. The
    learner's traces of input weights ds/dw_im are sums of terms proportional to x_m, so outside the inputs seen
    since the traces were reset they are exactly zero."""
    for q in range(q0, q1):
        m = IDX[q]
        if not SEEN[m]:
            SEEN[m] = True
            SL[ns] = m
            ns += 1
    return ns
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
        for name in ("_sigmoid", "_time_major_inputs", "_input_part", "_input_part_sparse", "_mark_seen"):
            g[name] = jit(g[name])  # resolved at compile time: bind the compiled ones
        for name in ("_input_nonzero", "_forward_kernel", "_forward_kernel_sparse", "_backward_kernel",
                     "_backward_kernel_sparse", "_learner_kernel", "_learner_kernel_lists"):  # compiled on first call
            _JIT[name] = jit(g[name])
    return _JIT


def _f64(x):
    x = np.asarray(x)
    if x.dtype != np.float64:
        if np.iscomplexobj(x):
            raise UserError("the numba backend computes in float64 only; use backend='numpy' for complex inputs")
        x = x.astype(np.float64)
    return np.ascontiguousarray(x)


def _as_inputs(xs):
    """xs as the kernels take it: inputs held as lists (an object with ``shape`` (T, B, I) and ``input_lists()``
    returning OFF, IDX, VAL as _input_nonzero makes them, such as lstm_proofs.inputs.OneHotInputs) as they are,
    anything else as a float64 array in C order. Listed inputs become dense (np.asarray) only where the dense
    path is taken."""
    return xs if hasattr(xs, "input_lists") else _f64(xs)


def _input_lists(xs, path=None):
    """The sizes and nonzero inputs of every step of xs (from _as_inputs) as (T, B, I, OFF, IDX, VAL) (see
    _input_nonzero) when the sparse path is taken, else None. ``path`` None: sparse when at least
    SPARSE_MIN_INPUTS inputs and fewer than SPARSE_DENSITY of them nonzero (first the first step alone, then all
    together); 'sparse' or 'dense' forces the path. Either path gives the same results. Listed inputs give their
    lists without a pass over the dense array, under the same rule."""
    if path not in (None, "sparse", "dense"):
        raise UserError(f"input path must be 'sparse', 'dense' or None, got {path!r}")
    T, B, I = xs.shape
    size = T * B * I
    listed = hasattr(xs, "input_lists")
    if path == "dense" or (path is None and (I < SPARSE_MIN_INPUTS or size == 0)):
        return None
    if listed:
        OFF, IDX, VAL = xs.input_lists()
        dense = path is None and (OFF[B] - OFF[0] >= SPARSE_DENSITY * B * I or IDX.size > int(SPARSE_DENSITY * size))
        return None if dense else (T, B, I, OFF, IDX, VAL)
    if path is None and np.count_nonzero(xs[0]) >= SPARSE_DENSITY * B * I:
        return None
    OFF = np.empty(T * B + 1, np.int64)
    n = size if path == "sparse" else int(SPARSE_DENSITY * size)
    IDX, VAL = np.empty(n, np.int64), np.empty(n)
    n = _kernels()["_input_nonzero"](xs, OFF, IDX, VAL)
    return (T, B, I, OFF, IDX, VAL) if n >= 0 else None


def input_path(xs, path=None):
    """'sparse' when the kernels would take only the nonzero inputs of xs (T, B, I), else 'dense' (see
    _input_lists; ``path`` overrides the choice)."""
    return "dense" if _input_lists(_as_inputs(xs), path) is None else "sparse"


def _stack_params(P, lead, C, S):
    if not P:
        return np.zeros((*lead, 0, C, S))
    return np.ascontiguousarray(np.stack([_f64(p) for p in P], axis=len(lead)))


# ----- whole-sequence entry points -----

def forward_sequence(W_hidden, W_output, P, xs, C, S, path=None):
    """Forward pass over xs (T, B, I) from zero activations and states, weights shared by the batch; ``path``:
    see input_path.

    Returns:
        ys (T, B, K), activations (T, B, N_a), states (T, B, C, S) (zeros for a cell without state), and the
        cache that gradient_sequence needs.
    """
    k = _kernels()
    xs = _as_inputs(xs)
    W_h, W_o = _f64(W_hidden), _f64(W_output)
    T, B, _ = xs.shape
    K, NA = W_o.shape[0], W_h.shape[0]
    PM = _stack_params(P, (), C, S)
    ys, fk, acts = np.empty((T, B, K)), np.empty((T, B, K)), np.empty((T, B, NA))
    states, pd = np.zeros((T, B, C, S)), np.empty((T, B, N_CELL_PARTIALS * C * S + N_BLOCK_PARTIALS * C))
    lists = _input_lists(xs, path)
    if lists is None:
        k["_forward_kernel"](W_h, W_o, PM, _f64(xs), ys, fk, acts, states, pd, C, S)
    else:
        k["_forward_kernel_sparse"](W_h, W_o, PM, *lists, ys, fk, acts, states, pd, C, S)
    return ys, acts, states, [pd, fk, PM, lists]


def gradient_sequence(W_hidden, W_output, xs, ys, acts, cache, d_ys, truncated, C, S, path=None):
    """Backpropagation through time over the sequences of a forward_sequence call.

    Args:
        d_ys: (T, B, K) dL/dy_k; truncated: the paper's truncated gradient instead of the full one.
        path: see input_path; None takes the path of the forward_sequence call (xs must be its inputs).

    Returns:
        dW_hidden, dW_output, dP (tuple in PARAMS order), summed over the batch (not masked).
    """
    k = _kernels()
    pd, fk, PM, lists = cache
    W_h, W_o = _f64(W_hidden), _f64(W_output)
    gW_h, gW_o, gP = np.zeros(W_h.shape), np.zeros(W_o.shape), np.zeros(PM.shape)
    xs = _as_inputs(xs)
    if path is not None:
        lists = _input_lists(xs, path)
    if lists is None:
        k["_backward_kernel"](W_h, W_o, _f64(xs), acts, fk, pd, _f64(d_ys), bool(truncated), C, S, gW_h, gW_o, gP)
    else:
        k["_backward_kernel_sparse"](W_h, W_o, *lists, acts, fk, pd, _f64(d_ys), bool(truncated), C, S, gW_h, gW_o,
                                     gP)
    return gW_h, gW_o, tuple(gP[i].copy() for i in range(gP.shape[0]))


def learner_sequence(W_hidden, W_output, P, learning_rate, xs, targets, mask, mask_hidden, mask_output, mode, C, S,
                     path=None):
    """The online learner over one sequence per trial (weights changed in place unless mode is 'forward' or
    'gradient').

    Args:
        W_hidden (B, N_a, Z), W_output (B, K, U), P (tuple of (B, C, S)): per-trial weights.
        learning_rate: (B,); xs (T, B, I); targets (T, B, K); mask (T, B, K) or broadcastable to it.
        mask_hidden, mask_output: 1.0 where a weight exists; mode: one of MODES; C, S: blocks and cells per block.
        path: see input_path ('sparse': _learner_kernel_lists, the same results).

    Returns:
        ys (T, B, K), and for mode 'gradient' the summed G = -dE/dw per trial (G_hidden, G_output, G_P tuple),
        else None.
    """
    k = _kernels()
    if mode not in MODES:
        raise UserError(f"learner mode must be one of {tuple(MODES)}, got {mode!r}")
    mode = MODES[mode]
    xs = _as_inputs(xs)
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
    lists = _input_lists(xs, path)
    if lists is None:
        k["_learner_kernel"](W_h, W_o, PM, lr, _f64(xs), tg, tm, _f64(mask_hidden), _f64(mask_output), mode, ys, out_h,
                             out_o, out_p, C, S)
    else:
        k["_learner_kernel_lists"](W_h, W_o, PM, lr, *lists, tg, tm, _f64(mask_hidden), _f64(mask_output), mode,
                                   ys, out_h, out_o, out_p, C, S)
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
    _, _, n_cell_partials, n_block_partials = _partial_layout(der)
    sizes = "\n\n" + "".join(f"{name} = {value}  # {what}\n" for name, value, what in (
        ("N_CELL_PARTIALS", n_cell_partials, "local partials the forward kernel stores per cell and step"),
        ("N_BLOCK_PARTIALS", n_block_partials, "local partials the forward kernel stores per block and step"),
        ("TIME_CHUNK", TIME_CHUNK, "steps whose input parts the forward kernel computes together"),
        ("SPARSE_DENSITY", SPARSE_DENSITY, "inputs are sparse below this mean fraction of nonzero ones per step"),
        ("SPARSE_MIN_INPUTS", SPARSE_MIN_INPUTS, "and with at least this many inputs (input_path)"),
        ("SEEN_ALL", SEEN_ALL, "_learner_kernel_lists: trace loops over all inputs once this fraction was seen")))
    parts = [_header(der), sizes, "\n# ----- kernels (plain Python; compiled by numba on first use) -----\n",
             _forward_kernel(der), "\n", _forward_kernel(der, sparse=True), "\n", _backward_kernel(der), "\n",
             _backward_kernel(der, sparse=True), "\n", _learner_kernel(der), "\n", _learner_kernel(der, lists=True),
             _WRAPPERS]
    return "".join(parts).rstrip("\n") + "\n"
