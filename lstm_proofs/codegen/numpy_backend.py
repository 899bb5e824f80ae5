"""Generate the NumPy module of a cell from its derivation.

The module holds two layers of functions:

* **cell kernels**, printed from the derivation with common-subexpression elimination: ``cell_forward`` (the
  declaration's equations), ``cell_backward`` / ``cell_backward_truncated`` (the adjoint step), ``cell_traces``
  (forward-trace partials) and ``cell_exit`` (exit partials);
* **network steps**, which compose the cell kernels with the linear algebra of the paper's network (Section 4,
  Appendix A.1): ``forward_step``, ``backward_step`` (one step of backpropagation through time, full or truncated)
  and ``learner_step`` (one step of the paper's online learner with forward-accumulated traces); and their
  whole-sequence forms ``forward_sequence``, ``gradient_sequence`` and ``learner_sequence`` (what the runtime
  calls), with the work that does not depend on the previous step taken out of the time loop.
"""

from __future__ import annotations

import re
import textwrap

import sympy as sp

from lstm_proofs.cells.declaration import CellDeclaration
from lstm_proofs.codegen.emit import cse_assignments, emit_lines, op_count, pycode
from lstm_proofs.derive.derivation import Derivation, adjoint
from lstm_proofs.symbolic.functions import sigma

GENERATOR_COMMAND = "lstm-proofs derive"


def _args(symbols) -> str:
    return ", ".join(s.name for s in symbols)


def _tuple(items) -> str:
    items = list(items)
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _level(cell: CellDeclaration, expr: sp.Expr, extra: dict[sp.Symbol, str] | None = None) -> str:
    levels = []
    for s in expr.free_symbols:
        name = s.name
        base = sp.Symbol(name[2:]) if name.startswith("d_") or name.startswith("a_") else s
        levels.append((extra or {}).get(s) or cell.levels.get(base, "cell"))
    return "cell" if "cell" in levels else ("block" if levels else "const")


def _shaped(cell: CellDeclaration, expr: sp.Expr, want: str, like: str,
            extra: dict[sp.Symbol, str] | None = None) -> str:
    """Code for ``expr`` broadcast to the array shape of ``like`` where the expression alone would be smaller."""
    have = _level(cell, expr, extra)
    code = pycode(expr)
    if have == "const":
        return f"np.full({like}.shape, {code}, dtype={like}.dtype)"
    if have == "block" and want == "cell":
        return f"np.broadcast_to({code}, {like}.shape).copy()"
    return code


def _like(cell: CellDeclaration, level: str) -> str:
    if level == "cell":
        return "net_c"
    return f"net_{cell.gates[0]}" if cell.gates else "net_c"


def _parts(gates: tuple[str, ...] | list[str], array: str, lead: str = "B") -> dict[str, str]:
    """Code for the parts of ``array``, whose last axis runs over the cells, then each gate's C units (net inputs,
    activations, their errors, logistic values): ``"c"`` -> ``array[..., :CS].reshape(<lead>, C, S)``, then one
    entry per gate, ``(<lead>, C, 1)``. ``lead`` names the leading axes (``"B"``, or ``"T, B"`` for whole sequences)."""
    idx = ":, " * len(lead.split(", "))
    out = {"c": f"{array}[{idx}:CS].reshape({lead}, C, S)"}
    out.update({g: f"{array}[{idx}CS + {i} * C:CS + {i + 1} * C].reshape({lead}, C, 1)" for i, g in enumerate(gates)})
    return out


def _function(name: str, args: str, doc: str, body: list[str], returns: list[str], ops: int) -> str:
    doc = textwrap.indent(textwrap.dedent(doc).strip(), "    ")
    lines = [f"def {name}({args}):", '    """' + doc.lstrip(), "", f"    Total ops: {ops}", '    """', *body]
    if returns:  # an empty list: the body ends in its own return
        lines.append(f"    return {', '.join(returns)}" + ("," if len(returns) == 1 else ""))
    return "\n".join(lines) + "\n"


def _forward_kernel(der: Derivation) -> str:
    cell = der.cell
    body = []
    for eq in cell.equations:
        lvl = cell.level(eq.target)
        code = _shaped(cell, eq.expr, lvl, _like(cell, lvl))
        body.append(f"    {eq.target.name} = {code}  # {eq.label}")
    doc = f"""
    The equations of cell '{cell.name}' for one time step.

    Args: {_args(cell.inputs)} (net inputs, previous state, per-cell parameters).
    Returns: {_args(cell.targets)} (every assigned quantity, in equation order).
    """
    return _function("cell_forward", _args(cell.inputs), doc, body, [t.name for t in cell.targets],
                     op_count(eq.expr for eq in cell.equations))


def _partial_levels(der: Derivation) -> dict[sp.Symbol, str]:
    """Array level (``cell``/``block``) of every named local partial, from the symbols its expression reads."""
    return {name: _level(der.cell, expr) for name, expr in der.partials.items()}


def _partial_sigmoids(der: Derivation) -> dict[sp.Expr, sp.Symbol]:
    """``sigma(net_u)`` / ``sigma(-net_u)`` in the local partials, each mapped to the cell_partials argument that
    carries its value (``sg_net_u`` / ``sgn_net_u``): the network code has them from the forward pass."""
    return _net_sigmoids(der.cell, list(der.partials.values()))


def _sigmoid_code(name: str) -> str:
    """Code computing the logistic value an ``sg_net_u`` / ``sgn_net_u`` argument stands for."""
    kind, net = name.split("_", 1)
    return f"_k.sigmoid({'-' if kind == 'sgn' else ''}{net})"


