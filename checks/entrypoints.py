"""Checks ``entrypoints/<cell>/...``: the generated single-step entry points, which the other checks do not run.

The gradient, truncated and learner checks run the whole-sequence forms (``forward_sequence``,
``gradient_sequence``, ``learner_sequence``) against independent references. The generated NumPy module of every
cell also holds single-step forms, which the error-flow measurements and users' code call; these checks hold each of
them to a reference:

* ``steps``: over random sequences (the network of :func:`lstm_proofs.verify.cases.check_topology`, T =
  :data:`LENGTH`, :data:`BATCH` sequences or trials):

  - ``forward_step`` at every step (outputs, activations, states) against ``forward_sequence``;
  - ``backward_step`` from the last step back, full and truncated (every gradient array) against
    ``gradient_sequence`` (both through :class:`~lstm_proofs.network.Network`);
  - ``learner_step`` at every step followed by the weight changes of each mode (``step``: after every step;
    ``sequence``: summed, at the end; ``gradient``: the sums; ``forward``: outputs only) against
    ``learner_sequence`` (outputs, weights, sums);

  the whole-sequence forms being held to independent references by the other checks, a fault in a step form shows
  here as a disagreement;
* ``cell-kernels``: the cell-level functions at random net inputs, states and parameters, against HIPS autograd on
  the hand-written cell of :mod:`lstm_proofs.reference.autograd_models` (independent of the declarations):
  ``cell_forward`` (every activation and the state), ``cell_backward`` and ``cell_backward_truncated`` (errors at
  every net input, the previous state and every per-cell parameter, for random errors arriving at the activations
  and the state), ``cell_traces`` (``J = ds/ds(t-1)`` with the peephole reads of ``s(t-1)`` held constant, and
  ``ds/du``) and ``cell_exit`` (``dy_c/ds``, the partials of ``y_c`` that bypass the state; for cells without a
  state, ``f'(net_c)``).

Error rule: per compared array ``max |generated - reference| / max |reference|`` (normwise), the figure the
largest over all, held to 1e-12.
"""

from __future__ import annotations

import inspect
from types import ModuleType

import autograd.numpy as anp
import numpy as np
from autograd import elementwise_grad, grad

from lstm_proofs.cells import CELLS, get_cell
from lstm_proofs.network.model import Network, load_kernels
from lstm_proofs.network.topology import Params, Topology, init_params
from lstm_proofs.reference.autograd_models import _cell_step
from lstm_proofs.results import CheckResult, wanted
from lstm_proofs.verify.cases import SCALE, random_case

TOLERANCE = 1e-12
LENGTH = 12
BATCH = 3
SEED = 7
CLAIM = "code generation: every generated entry point computes the derivation"


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        a = np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape))
        b = np.broadcast_to(b, a.shape)
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    diff = float(np.max(np.abs(a - b))) if b.size else 0.0
    if not np.isfinite(diff):
        return float("inf")
    return diff / scale if scale > 0 else diff


# ----- step forms against whole-sequence forms -----

def _steps_forward_backward(k: ModuleType, top: Topology, params: Params, xs, targets, mask, out: dict) -> None:
    T, B, _ = xs.shape
    C, S = top.n_blocks, top.block_size
    P = params.cell_params(top)
    a = np.zeros((B, top.n_activations))
    s = np.zeros((B, C, S)) if k.STATE else None
    ys, acts, states, caches = [], [], [], []
    for t in range(T):
        y, a, s, cache = k.forward_step(params.W_hidden, params.W_output, P, xs[t], a, s, C, S)
        ys.append(y)
        acts.append(a)
        states.append(s)
        caches.append(cache)
    ys = np.stack(ys)
    net = Network(top, k)
    fwd = net.forward(params, xs)
    out["forward_step: outputs"] = _rel(ys, fwd.outputs)
    out["forward_step: activations"] = _rel(np.stack(acts), fwd.activations)
    if k.STATE:
        out["forward_step: states"] = _rel(np.stack(states), fwd.states)
    masks = top.masks()
    for truncated in (False, True):
        kind = "truncated" if truncated else "full"
        d_ys = mask[..., None] * (ys - targets)
        d_a = np.zeros((B, top.n_activations))
        d_s = np.zeros((B, C, S)) if k.STATE else None
        g = {"W_hidden": np.zeros_like(params.W_hidden), "W_output": np.zeros_like(params.W_output)}
        gP = [np.zeros_like(p) for p in P]
        for t in range(T - 1, -1, -1):
            dW_h, dW_o, dP, d_a, d_s = k.backward_step(params.W_hidden, params.W_output, P, caches[t], d_ys[t], d_a,
                                                       d_s, truncated, C, S)
            g["W_hidden"] = g["W_hidden"] + dW_h
            g["W_output"] = g["W_output"] + dW_o
            gP = [acc + d for acc, d in zip(gP, dP)]
        g = {name: v * masks[name] for name, v in g.items()}
        for p, v in zip(top.declaration.params, gP):
            g["P_" + p.name[2:]] = v
        _, ref = net.loss_and_grad(params, xs, targets, mask, truncated=truncated)
        for name, v in g.items():
            out[f"backward_step ({kind}): {name}"] = _rel(v, ref.arrays[name])


