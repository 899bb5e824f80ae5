"""The paper's network topologies (Section 4, Tables 10-11; spec section 7) and their parameter layout.

A network has an input layer (I units), one hidden layer and an output layer (K logistic units). The hidden layer
holds C memory-cell blocks of S cells each; every block has one unit per gate of its cell type (G gates, shared by
the block's cells). The hidden *activations* are ordered cells first (block-major: ``c_1^1 .. c_1^S, c_2^1, ...``),
then each gate's C activations in the declaration's gate order: ``N_a = C*S + G*C``.

Parameters (dense arrays; absent connections are held at zero by a mask):

* ``W_hidden`` (C*S + G*C, I + N_a + 1): weights into cells (rows ``0 .. C*S-1``, same order as the activations)
  and gates (then C rows per gate). Columns: inputs x(t), previous hidden activations y(t-1), bias.
  ``W_hidden[l, m]`` is the paper's ``w_lm``, the weight from source m to unit l.
* ``W_output`` (K, I + N_a + 1): weights into the output units. Columns: inputs x(t), current hidden activations,
  bias (Section 5 timing: outputs see the activations of the same step).
* ``P_<name>`` (C, S): per-cell parameters of the cell type (peephole weights).

The CEC's fixed self-connection (1.0) is part of the cell equations and is not a weight. The weight count of a
network is the number of unmasked entries; it reproduces every count of the paper's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from lstm_proofs.cells import CellDeclaration, get_cell
from lstm_proofs.errors import UserError

Recurrent = Literal["all", "cells", "none"]
OutputFrom = Literal["cells", "below"]
Bias = Literal["none", "gates", "hidden", "all"]

RECURRENT = ("all", "cells", "none")
OUTPUT_FROM = ("cells", "below")
BIAS = ("none", "gates", "hidden", "all")


@dataclass(frozen=True)
class Topology:
    """Shape and connectivity of a network.

    Attributes:
        cell: name of the declared cell type of the memory-cell blocks (``rnn`` for conventional units).
        n_in: input units I.
        n_out: output units K.
        n_blocks: memory-cell blocks C (for ``rnn*`` cells: the number of conventional hidden units).
        block_size: cells per block S.
        recurrent: sources of the hidden units' recurrent connections: ``all`` hidden activations (cells and gates,
            the paper's scheme: "each gate unit and each memory cell see all non-output units"), ``cells`` (cell
            outputs only, the modern scheme), or ``none`` (Exp. 2a/2b).
        output_from: ``cells`` (output units see the cell outputs only, Table 10 "F") or ``below`` (all layers
            below, inputs included, Table 10 "B").
        bias: bias weights on ``none``; ``gates`` (gate units only, "ga"); ``hidden`` (all hidden units, "b1");
            ``all`` (all non-input units).
        output_bias: give the output units a bias weight whatever ``bias`` says (a reading of the paper that
            ``lstm-proofs ablate`` tries where Table 10 gives the outputs none; it changes the weight count).
    """

    cell: str
    n_in: int
    n_out: int
    n_blocks: int
    block_size: int = 1
    recurrent: Recurrent = "all"
    output_from: OutputFrom = "cells"
    bias: Bias = "none"
    output_bias: bool = False

    def __post_init__(self) -> None:
        decl = get_cell(self.cell)
        for name in ("n_in", "n_out", "n_blocks", "block_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise UserError(f"topology: {name} must be a positive integer, got {value!r}")
        if self.recurrent not in RECURRENT:
            raise UserError(f"topology: recurrent must be one of {RECURRENT}, got {self.recurrent!r}")
        if self.output_from not in OUTPUT_FROM:
            raise UserError(f"topology: output_from must be one of {OUTPUT_FROM}, got {self.output_from!r}")
        if self.bias not in BIAS:
            raise UserError(f"topology: bias must be one of {BIAS}, got {self.bias!r}")
        if self.block_size > 1 and not decl.shared_gates:
            raise UserError(f"cell {self.cell!r} supports block_size 1 only: its gates read per-cell quantities "
                            "(peepholes), so they cannot be shared by the cells of a block")

    @property
    def declaration(self) -> CellDeclaration:
        return get_cell(self.cell)

    @property
    def gates(self) -> tuple[str, ...]:
        return self.declaration.gates

    @property
    def n_cells(self) -> int:
        return self.n_blocks * self.block_size

    @property
    def n_units(self) -> int:
        """Hidden units with incoming weights: cells and gate units (rows of ``W_hidden``)."""
        return self.n_cells + len(self.gates) * self.n_blocks

    @property
    def n_activations(self) -> int:
        return self.n_units

    @property
    def n_sources(self) -> int:
        """Columns of ``W_hidden`` and ``W_output``: inputs, hidden activations, bias."""
        return self.n_in + self.n_activations + 1

    def row_slices(self) -> dict[str, slice]:
        """Rows of ``W_hidden`` (and columns of the activations) for ``c`` and each gate."""
        out = {"c": slice(0, self.n_cells)}
        for i, g in enumerate(self.gates):
            start = self.n_cells + i * self.n_blocks
            out[g] = slice(start, start + self.n_blocks)
        return out

    def hidden_mask(self) -> np.ndarray:
        """Boolean mask of the existing weights into hidden units, shaped like ``W_hidden``."""
        mask = np.zeros((self.n_units, self.n_sources), dtype=bool)
        i, a = self.n_in, self.n_activations
        mask[:, :i] = True
        if self.recurrent == "all":
            mask[:, i:i + a] = True
        elif self.recurrent == "cells":
            mask[:, i:i + self.n_cells] = True
        if self.bias in ("hidden", "all"):
            mask[:, -1] = True
        elif self.bias == "gates":
            mask[self.n_cells:, -1] = True
        return mask

    def output_mask(self) -> np.ndarray:
        """Boolean mask of the existing weights into output units, shaped like ``W_output``."""
        mask = np.zeros((self.n_out, self.n_sources), dtype=bool)
        if self.output_from == "below":
            mask[:, :self.n_in] = True
        mask[:, self.n_in:self.n_in + self.n_cells] = True  # gate units never feed output units
        if self.bias == "all" or self.output_bias:
            mask[:, -1] = True
        return mask

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Names and shapes of the parameter arrays, in the order of the flat parameter vector."""
        shapes: dict[str, tuple[int, ...]] = {
            "W_hidden": (self.n_units, self.n_sources),
            "W_output": (self.n_out, self.n_sources),
        }
        for p in self.declaration.params:
            shapes["P_" + p.name[2:]] = (self.n_blocks, self.block_size)
        return shapes

    def masks(self) -> dict[str, np.ndarray]:
        """Masks of all parameter arrays (per-cell parameters are all present)."""
        out = {"W_hidden": self.hidden_mask(), "W_output": self.output_mask()}
        for name, shape in self.param_shapes().items():
            out.setdefault(name, np.ones(shape, dtype=bool))
        return out

    @property
    def n_weights(self) -> int:
        """Number of trainable weights (the paper's "# weights")."""
        return int(sum(m.sum() for m in self.masks().values()))

    def with_(self, **changes: object) -> "Topology":
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass
class Params:
    """Parameter arrays of a network, by name (see the module docstring for the layout)."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def W_hidden(self) -> np.ndarray:  # noqa: N802 - paper notation
        return self.arrays["W_hidden"]

    @property
    def W_output(self) -> np.ndarray:  # noqa: N802 - paper notation
        return self.arrays["W_output"]

    def cell_params(self, topology: Topology) -> tuple[np.ndarray, ...]:
        """The per-cell parameter arrays in the declaration's order."""
        return tuple(self.arrays["P_" + p.name[2:]] for p in topology.declaration.params)

    def copy(self) -> "Params":
        return Params({k: v.copy() for k, v in self.arrays.items()})

    def to_vector(self, topology: Topology) -> np.ndarray:
        """Flat vector of the trainable weights: unmasked entries of each array, row-major, in array order."""
        masks = topology.masks()
        return np.concatenate([self.arrays[n][masks[n]] for n in topology.param_shapes()])

    @classmethod
    def from_vector(cls, topology: Topology, vector: np.ndarray) -> "Params":
        """Inverse of :meth:`to_vector` (masked entries are zero)."""
        vector = np.asarray(vector)
        if vector.shape != (topology.n_weights,):
            raise UserError(f"parameter vector has shape {vector.shape}, expected ({topology.n_weights},)")
        masks = topology.masks()
        arrays, pos = {}, 0
        for name, shape in topology.param_shapes().items():
            arr = np.zeros(shape, dtype=vector.dtype)
            n = int(masks[name].sum())
            arr[masks[name]] = vector[pos:pos + n]
            pos += n
            arrays[name] = arr
        return cls(arrays)

    def index_of(self, topology: Topology, k: int) -> tuple[str, tuple[int, ...]]:
        """Array name and index of entry ``k`` of the flat vector."""
        masks = topology.masks()
        for name in topology.param_shapes():
            idx = np.argwhere(masks[name])
            if k < len(idx):
                return name, tuple(int(i) for i in idx[k])
            k -= len(idx)
        raise IndexError(k)


