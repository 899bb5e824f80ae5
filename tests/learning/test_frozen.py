"""Frozen trials of the online learner (sequential construction of Exps. 2a/2b, Section 4): the hidden part keeps
its weights, the outputs see the inputs only, and a mixed batch gives each trial's result alone."""

import numpy as np
import pytest

from lstm_proofs.learning import OnlineLearner, TrialState, frozen_masks, stack_params
from lstm_proofs.network import Network, Topology, init_params
from lstm_proofs.network.model import load_kernels

TOP = Topology("lstm1997_2a", 6, 6, 1, 1, recurrent="none", output_from="below")  # Exp. 2a's net at p = 5
BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    __import__("importlib").util.find_spec("numba") is None, reason="numba not installed"))]


def _data(rng, T=8, B=3):
    sym = rng.integers(0, 6, size=(T + 1, B))
    eye = np.eye(6)
    return eye[sym[:-1]], eye[sym[1:]], np.ones((T, B))


def _hidden(top):
    masks, keep = top.masks(), frozen_masks(top)
    return {k: m & ~keep[k] for k, m in masks.items()}


def _trials(seed, n, zero_cell_outputs=()):
    ps = [init_params(TOP, np.random.default_rng(seed + i), 0.2) for i in range(n)]
    for i in zero_cell_outputs:  # a frozen trial: the cell's output weights at zero (its inputs may be anything)
        ps[i].arrays["W_output"][:, TOP.n_in:TOP.n_in + TOP.n_cells] = 0.0
    return ps


def test_frozen_masks_keep_input_to_output_weights_only():
    keep = frozen_masks(TOP)
    assert not keep["W_hidden"].any()
    assert keep["W_output"][:, :6].all() and not keep["W_output"][:, 6:].any()
    big = Topology("lstm1997_2a", 101, 101, 1, 1, recurrent="none", output_from="below")
    assert big.n_weights == 10504 and sum(m.sum() for m in frozen_masks(big).values()) == 101 * 101


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("update", ["step", "sequence"])
def test_frozen_trial_keeps_hidden_part_and_outputs_ignore_the_cell(backend, update):
    learner = OnlineLearner(TOP, update, kernels=load_kernels(TOP.cell, backend))
    rng = np.random.default_rng(1)
    ps = _trials(10, 2, zero_cell_outputs=(0, 1))
    ps[1].arrays["W_hidden"][:] = 0.0  # trial 1: the hidden part all zero; trial 0: random cell inputs
    ps[1].arrays["W_output"][:, :6] = ps[0].arrays["W_output"][:, :6]  # same input-to-output weights
    st = TrialState(stack_params(ps), np.full(2, 1.0))
    hidden = _hidden(TOP)
    before = {k: v.copy() for k, v in st.params.arrays.items()}
    for _ in range(5):
        xs, tg, mask = _data(rng, B=1)
        xs2, tg2, mask2 = (np.concatenate([a, a], axis=1) for a in (xs, tg, mask))
        ys = learner.run_sequence(st, xs2, tg2, mask2, frozen=np.array([True, True]))
        np.testing.assert_array_equal(ys[:, 0], ys[:, 1])  # the cell's activity does not reach the outputs
    for k, m in hidden.items():
        np.testing.assert_array_equal(st.params.arrays[k][:, m], before[k][:, m])  # every frozen weight unchanged
    assert not np.array_equal(st.params.W_output[:, :, :6], before["W_output"][:, :, :6])  # the rest learnt
    np.testing.assert_array_equal(st.params.W_output[0], st.params.W_output[1])
    # the frozen net is the input-only net: its outputs equal a forward pass with the hidden part zero
    xs, tg, mask = _data(rng, B=1)
    one = type(ps[0])({k: v[1].copy() for k, v in st.params.arrays.items()})
    ref = Network(TOP).forward(one, xs).outputs
    ys = learner.run_sequence(st, *(np.concatenate([a, a], axis=1) for a in (xs, tg, mask)), learn=False)
    np.testing.assert_allclose(ys[:, 1:], ref, rtol=1e-13, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_batch_equals_each_trial_alone(backend):
    """Frozen and unfrozen trials in one batch: each trial's weights and outputs are those of the trial alone."""
    learner = OnlineLearner(TOP, "step", kernels=load_kernels(TOP.cell, backend))
    frozen = np.array([True, False, True, False])
    rng = np.random.default_rng(2)
    seqs = [_data(rng, B=4) for _ in range(3)]
    ps = _trials(20, 4, zero_cell_outputs=(0, 2))
    together = TrialState(stack_params(ps), np.linspace(0.5, 1.0, 4))
    outs = [learner.run_sequence(together, xs, tg, mask, frozen=frozen) for xs, tg, mask in seqs]
    for i in range(4):
        alone = TrialState(stack_params([ps[i]]), together.learning_rate[i:i + 1].copy())
        for (xs, tg, mask), ys in zip(seqs, outs):
            y1 = learner.run_sequence(alone, xs[:, i:i + 1], tg[:, i:i + 1], mask[:, i:i + 1],
                                      frozen=frozen[i:i + 1])
            np.testing.assert_array_equal(y1[:, 0], ys[:, i])
        for k in together.params.arrays:
            np.testing.assert_array_equal(alone.params.arrays[k][0], together.params.arrays[k][i])


def test_no_frozen_trial_is_the_plain_learner():
    """``frozen`` all False gives bit for bit what the learner gives without it."""
    rng = np.random.default_rng(3)
    xs, tg, mask = _data(rng)
    a = TrialState(stack_params(_trials(30, 3)), np.ones(3))
    b = TrialState(stack_params(_trials(30, 3)), np.ones(3))
    OnlineLearner(TOP).run_sequence(a, xs, tg, mask)
    OnlineLearner(TOP).run_sequence(b, xs, tg, mask, frozen=np.zeros(3, bool))
    for k in a.params.arrays:
        np.testing.assert_array_equal(a.params.arrays[k], b.params.arrays[k])