def _learner_steps(k: ModuleType, top: Topology, trials: list[Params], lr, xs, targets, mask, mode: str, out: dict):
    T, B, _ = xs.shape
    C, S = top.n_blocks, top.block_size
    masks = top.masks()
    mask_h, mask_o = masks["W_hidden"].astype(float), masks["W_output"].astype(float)

    def stacked():
        return (np.stack([p.W_hidden for p in trials]), np.stack([p.W_output for p in trials]),
                tuple(np.stack([p.cell_params(top)[j] for p in trials]) for j in range(len(k.PARAMS))))

    W_h, W_o, P = stacked()
    alpha = lr.reshape(B, 1, 1)
    a = np.zeros((B, top.n_activations))
    s = np.zeros((B, C, S)) if k.STATE else None
    traces = tuple(np.zeros((B, C, S, top.n_sources)) if n.startswith("net_") else np.zeros((B, C, S))
                   for n in k.TRACE_INPUTS)
    m3 = mask if mask.ndim == 3 else mask[..., None]
    ys = np.empty((T, B, top.n_out))
    acc = None
    for t in range(T):
        y, a, s, traces, G_h, G_o, G_p = k.learner_step(W_h, W_o, P, xs[t], a, s, traces, targets[t], m3[t], C, S)
        ys[t] = y
        if mode == "forward":
            continue
        if mode == "step":
            W_h = W_h + alpha * (G_h * mask_h)
            W_o = W_o + alpha * (G_o * mask_o)
            P = tuple(p + alpha * g for p, g in zip(P, G_p))
        elif acc is None:
            acc = [G_h, G_o, *G_p]
        else:
            acc = [x + g for x, g in zip(acc, (G_h, G_o, *G_p))]
    if mode == "sequence":
        W_h = W_h + alpha * (acc[0] * mask_h)
        W_o = W_o + alpha * (acc[1] * mask_o)
        P = tuple(p + alpha * g for p, g in zip(P, acc[2:]))
    got_W_h, got_W_o, got_P = stacked()
    got_P = tuple(p.copy() for p in got_P)
    got_ys, sums = k.learner_sequence(got_W_h, got_W_o, got_P, lr, xs, targets, mask, mask_h, mask_o, mode, C, S)
    out[f"learner_step ({mode}): outputs"] = _rel(ys, got_ys)
    if mode in ("step", "sequence"):
        start = stacked()
        for name, mine, ref, before in (("W_hidden", W_h, got_W_h, start[0]), ("W_output", W_o, got_W_o, start[1])):
            out[f"learner_step ({mode}): change of {name}"] = _rel(mine - before, ref - before)
        for name, mine, ref, before in zip(k.PARAMS, P, got_P, start[2]):
            out[f"learner_step ({mode}): change of {name}"] = _rel(mine - before, ref - before)
    if mode == "gradient":
        for name, mine, ref in zip(("W_hidden", "W_output", *k.PARAMS), acc, (sums[0], sums[1], *sums[2])):
            out[f"learner_step (gradient): sum for {name}"] = _rel(mine, ref)


