"""The paper's online learner (Section 5, Appendix A.1): update timing, resets, memory, eq. (19)/(22) details."""

import tracemalloc

import numpy as np
import pytest

from lstm_proofs.errors import UserError
from lstm_proofs.learning import OnlineLearner, TrialState, stack_params, unstack_params
from lstm_proofs.network import Network, Topology, init_params

TOP = Topology("lstm1997", 2, 1, 2, 2, bias="all")  # Exps. 4 and 5 (93 weights)


def _data(rng, T, B=1, every_step=False):
    xs = rng.uniform(-1, 1, size=(T, B, 2))
    tg = rng.uniform(size=(T, B, 1))
    mask = np.ones((T, B)) if every_step else np.zeros((T, B))
    mask[-1] = 1.0
    return xs, tg, mask


def _state(seed, n=1, lr=0.5):
    ps = [init_params(TOP, np.random.default_rng(seed + i), 0.1, gate_biases={"in": [-3.0, -6.0]}) for i in range(n)]
    return TrialState(stack_params(ps), np.full(n, lr))


def test_step_and_sequence_updates_agree_when_error_only_at_the_end():
    rng = np.random.default_rng(0)
    xs, tg, mask = _data(rng, 40)
    a, b = _state(1), _state(1)
    OnlineLearner(TOP, "step").run_sequence(a, xs, tg, mask)
    OnlineLearner(TOP, "sequence").run_sequence(b, xs, tg, mask)
    for k in a.params.arrays:
        np.testing.assert_array_equal(a.params.arrays[k], b.params.arrays[k])


def test_step_and_sequence_updates_differ_with_errors_every_step():
    rng = np.random.default_rng(0)
    xs, tg, mask = _data(rng, 20, every_step=True)
    a, b = _state(1), _state(1)
    OnlineLearner(TOP, "step").run_sequence(a, xs, tg, mask)
    OnlineLearner(TOP, "sequence").run_sequence(b, xs, tg, mask)
    assert not np.array_equal(a.params.W_hidden, b.params.W_hidden)


def test_sequence_update_is_minus_alpha_times_truncated_gradient():
    rng = np.random.default_rng(2)
    xs, tg, mask = _data(rng, 30, every_step=True)
    st = _state(3, lr=0.7)
    before = unstack_params(st.params)[0]
    OnlineLearner(TOP, "sequence").run_sequence(st, xs, tg, mask)
    after = unstack_params(st.params)[0]
    _, g = Network(TOP).loss_and_grad(before, xs, tg, mask, truncated=True)
    change = after.to_vector(TOP) - before.to_vector(TOP)
    np.testing.assert_allclose(change, -0.7 * g.to_vector(TOP), rtol=1e-10, atol=1e-15)


def test_output_unit_update_is_eq_19_times_eq_22():
    """One step: the change of an output weight is alpha * f'(net_k)(t_k - y_k) * y^m with y^m the current cell output."""
    rng = np.random.default_rng(4)
    xs, tg, mask = _data(rng, 1)
    st = _state(5, lr=0.3)
    p0 = unstack_params(st.params)[0]
    fp = Network(TOP).forward(p0, xs)
    y = fp.outputs[0, 0, 0]
    e_k = y * (1 - y) * (tg[0, 0, 0] - y)
    OnlineLearner(TOP).run_sequence(st, xs, tg, mask)
    dW = st.params.W_output[0] - p0.W_output
    cells = fp.activations[0, 0, :TOP.n_cells]
    # W + dW is rounded to the weights' precision, so the recovered dW is exact to one ulp of the weights
    ulp = 2 * np.spacing(np.abs(p0.W_output).max())
    np.testing.assert_allclose(dW[0, TOP.n_in:TOP.n_in + TOP.n_cells], 0.3 * e_k * cells, rtol=1e-12, atol=ulp)
    np.testing.assert_allclose(dW[0, -1], 0.3 * e_k, rtol=1e-12, atol=ulp)  # bias: y^m = 1
    assert np.all(dW[0, :TOP.n_in] == 0)  # output units do not see the inputs in this topology (masked)


def test_activations_states_and_traces_reset_at_each_sequence():
    rng = np.random.default_rng(6)
    xs, tg, mask = _data(rng, 25)
    st = _state(7)
    learner = OnlineLearner(TOP)
    first = learner.run_sequence(st, xs, tg, mask, learn=False)
    second = learner.run_sequence(st, xs, tg, mask, learn=False)
    np.testing.assert_array_equal(first, second)


def test_learner_memory_does_not_grow_with_sequence_length():
    rng = np.random.default_rng(8)
    learner = OnlineLearner(TOP)
    peaks = []
    for T in (50, 2000):
        xs, tg, mask = _data(rng, T)
        st = _state(9)
        tracemalloc.start()
        learner.run_sequence(st, xs, tg, mask)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # outputs (T x K floats) are the only per-step storage: allow 16 bytes per step on top of the T=50 peak
    assert peaks[1] <= peaks[0] + 16 * 2000


def test_bad_update_mode():
    with pytest.raises(UserError, match="update must be one of"):
        OnlineLearner(TOP, "batch")


def test_plain_arrays_where_params_are_expected_are_type_errors():
    rng = np.random.default_rng(0)
    xs, tg, mask = _data(rng, 5)
    params = init_params(TOP, rng, 0.1)
    vector = params.to_vector(TOP)
    with pytest.raises(TypeError, match="params must be a lstm_proofs.network.Params .*got ndarray"):
        Network(TOP).forward(vector, xs)
    with pytest.raises(TypeError, match="got dict"):
        Network(TOP).loss_and_grad(params.arrays, xs, tg, mask)
    learner = OnlineLearner(TOP)
    with pytest.raises(TypeError, match="got ndarray"):
        learner.sequence_gradient(vector, xs, tg, mask)
    with pytest.raises(TypeError, match="state.params must be .*got ndarray"):
        learner.run_sequence(TrialState(vector, np.ones(1)), xs, tg, mask)
    with pytest.raises(TypeError, match="state must be a TrialState"):
        learner.run_sequence(params, xs, tg, mask)
