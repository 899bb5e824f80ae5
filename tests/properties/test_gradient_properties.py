"""Property-based tests (hypothesis) of the generated kernels over random cells, shapes, lengths and weights.

Profiles: see tests/conftest.py (deterministic ``ci`` by default; ``LSTM_PROOFS_HYPOTHESIS=thorough`` for more).
"""

import warnings

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from lstm_proofs.cells import CELLS, get_cell
from lstm_proofs.errors import UserError
from lstm_proofs.learning import OnlineLearner
from lstm_proofs.network import Network, Params, Topology, init_params
from lstm_proofs.network.model import load_kernels
from lstm_proofs.network.topology import BIAS, OUTPUT_FROM, RECURRENT
from lstm_proofs.reference import autograd_models
from lstm_proofs.verify.gradcheck import compare_params, complex_step, directional_error


@st.composite
def networks(draw, max_T: int = 12, scales=(0.1, 1.0, 3.0)):
    """A random valid topology, weights, and a batch of sequences."""
    cell = draw(st.sampled_from(sorted(CELLS)))
    decl = get_cell(cell)
    shared = bool(decl.gates) and decl.shared_gates
    try:
        top = Topology(cell, draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 3)),
                       draw(st.integers(1, 3)) if shared else 1, recurrent=draw(st.sampled_from(RECURRENT)),
                       output_from=draw(st.sampled_from(OUTPUT_FROM)), bias=draw(st.sampled_from(BIAS)))
    except UserError:
        assume(False)
    seed = draw(st.integers(0, 2**32 - 1))
    T, B = draw(st.integers(1, max_T)), draw(st.integers(1, 3))
    rng = np.random.default_rng(seed)
    params = init_params(top, rng, interval=draw(st.sampled_from(scales)))
    xs = rng.uniform(-1, 1, (T, B, top.n_in))
    targets = rng.uniform(0, 1, (T, B, top.n_out))
    mask = (rng.uniform(size=(T, B, top.n_out)) < 0.6).astype(float)
    return top, params, xs, targets, mask


@given(networks())
def test_generated_gradient_equals_autograd_and_complex_step(net):
    top, params, xs, targets, mask = net
    network = Network(top)
    _, g = network.loss_and_grad(params, xs, targets, mask)
    ref = autograd_models.gradient(top, params, xs, targets, mask)
    cmp = compare_params(g, ref)
    assert cmp.error <= 1e-10, cmp.message(top.cell, "normwise")
    d = np.random.default_rng(0).standard_normal(top.n_weights)
    cs = complex_step(lambda p: network.loss(p, xs, targets, mask), top, params, d)
    assert directional_error(g.to_vector(top), d, cs) <= 1e-12


@given(networks())
def test_learner_gradient_equals_truncated_bptt_and_autograd_with_stop_gradients(net):
    top, params, xs, targets, mask = net
    traces = OnlineLearner(top).sequence_gradient(params, xs, targets, mask)
    _, bptt = Network(top).loss_and_grad(params, xs, targets, mask, truncated=True)
    ref = autograd_models.gradient(top, params, xs, targets, mask, truncated=True)
    assert compare_params(traces, bptt).error <= 1e-10
    assert compare_params(bptt, ref).error <= 1e-10


@given(networks(max_T=6, scales=(1.0,)), st.sampled_from([1.0, 1000.0]), st.booleans())
def test_no_warnings_and_finite_results_for_pre_activations_up_to_1000(net, magnitude, negative):
    top, params, xs, targets, mask = net
    xs = np.sign(xs) * magnitude * (-1 if negative else 1)  # every input +-1000: net inputs of order 1000
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        warnings.simplefilter("error")
        loss, g = Network(top).loss_and_grad(params, xs, targets, mask)
        _, gt = Network(top).loss_and_grad(params, xs, targets, mask, truncated=True)
        learned = OnlineLearner(top).sequence_gradient(params, xs, targets, mask)
    assert np.isfinite(loss)
    for p in (g, gt, learned):
        assert all(np.all(np.isfinite(a)) for a in p.arrays.values())


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 5), st.floats(-1000, 1000), st.integers(0, 2**32 - 1))
def test_cec_self_derivative_is_exactly_one_array_of_the_state_shape(C, S, B, scale, seed):
    rng = np.random.default_rng(seed)
    for cell in ("lstm1997", "lstm1997_2a"):
        k = load_kernels(cell)
        shape = (B, C, S)
        nets = [rng.uniform(-1, 1, shape) * scale for _ in range(1 + len(k.GATES))]  # net_c, then each gate
        s_prev = rng.uniform(-5, 5, shape)
        J = k.cell_traces(*nets, s_prev, *k.cell_forward(*nets, s_prev))[0]
        assert isinstance(J, np.ndarray) and J.shape == shape and J.dtype == np.float64
        assert np.array_equal(J, np.ones(shape))


