"""An independently written HIPS-autograd model of the same networks.

Nothing here uses the SymPy declarations or the generated code: each cell type's forward step is written out by
hand in ``autograd.numpy``, and autograd differentiates it. Same parameter layout as
:mod:`lstm_proofs.network.topology`, same loss ``L = 1/2 sum mask (t - y)^2``, same timing (hidden units read the
inputs x(t), the previous hidden activations and a bias; output units read x(t), the current activations and a bias).

With ``truncated=True`` a stop-gradient is placed at every truncation point of the paper's gradient: the previous
step's activations where they enter the net inputs of cells and gates, and, for peephole cells, the previous state
where it enters a gate (the previous state reaches the gradient only through its own state equation).
"""

from __future__ import annotations

from collections.abc import Callable

import autograd.numpy as anp
import numpy as np
from autograd import grad
from autograd.tracer import getval

from lstm_proofs.network.topology import Params, Topology


def _logistic(x):
    # exp(-log(1 + e^-x)): autograd's derivative of logaddexp stays finite for any x (that of tanh, 1/cosh^2,
    # overflows beyond |x| ~ 710)
    return anp.exp(-anp.logaddexp(0.0, -x))


def _tanh(x):
    return 2.0 * _logistic(2.0 * x) - 1.0


def _g(x):  # Appendix A.1 eq. (5)
    return 4.0 * _logistic(x) - 2.0


def _h(x):  # Appendix A.1 eq. (4)
    return 2.0 * _logistic(x) - 1.0


def _cell_step(cell: str, nets: dict, s_prev, truncated: bool):
    """Hand-written forward step of each cell type: returns (y_c, gate activations in GATES order, state)."""
    stop = getval if truncated else (lambda v: v)
    if cell == "lstm1997":
        y_in, y_out = _logistic(nets["in"]), _logistic(nets["out"])
        s = s_prev + y_in * _g(nets["c"])
        return y_out * _h(s), [y_in, y_out], s
    if cell == "lstm1997_hid":  # h the identity
        y_in, y_out = _logistic(nets["in"]), _logistic(nets["out"])
        s = s_prev + y_in * _g(nets["c"])
        return y_out * s, [y_in, y_out], s
    if cell == "lstm1997_swap":  # Table 10's caption: g in [-1, 1], h in [-2, 2]
        y_in, y_out = _logistic(nets["in"]), _logistic(nets["out"])
        s = s_prev + y_in * (2.0 * _logistic(nets["c"]) - 1.0)
        return y_out * (4.0 * _logistic(s) - 2.0), [y_in, y_out], s
    if cell == "lstm1997_2a":
        y_in = _logistic(nets["in"])
        s = s_prev + y_in * _logistic(nets["c"])
        return s, [y_in], s
    if cell == "forget":
        y_in, y_f, y_out = _logistic(nets["in"]), _logistic(nets["forget"]), _logistic(nets["out"])
        s = y_f * s_prev + y_in * _g(nets["c"])
        return y_out * _h(s), [y_in, y_f, y_out], s
    if cell in ("peephole", "vanilla"):
        squash_in, squash_out = (_g, _h) if cell == "peephole" else (_tanh, _tanh)
        seen = stop(s_prev)
        y_in = _logistic(nets["in"] + nets["p_in"] * seen)
        y_f = _logistic(nets["forget"] + nets["p_forget"] * seen)
        s = y_f * s_prev + y_in * squash_in(nets["c"])
        y_out = _logistic(nets["out"] + nets["p_out"] * s)
        return y_out * squash_out(s), [y_in, y_f, y_out], s
    if cell.startswith("vanilla_"):
        return _greff_step(cell[len("vanilla_"):], nets, s_prev, stop)
    if cell == "rnn":
        return _logistic(nets["c"]), [], None
    if cell == "rnn_tanh":
        return _tanh(nets["c"]), [], None
    if cell == "rnn_linear":
        return nets["c"], [], None
    raise ValueError(f"no reference model for cell {cell!r}")