def require_params(obj: object, what: str = "params") -> "Params":
    """``obj`` if it is a :class:`Params`; a :class:`TypeError` naming what was given otherwise (a plain array or
    dict passed where the API expects named parameter arrays)."""
    if not isinstance(obj, Params):
        raise TypeError(f"{what} must be a lstm_proofs.network.Params (named parameter arrays), got "
                        f"{type(obj).__name__}; Params.from_vector(topology, vector) builds one from a flat vector "
                        "and Params(dict_of_arrays) from arrays by name")
    return obj


def init_params(
    topology: Topology,
    rng: np.random.Generator,
    interval: float = 0.1,
    gate_biases: dict[str, list[float] | tuple[float, ...]] | None = None,
) -> Params:
    """Random initial weights, uniform in ``[-interval, interval]`` (Section 5), with optional fixed gate biases.

    Args:
        topology: the network.
        rng: random generator (same state, same weights).
        interval: half-width of the uniform initialisation interval (0.2 for Exps. 1 and 2, 0.1 otherwise).
        gate_biases: per gate name, the initial bias of each block's gate (e.g. ``{"out": [-1, -2, -3]}``);
            requires the gate to have a bias weight. Gates not listed keep their random bias.

    Returns:
        The parameters (masked entries zero).
    """
    if not (isinstance(interval, (int, float)) and np.isfinite(interval) and interval >= 0):
        raise UserError(f"initialisation interval must be a finite non-negative number, got {interval!r}")
    masks = topology.masks()
    arrays = {}
    for name, shape in topology.param_shapes().items():
        arrays[name] = np.where(masks[name], rng.uniform(-interval, interval, size=shape), 0.0)
    rows = topology.row_slices()
    for gate, values in (gate_biases or {}).items():
        if gate not in topology.gates:
            raise UserError(f"gate_biases: cell {topology.cell!r} has no gate {gate!r} (gates: {topology.gates})")
        values = list(values)
        if len(values) != topology.n_blocks:
            raise UserError(f"gate_biases[{gate!r}] needs {topology.n_blocks} values (one per block), "
                            f"got {len(values)}")
        if not masks["W_hidden"][rows[gate], -1].all():
            raise UserError(f"gate_biases[{gate!r}]: the topology gives gate {gate!r} no bias weight "
                            f"(bias={topology.bias!r})")
        arrays["W_hidden"][rows[gate], -1] = values
    return Params(arrays)