@given(networks())
def test_parameter_vector_round_trip(net):
    top, params, *_ = net
    v = params.to_vector(top)
    assert v.shape == (top.n_weights,)
    back = Params.from_vector(top, v)
    for name, a in params.arrays.items():
        assert np.array_equal(back.arrays[name], a * top.masks()[name])


def _permute_blocks(top: Topology, params: Params, perm: np.ndarray) -> tuple[Params, np.ndarray]:
    """Relabel the memory-cell blocks: block j of the new network is block perm[j] of the old one."""
    C, S, G = top.n_blocks, top.block_size, len(top.gates)
    units = [perm[j] * S + v for j in range(C) for v in range(S)]
    units += [top.n_cells + g * C + perm[j] for g in range(G) for j in range(C)]
    cols = list(range(top.n_in)) + [top.n_in + u for u in units] + [top.n_sources - 1]
    out = {"W_hidden": params.W_hidden[units][:, cols], "W_output": params.W_output[:, cols]}
    for name, a in params.arrays.items():
        if name.startswith("P_"):
            out[name] = a[perm]
    return Params(out), np.array(cols)


@given(networks(max_T=8), st.randoms(use_true_random=False))
def test_relabelling_blocks_permutes_the_gradient(net, random):
    top, params, xs, targets, mask = net
    perm = np.array(random.sample(range(top.n_blocks), top.n_blocks))
    permuted, _ = _permute_blocks(top, params, perm)
    network = Network(top)
    loss, g = network.loss_and_grad(params, xs, targets, mask)
    loss_p, g_p = network.loss_and_grad(permuted, xs, targets, mask)
    assert abs(loss_p - loss) <= 1e-12 * max(1.0, abs(loss))
    expected, _ = _permute_blocks(top, g, perm)
    assert compare_params(g_p, expected).error <= 1e-12


@given(st.sampled_from(["lstm1997", "lstm1997_2a", "forget"]), st.integers(1, 3), st.integers(1, 2),
       st.integers(1, 3), st.integers(1, 15), st.integers(0, 2**32 - 1))
def test_forward_traces_are_derivatives_of_the_state_of_the_truncated_model(cell, C, S, n_in, T, seed):
    """Eqs. (25), (27): the trace ds(t)/dw_lm is the derivative of the state with the sources y^m(t-1) held at
    their realised values (the truncated model); checked by complex step and by central differences."""
    rng = np.random.default_rng(seed)
    top = Topology(cell, n_in, 1, C, S, recurrent="none" if cell == "lstm1997_2a" else "all", bias="all")
    k = load_kernels(cell)
    params = init_params(top, rng, 1.0)
    xs = rng.uniform(-1, 1, (T, 1, n_in))
    W_h, W_o = params.W_hidden[None], params.W_output[None]
    a, s = np.zeros((1, top.n_activations)), np.zeros((1, C, S))
    traces = tuple(np.zeros((1, C, S, top.n_sources)) for _ in k.TRACE_INPUTS)
    sources = []
    for t in range(T):
        sources.append(np.concatenate([xs[t], a, np.ones((1, 1))], axis=1)[0])
        _, a, s, traces, *_ = k.learner_step(W_h, W_o, (), xs[t], a, s, traces, np.zeros((1, 1)), np.zeros((1, 1)),
                                              C, S)
    rows = top.row_slices()

    def state(W):  # the truncated model: sources fixed, the state chained through the cell equations
        s = np.zeros((1, C, S), dtype=W.dtype)
        for z in sources:
            net = W @ z
            nets = [net[rows["c"]].reshape(1, C, S)] + [net[rows[g]].reshape(1, C, 1) for g in top.gates]
            s = k.cell_forward(*nets, s)[k.TARGETS.index(k.STATE)]
        return s[0]

    W = params.W_hidden
    for name, trace in zip(k.TRACE_INPUTS, traces):
        unit = "c" if name == "net_c" else name[4:]
        for r in range(rows[unit].start, rows[unit].stop):
            m = rng.integers(top.n_sources)
            e = np.zeros(W.shape)
            e[r, m] = 1.0
            cs = state(W + 1e-30j * e).imag / 1e-30
            fd = (state(W + 1e-6 * e) - state(W - 1e-6 * e)) / 2e-6
            j = (r - rows[unit].start) // (S if unit == "c" else 1)  # the block of row r
            expected = np.zeros((C, S))
            if unit == "c":
                expected[j, (r - rows["c"].start) % S] = trace[0, j, (r - rows["c"].start) % S, m]
            else:
                expected[j] = trace[0, j, :, m]  # a gate's weight reaches every cell of its block
            scale = max(1e-300, np.abs(expected).max())
            assert np.abs(cs - expected).max() <= 1e-12 * scale
            assert np.abs(fd - expected).max() <= 1e-6 * max(1.0, scale)
