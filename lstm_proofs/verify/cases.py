"""Random networks and sequences the gradient checks run on.

Every cell is checked on a network that exercises all of its connections: two blocks (of two cells where the cell
type has memory-cell blocks), recurrent connections from every hidden activation, output units fed from all layers
below, biases on all units. Weights are drawn from [-1, 1] (ten times the paper's initial range, so that the units
work in their non-linear regime; linear units get [-0.3, 0.3]), inputs from [-1, 1], targets from [0, 1], and about
half of the steps carry a target (the mask).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_proofs.cells import get_cell
from lstm_proofs.network.topology import Params, Topology, init_params


@dataclass
class Case:
    """A network, its weights and a batch of sequences."""

    topology: Topology
    params: Params
    xs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray

    @property
    def label(self) -> str:
        top = self.topology
        T, B, _ = self.xs.shape
        return (f"{top.cell}: {top.n_blocks} blocks x {top.block_size}, I={top.n_in}, K={top.n_out}, "
                f"{top.n_weights} weights, T={T}, {B} sequences")


def check_topology(cell: str, small: bool = False) -> Topology:
    """The network a cell is checked on (``small``: the tiny one of the exact reference)."""
    decl = get_cell(cell)
    size = 2 if decl.gates and decl.shared_gates else 1  # cells per block: several only where gates are shared
    if cell == "lstm1997_2a":  # Exp. 2a/2b form: no recurrent connections, outputs see inputs and cells
        return Topology(cell, 2, 1 if small else 2, 2, 1, recurrent="none", output_from="below", bias="all")
    if small:
        return Topology(cell, 1, 1, 2 if not decl.gates else 1, size, bias="all", output_from="below")
    blocks = 3 if not decl.gates else 2
    return Topology(cell, 3, 2, blocks, size, bias="all", output_from="below")


#: Weight range per cell type where [-1, 1] would not do: linear units with row sums above 1 overflow over 1000 steps.
SCALE = {"rnn_linear": 0.3}


def random_case(cell: str, T: int, batch: int, seed: int, small: bool = False, scale: float | None = None) -> Case:
    """A random network of ``cell`` (see :func:`check_topology`) and ``batch`` random sequences of length ``T``.

    Args:
        cell: cell type.
        T: sequence length.
        batch: number of sequences.
        seed: with ``T`` and ``batch``, determines everything drawn.
        small: the tiny network of the exact reference.
        scale: weights are drawn from [-scale, scale] (default 1, or the cell's entry in :data:`SCALE`).
    """
    rng = np.random.default_rng([seed, T, batch])
    top = check_topology(cell, small)
    params = init_params(top, rng, interval=SCALE.get(cell, 1.0) if scale is None else scale)
    xs = rng.uniform(-1.0, 1.0, size=(T, batch, top.n_in))
    targets = rng.uniform(0.0, 1.0, size=(T, batch, top.n_out))
    mask = (rng.uniform(size=(T, batch)) < 0.5).astype(float)
    mask[-1] = 1.0  # the last step always carries a target
    return Case(top, params, xs, targets, mask)
