"""The numba kernels' sparse input path (only the nonzero inputs of each step) against their dense path.

For one-hot or mostly zero inputs the generated numba module lists each step's nonzero inputs and leaves the zero
ones out of the input parts of the net inputs, of the input-weight gradients and (``_learner_kernel_lists``) of
the learner's traces and weight changes (over the inputs seen in the trial, or over all once SEEN_ALL of them
were: "one-hot few" never gets there, "one-hot" and "mostly-zero" do within the sequence). A term left out is
``w * 0.0``, and every sum it would join starts at +0.0 and so is never -0.0: the results are the dense path's bit
for bit (compared here as raw bytes, signs of zeros included). The one possible difference, a weight that is -0.0
turning +0.0 when the dense learner adds a zero change, is kept out by the weights here (none is -0.0). Skipped
without numba.
"""

import importlib

import numpy as np
import pytest

from lstm_proofs.learning import stack_params
from lstm_proofs.network import Topology, init_params

pytest.importorskip("numba")

I = 24  # inputs: enough for the sparse path to be chosen (SPARSE_MIN_INPUTS)
T, B = 30, 3
TOPOLOGIES = {
    "lstm1997": Topology("lstm1997", I, 3, 2, 2, bias="all"),
    "lstm1997_2a": Topology("lstm1997_2a", I, I, 1, 1, recurrent="none", output_from="below"),
    "forget": Topology("forget", I, 3, 2, 2, recurrent="cells", bias="all"),
    "peephole": Topology("peephole", I, 3, 3, 1, bias="all"),
    "vanilla": Topology("vanilla", I, 3, 3, 1, recurrent="cells", output_from="below", bias="all"),
    "rnn": Topology("rnn", I, 3, 4, 1, bias="all"),
    "rnn_tanh": Topology("rnn_tanh", I, 3, 4, 1, bias="all"),
}
FAST = ["lstm1997", "forget", "rnn"]  # the others are marked slow (each cell compiles its own kernels)
CASES = [pytest.param(c, marks=() if c in FAST else pytest.mark.slow) for c in TOPOLOGIES]


def _module(cell):
    return importlib.import_module(f"lstm_proofs.derivations.numba_{cell}")