def _local_partials_kernel(der: Derivation) -> str:
    cell = der.cell
    names = list(der.partials)
    sig = _partial_sigmoids(der)
    items = [(n, e.xreplace(sig)) for n, e in der.partials.items()]
    found = set().union(set(), *(e.atoms(sigma) for _, e in items))
    body = []
    for f in sorted(found, key=sp.default_sort_key):  # sigma(v) and sigma(-v) of a forward value: one call
        v = f.args[0]
        if v.is_Symbol and sigma(-v) in found:
            pair = {sigma(v): sp.Symbol(f"sg_{v.name}"), sigma(-v): sp.Symbol(f"sgn_{v.name}")}
            items = [(n, e.xreplace(pair)) for n, e in items]
            body.append(f"    sg_{v.name}, sgn_{v.name} = _k.sigmoid_pair({v.name})")
    for target, expr in cse_assignments(items):
        body.extend(emit_lines([(target, expr)]))
    sig_args = f" and the logistic values of the net inputs they read ({_args(sig.values())})" if sig else ""
    doc = f"""
    Local partial derivatives of cell '{cell.name}' (every non-constant d target / d arg of its equations),
    in terms of forward values: the coefficients of the adjoint step (cell_adjoint).

    Elementwise: the arrays may carry any leading axes, so one call can serve every step of a sequence.
    Args: the forward inputs, the forward values ({_args(cell.targets)}){sig_args}.
    Returns: {_args(names)}.
    """
    args = ", ".join(a for a in (_args(cell.inputs), _args(cell.targets), _args(sig.values())) if a)
    return _function("cell_partials", args, doc, body, [n.name for n in names] or ["()"],
                     op_count(der.partials.values()))


def _adjoint_kernel(der: Derivation, truncated: bool) -> str:
    cell = der.cell
    steps = der.backward_linear_truncated if truncated else der.backward_linear
    ordered = cse_assignments(steps)
    outputs = {adjoint(u) for u in cell.inputs}
    extra = _partial_levels(der)
    like = {"cell": "d_y_c", "block": f"d_y_{cell.gates[0]}" if cell.gates else "d_y_c"}
    notes = {t: f"error at {t.name[2:]}" for t, _ in steps if t.name.startswith("a_")}
    body = []
    for target, expr in ordered:
        if target in outputs:
            lvl = cell.level(sp.Symbol(target.name[2:]))
            body.append(f"    {target.name} = {_shaped(cell, expr, lvl, like[lvl], extra)}")
        else:
            body.extend(emit_lines([(target, expr)], notes=notes))
    adjs = [adjoint(y) for y in (*cell.activations, *cell.states)]
    kind = ("truncated gradient: a previous state reaches the gradient only through its own CEC equation, "
            "Appendix A.1") if truncated else "full gradient"
    doc = f"""
    Adjoint step of cell '{cell.name}' ({kind}), linear in the errors; its coefficients are the local partials.

    Args: the local partials (cell_partials, in its order), and the errors arriving at the cell's activations and
        state from later computations: {_args(adjs)}.
    Returns: the errors at the inputs: {_args(adjoint(u) for u in cell.inputs)} (per batch element).
    """
    args = ", ".join([_args(der.partials), _args(adjs)]).strip(", ")
    return _function("cell_adjoint_truncated" if truncated else "cell_adjoint", args, doc, body,
                     [adjoint(u).name for u in cell.inputs], op_count(e for _, e in ordered))


def _backward_kernel(der: Derivation, truncated: bool) -> str:
    cell = der.cell
    adjs = [adjoint(y) for y in (*cell.activations, *cell.states)]
    adjoint_fn = "cell_adjoint_truncated" if truncated else "cell_adjoint"
    kind = "truncated gradient" if truncated else "full gradient"
    doc = f"""
    Adjoint step of cell '{cell.name}' ({kind}) at one step: {adjoint_fn} with the local partials of cell_partials.

    Args: the forward inputs, the forward values ({_args(cell.targets)}), and the errors arriving at the cell's
        activations and state from later computations: {_args(adjs)}.
    Returns: the errors at the inputs: {_args(adjoint(u) for u in cell.inputs)} (per batch element).
    """
    fwd = ", ".join([_args(cell.inputs), _args(cell.targets)])
    sigmoids = "".join(f", {_sigmoid_code(v.name)}" for v in _partial_sigmoids(der).values())
    partials = f"*cell_partials({fwd}{sigmoids}), " if der.partials else ""
    body = [f"    return {adjoint_fn}({partials}{_args(adjs)})"]
    steps = der.backward_truncated if truncated else der.backward
    return _function("cell_backward_truncated" if truncated else "cell_backward", f"{fwd}, {_args(adjs)}", doc,
                     body, [], op_count(e for _, e in steps))


def _partials_kernel(der: Derivation, name: str, items: dict[sp.Symbol, sp.Expr], prefix: str, doc: str) -> tuple[str, list[str]]:
    cell = der.cell
    names = [sp.Symbol(f"{prefix}{u.name}") for u in items]
    ordered = cse_assignments(list(zip(names, items.values())))
    body = []
    outs = set(names)
    for target, expr in ordered:
        if target in outs:
            body.append(f"    {target.name} = {_shaped(cell, expr, 'cell', 'net_c')}")
        else:
            body.extend(emit_lines([(target, expr)]))
    args = ", ".join([_args(cell.inputs), _args(cell.targets)])
    return _function(name, args, doc, body, [n.name for n in names] or ["()"], op_count(items.values())), [n.name for n in names]


def _net_sigmoids(cell: CellDeclaration, exprs: list[sp.Expr]) -> dict[sp.Expr, sp.Symbol]:
    """``sigma(net_u)`` and ``sigma(-net_u)`` occurring in ``exprs``, each mapped to the name of its precomputed value.

    The network steps evaluate the logistic function once over the whole net-input vector (and once over its
    negation) instead of once per cell quantity: NumPy's cost at small sizes is per call, not per element.
    """
    found: dict[sp.Expr, sp.Symbol] = {}
    for e in exprs:
        for f in e.atoms(sigma):
            arg = f.args[0]
            if arg in cell.nets:
                found[f] = sp.Symbol(f"sg_{arg.name}")
            elif -arg in cell.nets:
                found[f] = sp.Symbol(f"sgn_{(-arg).name}")
    return dict(sorted(found.items(), key=lambda kv: kv[1].name))


def _plain_gates(cell: CellDeclaration) -> bool:
    """True if every gate's activation is the logistic function of its net input alone (y_g = sigma(net_g)):
    the gate part of the activation vector is then the gate part of sigma(net)."""
    exprs = {eq.target: eq.expr for eq in cell.equations}
    return all(exprs.get(sp.Symbol(f"y_{g}")) == sigma(sp.Symbol(f"net_{g}")) for g in cell.gates)


