"""The whole-sequence kernels (forward_sequence, gradient_sequence: what Network runs) against the per-step kernels
(forward_step, backward_step: what the flow measurements run), for every cell, full and truncated, and with
activation columns dropped by Network (recurrent='cells', output_from='cells')."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_proofs.cells import CELLS
from lstm_proofs.network import Network
from lstm_proofs.network.topology import Params
from lstm_proofs.verify.cases import random_case


def stepwise(net: Network, params: Params, xs, targets, mask, truncated: bool):
    """Outputs and gradient from the per-step kernels: forward_step over the sequence, then backward_step back."""
    top, k = net.topology, net.kernels
    T, B, _ = xs.shape
    C, S = top.n_blocks, top.block_size
    P = params.cell_params(top)
    a = np.zeros((B, top.n_activations))
    s = np.zeros((B, C, S)) if k.STATE else None
    ys, caches = [], []
    for t in range(T):
        y, a, s, cache = k.forward_step(params.W_hidden, params.W_output, P, xs[t], a, s, C, S)
        ys.append(y)
        caches.append(cache)
    ys = np.stack(ys)
    m = mask[..., None]
    d_ys = m * (ys - targets)
    d_a = np.zeros((B, top.n_activations))
    d_s = np.zeros((B, C, S)) if k.STATE else None
    g = {"W_hidden": np.zeros_like(params.W_hidden), "W_output": np.zeros_like(params.W_output)}
    gP = [np.zeros_like(p) for p in P]
    for t in range(T - 1, -1, -1):
        dW_h, dW_o, dP, d_a, d_s = k.backward_step(params.W_hidden, params.W_output, P, caches[t], d_ys[t], d_a,
                                                   d_s, truncated, C, S)
        g["W_hidden"] += dW_h
        g["W_output"] += dW_o
        for acc, d in zip(gP, dP):
            acc += d
    masks = top.masks()
    g = {name: v * masks[name] for name, v in g.items()}
    for p, v in zip(top.declaration.params, gP):
        g["P_" + p.name[2:]] = v
    return ys, g


@pytest.mark.parametrize("recurrent,output_from", [("all", "below"), ("cells", "cells")])
@pytest.mark.parametrize("truncated", [False, True], ids=["full", "truncated"])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_sequence_kernels_equal_the_step_kernels(cell, truncated, recurrent, output_from):
    case = random_case(cell, T=12, batch=3, seed=5)
    top = case.topology.with_(recurrent=recurrent, output_from=output_from)
    params = Params({name: v * top.masks()[name] if name in top.masks() else v
                     for name, v in case.params.arrays.items()})
    net = Network(top)
    ys_steps, g_steps = stepwise(net, params, case.xs, case.targets, case.mask, truncated)
    ys = net.forward(params, case.xs).outputs
    _, g = net.loss_and_grad(params, case.xs, case.targets, case.mask, truncated=truncated)
    np.testing.assert_allclose(ys, ys_steps, rtol=1e-13, atol=1e-15)
    for name, v in g_steps.items():
        scale = max(np.abs(v).max(), 1e-300)
        assert np.abs(g.arrays[name] - v).max() <= 1e-13 * scale, (name, np.abs(g.arrays[name] - v).max(), scale)
