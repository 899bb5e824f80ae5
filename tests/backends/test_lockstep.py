"""Trials in lockstep: 32 independent trials advanced together give each trial's result when run alone.

NumPy: the batched kernels use batched matmul/einsum over the trial axis, so per-trial arithmetic is the same as alone;
checked bit for bit. numba: the kernel loops over trials with the same code; bit for bit.
"""

import numpy as np
import pytest

from lstm_proofs.learning import OnlineLearner, TrialState, stack_params, unstack_params
from lstm_proofs.network import Topology, init_params
from lstm_proofs.network.model import load_kernels

TOP = Topology("lstm1997", 2, 1, 2, 2, bias="all")  # Exps. 4 and 5 (93 weights)
N = 32


def _run(backend, update):
    kernels = load_kernels(TOP.cell, backend)
    rng = np.random.default_rng(7)
    T = 30
    xs = rng.uniform(-1, 1, size=(T, N, 2))
    tg = rng.uniform(size=(T, N, 1))
    mask = (rng.uniform(size=(T, N)) < 0.3).astype(float)
    trials = [init_params(TOP, np.random.default_rng(100 + i), 0.1, gate_biases={"in": [-3.0, -6.0]}) for i in range(N)]
    lr = np.linspace(0.1, 1.0, N)
    together = TrialState(stack_params(trials), lr.copy())
    ys = OnlineLearner(TOP, update, kernels=kernels).run_sequence(together, xs, tg, mask)
    for i in range(N):
        alone = TrialState(stack_params([trials[i]]), lr[i:i + 1].copy())
        y1 = OnlineLearner(TOP, update, kernels=kernels).run_sequence(alone, xs[:, i:i + 1], tg[:, i:i + 1],
                                                                      mask[:, i:i + 1])
        np.testing.assert_array_equal(ys[:, i:i + 1], y1)
        for name, arr in unstack_params(together.params)[i].arrays.items():
            np.testing.assert_array_equal(arr, unstack_params(alone.params)[0].arrays[name])


@pytest.mark.parametrize("update", ["step", "sequence"])
def test_numpy_lockstep_equals_each_trial_alone_bit_for_bit(update):
    _run("numpy", update)


@pytest.mark.parametrize("update", ["step", "sequence"])
def test_numba_lockstep_equals_each_trial_alone_bit_for_bit(update):
    pytest.importorskip("numba")
    _run("numba", update)