def _fused_cell_step(der: Derivation, indent: str = "    ", learner: bool = True,
                     keep: tuple[str, ...] = (), hoist: list[str] | None = None
                     ) -> tuple[list[str], list[str], list[str]]:
    """Lines that evaluate the cell inside a network step: its equations and, for learner_step, its trace and
    exit partials, in one block.

    The same expressions as cell_forward, cell_traces and cell_exit, but with common subexpressions shared across
    them (each sigma is evaluated once) and the logistic function of every net input taken from one call over the
    whole net-input vector (``sigmoid_pair`` when sigma(-net) is needed too). A trace partial J that is exactly 1
    (the CEC, eq. 30) is not computed: the trace update then omits the multiplication.

    ``keep`` (forward_sequence): ``"sg"`` and/or ``"sgn"``, the logistic values of the net inputs to compute in
    any case and write into the whole-sequence arrays ``sgs[t]`` / ``sgns[t]`` (gradient_sequence reads them).

    ``hoist`` (the sequence functions): a list that receives lines to run once before the time loop. The logistic
    values are then written into arrays that live for the whole sequence (``sgs[t]`` for a kind in ``keep``,
    otherwise a buffer ``sg_buf`` / ``sgn_buf`` of shape (B, N)), and the views of their parts (one per cell
    quantity) are made once: inside the loop a kept kind's view is one index ``[t]``, a buffer's none.

    Returns:
        (lines, names of the trace partials (J first, if computed), names of the exit partials).
    """
    cell = der.cell
    state = der.state
    items: list[tuple[sp.Symbol, sp.Expr]] = [(eq.target, eq.expr) for eq in cell.equations]
    labels = {eq.target: eq.label for eq in cell.equations}
    trace_names: list[str] = []
    exit_names: list[str] = []
    if learner and state is not None:
        J = sp.Symbol("J")
        if der.traces[cell.prev(state)] != 1:
            items.append((J, der.traces[cell.prev(state)]))
            labels[J] = f"eq. (30): d{state.name}(t)/d{state.name}(t-1)"
            trace_names.append("J")
        for u in der.trace_inputs:
            if u == cell.prev(state):
                continue
            name = sp.Symbol(f"ds_d{u.name}")
            items.append((name, der.traces[u]))
            labels[name] = f"eqs. (25), (27): d{state.name}/d{u.name}"
            trace_names.append(name.name)
    if learner:
        exit_items = {}
        if state is not None:
            exit_items[state] = der.exit[state]
        exit_items.update({u: der.exit[u] for u in der.exit_inputs})
        for u, e in exit_items.items():
            name = sp.Symbol(f"dyc_d{u.name}")
            items.append((name, e))
            labels[name] = "eq. (23): exit through the state" if u == state else "eq. (21): exit bypassing the state"
            exit_names.append(name.name)
    sig = _net_sigmoids(cell, [e for _, e in items])
    extra = {v: cell.level(sp.Symbol(v.name.split("_", 1)[1])) for v in sig.values()}
    items = [(t, e.xreplace(sig)) for t, e in items]
    # sigma(v) and sigma(-v) of an assigned quantity v (the state, under h(s) and its derivative): one
    # sigmoid_pair call. Placeholder items "sg_v = v" and "sgn_v = sg_v" order the pair after v's assignment.
    pairs: dict[sp.Expr, sp.Symbol] = {}
    found = set().union(*(e.atoms(sigma) for _, e in items))
    for f in sorted(found, key=sp.default_sort_key):
        v = f.args[0]
        if v.is_Symbol and v in cell.targets and sigma(-v) in found:
            pairs[sigma(v)] = sp.Symbol(f"sg_{v.name}")
            pairs[sigma(-v)] = sp.Symbol(f"sgn_{v.name}")
    placeholders: dict[sp.Symbol, str] = {}
    if pairs:
        items = [(t, e.xreplace(pairs)) for t, e in items]
        for f, name in pairs.items():
            if name.name.startswith("sg_"):
                v = f.args[0]
                items += [(name, v), (sp.Symbol(f"sgn_{v.name}"), name)]
                extra[name] = extra[sp.Symbol(f"sgn_{v.name}")] = cell.level(v)
                placeholders[name] = f"{name.name}, sgn_{v.name} = _k.sigmoid_pair({v.name})"
                placeholders[sp.Symbol(f"sgn_{v.name}")] = ""
    lines = []
    gates = list(cell.gates)
    kinds = [k for k in ("sg", "sgn") if k in keep or any(v.name.startswith(k + "_") for v in sig.values())]
    out = {k: (f"{k}s[t]" if k in keep else f"{k}_buf" if hoist is not None else None) for k in kinds}
    if kinds == ["sg", "sgn"]:
        where = f", out=({out['sg']}, {out['sgn']})" if any(out.values()) else ""
        lines.append(f"{indent}sg, sgn = _k.sigmoid_pair(net{where})  # sigma(net), sigma(-net) of every cell and "
                     "gate (sigma' = sigma(net) * sigma(-net))")
    elif kinds:
        where = f", out={out[kinds[0]]}" if out[kinds[0]] else ""
        minus = "-" if kinds[0] == "sgn" else ""
        lines.append(f"{indent}{kinds[0]} = _k.sigmoid({minus}net{where})  # sigma({minus}net) of every cell and gate, "
                     "in one call")
    for kind in kinds:
        if hoist is not None and kind not in keep:
            hoist.append(f"    {kind}_buf = np.empty((B, N), dtype=dtype)  # " + ("sigma(net)" if kind == "sg" else "sigma(-net)") + " of the current step")
        for v in (v for v in sig.values() if v.name.startswith(kind + "_")):
            part = v.name.split("_net_", 1)[1]
            if hoist is None:
                lines.append(f"{indent}{v.name} = {_parts(gates, kind)[part]}")
            elif kind in keep:
                hoist.append(f"    {v.name}_seq = {_parts(gates, kind + 's', 'T, B')[part]}")
                lines.append(f"{indent}{v.name} = {v.name}_seq[t]")
            else:
                hoist.append(f"    {v.name} = {_parts(gates, kind + '_buf')[part]}")
    outs = {t for t, _ in items}
    for target, expr in cse_assignments(items):
        if target in placeholders:
            if placeholders[target]:
                lines.append(f"{indent}{placeholders[target]}  # sigma and sigma(-.) in one call")
        elif target in outs:
            if target in cell.targets:
                lvl = cell.level(target)
                code = _shaped(cell, expr, lvl, _like(cell, lvl), extra)
            else:
                code = _shaped(cell, expr, "cell", "net_c", extra)
            lines.append(f"{indent}{target.name} = {code}  # {labels[target]}")
        else:
            lines.extend(emit_lines([(target, expr)], indent=indent))
    return lines, trace_names, exit_names