def compare_steps(cell: str, kernels: ModuleType | None = None) -> dict[str, float]:
    """Step forms against whole-sequence forms of ``kernels`` (default: the checked-in NumPy module)."""
    k = kernels if kernels is not None else load_kernels(cell)
    case = random_case(cell, LENGTH, BATCH, SEED)
    top = case.topology
    out: dict[str, float] = {}
    _steps_forward_backward(k, top, case.params, case.xs, case.targets, case.mask, out)
    rng = np.random.default_rng([SEED, 1])
    trials = [init_params(top, rng, interval=SCALE.get(cell, 1.0)) for _ in range(BATCH)]
    lr = np.linspace(0.2, 0.6, BATCH)
    for mode in ("forward", "step", "sequence", "gradient"):
        _learner_steps(k, top, trials, lr, case.xs, case.targets, case.mask, mode, out)
    return out


# ----- cell-level kernels against autograd on the hand-written cell -----

def _cell_inputs(k: ModuleType, rng: np.random.Generator, B: int, C: int, S: int) -> dict[str, np.ndarray]:
    """Random net inputs (gate nets per cell, so that every partial is per cell), previous state, parameters."""
    v = {"net_c": rng.uniform(-2, 2, (B, C, S))}
    for g in k.GATES:
        v[f"net_{g}"] = rng.uniform(-2, 2, (B, C, S))
    if k.STATE:
        v["s_prev"] = rng.uniform(-2, 2, (B, C, S))
    for p in k.PARAMS:
        v[p] = rng.uniform(-1, 1, (B, C, S))
    return v


def _hand(cell: str, gates: tuple[str, ...], v: dict, truncated: bool) -> dict:
    """The hand-written cell's activations and state (by name) at the values ``v``."""
    nets = {"c": v["net_c"], **{g: v[f"net_{g}"] for g in gates}}
    for p in ("p_in", "p_forget", "p_out"):
        if p in v:
            nets[p] = v[p]
    y_c, gate_acts, s = _cell_step(cell, nets, v.get("s_prev"), truncated)
    out = {"y_c": y_c, **{f"y_{g}": a for g, a in zip(gates, gate_acts)}}
    if s is not None:
        out["s"] = s
    return out


