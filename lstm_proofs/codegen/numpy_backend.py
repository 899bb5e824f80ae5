"""Generate the NumPy module of a cell from its derivation.

The module holds two layers of functions:

* **cell kernels**, printed from the derivation with common-subexpression elimination: ``cell_forward`` (the
  declaration's equations), ``cell_backward`` / ``cell_backward_truncated`` (the adjoint step), ``cell_traces``
  (forward-trace partials) and ``cell_exit`` (exit partials);
* **network steps**, which compose the cell kernels with the linear algebra of the paper's network (Section 4,
  Appendix A.1): ``forward_step``, ``backward_step`` (one step of backpropagation through time, full or truncated)
  and ``learner_step`` (one step of the paper's online learner with forward-accumulated traces).
"""

from __future__ import annotations

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


def _function(name: str, args: str, doc: str, body: list[str], returns: list[str], ops: int) -> str:
    doc = textwrap.indent(textwrap.dedent(doc).strip(), "    ")
    lines = [f"def {name}({args}):", '    """' + doc.lstrip(), "", f"    Total ops: {ops}", '    """', *body]
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


def _backward_kernel(der: Derivation, truncated: bool) -> str:
    cell = der.cell
    steps = der.backward_truncated if truncated else der.backward
    ordered = cse_assignments(steps)
    outputs = {adjoint(u) for u in cell.inputs}
    body = []
    notes = {}
    for t, _ in steps:
        if t.name.startswith("a_"):
            notes[t] = f"error at {t.name[2:]}"
    for target, expr in ordered:
        if target in outputs:
            u = sp.Symbol(target.name[2:])
            lvl = cell.level(u)
            body.append(f"    {target.name} = {_shaped(cell, expr, lvl, u.name)}")
        else:
            body.extend(emit_lines([(target, expr)], notes=notes))
    adjs = [adjoint(y) for y in (*cell.activations, *cell.states)]
    kind = "truncated gradient (Appendix A.1: a previous state reaches the gradient only through its own CEC equation)" if truncated else "full gradient"
    doc = f"""
    Adjoint step of cell '{cell.name}' ({kind}).

    Args: the forward inputs, the forward values ({_args(cell.targets)}), and the errors arriving at the cell's
        activations and state from later computations: {_args(adjs)}.
    Returns: the errors at the inputs: {_args(adjoint(u) for u in cell.inputs)} (per batch element).
    """
    args = ", ".join([_args(cell.inputs), _args(cell.targets), _args(adjs)])
    return _function("cell_backward_truncated" if truncated else "cell_backward", args, doc, body,
                     [adjoint(u).name for u in cell.inputs], op_count(e for _, e in ordered))


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