def _trace_updates(der: Derivation, has_J: bool) -> list[tuple[str, str, str, str]]:
    """The forward-trace updates of the learner (eqs. 25, 27, 30), one per trace: (trace name, factor J of the
    old trace or "" where J is exactly 1 (the CEC), the added term, comment). learner_step prints them as
    ``T = J * T + term``, learner_sequence as the same arithmetic in place."""
    params = [p.name for p in der.cell.params]
    out = []
    for u in (u for u in der.trace_inputs if not u.name.endswith("_prev")):
        tn = f"T_{u.name}"
        if u.name in params:
            out.append((tn, "J" if has_J else "", f"ds_d{u.name}", f"forward trace of parameter {u.name}"))
        else:
            out.append((tn, "J[..., None]" if has_J else "", f"ds_d{u.name}[..., None] * z_cells",
                        "eqs. (25), (27): ds/dw_(l,m) += ds/dnet_l * y^m" + ("" if has_J else "; J = 1")))
    return out


def _gradient_terms(der: Derivation) -> tuple[list[str], list[str]]:
    """Lines of the learner's gradient estimate of one step (eqs. 21-28): ``G_<net>`` for every net input, then
    ``G_<param>`` for every per-cell parameter (learner_step and learner_sequence)."""
    cell, state = der.cell, der.state
    trace_inputs = [u for u in der.trace_inputs if not u.name.endswith("_prev")]
    exit_inputs = list(der.exit_inputs)
    grads = []
    for u in cell.nets:
        terms = []
        lvl = cell.level(u)
        if u in trace_inputs:
            if lvl == "cell":
                terms.append(f"(e_{state.name}[..., None] * T_{u.name}).reshape(B, CS, -1)")
            else:
                terms.append(f"np.vecmat(e_{state.name}, T_{u.name})")
        if u in exit_inputs:
            if lvl == "block":  # summed over the cells of the block
                terms.append(f"np.add.reduce(e_y_c * dyc_d{u.name}, axis=2)[:, :, None] * z_rows")
            else:
                terms.append(f"(e_y_c * dyc_d{u.name}).reshape(B, CS)[:, :, None] * z_rows")
        n = "CS" if lvl == "cell" else "C"
        grads.append(f"    G_{u.name} = " + (" + ".join(terms) if terms else f"np.zeros((B, {n}, z.shape[1]))")
                     + ("  # eqs. (24), (26), (28)" if u in trace_inputs else "  # eqs. (21), (22)"))
    g_params = []
    for p in (p.name for p in cell.params):
        terms = []
        psym = sp.Symbol(p)
        if psym in trace_inputs:
            terms.append(f"e_{state.name} * T_{p}")
        if psym in exit_inputs:
            terms.append(f"e_y_c * dyc_d{p}")
        g_params.append(f"    G_{p} = " + (" + ".join(terms) if terms else "np.zeros((B, C, S))"))
    return grads, g_params


def _header(cell: CellDeclaration, der: Derivation) -> str:
    decl = textwrap.indent(textwrap.dedent(cell.text).strip("\n"), "    ")
    return f'''"""Cell '{cell.name}': {cell.title}.

GENERATED FILE - DO NOT EDIT. Generated by `{GENERATOR_COMMAND}` from the declaration of cell '{cell.name}' in
lstm_proofs/cells/library.py ({cell.source}); derivatives by lstm_proofs/derive/derivation.py, code by
lstm_proofs/codegen/numpy_backend.py. To change it, change the declaration or the generator and regenerate;
`lstm-proofs derive --check` fails while this file is stale.

Declaration:
{decl}

Shapes: B batch (sequences, or independent trials in learner_step), C blocks, S cells per block, I inputs,
K outputs, G = {len(cell.gates)} gates per block, N_a = C*S + G*C hidden activations (cells, then each gate),
Z = U = I + N_a + 1 sources (inputs, hidden activations, bias) of hidden and output units.
Per-block arrays are (B, C, 1), per-cell arrays (B, C, S); per-cell parameters are (C, S).
"""

import numpy as np

from lstm_proofs import numerics as _k
from lstm_proofs.kernels import numpy_network as _net

CELL = {cell.name!r}
BACKEND = "numpy"
GATES = {tuple(cell.gates)!r}
STATE = {der.state.name if der.state is not None else None!r}
PARAMS = {tuple(p.name for p in cell.params)!r}
TARGETS = {tuple(t.name for t in cell.targets)!r}
TRACE_INPUTS = {tuple(u.name for u in der.trace_inputs if u not in cell.states and not u.name.endswith("_prev"))!r}
EXIT_INPUTS = {tuple(u.name for u in der.exit_inputs)!r}
CHUNK_ELEMENTS = 8192  # gradient_sequence: local partials computed for about this many values per call
MODES = _net.MODES  # learner_sequence: what it does with the gradient estimate
'''


