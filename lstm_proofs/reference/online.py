"""An independent reference for the paper's online learner (Section 5, Appendix A.1), written from the equations.

Nothing here uses the SymPy declarations, the derivation or the generated code. The cell equations are the
hand-written ones of :mod:`lstm_proofs.reference.autograd_models` (``_cell_step``); the learner is written from
the paper's equations as a real-time-recurrent-learning recursion over the flat vector ``w`` of all weights (every
entry of ``W_hidden``, ``W_output`` and ``P_*``, row-major, masked entries included and held at zero by the masks):

* truncation (Appendix A.1): the previous step's activations enter the net inputs as constants, and a previous state
  reaches the new state only through the state equation (peephole reads of ``s(t-1)`` are constants);
* forward traces (eqs. 25, 27, 30): ``T(t) = ds(t)/dw = ds/dw|_{s(t-1)} + ds(t)/ds(t-1) T(t-1)``, ``T(-1) = 0``;
* the gradient estimate of step t (eqs. 19-28): ``G(t) = -dE(t)/dw = -(dE(t)/dw|_{s(t-1)} + dE(t)/ds(t-1) T(t-1))``
  with ``E(t) = 1/2 sum_k m_k(t) (t_k(t) - y_k(t))^2`` (eq. 16 with the factor 2 absorbed);
* weight changes (eq. 17): ``w += alpha * G(t) * mask`` after every step (``update="step"``: the next step runs on
  the changed weights, the traces already accumulated are kept), or ``w += alpha * sum_t G(t) * mask`` at the end
  of the sequence (``update="sequence"``); activations, states and traces start at zero at every sequence start.

The partial derivatives of one step (``ds/dw``, ``ds/ds(t-1)``, ``dE/dw``, ``dE/ds(t-1)``) come from HIPS autograd
applied to that one step; the recursion across steps, where the paper's learner differs from backpropagation, is
written out here. It is slow (one autograd Jacobian per step and trial) and meant for small networks and short
sequences.

Frozen trials (Exps. 2a/2b, Section 4's abuse-problem remedy): only the weights into the output units from the inputs
and the output bias change; every other change (per-cell parameters included) is discarded.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad, jacobian

from lstm_proofs.network.topology import Params, Topology
from lstm_proofs.reference.autograd_models import _cell_step, _logistic

UPDATES = ("step", "sequence")


class _Layout:
    """The flat vector of every entry of the parameter arrays and its masks (normal and frozen)."""

    def __init__(self, top: Topology) -> None:
        self.shapes = dict(top.param_shapes())
        self.sizes = {n: int(np.prod(s)) for n, s in self.shapes.items()}
        masks = top.masks()
        self.mask = np.concatenate([masks[n].ravel().astype(float) for n in self.shapes])
        frozen = []
        for name, shape in self.shapes.items():
            m = np.zeros(shape)
            if name == "W_output":  # inputs -> outputs and the output bias, where the topology has them
                m[:, :top.n_in] = 1.0
                m[:, -1] = 1.0
                m *= masks[name]
            frozen.append(m.ravel())
        self.frozen_mask = np.concatenate(frozen)

    def flat(self, params: Params) -> np.ndarray:
        return np.concatenate([np.asarray(params.arrays[n], dtype=float).ravel() for n in self.shapes])

    def unflat(self, w) -> dict:
        out, pos = {}, 0
        for name, shape in self.shapes.items():
            out[name] = anp.reshape(w[pos:pos + self.sizes[name]], shape)
            pos += self.sizes[name]
        return out

    def params(self, w: np.ndarray) -> Params:
        return Params({k: np.array(v) for k, v in self.unflat(w).items()})


def _step_functions(top: Topology, layout: _Layout):
    """``state(w, s_prev, a_prev, x) -> (s(t), a(t))`` and ``error(w, s_prev, a_prev, x, target, m) -> E(t)`` of one
    truncated step; ``a_prev`` and ``x`` are constants, ``s_prev`` enters through the state equation only."""
    C, S = top.n_blocks, top.block_size
    rows = top.row_slices()
    gates = top.gates
    has_state = bool(top.declaration.states)

    def hidden(w, s_prev, a_prev, x):
        p = layout.unflat(w)
        z = anp.concatenate([x, a_prev, anp.ones(1)])
        net = anp.dot(p["W_hidden"], z)
        nets = {"c": anp.reshape(net[rows["c"]], (C, S))}
        for g in gates:
            nets[g] = anp.reshape(net[rows[g]], (C, 1))
        for key in ("p_in", "p_forget", "p_out"):
            if "P_" + key[2:] in p:
                nets[key] = p["P_" + key[2:]]
        prev = anp.reshape(s_prev, (C, S)) if has_state else None
        y_c, gate_acts, s = _cell_step(top.cell, nets, prev, truncated=True)
        a = anp.concatenate([anp.reshape(y_c, (C * S,))] + [anp.reshape(g, (C,)) for g in gate_acts])
        return (anp.reshape(s, (C * S,)) if has_state else anp.zeros(0)), a, p

    def state(w, s_prev, a_prev, x):
        return hidden(w, s_prev, a_prev, x)[0]

    def outputs(w, s_prev, a_prev, x):
        _, a, p = hidden(w, s_prev, a_prev, x)
        u = anp.concatenate([x, a, anp.ones(1)])
        return _logistic(anp.dot(p["W_output"], u)), a

    def error(w, s_prev, a_prev, x, target, m):
        y, _ = outputs(w, s_prev, a_prev, x)
        return 0.5 * anp.sum(m * (target - y) ** 2)

    return state, outputs, error, has_state


class ReferenceLearner:
    """The paper's online learner, independently of the generated code (see the module docstring).

    Args:
        topology: the network.
        update: ``"step"`` or ``"sequence"``.
    """

    def __init__(self, topology: Topology, update: str = "step") -> None:
        if update not in UPDATES:
            raise ValueError(f"update must be one of {UPDATES}, got {update!r}")
        self.topology = topology
        self.update = update
        self.layout = _Layout(topology)
        self._state, self._outputs, self._error, self._has_state = _step_functions(topology, self.layout)
        self._ds_dw = jacobian(self._state, 0)
        self._ds_ds = jacobian(self._state, 1)
        self._dE_dw = grad(self._error, 0)
        self._dE_ds = grad(self._error, 1)

    def _trial(self, w: np.ndarray, lr: float, xs: np.ndarray, targets: np.ndarray, mask: np.ndarray,
               mode: str, frozen: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """One trial over one sequence: returns (weights after, outputs (T, K), summed G for mode 'gradient')."""
        top = self.topology
        T = xs.shape[0]
        n_state = top.n_cells if self._has_state else 0
        wmask = self.layout.frozen_mask if frozen else self.layout.mask
        s = np.zeros(n_state)
        a = np.zeros(top.n_activations)
        trace = np.zeros((n_state, w.size))  # T(t) = ds(t)/dw, zero at the sequence start
        total = np.zeros_like(w)
        ys = np.empty((T, top.n_out))
        for t in range(T):
            x = np.asarray(xs[t], dtype=float)
            m = mask[t] if mask.ndim == 2 else np.full(top.n_out, mask[t])
            y, a_new = self._outputs(w, s, a, x)
            ys[t] = y
            if mode == "forward":
                s, a = self._state(w, s, a, x), a_new
                continue
            G = np.zeros_like(w)
            if np.any(m != 0):  # eqs. (19)-(28): the error of this step through the outputs and the traces
                G = -(self._dE_dw(w, s, a, x, targets[t], m) + (self._dE_ds(w, s, a, x, targets[t], m) @ trace
                                                                 if n_state else 0.0))
            if n_state:  # eqs. (25), (27), (30): the traces, on the weights of this step
                trace = self._ds_dw(w, s, a, x) + self._ds_ds(w, s, a, x) @ trace
            s, a = self._state(w, s, a, x), a_new
            if mode == "step":
                w = w + lr * G * wmask
            else:
                total = total + G
        if mode == "sequence":
            w = w + lr * total * wmask
        return w, ys, (total if mode == "gradient" else None)

    def run_sequence(self, params: list[Params], learning_rates, xs, targets, mask,
                     learn: bool = True, frozen=None) -> tuple[list[Params], np.ndarray]:
        """Trials (one :class:`Params` each) over one sequence each: ``xs`` (T, B, I) dense, ``targets`` (T, B, K),
        ``mask`` (T, B) or (T, B, K); ``frozen`` optional (B,) bools. Returns the new weights and the outputs
        (T, B, K)."""
        xs = np.asarray(xs, dtype=float)
        T, B, _ = xs.shape
        frozen = np.zeros(B, dtype=bool) if frozen is None else np.asarray(frozen, dtype=bool)
        out, ys = [], np.empty((T, B, self.topology.n_out))
        for b in range(B):
            w, y, _ = self._trial(self.layout.flat(params[b]), float(np.asarray(learning_rates).reshape(B)[b]),
                                  xs[:, b], targets[:, b], mask[:, b], self.update if learn else "forward",
                                  bool(frozen[b]))
            out.append(self.layout.params(w))
            ys[:, b] = y
        return out, ys

    def sequence_gradient(self, params: Params, xs, targets, mask) -> Params:
        """``dL/dw`` summed over the steps and the sequences of ``xs`` (T, B, I) with the weights held fixed,
        masked."""
        xs = np.asarray(xs, dtype=float)
        w = self.layout.flat(params)
        total = np.zeros_like(w)
        for b in range(xs.shape[1]):
            _, _, g = self._trial(w, 0.0, xs[:, b], targets[:, b], mask[:, b], "gradient", False)
            total += g
        return self.layout.params(-total * self.layout.mask)