def compare_cell_kernels(cell: str, kernels: ModuleType | None = None) -> dict[str, float]:
    """``cell_forward``, ``cell_backward(_truncated)``, ``cell_traces`` and ``cell_exit`` of ``kernels`` (default:
    the checked-in NumPy module) against autograd on the hand-written cell."""
    k = kernels if kernels is not None else load_kernels(cell)
    rng = np.random.default_rng([SEED, 2])
    B, C = 2, 2
    S = 2 if get_cell(cell).shared_gates else 1  # cells per block: several only where the gates are shared
    v = _cell_inputs(k, rng, B, C, S)
    names = list(v)
    out: dict[str, float] = {}

    def call(fn, values):
        return fn(*[values[p] for p in inspect.signature(fn).parameters])

    fwd = call(k.cell_forward, v)
    fwd = fwd if isinstance(fwd, tuple) else (fwd,)
    values = dict(v, **dict(zip(k.TARGETS, fwd)))
    hand = _hand(cell, k.GATES, v, truncated=False)
    for name, ref in hand.items():
        out[f"cell_forward: {name}"] = _rel(values[name], ref)

    # adjoint step: random errors arriving at the activations and the state. Where the cell type shares its gates
    # among a block's cells, the gate nets are per block (B, C, 1), as the network gives them: the adjoint step
    # sums the errors of the block's cells at a gate activation
    bv = dict(v)
    if get_cell(cell).shared_gates:
        for g in k.GATES:
            bv[f"net_{g}"] = v[f"net_{g}"][:, :, :1]
    bfwd = call(k.cell_forward, bv)
    bvalues = dict(bv, **dict(zip(k.TARGETS, bfwd if isinstance(bfwd, tuple) else (bfwd,))))
    errors = {f"d_{name}": rng.standard_normal(np.shape(a)) for name, a in _hand(cell, k.GATES, bv, False).items()}
    for truncated, fn in ((False, "cell_backward"), (True, "cell_backward_truncated")):
        def weighted(*args, truncated=truncated):
            acts = _hand(cell, k.GATES, dict(zip(names, args)), truncated)
            return sum(anp.sum(errors[f"d_{n}"] * a) for n, a in acts.items())
        given = {e: errors.get(e, 0.0) for e in inspect.signature(getattr(k, fn)).parameters if e.startswith("d_")}
        got = call(getattr(k, fn), dict(bvalues, **given))
        got = got if isinstance(got, tuple) else (got,)
        for i, name in enumerate(names):
            out[f"{fn}: d_{name}"] = _rel(got[i], grad(weighted, i)(*[bv[n] for n in names]))

    if k.STATE:
        traces = call(k.cell_traces, values)
        i_prev = names.index("s_prev")

        def state(*args):
            return _hand(cell, k.GATES, dict(zip(names, args)), truncated=True)["s"]
        args = [v[n] for n in names]
        out["cell_traces: J = ds/ds_prev"] = _rel(traces[0], elementwise_grad(state, i_prev)(*args))
        for name, got in zip(k.TRACE_INPUTS, traces[1:]):
            out[f"cell_traces: ds/d{name}"] = _rel(got, elementwise_grad(state, names.index(name))(*args))
        exits = call(k.cell_exit, values)

        def cell_out(*args):
            return _hand(cell, k.GATES, dict(zip(names, args)), truncated=True)["y_c"]
        # dy_c/ds with the state a variable: y_c depends on s(t-1) only through s (reads elsewhere held constant),
        # so d y_c / d s(t-1) = dy_c/ds * J
        through = elementwise_grad(cell_out, i_prev)(*args)
        J = elementwise_grad(state, i_prev)(*args)
        out["cell_exit: dy_c/ds * J"] = _rel(np.asarray(exits[0]) * J, through)
        for name, got in zip(k.EXIT_INPUTS, exits[1:]):
            out[f"cell_exit: dy_c/d{name}"] = _rel(got, elementwise_grad(cell_out, names.index(name))(*args))
    else:
        exits = call(k.cell_exit, values)

        def cell_out(*args):
            return _hand(cell, k.GATES, dict(zip(names, args)), truncated=False)["y_c"]
        for name, got in zip(k.EXIT_INPUTS, exits):
            out[f"cell_exit: dy_c/d{name}"] = _rel(got, elementwise_grad(cell_out, names.index(name))(*[v[n] for n in names]))
    return out


def _result(cid: str, title: str, reference: str, errors: dict[str, float]) -> CheckResult:
    worst = max(errors, key=errors.get)
    passed = bool(errors[worst] <= TOLERANCE)
    return CheckResult(id=cid, passed=passed, max_rel_error=errors[worst], tolerance=TOLERANCE, title=title,
                       reference=reference, claim=CLAIM,
                       details={"errors": errors, "worst": worst, "compared": len(errors),
                                "rule": "max|generated - reference| / max|reference| per array"},
                       message="" if passed else f"{cid}: {worst} differs by {errors[worst]:.3e} "
                                                 f"(tolerance {TOLERANCE:g})")


def check_cell(cell: str, kernels: ModuleType | None = None) -> list[CheckResult]:
    """Both entry-point checks of one cell (``kernels``: the generated NumPy module to test)."""
    return [
        _result(f"entrypoints/{cell}/steps", f"{cell}: forward_step, backward_step (full, truncated) and learner_step "
                "(every mode) = the whole-sequence forms", "the generated whole-sequence forms, themselves checked "
                "against independent references", compare_steps(cell, kernels)),
        _result(f"entrypoints/{cell}/cell-kernels", f"{cell}: cell_forward, cell_backward(_truncated), cell_traces, "
                "cell_exit = autograd on the hand-written cell", "HIPS autograd on the hand-written cell "
                "(lstm_proofs/reference/autograd_models.py)", compare_cell_kernels(cell, kernels)),
    ]


def run_checks(full: bool = False, only: str | None = None) -> list[CheckResult]:
    """The entry-point checks of every declared cell (of the cells ``only``, an id prefix, can match)."""
    return [r for cell in CELLS if wanted(f"entrypoints/{cell}/", only) for r in check_cell(cell)]