def _network(der: Derivation) -> str:
    cell = der.cell
    gates = cell.gates
    state = der.state
    sp_ = state.name + "_prev" if state is not None else "s_prev"
    trace_inputs = [u for u in der.trace_inputs if not u.name.endswith("_prev")]
    params = [p.name for p in cell.params]

    split = [f"    net_{k} = {code}" for k, code in _parts(gates, "net").items()]
    act_parts = ["x", "y_c.reshape(B, CS)"] + [f"y_{g}.reshape(B, C)" for g in gates] + ["_k.ones_column(B, x.dtype)"]
    cell_in = [u.name for u in cell.inputs]
    cell_in = [("P[%d]" % params.index(n)) if n in params else n for n in cell_in]
    state_out = state.name if state is not None else "None"
    out_deriv = pycode(der.output_derivative)

    outputs_in = f"""    u = np.concatenate({_tuple(act_parts)}, axis=1)  # sources of the output units: x(t), y(t), bias
    a = u[:, I:-1]  # this step's hidden activations: cells, then each gate
"""
    fwd_common = "\n".join(split) + f"""
    {", ".join(t.name for t in cell.targets)}, = cell_forward({", ".join(cell_in)})
""" + outputs_in
    fused, trace_parts, exit_names = _fused_cell_step(der)
    bind = [f"    {_tuple(params)[1:-1]} = P  # per-cell parameters"] if params else []
    fused_text = "\n".join(fused)
    used_split = [line for line in split if re.search(rf"\b{line.split()[0]}\b", fused_text)]  # net inputs read
    learn_common = "\n".join(used_split + bind + fused) + "\n" + outputs_in
    forward = f'''
# ----- network steps (Section 4 topology; Section 5 timing: inputs, then hidden units, then outputs) -----

def forward_step(W_hidden, W_output, P, x, a_prev, {sp_}, C, S):
    """One time step of the network, weights shared across the batch (Section 5 timing; Args, Returns:
    lstm_proofs/kernels/numpy_network.py, DOCS)."""
    B = x.shape[0]
    CS = C * S
    I = x.shape[1]
    R = W_hidden.shape[1] - I - 1  # recurrent sources in W_hidden: all N_a activations, or a leading part of them
    z = np.concatenate((x, a_prev[:, :R], _k.ones_column(B, x.dtype)), axis=1)  # sources y^u: x(t), y(t-1), bias
    net = z @ W_hidden.T  # eqs. (6)-(9): net inputs of cells and gates
{fwd_common}    net_k = u @ W_output.T
    y_k = _k.sigmoid(net_k)  # output units, logistic
    cache = (z, u, {", ".join(cell_in_n for cell_in_n in [u_.name for u_ in cell.inputs if u_.name not in params])}, {", ".join(t.name for t in cell.targets)}, net_k, y_k)
    return y_k, a, {state_out}, cache
'''
    # ----- backward -----
    adj_split = [f"    d_y_{k} = {code}" for k, code in _parts(gates, "d_a").items()]
    cache_names = ["z", "u"] + [u_.name for u_ in cell.inputs if u_.name not in params] + [t.name for t in cell.targets] + ["net_k", "y_k"]
    adj_in = [adjoint(y).name for y in (*cell.activations, *cell.states)]
    call_args = ", ".join(cell_in + [t.name for t in cell.targets] + adj_in)
    d_out = [adjoint(u_).name for u_ in cell.inputs]
    d_net_parts = ["d_net_c.reshape(B, CS)"] + [f"d_net_{g}.reshape(B, C)" for g in gates]
    d_s_name = "d_" + state.name if state is not None else "d_s"
    d_sprev = ("d_" + state.name + "_prev") if state is not None else "None"
    backward = f'''

def backward_step(W_hidden, W_output, P, cache, d_y_k, d_a, {d_s_name}, truncated, C, S):
    """One step of backpropagation through time, full or truncated, composed from the cell's derived adjoint
    step (Args, Returns: lstm_proofs/kernels/numpy_network.py, DOCS)."""
    {", ".join(cache_names)} = cache
    B = z.shape[0]
    CS = C * S
    d_net_k = d_y_k * {out_deriv}  # output units: f'(net_k) through its value
    dW_output = d_net_k.T @ u
    I = u.shape[1] - 1 - (CS + {len(gates)} * C)
    d_a = d_a + d_net_k @ W_output[:, I:-1]
{chr(10).join(adj_split)}
    kernel = cell_backward_truncated if truncated else cell_backward
    {", ".join(d_out)}, = kernel({call_args})
    d_net = np.concatenate({_tuple(d_net_parts)}, axis=1)
    dW_hidden = d_net.T @ z
    if truncated:
        d_a_prev = np.zeros_like(d_a)  # truncation: no error flows into y^u(t-1) through the net inputs
    else:
        d_a_prev = d_net @ W_hidden[:, I:-1]
        if d_a_prev.shape[1] < d_a.shape[1]:  # activations whose columns forward_step was given without: no error
            d_a_prev = np.concatenate((d_a_prev, np.zeros((B, d_a.shape[1] - d_a_prev.shape[1]), d_a.dtype)), axis=1)
    dP = {_tuple(f"d_{p}.sum(axis=0)" for p in params)}
    return dW_hidden, dW_output, dP, d_a_prev, {d_sprev}
'''.replace("d_s_name", d_s_name)

    # ----- learner -----
    trace_names = [f"T_{u.name}" for u in trace_inputs]
    trace_update = [f"    {tn} = " + (f"{j} * {tn} + {add}" if j else f"{tn} + {add}") + f"  # {note}"
                    for tn, j, add, note in _trace_updates(der, "J" in trace_parts)]
    grads, g_params = _gradient_terms(der)
    later = "\n".join(trace_update + grads)
    z_views = _block([line for name, line in (
        ("z_cells", "    z_cells = z[:, None, None, :]  # the sources y^m, broadcast over blocks and cells"),
        ("z_rows", "    z_rows = z[:, None, :]  # the sources y^m, broadcast over rows")) if name in later])
    e_state = f"    e_{state.name} = e_y_c * dyc_d{state.name}  # eq. (23): error at the state" if state is not None else ""
    learner = f'''

def learner_step(W_hidden, W_output, P, x, a_prev, {sp_}, traces, target, tmask, C, S):
    """One time step of the paper's online learner (Appendix A.1), each batch element an independent trial:
    forward step, traces (eqs. 25, 27), output error (eq. 19), gradient estimate G = -dE(t)/dw (eqs. 20-28)
    (Args, Returns: lstm_proofs/kernels/numpy_network.py, DOCS)."""
    B = x.shape[0]
    CS = C * S
    I = x.shape[1]
    z = np.concatenate((x, a_prev, _k.ones_column(B, x.dtype)), axis=1)
    net = np.matvec(W_hidden, z)  # eqs. (6)-(9)
{z_views}    # the cell: equations, trace partials (eqs. 25, 27, 30) and exit partials (eqs. 21, 23) in one block
{learn_common}    net_k = np.matvec(W_output, u)
    y_k, sgn_k = _k.sigmoid_pair(net_k)  # output units, logistic; sigma(-net_k) for f'(net_k)
    {", ".join(trace_names) + ", = traces" if trace_names else "_ = traces"}
{chr(10).join(trace_update)}
    e_k = {out_deriv.replace("_k.sigmoid(-net_k)", "sgn_k")} * (target - y_k) * tmask  # eq. (19)
    G_output = e_k[:, :, None] * u[:, None, :]  # eq. (22), output units
    e_y_c = np.vecmat(e_k, W_output[:, :, I:I + CS]).reshape(B, C, S)  # error at cell outputs
{e_state}
{chr(10).join(grads)}
    G_hidden = np.concatenate({_tuple("G_" + u_.name for u_ in cell.nets)}, axis=1)
{chr(10).join(g_params)}
    return y_k, a, {state_out}, {_tuple(trace_names)}, G_hidden, G_output, {_tuple("G_" + p for p in params)}
'''
    sequence = _learner_sequence(der, z_views, e_state, grads, g_params)
    return forward + backward + learner + sequence


