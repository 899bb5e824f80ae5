"""Running a network over sequences with the generated kernels: outputs, loss, and its gradient.

Conventions: sequences are time-major, ``xs`` (T, B, I), ``targets`` (T, B, K), ``mask`` (T, B) or (T, B, K)
with 1.0 where an error signal is given. The loss is ``L = 1/2 sum_t sum_b sum_k mask * (target - y)^2``: the
paper's E (eq. 16) with the factor 2 absorbed, so that ``-dL/dnet_k = f'(net_k) (t_k - y_k)``, eq. (19) exactly.
Activations and states start at zero at every sequence start (Section 5). ``xs`` may also be
:class:`~lstm_proofs.inputs.OneHotInputs` (one-hot codes held as symbols): the numba kernels read its nonzero
inputs directly, the NumPy kernels get the dense array (:func:`kernel_inputs`); the results are the same.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from lstm_proofs.errors import UserError
from lstm_proofs.inputs import Inputs, OneHotInputs
from lstm_proofs.network.topology import Params, Topology, require_params


BACKENDS = ("numpy", "numba")


def _reduced_columns(kernels: ModuleType) -> bool:
    """True for kernels that take ``W_hidden`` without the columns of trailing activations that hold no weight
    (the NumPy kernels; see ``Network._reduced``)."""
    return getattr(kernels, "BACKEND", "numpy") == "numpy"


def kernel_inputs(kernels: ModuleType, xs: Inputs) -> Inputs:
    """``xs`` as ``kernels`` take it: one-hot inputs held as symbols go to the numba kernels as they are (their
    sparse path reads the nonzero inputs from them) and to the NumPy kernels as the dense array."""
    if isinstance(xs, OneHotInputs) and getattr(kernels, "BACKEND", "numpy") == "numpy":
        return xs.dense()
    return xs


def load_kernels(cell: str, backend: str = "numpy") -> ModuleType:
    """The generated module of ``cell``: ``lstm_proofs.derivations.<cell>`` (NumPy, the reference) or, with
    ``backend="numba"``, ``lstm_proofs.derivations.numba_<cell>`` (compiled whole-sequence kernels from the same
    derivation). Without numba installed, the numba backend falls back to NumPy with a warning.

    Raises:
        UserError: for an unknown backend, or if the module has not been generated (run ``lstm-proofs derive``).
    """
    if backend not in BACKENDS:
        raise UserError(f"backend must be one of {BACKENDS}, got {backend!r}")
    name = cell if backend == "numpy" else f"numba_{cell}"
    try:
        module = importlib.import_module(f"lstm_proofs.derivations.{name}")
    except ModuleNotFoundError:
        raise UserError(f"no generated {backend} kernels for cell {cell!r}; run 'lstm-proofs derive'") from None
    if backend == "numba" and not module.available():
        warnings.warn("numba is not installed (pip install -e '.[fast]'): using the NumPy kernels instead",
                      stacklevel=2)
        return load_kernels(cell)
    return module


@dataclass
class ForwardPass:
    """Outputs of a forward pass and what the backward pass needs."""

    outputs: np.ndarray  # (T, B, K)
    cache: Any  # what the kernels' gradient_sequence needs
    activations: np.ndarray  # (T, B, N_a)
    states: np.ndarray | None  # (T, B, C, S)


class Network:
    """A network of a given topology, evaluated with the generated kernels of its cell type.

    Args:
        topology: the network's shape and connectivity.
        kernels: the generated module to use (default: the NumPy reference module of the topology's cell).
    """

    def __init__(self, topology: Topology, kernels: ModuleType | None = None) -> None:
        self.topology = topology
        self.kernels = kernels if kernels is not None else load_kernels(topology.cell)
        self._masks: dict[str, np.ndarray] = {}  # weight masks, computed on first use

    # ----- checking inputs -----
    def _check(self, params: Params, xs: Inputs, targets: np.ndarray | None = None,
               mask: np.ndarray | None = None) -> None:
        top = self.topology
        require_params(params)
        for name, shape in top.param_shapes().items():
            if name not in params.arrays:
                raise UserError(f"parameters lack {name!r}")
            if params.arrays[name].shape != shape:
                raise UserError(f"parameter {name} has shape {params.arrays[name].shape}, expected {shape}")
        if xs.ndim != 3 or xs.shape[2] != top.n_in:
            raise UserError(f"inputs must be (T, B, {top.n_in}), got {xs.shape}")
        if targets is not None and targets.shape != (*xs.shape[:2], top.n_out):
            raise UserError(f"targets must be {(*xs.shape[:2], top.n_out)}, got {targets.shape}")
        if mask is not None and mask.shape not in (xs.shape[:2], (*xs.shape[:2], top.n_out)):
            raise UserError(f"mask must be {xs.shape[:2]} or {(*xs.shape[:2], top.n_out)}, got {mask.shape}")

    def _reduced(self, name: str, W: np.ndarray) -> np.ndarray:
        """``W`` (``W_hidden`` or ``W_output``) without the columns of trailing activations that hold no weight.

        Under ``recurrent="cells"`` the gate activations feed nothing back, and under ``output_from="cells"``
        nothing reaches the output units from them, yet they have columns in the dense layout. The generated
        ``forward_sequence`` / ``gradient_sequence`` take weight matrices whose activation part covers only the
        leading activations that are used, so their products skip columns that would only multiply zeros. A column
        is dropped only if the topology has no weight in it and its entries are exactly zero, so outputs and
        gradients are those of the dense layout. Returns ``W`` itself when nothing can be dropped.
        """
        I, N = self.topology.n_in, self.topology.n_activations
        cols = slice(I, I + N)
        used = np.flatnonzero(np.any(self._mask(name)[:, cols], axis=0) | np.any(W[:, cols] != 0, axis=0))
        R = int(used[-1]) + 1 if used.size else 0
        if R == N:
            return W
        return np.ascontiguousarray(np.concatenate((W[:, :I + R], W[:, I + N:]), axis=1))

    def _mask(self, name: str) -> np.ndarray:
        """The topology's mask of weight array ``name`` (computed once)."""
        if not self._masks:
            self._masks.update(self.topology.masks())
        return self._masks[name]

    def _dense(self, g: np.ndarray) -> np.ndarray:
        """A gradient of column-reduced weights (see :meth:`_reduced`) put back into the dense layout."""
        Z = self.topology.n_sources
        if g.shape[1] == Z:
            return g
        full = np.zeros((g.shape[0], Z), dtype=g.dtype)
        full[:, :g.shape[1] - 1] = g[:, :-1]
        full[:, -1] = g[:, -1]
        return full

    def _kernel_weights(self, params: Params) -> tuple[np.ndarray, np.ndarray]:
        """``W_hidden`` and ``W_output`` as the kernels take them (column-reduced for the NumPy kernels)."""
        if not _reduced_columns(self.kernels):
            return params.W_hidden, params.W_output
        return self._reduced("W_hidden", params.W_hidden), self._reduced("W_output", params.W_output)

    # ----- forward -----
    def forward(self, params: Params, xs: Inputs) -> ForwardPass:
        """Run the network over ``xs`` (T, B, I) from zero activations and states."""
        self._check(params, xs)
        return self._forward(params, kernel_inputs(self.kernels, xs), *self._kernel_weights(params))

    def _forward(self, params: Params, xs: Inputs, W_h: np.ndarray, W_o: np.ndarray) -> ForwardPass:
        """:meth:`forward` with checked inputs and the weights as the kernels take them."""
        top, k = self.topology, self.kernels
        ys, acts, states, cache = k.forward_sequence(W_h, W_o, params.cell_params(top), xs, top.n_blocks,
                                                     top.block_size)
        return ForwardPass(ys, cache, acts, states if k.STATE else None)

    def loss(self, params: Params, xs: Inputs, targets: np.ndarray, mask: np.ndarray) -> float:
        """``L = 1/2 sum mask * (targets - outputs)^2`` (see module docstring)."""
        self._check(params, xs, targets, mask)
        ys = self._forward(params, kernel_inputs(self.kernels, xs), *self._kernel_weights(params)).outputs
        m = mask if mask.ndim == 3 else mask[..., None]
        return 0.5 * np.sum(m * (targets - ys) ** 2)

    def loss_and_grad(self, params: Params, xs: Inputs, targets: np.ndarray, mask: np.ndarray,
                      truncated: bool = False) -> tuple[Any, Params]:
        """Loss and its gradient by backpropagation through time with the generated backward steps.

        Args:
            params, xs, targets, mask: see the module docstring.
            truncated: the paper's truncated gradient (Section 4, Appendix A.1) instead of the full one.

        Returns:
            ``(L, dL/dparams)``; gradients of absent (masked) weights are zero.
        """
        self._check(params, xs, targets, mask)
        top, k = self.topology, self.kernels
        xs = kernel_inputs(k, xs)
        W_h, W_o = self._kernel_weights(params)
        fp = self._forward(params, xs, W_h, W_o)
        m = mask if mask.ndim == 3 else mask[..., None]
        diff = fp.outputs - targets
        loss = 0.5 * np.sum(m * diff ** 2)
        d_ys = m * diff
        gW_h, gW_o, gP = k.gradient_sequence(W_h, W_o, xs, fp.outputs, fp.activations, fp.cache, d_ys,
                                             truncated, top.n_blocks, top.block_size)
        gW_h, gW_o = self._dense(gW_h), self._dense(gW_o)
        grads = {"W_hidden": gW_h * self._mask("W_hidden"), "W_output": gW_o * self._mask("W_output")}
        for p, g in zip(top.declaration.params, gP):
            grads["P_" + p.name[2:]] = g
        return loss, Params(grads)