def _fused_cell_step(der: Derivation, indent: str = "    ") -> tuple[list[str], list[str], list[str]]:
    """Lines of learner_step that evaluate the cell: its equations, trace partials and exit partials in one block.

    The same expressions as cell_forward, cell_traces and cell_exit, but with common subexpressions shared across
    the three (each sigma is evaluated once) and the logistic function of every net input taken from two calls over
    the whole net-input vector.

    Returns:
        (lines, names of the trace partials (J first), names of the exit partials).
    """
    cell = der.cell
    state = der.state
    items: list[tuple[sp.Symbol, sp.Expr]] = [(eq.target, eq.expr) for eq in cell.equations]
    labels = {eq.target: eq.label for eq in cell.equations}
    trace_names: list[str] = []
    if state is not None:
        J = sp.Symbol("J")
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
    exit_items = {}
    if state is not None:
        exit_items[state] = der.exit[state]
    exit_items.update({u: der.exit[u] for u in der.exit_inputs})
    exit_names = []
    for u, e in exit_items.items():
        name = sp.Symbol(f"dyc_d{u.name}")
        items.append((name, e))
        labels[name] = "eq. (23): exit through the state" if u == state else "eq. (21): exit bypassing the state"
        exit_names.append(name.name)
    sig = _net_sigmoids(cell, [e for _, e in items])
    extra = {v: cell.level(sp.Symbol(v.name.split("_", 1)[1])) for v in sig.values()}
    items = [(t, e.xreplace(sig)) for t, e in items]
    lines = []
    gates = list(cell.gates)
    for kind, neg in (("sg", ""), ("sgn", "-")):
        used = [v for v in sig.values() if v.name.startswith(kind + "_")]
        if not used:
            continue
        what = "sigma(net)" if not neg else "sigma(-net) (sigma' = sigma(net) * sigma(-net))"
        lines.append(f"{indent}{kind} = _k.sigmoid({neg}net)  # {what} of every cell and gate, in one call")
        for v in used:
            net = v.name.split("_", 1)[1]
            if net == "net_c":
                lines.append(f"{indent}{v.name} = {kind}[:, :CS].reshape(B, C, S)")
            else:
                i = gates.index(net[4:])
                lines.append(f"{indent}{v.name} = {kind}[:, CS + {i} * C:CS + {i + 1} * C].reshape(B, C, 1)")
    outs = {t for t, _ in items}
    for target, expr in cse_assignments(items):
        if target in outs:
            if target in cell.targets:
                lvl = cell.level(target)
                code = _shaped(cell, expr, lvl, _like(cell, lvl), extra)
            else:
                code = _shaped(cell, expr, "cell", "net_c", extra)
            lines.append(f"{indent}{target.name} = {code}  # {labels[target]}")
        else:
            lines.extend(emit_lines([(target, expr)], indent=indent))
    return lines, trace_names, exit_names


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

CELL = {cell.name!r}
GATES = {tuple(cell.gates)!r}
STATE = {der.state.name if der.state is not None else None!r}
PARAMS = {tuple(p.name for p in cell.params)!r}
TARGETS = {tuple(t.name for t in cell.targets)!r}
TRACE_INPUTS = {tuple(u.name for u in der.trace_inputs if u not in cell.states and not u.name.endswith("_prev"))!r}
EXIT_INPUTS = {tuple(u.name for u in der.exit_inputs)!r}
'''


def _network(der: Derivation) -> str:
    cell = der.cell
    gates = cell.gates
    state = der.state
    sp_ = state.name + "_prev" if state is not None else "s_prev"
    trace_inputs = [u for u in der.trace_inputs if not u.name.endswith("_prev")]
    exit_inputs = list(der.exit_inputs)
    params = [p.name for p in cell.params]

    split = ["    net_c = net[:, :CS].reshape(B, C, S)"]
    for i, g in enumerate(gates):
        split.append(f"    net_{g} = net[:, CS + {i} * C:CS + {i + 1} * C].reshape(B, C, 1)")
    act_parts = ["x", "y_c.reshape(B, CS)"] + [f"y_{g}.reshape(B, C)" for g in gates] + ["np.ones((B, 1), dtype=x.dtype)"]
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
    learn_common = "\n".join(split + bind + fused) + "\n" + outputs_in
    forward = f'''
# ----- network steps (Section 4 topology; Section 5 timing: inputs, then hidden units, then outputs) -----

def forward_step(W_hidden, W_output, P, x, a_prev, {sp_}, C, S):
    """One time step of the network with weights shared across the batch.

    Args:
        W_hidden: (C*S + G*C, Z) weights into cells (rows 0..CS-1), then each gate's C rows (GATES order). The
            caller may drop the columns of activations R..N_a-1 when they hold no weights (Z = I + R + 1; under
            recurrent='cells' the gates feed nothing back): they would only multiply zeros.
        W_output: (K, U) weights into the output units.
        P: tuple of per-cell parameters in PARAMS order, each (C, S).
        x: (B, I) current inputs; a_prev: (B, N_a) previous hidden activations; {sp_}: previous state (B, C, S).
        C, S: number of blocks and cells per block.

    Returns:
        y_k (B, K) outputs, a (B, N_a) activations, {state_out} (new state), and the cache for backward_step.
    """
    B = x.shape[0]
    CS = C * S
    I = x.shape[1]
    R = W_hidden.shape[1] - I - 1  # recurrent sources in W_hidden: all N_a activations, or a leading part of them
    z = np.concatenate((x, a_prev[:, :R], np.ones((B, 1), dtype=x.dtype)), axis=1)  # sources y^u: x(t), y(t-1), bias
    net = z @ W_hidden.T  # eqs. (6)-(9): net inputs of cells and gates
{fwd_common}    net_k = u @ W_output.T
    y_k = _k.sigmoid(net_k)  # output units, logistic
    cache = (z, u, {", ".join(cell_in_n for cell_in_n in [u_.name for u_ in cell.inputs if u_.name not in params])}, {", ".join(t.name for t in cell.targets)}, net_k, y_k)
    return y_k, a, {state_out}, cache