def _learner_sequence(der: Derivation, z_views: str, e_state: str, grads: list[str], g_params: list[str]) -> str:
    """learner_sequence: learner_step's arithmetic inside a loop over the time steps, with the weight changes of
    OnlineLearner applied in place. What only costs NumPy calls is moved out of the loop or dropped: the net
    inputs, logistic values and sources live in arrays made once (their part views too), the traces are updated
    in place, the sources of a step are the previous step's output sources with the new input written in, and the
    gradient is skipped at steps without any error signal (its value there is exactly zero)."""
    cell, state = der.cell, der.state
    gates = cell.gates
    params = [p.name for p in cell.params]
    hoist: list[str] = []
    fused, trace_parts, _ = _fused_cell_step(der, indent="        ", hoist=hoist)
    fused_text = "\n".join(fused)
    net_views = [f"    net_{k} = {code}" for k, code in _parts(gates, "net").items()
                 if re.search(rf"\bnet_{k}\b", fused_text)]
    updates = _trace_updates(der, "J" in trace_parts)
    inner = lambda lines: textwrap.indent(lines if isinstance(lines, str) else _block(lines), "    ")  # noqa: E731
    init = [f"    {state.name}_prev = np.zeros((B, C, S), dtype=dtype)"] if state is not None else []
    for tn, _, add, _ in updates:
        shape = "(B, C, S, Z)" if add.endswith("z_cells") else "(B, C, S)"
        init.append(f"    {tn} = np.zeros({shape}, dtype=dtype)  # forward trace, zero at the sequence start")
    if params:
        init.append(f"    {_tuple(params)[1:-1]} = P  # per-cell parameters, each (B, C, S), changed in place")
    carry = [f"    {state.name}_prev = {state.name}"] if state is not None else []
    traces = []
    for tn, j, add, note in updates:
        if j:
            traces.append(f"    {tn} *= {j}  # eq. (30): J = ds(t)/ds(t-1)")
        traces.append(f"    {tn} += {add}  # {note}")
    if _plain_gates(cell):  # y_g = sigma(net_g) for every gate: the gate part of y(t) is that of sigma(net)
        sources = ["        u[:, I:I + CS] = y_c.reshape(B, CS)"]
        sources += ["        u[:, I + CS:-1] = sg[:, CS:]  # the gates: y_g = sigma(net_g)"] if gates else []
    else:
        acts = ", ".join(["y_c.reshape(B, CS)"] + [f"y_{g}.reshape(B, C)" for g in gates])
        sources = [f"        np.concatenate(({acts}), axis=1, out=u[:, I:-1])"]
    out_deriv = pycode(der.output_derivative).replace("_k.sigmoid(-net_k)", "sgn_k")
    G = ["G_hidden", "G_output"] + [f"G_{p}" for p in params]
    return f'''

def learner_sequence(W_hidden, W_output, P, learning_rate, xs, targets, mask, mask_hidden, mask_output, mode, C, S):
    """The online learner over one sequence per trial, learner_step at every step with the weight changes of
    ``mode`` applied in the same call, bit for bit a loop of learner_step (Args, Returns:
    lstm_proofs/kernels/numpy_network.py, DOCS)."""
    T, B, I, N, Z, dtype, m, errs, lr, lr_h, lr_o, ys, zu, net = _net.learner_buffers(  # zu: sources (z, u) of a step
        W_hidden, W_output, P, learning_rate, xs, mask, mask_hidden, mask_output, mode)
    CS = C * S
    learn = mode != "forward"
{_block(net_views + hoist)}    W_out_cells = W_output[:, :, I:I + CS]  # weights from the cell outputs (a view: it sees the updates)
{_block(init)}    acc = None  # modes 'sequence' and 'gradient': G summed over the steps
    for t in range(T):
        x = xs[t]
        z = zu[(t + 1) % 2]  # sources of step t: the previous step's u, with x(t) in place of x(t-1)
        z[:, :I] = x
        np.matvec(W_hidden, z, out=net)  # eqs. (6)-(9)
{inner(z_views)}        # the cell: equations, trace partials (eqs. 25, 27, 30) and exit partials (eqs. 21, 23) in one block
{fused_text}
        u = zu[t % 2]  # sources of the output units: x(t), y(t), bias
        u[:, :I] = x
{_block(sources)}        y_k, sgn_k = _k.sigmoid_pair(np.matvec(W_output, u), out=(ys[t], None))  # output units, logistic
{inner(carry)}        if not learn:
            continue
{inner(traces)}        if not errs[t]:
            continue  # no error signal at this step for any trial: G = 0
        target, tmask = targets[t], m[t]
        e_k = {out_deriv} * (target - y_k) * tmask  # eq. (19)
        G_output = e_k[:, :, None] * u[:, None, :]  # eq. (22), output units
        e_y_c = np.vecmat(e_k, W_out_cells).reshape(B, C, S)  # error at cell outputs
{inner([e_state] if e_state else [])}{inner(grads)}        G_hidden = np.concatenate({_tuple("G_" + u_.name for u_ in cell.nets)}, axis=1)
{inner(g_params)}        acc = _net.learner_change(mode, acc, ({", ".join(G)},), lr, lr_h, lr_o, W_hidden, W_output, P)  # eq. (17)
    return _net.learner_result(mode, acc, ys, lr, W_hidden, W_output, P, mask_hidden, mask_output)
'''


