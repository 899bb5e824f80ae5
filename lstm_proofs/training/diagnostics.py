"""What happens inside a trial's network while it trains: sampled cheaply, recorded with the trial.

A trial run with diagnostics (``lstm-proofs ablate``, or a preset with ``diagnostics=True``) keeps a small fixed
probe batch of fresh task sequences, drawn from its own random stream 5 so the training is unchanged, and runs its
current weights forward on it at 100, 200, 500, 1,000, 2,000, 5,000, ... training sequences and at its end. Each
sample records, per memory cell, the largest |s| (internal state, the CEC) over the probe's steps and the mean |s|
at the sequence ends; per gate and block, the mean activation; per output unit, the mean activation at the last
step, and the fraction of (sequence, output unit) pairs whose last activation is saturated (within 0.01 of 0 or 1).
These are the quantities of the paper's Section 4 "internal state drift" (|s| grows until h'(s) vanishes) and "abuse
problem" (gates stuck open or shut).

At the end, for the tasks where the paper's failure modes can be told apart, where the errors are on 256 fresh
sequences (Exp. 1: on the trial's test set):

* Exp. 1: strings wrong at the symbol before last (predicting the final T or P needs the second symbol, stored
  across the embedded string: the long-lag prediction) against strings wrong anywhere else (the inner grammar);
* Exps. 2a/2b: sequences wrong at the final step (the symbol stored from the first step) against sequences wrong
  at a middle step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstm_proofs.network import Network, Params
from lstm_proofs.tasks import Batch

#: The random stream of a trial that its probe sequences come from (streams 0-4: see the trainer).
PROBE_STREAM = 5

#: Sequences of the probe batch sampled during training.
PROBE_SEQUENCES = 8

#: Fresh sequences on which the error sites are counted at the end.
SITE_SEQUENCES = 256

#: An output unit counts as saturated when its (logistic) activation is within 0.01 of 0 or 1, where its slope
#: f' = y (1 - y) is below 0.0099, a 25th of its largest value.
SATURATED = 0.49

#: ABS(0.25), Exp. 2a/2b's per-output error bound (Section 5.2).
EXP2_BOUND = 0.25


def sample_points(upto: int) -> list[int]:
    """Training-sequence counts at which a trial is sampled: 100, 200, 500, 1,000, ... up to ``upto``."""
    out, scale = [], 100
    while scale <= upto:
        out += [m * scale for m in (1, 2, 5) if m * scale <= upto]
        scale *= 10
    return out


class Probe:
    """The diagnostics of one trial: its probe batch, the samples so far and the next sampling point."""

    def __init__(self, net: Network, batch: Batch, rng: np.random.Generator | None = None) -> None:
        self.net = net
        self.batch = batch
        self.rng = rng  # the trial's probe stream, for the sequences of the error sites at its end
        self.samples: list[dict[str, Any]] = []
        self.next_at = 100

    def due(self, sequences: int) -> bool:
        return sequences >= self.next_at

    def sample(self, sequences: int, params: Params) -> None:
        """Record a sample of the trial's weights after ``sequences`` training sequences."""
        self.samples.append({"sequences": sequences, **measure(self.net, params, self.batch)})
        while self.next_at <= sequences:
            self.next_at = _next_point(self.next_at)

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps of the probe (the batch is drawn again from the trial's stream)."""
        return {"samples": self.samples, "next_at": self.next_at}

    def restore(self, state: dict[str, Any]) -> None:
        self.samples = list(state["samples"])
        self.next_at = int(state["next_at"])


def _next_point(point: int) -> int:
    scale = 10 ** (len(str(point)) - 1)
    lead = point // scale
    return (2 if lead == 1 else 5 if lead == 2 else 10) * scale


def measure(net: Network, params: Params, batch: Batch) -> dict[str, Any]:
    """Largest |s| per cell over all steps, mean |s| per cell at the sequence ends, mean gate activations per block.

    Returns an empty dict for networks without memory cells (conventional units have no state)."""
    top = net.topology
    fp = net.forward(params, batch.inputs)
    if fp.states is None:
        return {}
    steps = np.arange(fp.states.shape[0])
    valid = steps[:, None] < batch.lengths[None, :]                                    # (T, B)
    s = np.abs(fp.states)                                                              # (T, B, C, S)
    end = s[batch.lengths - 1, np.arange(batch.n)]                                     # (B, C, S)
    rows = top.row_slices()
    acts = fp.activations[valid]                                                       # (valid steps, N_a)
    last = fp.outputs[batch.lengths - 1, np.arange(batch.n)]                          # (B, K)
    return {"max_abs_state": _round(np.where(valid[..., None, None], s, 0.0).max(axis=(0, 1)).ravel()),
            "end_abs_state": _round(end.mean(axis=0).ravel()),
            "gate_mean": {g: _round(acts[:, rows[g]].mean(axis=0)) for g in top.gates},
            "output_end_mean": _round(last.mean(axis=0)),
            "output_end_saturated": float(np.mean(np.abs(last - 0.5) > SATURATED))}


def _round(values: np.ndarray) -> list[float]:
    return [float(f"{v:.6g}") for v in values]


def error_sites(task_name: str, net: Network, params: Params, batch: Batch) -> dict[str, Any] | None:
    """Where the trial's errors are at its end (see the module docstring); None for tasks without such a split."""
    if task_name not in ("1", "2a", "2b"):
        return None
    outs = net.forward(params, batch.inputs).outputs                                  # (T, B, K)
    steps = np.arange(batch.steps)[:, None]
    valid = steps < batch.lengths[None, :]
    if task_name == "1":
        legal = batch.info["legal"][:, :batch.steps].transpose(1, 0, 2)
        lowest_legal = np.where(legal, outs, np.inf).min(axis=2)
        highest_other = np.where(legal, -np.inf, outs).max(axis=2)
        wrong = (lowest_legal <= highest_other) & valid
        site = steps == (batch.lengths - 2)[None, :]  # input: the inner string's E; target: T or P (long lag)
        names = ("wrong_long_lag", "wrong_elsewhere")
    else:
        scored = batch.mask.max(axis=2) > 0
        wrong = (np.abs(batch.targets - outs).max(axis=2) >= EXP2_BOUND) & valid & scored
        site = steps == (batch.lengths - 1)[None, :]  # the final step: the symbol stored from the first step
        names = ("wrong_final", "wrong_middle")
    return {"sequences": int(batch.n), names[0]: int((wrong & site).any(axis=0).sum()),
            names[1]: int((wrong & ~site).any(axis=0).sum())}
