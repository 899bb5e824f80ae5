"""The generated NumPy ``learner_sequence`` equals a loop of the generated ``learner_step`` followed by the
weight changes, bit for bit, for every cell with a learner and every mode (the loop below is the reference: the
way OnlineLearner applied learner_step before learner_sequence existed)."""

import numpy as np
import pytest

from lstm_proofs.cells import CELLS
from lstm_proofs.errors import UserError
from lstm_proofs.network import Topology, init_params
from lstm_proofs.network.model import load_kernels

LEARNER_CELLS = [c for c in CELLS if hasattr(load_kernels(c), "learner_sequence")]


def _topology(cell: str) -> Topology:
    try:
        return Topology(cell, 3, 2, 2, 2, bias="all")
    except UserError:  # cells whose gates read per-cell quantities: blocks of one cell
        return Topology(cell, 3, 2, 3, 1, bias="all")


def _problem(cell: str, B: int, T: int, seed: int = 3):
    top = _topology(cell)
    rng = np.random.default_rng(seed)
    trials = [init_params(top, np.random.default_rng(seed + 10 + i), 0.5) for i in range(B)]
    W_h = np.stack([p.W_hidden for p in trials])
    W_o = np.stack([p.W_output for p in trials])
    P = tuple(np.stack([p.cell_params(top)[j] for p in trials]) for j in range(len(trials[0].cell_params(top))))
    xs = rng.uniform(-1, 1, size=(T, B, top.n_in))
    tg = rng.uniform(size=(T, B, top.n_out))
    mask = (rng.uniform(size=(T, B, top.n_out)) < 0.4).astype(float)
    mask[T // 2] = 0.0  # a step without any error signal
    mask[-1] = 1.0
    lr = np.linspace(0.2, 0.9, B)
    masks = top.masks()
    return top, (W_h, W_o, P), lr, xs, tg, mask, masks["W_hidden"].astype(float), masks["W_output"].astype(float)


def _reference(k, top, weights, lr, xs, tg, mask, mask_h, mask_o, mode):
    """learner_step at every step, then the update of ``mode``, as OnlineLearner used to do it."""
    W_h, W_o, P = weights
    T, B, _ = xs.shape
    C, S = top.n_blocks, top.block_size
    a = np.zeros((B, top.n_activations))
    s = np.zeros((B, C, S)) if k.STATE else None
    traces = tuple(np.zeros((B, C, S, top.n_sources)) if n.startswith("net_") else np.zeros((B, C, S))
                   for n in k.TRACE_INPUTS)
    alpha = lr.reshape(B, 1, 1)
    lr_h, lr_o = alpha * mask_h, alpha * mask_o
    ys = np.empty((T, B, top.n_out))
    acc = None
    for t in range(T):
        y, a, s, traces, G_h, G_o, G_p = k.learner_step(W_h, W_o, P, xs[t], a, s, traces, tg[t], mask[t], C, S)
        ys[t] = y
        if mode == "forward":
            continue
        if mode == "step":
            G_h *= lr_h
            W_h += G_h
            G_o *= lr_o
            W_o += G_o
            for p, g in zip(P, G_p):
                p += alpha * g
        elif acc is None:
            acc = [G_h, G_o, *G_p]
        else:
            for x, g in zip(acc, (G_h, G_o, *G_p)):
                x += g
    if mode == "sequence":
        W_h += alpha * (acc[0] * mask_h)
        W_o += alpha * (acc[1] * mask_o)
        for p, g in zip(P, acc[2:]):
            p += alpha * g
    return ys, (acc[0], acc[1], tuple(acc[2:])) if mode == "gradient" else None


@pytest.mark.parametrize("mode", ["forward", "step", "sequence", "gradient"])
@pytest.mark.parametrize("cell", LEARNER_CELLS)
def test_learner_sequence_equals_the_learner_step_loop_bit_for_bit(cell, mode):
    k = load_kernels(cell)
    top, weights, lr, xs, tg, mask, mask_h, mask_o = _problem(cell, B=3, T=12)
    mine = tuple(w.copy() for w in weights[:2]) + (tuple(p.copy() for p in weights[2]),)
    ys, sums = k.learner_sequence(*mine, lr, xs, tg, mask, mask_h, mask_o, mode, top.n_blocks, top.block_size)
    ys_ref, sums_ref = _reference(k, top, weights, lr, xs, tg, mask, mask_h, mask_o, mode)
    np.testing.assert_array_equal(ys, ys_ref)
    for got, want in zip(mine[:2] + mine[2], weights[:2] + weights[2]):
        np.testing.assert_array_equal(got, want)
    if mode == "gradient":
        for got, want in zip(sums[:2] + sums[2], sums_ref[:2] + sums_ref[2]):
            np.testing.assert_array_equal(got, want)
        assert np.abs(sums[0]).max() > 0
    else:
        assert sums is None
    if mode in ("step", "sequence"):  # the weights did change
        assert not np.array_equal(mine[0], _problem(cell, B=3, T=12)[1][0])


def test_learner_sequence_refuses_an_unknown_mode():
    k = load_kernels("lstm1997")
    top, weights, lr, xs, tg, mask, mask_h, mask_o = _problem("lstm1997", B=1, T=2)
    with pytest.raises(UserError, match="learner mode"):
        k.learner_sequence(*weights, lr, xs, tg, mask, mask_h, mask_o, "steps", top.n_blocks, top.block_size)