def _block(lines: list[str]) -> str:
    """Source lines joined, each ending in a newline (nothing for no lines)."""
    return "".join(line + "\n" for line in lines)


def _sequences(der: Derivation) -> str:
    """forward_sequence and gradient_sequence: whole sequences with the work that does not depend on the
    previous step taken out of the time loop (see their docstrings)."""
    cell = der.cell
    gates = list(cell.gates)
    state = der.state
    params = [p.name for p in cell.params]
    sp_ = f"{state.name}_prev" if state is not None else None
    psig = _partial_sigmoids(der)  # logistic values of net inputs the local partials read: kept by the forward pass
    kept = tuple(k for k in ("sg", "sgn") if any(v.name.startswith(k + "_") for v in psig.values()))
    fwd_hoist: list[str] = []
    fused, _, _ = _fused_cell_step(der, indent="        ", learner=False, keep=kept, hoist=fwd_hoist)
    fused_text = "\n".join(fused)
    kept_init = [f"    {k}s = np.empty((T, B, N), dtype=dtype)  # {k}(net) of every step, for gradient_sequence"
                 .replace(f"# {k}(net)", "# sigma(net)" if k == "sg" else "# sigma(-net)") for k in kept]
    kept_cache = ", ".join(f"{k}s" if k in kept else "None" for k in ("sg", "sgn"))
    sig_split = [f"    {v.name} = {_parts(gates, v.name.split('_', 1)[0] + 's', 'T, B')[v.name.split('_net_', 1)[1]]}"
                 for v in psig.values()]
    loop_split = [f"        net_{k} = {code}" for k, code in _parts(gates, "net").items()
                  if re.search(rf"\bnet_{k}\b", fused_text)]
    seq_split = [f"    net_{k} = {code}" for k, code in _parts(gates, "nets", "T, B").items()]
    bind = [f"    {_tuple(params)[1:-1]} = P  # per-cell parameters, each (C, S)"] if params else []
    acts = ["y_c.reshape(B, CS)"] + [f"y_{g}.reshape(B, C)" for g in gates]
    sg_now = "sgs[t]" if "sg" in kept else "sg_buf"  # where this step's sigma(net) is
    if _plain_gates(cell) and gates:  # y_g = sigma(net_g): the gate part of y(t) is that of sigma(net)
        fwd_hoist.append("    acts_c = acts[:, :, :CS].reshape(T, B, C, S)  # the cell outputs of every step")
        write_acts = ["        acts_c[t] = y_c  # y(t): cells,",
                      f"        acts[t, :, CS:] = {sg_now}[:, CS:]  # then each gate, y_g = sigma(net_g)"]
    else:
        write_acts = [f"        np.concatenate({_tuple(acts)}, axis=1, out=acts[t])  # y(t): cells, then each gate"]
    if state is not None:
        init_state = ["    states = np.empty((T, B, C, S), dtype=dtype)",
                      f"    {state.name} = np.zeros((B, C, S), dtype=dtype)"]
        carry = [f"        {sp_} = {state.name}"]
        keep = [f"        states[t] = {state.name}"]
        states_out = "states"
        prev_states = [f"    {sp_} = np.concatenate((np.zeros((1, B, C, S), dtype=dtype), states[:-1]))  # state before every step"]
    else:
        init_state, carry, keep, states_out, prev_states = [], [], [], "None", []
    inputs = [u.name for u in cell.inputs]
    targets = [t.name for t in cell.targets]
    partial_names = [n.name for n in der.partials]
    only_params = [n.name for n, e in der.partials.items() if e.free_symbols <= set(cell.params)]
    widen = [f"            {n} = np.broadcast_to({n}, (hi - lo, B, C, S))  # of parameters alone: every step alike"
             for n in only_params]
    values_lines, chunk_lines = [], []
    if partial_names:  # forward values of every step; local partials chunk by chunk inside the loop
        stored = {f"y_{k}": code for k, code in _parts(gates, "acts", "T, B").items()}
        if state is not None:
            stored[state.name] = "states"
        if all(t in stored for t in targets):  # every assigned quantity was kept by forward_sequence
            values_lines = [f"    {t} = {stored[t]}" for t in targets]
        else:
            values_lines = [
                f"    {_tuple(targets)[1:-1]} = cell_forward({', '.join(inputs)})  # forward values of every step"]
        args = [n if n in params else f"{n}[lo:hi]" for n in inputs + targets + [v.name for v in psig.values()]]
        chunk_lines = [
            "        if t < lo:  # the local partials of the next chunk of steps, in one call",
            "            hi, lo = lo, max(0, lo - chunk)",
            f"            {_tuple(partial_names)[1:-1]} = cell_partials({', '.join(args)})",
            *widen,
            "        i = t - lo  # this step within the chunk"]
    adjs = [adjoint(y).name for y in (*cell.activations, *cell.states)]
    d_hoist = [f"    d_y_{k}_seq = {code}" for k, code in _parts(gates, "d_acts", "T, B").items()]
    d_split = [f"        d_y_{k} = d_y_{k}_seq[t]" for k in _parts(gates, "d_acts")]
    d_hoist += [f"    d_net_{k}_seq = {code}" for k, code in _parts(gates, "d_nets", "T, B").items()]
    d_store = [f"        d_net_{k}_seq[t] = d_net_{k}" for k in _parts(gates, "d_nets")]
    d_outs = []
    for u in cell.inputs:
        if state is not None and u == cell.prev(state):
            d_outs.append(f"d_{state.name}")
        else:
            d_outs.append(adjoint(u).name)
    init_ds = [f"    d_{state.name} = np.zeros((B, C, S), dtype=dtype)"] if state is not None else []
    dp_init = [f"    dP_{p} = np.empty((T, B, C, S), dtype=dtype)" for p in params]
    dp_keep = [f"        dP_{p}[t] = d_{p}" for p in params]
    call = ", ".join([f"{n}[i]" for n in partial_names] + adjs)
    out_deriv = pycode(der.output_derivative)
    return f'''

# ----- whole sequences (the same arithmetic as forward_step and backward_step, with the work that does not
# depend on the previous step taken out of the time loop) -----

def forward_sequence(W_hidden, W_output, P, xs, C, S):
    """Forward pass over xs (T, B, I) from zero activations and states, weights shared by the batch; the input
    part of the net inputs before the time loop, the output units after it (Args, Returns:
    lstm_proofs/kernels/numpy_network.py, DOCS)."""
    T, B, I = xs.shape
    CS = C * S
    R = W_hidden.shape[1] - I - 1  # recurrent sources: all N_a activations, or a leading part of them
    dtype = np.result_type(xs, W_hidden, W_output, *P)
    N = W_hidden.shape[0]
    nets = _net.input_nets(xs, W_hidden, dtype)  # eqs. (6)-(9): x(t) and bias; the recurrent part added in the loop
    W_rec = W_hidden[:, I:I + R].T
    acts = np.empty((T, B, N), dtype=dtype)
{_block(init_state + kept_init + bind + fwd_hoist)}    for t in range(T):
        net = nets[t]
        if t and R:
            net += acts[t - 1, :, :R] @ W_rec  # eqs. (6)-(9): the recurrent part, y(t-1)
{_block(loop_split + carry)}{fused_text}
{_block(write_acts + keep)}    net_k, ys = _net.output_units(xs, acts, W_output)  # output units, logistic
    return ys, acts, {states_out}, (nets, {states_out}, net_k, P, {kept_cache})


def gradient_sequence(W_hidden, W_output, xs, ys, acts, cache, d_ys, truncated, C, S):
    """BPTT over the sequences of a forward_sequence call: backward_step's arithmetic, with the output units and
    the weight gradients outside the time loop and the local partials a chunk of steps at a time (Args, Returns:
    lstm_proofs/kernels/numpy_network.py, DOCS)."""
    nets, states, net_k, P, sgs, sgns = cache
    T, B, I = xs.shape
    CS = C * S
    R = W_hidden.shape[1] - I - 1
    dtype = nets.dtype
    y_k = ys
    d_net_k = d_ys * {out_deriv}  # output units: f'(net_k) through its value
    N = acts.shape[2]
    X, dW_output, d_acts = _net.output_errors(xs, acts, d_net_k, W_output, dtype)  # d_acts: error at y(t) from them
{_block(seq_split + sig_split + bind + prev_states + values_lines)}    adjoint = cell_adjoint_truncated if truncated else cell_adjoint
    chunk = max(1, CHUNK_ELEMENTS // (B * N))  # steps per cell_partials call: its arrays stay in the CPU cache
    lo = T
    back = R and not truncated  # full gradient: error flows into y(t-1) through the recurrent weights
    W_back = W_hidden[:, I:I + R]
    d_rec = d_acts[:, :, :R]
    d_nets = np.empty((T, B, N), dtype=dtype)
{_block(d_hoist + init_ds + dp_init)}    for t in range(T - 1, -1, -1):
{_block(chunk_lines)}        if back and t < T - 1:
            d_rec[t] += d_nets[t + 1] @ W_back  # error at y(t) through the recurrent weights of step t+1
{_block(d_split)}        {", ".join(d_outs)}, = adjoint({call})
{_block(d_store + dp_keep)}    dW_hidden = _net.hidden_gradient(d_nets, X, acts, R)  # sources x(t), y(t-1), bias
    dP = {_tuple(f"dP_{p}.sum(axis=(0, 1))" for p in params)}
    return dW_hidden, dW_output, dP
'''


