"""Online learning as in the paper (Section 5, Appendix A.1), with many independent trials in lockstep.

Per time step (Section 5): set the inputs, compute the hidden units (gates, cells), compute the outputs; then
update the forward traces ``ds/dw`` (eqs. 25, 27) and form this step's gradient estimate (eqs. 19-28). The generated
``learner_sequence`` of the cell's kernels (NumPy or numba) does this for a whole sequence in one call; the NumPy
version is a loop of ``learner_step``'s arithmetic, equal to calling ``learner_step`` step by step bit for bit.
Weight changes are applied at every time step (default, ``update="step"``) or summed over the sequence and applied
at its end (``update="sequence"``; the paper's text allows both readings, spec section 5). Activations, states and
traces are reset at every sequence start. Memory does not grow with sequence length: only the current
activations, states and traces are kept.

Trials are independent networks stacked on a leading axis (``B`` = trials): each has its own weights and learning
rate, and all advance together through the same batched generated kernels.

Frozen trials (``run_sequence(..., frozen=...)``) serve the sequential construction of Exps. 2a/2b (Section 4,
abuse-problem remedy 1): a frozen trial is the same network before its memory cells are added. Only the weights
into the output units from the inputs and the output bias learn; the change of every other weight (into the cells
and gates, from the cells to the outputs, per-cell parameters) is discarded at every step. With those weights at
zero, the outputs depend on the inputs alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from lstm_proofs.errors import UserError
from lstm_proofs.inputs import Inputs, select_sequences
from lstm_proofs.network.model import kernel_inputs, load_kernels
from lstm_proofs.network.topology import Params, Topology, require_params

UPDATES = ("step", "sequence")


def stack_params(params: list[Params]) -> Params:
    """Stack per-trial parameters on a new leading trial axis."""
    return Params({k: np.stack([p.arrays[k] for p in params]) for k in params[0].arrays})


def unstack_params(stacked: Params) -> list[Params]:
    """Split stacked parameters into one :class:`Params` per trial."""
    n = next(iter(stacked.arrays.values())).shape[0]
    return [Params({k: v[i].copy() for k, v in stacked.arrays.items()}) for i in range(n)]


def frozen_masks(topology: Topology) -> dict[str, np.ndarray]:
    """The weights that still learn in a frozen trial (the net before its memory cells are added): the weights
    into the output units from the inputs and the output bias, where the topology has them; all other masks are
    False. Shaped like :meth:`Topology.masks`."""
    masks = topology.masks()
    out = {name: np.zeros_like(m) for name, m in masks.items()}
    keep = np.zeros_like(masks["W_output"])
    keep[:, :topology.n_in] = True
    keep[:, -1] = True
    out["W_output"] = masks["W_output"] & keep
    return out


@dataclass
class TrialState:
    """Per-trial weights of trials learning in lockstep (leading axis = trial)."""

    params: Params
    learning_rate: np.ndarray  # (B,)


class OnlineLearner:
    """The generated online learner of a topology.

    Args:
        topology: network shape; its cell must have generated kernels.
        update: ``"step"`` (apply weight changes at every time step) or ``"sequence"`` (sum them over the sequence).
        kernels: generated module to use (default: the NumPy reference of the cell).
    """

    def __init__(self, topology: Topology, update: str = "step", kernels: ModuleType | None = None) -> None:
        if update not in UPDATES:
            raise UserError(f"update must be one of {UPDATES}, got {update!r}")
        self.topology = topology
        self.update = update
        self.kernels = kernels if kernels is not None else load_kernels(topology.cell)
        masks = topology.masks()
        self._mask_h = masks["W_hidden"].astype(float)
        self._mask_o = masks["W_output"].astype(float)
        frozen = frozen_masks(topology)
        self._frozen_h = frozen["W_hidden"].astype(float)
        self._frozen_o = frozen["W_output"].astype(float)

    def run_sequence(self, state: TrialState, xs: Inputs, targets: np.ndarray, mask: np.ndarray,
                     learn: bool = True, frozen: np.ndarray | None = None) -> np.ndarray:
        """Process one sequence per trial, learning online (in place on ``state.params``).

        Args:
            state: the trials' weights and learning rates (modified in place when ``learn``).
            xs: (T, B, I) inputs; trials may have different lengths if padded steps have ``mask`` 0 and come last.
            targets: (T, B, K); mask: (T, B) or (T, B, K), 1.0 where an error signal is given.
            learn: False to only run forward (evaluation).
            frozen: optional (B,) bool, True for trials whose hidden part is frozen (see :func:`frozen_masks`):
                their weight changes outside the input-to-output and output-bias weights are discarded at every
                step. The caller holds those weights at zero. None (the default) freezes no trial.

        Returns:
            Outputs (T, B, K).
        """
        top = self.topology
        if not isinstance(state, TrialState):
            raise TypeError(f"state must be a TrialState (weights and learning rates), got {type(state).__name__}")
        require_params(state.params, "state.params")
        T, B, _ = xs.shape
        xs = kernel_inputs(self.kernels, xs)
        P = state.params
        lr = np.asarray(state.learning_rate, dtype=float).reshape(B)
        frozen = None if frozen is None else np.asarray(frozen, dtype=bool).reshape(B)
        if not learn or frozen is None or not frozen.any():
            return self._learn(P, lr, xs, targets, mask, learn, False)
        if frozen.all():
            return self._learn(P, lr, xs, targets, mask, learn, True)
        # Mixed batch: learner_sequence takes one weight mask for all trials, so frozen and unfrozen trials run in
        # two calls (trials are independent, so the split does not change any result).
        ys = np.empty((T, B, top.n_out), dtype=np.result_type(xs.dtype, P.W_hidden))
        m = np.asarray(mask)
        for group, is_frozen in ((np.flatnonzero(~frozen), False), (np.flatnonzero(frozen), True)):
            sub = Params({name: np.ascontiguousarray(v[group]) for name, v in P.arrays.items()})
            ys[:, group] = self._learn(sub, lr[group], select_sequences(xs, group),
                                       np.ascontiguousarray(targets[:, group]), np.ascontiguousarray(m[:, group]),
                                       learn, is_frozen)
            for name, v in sub.arrays.items():
                P.arrays[name][group] = v
        return ys

    def _learn(self, P: Params, lr: np.ndarray, xs: Inputs, targets: np.ndarray, mask: np.ndarray,
               learn: bool, frozen: bool) -> np.ndarray:
        """One call of the generated ``learner_sequence`` (weights changed in place); ``frozen`` selects the
        frozen-trial masks. The learner does not mask per-cell parameters, so a frozen call puts them back
        afterwards (their changes are zero anyway while the cells' output weights are zero)."""
        top = self.topology
        cell_p = P.cell_params(top)
        mode = self.update if learn else "forward"
        kept = [p.copy() for p in cell_p] if frozen and learn else None
        ys, _ = self.kernels.learner_sequence(P.W_hidden, P.W_output, cell_p, lr, xs, targets, mask,
                                              self._frozen_h if frozen else self._mask_h,
                                              self._frozen_o if frozen else self._mask_o,
                                              mode, top.n_blocks, top.block_size)
        if kept is not None:
            for p, old in zip(cell_p, kept):
                p[...] = old
        return ys

    def sequence_gradient(self, params: Params, xs: Inputs, targets: np.ndarray, mask: np.ndarray) -> Params:
        """The learner's gradient ``dL/dw`` summed over one sequence with the weights held fixed.

        With fixed weights the forward-trace gradient equals truncated backpropagation through time; this is what
        the three-way agreement checks compare. ``params`` are unstacked (one network); ``xs`` is (T, B, I) with B
        sequences sharing the weights.

        Returns:
            ``dL/dw`` (the negative of the summed learner updates), masked.
        """
        top = self.topology
        require_params(params)
        B = xs.shape[1]
        xs = kernel_inputs(self.kernels, xs)
        W_h = np.ascontiguousarray(np.broadcast_to(params.W_hidden, (B, *params.W_hidden.shape)))
        W_o = np.ascontiguousarray(np.broadcast_to(params.W_output, (B, *params.W_output.shape)))
        cell_p = tuple(np.ascontiguousarray(np.broadcast_to(p, (B, *p.shape))) for p in params.cell_params(top))
        _, (G_h, G_o, G_p) = self.kernels.learner_sequence(W_h, W_o, cell_p, np.zeros(B), xs, targets, mask,
                                                           self._mask_h, self._mask_o, "gradient", top.n_blocks,
                                                           top.block_size)
        grads = {"W_hidden": -G_h.sum(axis=0) * self._mask_h, "W_output": -G_o.sum(axis=0) * self._mask_o}
        for p, g in zip(top.declaration.params, G_p):
            grads["P_" + p.name[2:]] = -g.sum(axis=0)
        return Params(grads)