def _greff_step(variant: str, nets: dict, s_prev, stop):
    """Greff et al. (2017), Section 3: vanilla with one change, written out from the paper's equations.

    Vanilla: z = tanh(net_c); i = sigma(net_in + p_i c(t-1)); f = sigma(net_f + p_f c(t-1));
    c = z i + c(t-1) f; o = sigma(net_o + p_o c); y = tanh(c) o. Returns the gates in the declared gate order
    (in, forget, out, each where the variant has it)."""
    seen = stop(s_prev)
    peep = variant != "np"

    def gate(name, source):
        return _logistic(nets[name] + (nets["p_" + name] * source if peep else 0.0))

    z = nets["c"] if variant == "niaf" else _tanh(nets["c"])
    i = 1.0 if variant == "nig" else gate("in", seen)
    if variant == "nfg":
        f = 1.0
    elif variant == "cifg":
        f = 1.0 - i
    else:
        f = gate("forget", seen)
    c = z * i + s_prev * f
    o = 1.0 if variant == "nog" else gate("out", c)
    y = (c if variant == "noaf" else _tanh(c)) * o
    gates = [g for g, absent in ((i, variant == "nig"), (f, variant in ("nfg", "cifg")), (o, variant == "nog"))
             if not absent]
    return y, gates, c


def _unpacker(top: Topology) -> Callable:
    """Vector -> dense parameter arrays, differentiably (a constant selection matrix per array)."""
    masks = top.masks()
    pieces = []
    start = 0
    for name, shape in top.param_shapes().items():
        idx = np.flatnonzero(masks[name].ravel())
        select = np.zeros((int(np.prod(shape)), len(idx)))
        select[idx, np.arange(len(idx))] = 1.0
        pieces.append((name, shape, start, start + len(idx), select))
        start += len(idx)

    def unpack(v):
        return {name: anp.reshape(anp.dot(sel, v[a:b]), shape) for name, shape, a, b, sel in pieces}
    return unpack


def loss_fn(top: Topology, truncated: bool = False) -> Callable:
    """``f(vector, xs, targets, mask) -> L`` for the network ``top`` (see the module docstring)."""
    cell, gates = top.cell, top.gates
    C, S = top.n_blocks, top.block_size
    unpack = _unpacker(top)
    rows = top.row_slices()
    stop = getval if truncated else (lambda v: v)

    def f(vector, xs, targets, mask):
        p = unpack(vector)
        T, B, _ = xs.shape
        a = anp.zeros((B, top.n_activations))
        s = anp.zeros((B, C, S))
        ones = anp.ones((B, 1))
        m = mask if mask.ndim == 3 else mask[..., None]
        total = 0.0
        for t in range(T):
            z = anp.concatenate([xs[t], stop(a), ones], axis=1)
            net = anp.dot(z, p["W_hidden"].T)
            nets = {"c": anp.reshape(net[:, rows["c"]], (B, C, S))}
            for gname in gates:
                nets[gname] = anp.reshape(net[:, rows[gname]], (B, C, 1))
            for key in ("p_in", "p_forget", "p_out"):  # peephole weights, where the cell type has them
                if "P_" + key[2:] in p:
                    nets[key] = p["P_" + key[2:]]
            y_c, gate_acts, s = _cell_step(cell, nets, s, truncated)
            parts = [anp.reshape(y_c, (B, C * S))] + [anp.reshape(gv, (B, C)) for gv in gate_acts]
            a = anp.concatenate(parts, axis=1)
            u = anp.concatenate([xs[t], a, ones], axis=1)
            y = _logistic(anp.dot(u, p["W_output"].T))
            total = total + 0.5 * anp.sum(m[t] * (targets[t] - y) ** 2)
        return total
    return f


def gradient(top: Topology, params: Params, xs: np.ndarray, targets: np.ndarray, mask: np.ndarray,
             truncated: bool = False) -> Params:
    """dL/dparams by autograd on the hand-written model."""
    g = grad(loss_fn(top, truncated))(params.to_vector(top), xs, targets, mask)
    return Params.from_vector(top, np.asarray(g))