def _inputs(kind, rng, T=T, B=B, n=I):
    if kind.startswith("one-hot"):  # "one-hot few": 6 symbols, fewer than SEEN_ALL of the inputs
        xs = np.zeros((T, B, n))
        symbols = rng.integers(0, n, size=(T, B, 1)) if kind == "one-hot" else rng.integers(3, 9, size=(T, B, 1))
        np.put_along_axis(xs, symbols, 1.0, axis=2)
        xs[T // 2, 0] = 0.0  # a step without any input
        return xs
    xs = rng.uniform(-1.5, 1.5, size=(T, B, n)) * (rng.uniform(size=(T, B, n)) < 0.08)  # mostly zero
    xs[3, 1, :] = 0.0
    xs[4, 1, 2:9] = -0.5  # a run of nonzero inputs
    return xs


def _no_negative_zero(a):
    a = np.asarray(a, dtype=float)
    a[a == 0.0] = 0.0  # -0.0 -> +0.0
    return a


def _params(top, rng):
    p = init_params(top, rng, 0.5)
    return type(p)({k: _no_negative_zero(v) for k, v in p.arrays.items()})


def _same(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, what
    if a.tobytes() != b.tobytes():
        np.testing.assert_array_equal(a, b, err_msg=what)  # shows where (or it was the sign of a zero)
        raise AssertionError(f"{what}: equal values, different signs of zero")


@pytest.mark.parametrize("kind", ["one-hot", "mostly-zero"])
@pytest.mark.parametrize("cell", CASES)
def test_sparse_forward_and_gradient_equal_dense_bit_for_bit(cell, kind):
    top, k = TOPOLOGIES[cell], _module(cell)
    rng = np.random.default_rng(1)
    params = _params(top, rng)
    xs = _inputs(kind, rng)
    assert k.input_path(xs) == "sparse"
    d_ys = rng.normal(size=(T, B, top.n_out)) * (rng.uniform(size=(T, B, 1)) < 0.5)
    C, S, P = top.n_blocks, top.block_size, params.cell_params(top)
    runs = {}
    for path in ("dense", "sparse"):
        ys, acts, states, cache = k.forward_sequence(params.W_hidden, params.W_output, P, xs, C, S, path=path)
        grads = [k.gradient_sequence(params.W_hidden, params.W_output, xs, ys, acts, cache, d_ys, truncated, C, S,
                                     path=path) for truncated in (False, True)]
        runs[path] = (ys, acts, states, cache, grads)
    (ys0, a0, s0, c0, g0), (ys1, a1, s1, c1, g1) = runs["dense"], runs["sparse"]
    for name, x, y in (("outputs", ys0, ys1), ("activations", a0, a1), ("states", s0, s1), ("partials", c0[0], c1[0]),
                       ("f'(net_k)", c0[1], c1[1])):
        _same(y, x, f"{cell} {kind} forward {name}")
    for truncated, (gd, gs) in zip((False, True), zip(g0, g1)):
        for i, (x, y) in enumerate(zip(gd[:2], gs[:2])):
            _same(y, x, f"{cell} {kind} gradient {'W_hidden W_output'.split()[i]} truncated={truncated}")
        for x, y in zip(gd[2], gs[2]):
            _same(y, x, f"{cell} {kind} gradient of cell parameters truncated={truncated}")


@pytest.mark.parametrize("mode", ["forward", "step", "sequence", "gradient"])
@pytest.mark.parametrize("kind", ["one-hot", "one-hot few", "mostly-zero"])
@pytest.mark.parametrize("cell", CASES)
def test_sparse_learner_equals_dense_bit_for_bit(cell, kind, mode):
    top, k = TOPOLOGIES[cell], _module(cell)
    rng = np.random.default_rng(2)
    trials = [_params(top, np.random.default_rng(10 + i)) for i in range(B)]  # B trials in lockstep
    xs = _inputs(kind, rng)
    tg = rng.uniform(size=(T, B, top.n_out))
    mask = (rng.uniform(size=(T, B)) < 0.4).astype(float)
    mask[-1] = 1.0
    masks = top.masks()
    lr = np.array([0.3, 0.5, 0.9])
    C, S = top.n_blocks, top.block_size
    runs = {}
    for path in ("dense", "sparse"):
        P = stack_params(trials)
        P = type(P)({name: a.copy() for name, a in P.arrays.items()})
        cell_p = P.cell_params(top)
        ys, G = k.learner_sequence(P.W_hidden, P.W_output, cell_p, lr, xs, tg, mask, masks["W_hidden"].astype(float),
                                   masks["W_output"].astype(float), mode, C, S, path=path)
        runs[path] = ys, P, G
    (y0, p0, g0), (y1, p1, g1) = runs["dense"], runs["sparse"]
    _same(y1, y0, f"{cell} {kind} {mode}: outputs")
    for name in p0.arrays:
        _same(p1.arrays[name], p0.arrays[name], f"{cell} {kind} {mode}: weights {name} after the sequence")
    if mode == "gradient":
        _same(g1[0], g0[0], f"{cell} {kind}: summed G, hidden weights")
        _same(g1[1], g0[1], f"{cell} {kind}: summed G, output weights")
        for x, y in zip(g0[2], g1[2]):
            _same(y, x, f"{cell} {kind}: summed G, cell parameters")


def test_wrappers_choose_the_sparse_path_for_one_hot_inputs(monkeypatch):
    from lstm_proofs.learning import OnlineLearner, TrialState
    from lstm_proofs.network import Network
    from lstm_proofs.network.model import load_kernels

    top = TOPOLOGIES["lstm1997"]
    k = _module("lstm1997")
    jit = k._CELL.kernels()
    calls = []

    def spy(name):
        kernel = jit[name]

        def run(*args):
            calls.append(name)
            return kernel(*args)
        monkeypatch.setitem(jit, name, run)

    for name in ("_forward_kernel", "_backward_kernel", "_learner_kernel"):
        spy(name)
        spy(name + ("_lists" if name == "_learner_kernel" else "_sparse"))
    rng = np.random.default_rng(3)
    onehot, dense = _inputs("one-hot", rng), rng.uniform(-1, 1, size=(T, B, I))
    assert k.input_path(onehot) == "sparse" and k.input_path(dense) == "dense"
    assert k.input_path(onehot[..., :4]) == "dense"  # too few inputs to be worth listing
    assert k.input_path(onehot, "dense") == "dense"
    params = init_params(top, rng, 0.5)
    tg, mask = rng.uniform(size=(T, B, top.n_out)), np.ones((T, B))
    net = Network(top, load_kernels("lstm1997", "numba"))
    learner = OnlineLearner(top, kernels=load_kernels("lstm1997", "numba"))
    for xs, expected in ((onehot, ["_forward_kernel_sparse", "_backward_kernel_sparse", "_learner_kernel_lists"]),
                         (dense, ["_forward_kernel", "_backward_kernel", "_learner_kernel"])):
        calls.clear()
        net.loss_and_grad(params, xs, tg, mask)
        learner.run_sequence(TrialState(stack_params([params] * B), np.full(B, 0.1)), xs, tg, mask)
        assert calls == expected


def test_unknown_input_path_is_a_user_error():
    from lstm_proofs.errors import UserError

    with pytest.raises(UserError, match="input path"):
        _module("lstm1997").input_path(np.zeros((1, 1, I)), "csr")