'''
    # ----- backward -----
    adj_split = ["    d_y_c = d_a[:, :CS].reshape(B, C, S)"]
    for i, g in enumerate(gates):
        adj_split.append(f"    d_y_{g} = d_a[:, CS + {i} * C:CS + {i + 1} * C].reshape(B, C, 1)")
    cache_names = ["z", "u"] + [u_.name for u_ in cell.inputs if u_.name not in params] + [t.name for t in cell.targets] + ["net_k", "y_k"]
    adj_in = [adjoint(y).name for y in (*cell.activations, *cell.states)]
    call_args = ", ".join(cell_in + [t.name for t in cell.targets] + adj_in)
    d_out = [adjoint(u_).name for u_ in cell.inputs]
    d_net_parts = ["d_net_c.reshape(B, CS)"] + [f"d_net_{g}.reshape(B, C)" for g in gates]
    d_s_name = "d_" + state.name if state is not None else "d_s"
    d_sprev = ("d_" + state.name + "_prev") if state is not None else "None"
    backward = f'''

def backward_step(W_hidden, W_output, P, cache, d_y_k, d_a, {d_s_name}, truncated, C, S):
    """One step of backpropagation through time, composed from the derived adjoint step of the cell.

    Args:
        W_hidden, W_output, P: as given to forward_step; cache: forward_step's cache for this step.
        d_y_k: (B, K) error at the outputs (dL/dy_k); d_a: (B, N_a) error at this step's activations arriving
            through the recurrent weights of the next step; {d_s_name}: error at this step's state from the next step.
        truncated: True for the paper's truncated gradient: errors reaching the net inputs of cells and gates are
            not propagated to the previous step's activations (Section 4, Appendix A.1).

    Returns:
        dW_hidden, dW_output, dP (tuple, summed over the batch), d_a_prev (B, N_a), {d_sprev}.
    """
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
    trace_update = []
    for u, tn in zip(trace_inputs, trace_names):
        if u.name in params:
            trace_update.append(f"    {tn} = J * {tn} + ds_d{u.name}  # forward trace of parameter {u.name}")
        else:
            trace_update.append(f"    {tn} = J[..., None] * {tn} + ds_d{u.name}[..., None] * z[:, None, None, :]  # eqs. (25), (27): ds/dw_(l,m) += ds/dnet_l * y^m")
    grads = []
    for u in (*cell.nets,):
        terms = []
        lvl = cell.level(u)
        if u in trace_inputs:
            if lvl == "cell":
                terms.append(f"(e_{state.name}[..., None] * T_{u.name}).reshape(B, CS, -1)")
            else:
                terms.append(f"np.einsum('bcs,bcsz->bcz', e_{state.name}, T_{u.name})")
        if u in exit_inputs:
            red = "_k.block_sum" if lvl == "block" else ""
            n = "CS" if lvl == "cell" else "C"
            terms.append(f"{red}(e_y_c * dyc_d{u.name}).reshape(B, {n})[:, :, None] * z[:, None, :]")
        n = "CS" if lvl == "cell" else "C"
        grads.append(f"    G_{u.name} = " + (" + ".join(terms) if terms else f"np.zeros((B, {n}, z.shape[1]))")
                     + ("  # eqs. (24), (26), (28)" if u in trace_inputs else "  # eqs. (21), (22)"))
    g_params = []
    for p in params:
        terms = []
        psym = sp.Symbol(p)
        if psym in trace_inputs:
            terms.append(f"e_{state.name} * T_{p}")
        if psym in exit_inputs:
            terms.append(f"e_y_c * dyc_d{p}")
        g_params.append(f"    G_{p} = " + (" + ".join(terms) if terms else "np.zeros((B, C, S))"))
    e_state = f"    e_{state.name} = e_y_c * dyc_d{state.name}  # eq. (23): error at the state" if state is not None else ""
    learner = f'''

def learner_step(W_hidden, W_output, P, x, a_prev, {sp_}, traces, target, tmask, C, S):
    """One time step of the paper's online learner (Appendix A.1), each batch element an independent trial.

    Forward step, forward-accumulated traces ds/dw (eqs. 25, 27), output error (eq. 19), and the gradient
    estimate of this step (eqs. 20-28): errors are truncated once they leave a cell or gate, except inside the
    CEC, where the traces carry them. The caller adds alpha times the returned gradients to the weights.

    Args:
        W_hidden: (B, C*S + G*C, Z), W_output: (B, K, U): per-trial weights.
        P: per-trial per-cell parameters, each (B, C, S).
        x: (B, I); a_prev: (B, N_a); {sp_}: (B, C, S).
        traces: tuple in TRACE_INPUTS order; (B, C, S, Z) for net inputs, (B, C, S) for parameters.
        target: (B, K) targets; tmask: (B, 1) or (B, K), 1.0 where an error signal is given at this step.

    Returns:
        y_k, a, {state_out}, traces, G_hidden (B, C*S + G*C, Z), G_output (B, K, U), G_P (tuple, each (B, C, S)),
        where G = -dE(t)/dw with E(t) = 1/2 sum_k (t_k - y_k)^2 (eq. 16 with the factor 2 absorbed, eq. 19).
    """
    B = x.shape[0]
    CS = C * S
    I = x.shape[1]
    z = np.concatenate((x, a_prev, np.ones((B, 1), dtype=x.dtype)), axis=1)
    net = np.matmul(W_hidden, z[:, :, None])[:, :, 0]  # eqs. (6)-(9)
    # the cell: equations, trace partials (eqs. 25, 27, 30) and exit partials (eqs. 21, 23) in one block
{learn_common}    net_k = np.matmul(W_output, u[:, :, None])[:, :, 0]
    y_k = _k.sigmoid(net_k)
    {", ".join(trace_names) + ", = traces" if trace_names else "_ = traces"}
{chr(10).join(trace_update)}
    e_k = {out_deriv} * (target - y_k) * tmask  # eq. (19)
    G_output = e_k[:, :, None] * u[:, None, :]  # eq. (22), output units
    e_y_c = np.matmul(e_k[:, None, :], W_output[:, :, I:I + CS])[:, 0, :].reshape(B, C, S)  # error at cell outputs
{e_state}
{chr(10).join(grads)}
    G_hidden = np.concatenate({_tuple("G_" + u_.name for u_ in cell.nets)}, axis=1)
{chr(10).join(g_params)}
    return y_k, a, {state_out}, {_tuple(trace_names)}, G_hidden, G_output, {_tuple("G_" + p for p in params)}
'''
    return forward + backward + learner


def generate_module(der: Derivation) -> str:
    """The complete source of the generated NumPy module for a derived cell.

    Args:
        der: the cell's derivation.

    Returns:
        Python source text (deterministic: the same derivation always gives the same bytes).
    """
    cell = der.cell
    parts = [_header(cell, der), "\n# ----- cell kernels -----\n\n", _forward_kernel(der), "\n\n",
             _backward_kernel(der, truncated=False), "\n\n", _backward_kernel(der, truncated=True)]
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
    parts += ["\n\n", code, "\n", _network(der)]
    text = "".join(parts)
    return text.rstrip("\n") + "\n"
