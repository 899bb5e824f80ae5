"""PyTorch (CPU, float64) counterparts for the speed comparison; imported only when torch is installed.

* :func:`paper_loss_and_grad`: the paper's network written with torch operations step by step (same parameter
  layout, masks, cell equations and loss as lstm_proofs.network), differentiated by torch autograd. This is what a
  PyTorch user would write for the 1997 topology, which ``nn.LSTM`` cannot express (gates see gate activations,
  memory-cell blocks, no forget gate).
* :func:`lstm_loss_and_grad`: ``nn.LSTM`` plus a logistic output layer, for the modern-size comparison.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from lstm_proofs.network.topology import Params, Topology


def _cell(cell: str, nets: dict, s_prev):
    sig = torch.sigmoid
    if cell == "lstm1997":
        y_in, y_out = sig(nets["in"]), sig(nets["out"])
        s = s_prev + y_in * (4 * sig(nets["c"]) - 2)
        return y_out * (2 * sig(s) - 1), [y_in, y_out], s
    if cell == "lstm1997_2a":
        y_in = sig(nets["in"])
        s = s_prev + y_in * sig(nets["c"])
        return s, [y_in], s
    if cell == "forget":
        y_in, y_f, y_out = sig(nets["in"]), sig(nets["forget"]), sig(nets["out"])
        s = y_f * s_prev + y_in * (4 * sig(nets["c"]) - 2)
        return y_out * (2 * sig(s) - 1), [y_in, y_f, y_out], s
    raise ValueError(f"no torch model for cell {cell!r}")


def paper_loss_and_grad(top: Topology, params: Params, xs: np.ndarray, targets: np.ndarray,
                        mask: np.ndarray) -> Callable[[], tuple[float, np.ndarray, np.ndarray]]:
    """A closure computing ``(L, dL/dW_hidden, dL/dW_output)`` with torch for the given data (tensors made once)."""
    C, S = top.n_blocks, top.block_size
    rows = top.row_slices()
    masks = {k: torch.tensor(v, dtype=torch.float64) for k, v in top.masks().items()}
    W_h0 = torch.tensor(params.W_hidden)
    W_o0 = torch.tensor(params.W_output)
    X, TG = torch.tensor(xs), torch.tensor(targets)
    M = torch.tensor(mask if mask.ndim == 3 else mask[..., None])
    T, B, _ = xs.shape

    def run():
        W_h = W_h0.clone().requires_grad_(True)
        W_o = W_o0.clone().requires_grad_(True)
        Wh, Wo = W_h * masks["W_hidden"], W_o * masks["W_output"]
        a = torch.zeros(B, top.n_activations, dtype=torch.float64)
        s = torch.zeros(B, C, S, dtype=torch.float64)
        ones = torch.ones(B, 1, dtype=torch.float64)
        loss = 0.0
        for t in range(T):
            net = torch.cat([X[t], a, ones], 1) @ Wh.T
            nets = {"c": net[:, rows["c"]].reshape(B, C, S)}
            for g in top.gates:
                nets[g] = net[:, rows[g]].reshape(B, C, 1)
            y_c, gates, s = _cell(top.cell, nets, s)
            a = torch.cat([y_c.reshape(B, C * S)] + [g.reshape(B, C) for g in gates], 1)
            y = torch.sigmoid(torch.cat([X[t], a, ones], 1) @ Wo.T)
            loss = loss + 0.5 * (M[t] * (TG[t] - y) ** 2).sum()
        loss.backward()
        return float(loss.detach()), W_h.grad.numpy(), W_o.grad.numpy()
    return run


def lstm_loss_and_grad(n_in: int, hidden: int, n_out: int, xs: np.ndarray, targets: np.ndarray, mask: np.ndarray,
                       seed: int = 0) -> Callable[[], float]:
    """A closure running ``nn.LSTM`` (float64) + logistic outputs forward and backward on the data; returns L."""
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(n_in, hidden, dtype=torch.float64)
    out = torch.nn.Linear(hidden, n_out, dtype=torch.float64)
    X, TG = torch.tensor(xs), torch.tensor(targets)
    M = torch.tensor(mask if mask.ndim == 3 else mask[..., None])

    def run():
        lstm.zero_grad()
        out.zero_grad()
        h, _ = lstm(X)
        y = torch.sigmoid(out(h))
        loss = 0.5 * (M * (TG - y) ** 2).sum()
        loss.backward()
        return float(loss.detach())
    return run