def generate_module(der: Derivation) -> str:
    """The complete source of the generated NumPy module for a derived cell.

    Args:
        der: the cell's derivation.

    Returns:
        Python source text (deterministic: the same derivation always gives the same bytes).
    """
    cell = der.cell
    parts = [_header(cell, der), "\n# ----- cell kernels -----\n\n", _forward_kernel(der), "\n\n",
             _local_partials_kernel(der), "\n\n", _adjoint_kernel(der, truncated=False), "\n\n",
             _adjoint_kernel(der, truncated=True), "\n\n", _backward_kernel(der, truncated=False), "\n\n",
             _backward_kernel(der, truncated=True)]
    state = der.state
    if state is not None:
        items = {cell.prev(state): der.traces[cell.prev(state)]}
        items.update({u: der.traces[u] for u in der.trace_inputs if u != cell.prev(state)})
        code, _ = _partials_kernel(der, "cell_traces", items, "ds_d", f"""
        Forward-trace partials (truncated): J = d{state.name}(t)/d{state.name}(t-1) (eq. 30; exactly 1 for the CEC), then
        d{state.name}/du for every net input and parameter u that reaches the state (eqs. 25, 27).

        Returns: J as ds_d{state.name}_prev, then {", ".join("ds_d" + u.name for u in der.trace_inputs if u != cell.prev(state))}.
        """)
        parts += ["\n\n", code]
    exit_items = {}
    if state is not None:
        exit_items[state] = der.exit[state]
    exit_items.update({u: der.exit[u] for u in der.exit_inputs})
    code, _ = _partials_kernel(der, "cell_exit", exit_items, "dyc_d", """
    Exit partials with the state held fixed: dy_c/ds (eq. 23) and the same-step paths from net inputs and
    parameters to the cell output that bypass the state (the output gate, eq. 21).
    """)
    parts += ["\n\n", code, "\n", _network(der), _sequences(der),
              "\n\n_net.document(globals())  # the network functions' docstrings: Args and Returns\n"]
    text = "".join(parts)
    return text.rstrip("\n") + "\n"
