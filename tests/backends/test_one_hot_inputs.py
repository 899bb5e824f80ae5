"""One-hot inputs held as symbols (OneHotInputs): the same arrays, batches and results as the dense inputs.

The one-hot tasks hand their inputs to the networks and learners as symbols; the numba kernels read the nonzero
inputs from them without a pass over a dense array, the NumPy kernels get the dense array. Everything here is
compared with the dense inputs bit for bit (raw bytes)."""

import importlib

import numpy as np
import pytest

from lstm_proofs.inputs import OneHotInputs, select_sequences
from lstm_proofs.learning import OnlineLearner, TrialState, stack_params
from lstm_proofs.network import Network, Topology, init_params
from lstm_proofs.network.model import load_kernels
from lstm_proofs.tasks import get_task
from lstm_proofs.tasks.base import Batch, one_hot

T, B = 25, 4


def _symbols(rng, size, T=T, B=B):
    sym = rng.integers(0, size, size=(T, B))
    sym[T - 5:, 1] = -1  # a shorter sequence: padding
    sym[7, 2] = -1  # a step without input
    return sym


def _bytes_equal(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, what
    assert a.tobytes() == b.tobytes(), what


def test_dense_form_lists_and_selection():
    rng = np.random.default_rng(0)
    sym = _symbols(rng, 9)
    x = OneHotInputs(sym, 9)
    dense = np.zeros((T, B, 9))
    for t in range(T):
        for b in range(B):
            if sym[t, b] >= 0:
                dense[t, b, sym[t, b]] = 1.0
    _bytes_equal(x.dense(), dense, "dense")
    _bytes_equal(np.asarray(x), dense, "np.asarray")
    assert x.shape == (T, B, 9) and x.ndim == 3 and x.dtype == np.float64
    off, idx, val = x.input_lists()
    rows = dense.reshape(T * B, 9)
    assert off[0] == 0 and off.size == T * B + 1
    for r in range(T * B):
        np.testing.assert_array_equal(idx[off[r]:off[r + 1]], np.flatnonzero(rows[r]))
        np.testing.assert_array_equal(val[off[r]:off[r + 1]], rows[r][rows[r] != 0])
    pick = np.array([3, 0, 3])
    _bytes_equal(select_sequences(x, pick).dense(), np.ascontiguousarray(dense[:, pick]), "select_sequences")
    _bytes_equal(x.take(pick, 10).dense(), dense[:10, pick], "take")
    assert x.take(pick) == OneHotInputs(sym[:, pick], 9) and x != OneHotInputs(sym, 10)


def test_dense_lists_equal_the_kernels_own_listing():
    pytest.importorskip("numba")
    k = importlib.import_module("lstm_proofs.derivations.numba_lstm1997")
    rng = np.random.default_rng(1)
    x = OneHotInputs(_symbols(rng, 30), 30)
    dense = x.dense()
    off, idx, val = np.empty(T * B + 1, np.int64), np.empty(dense.size, np.int64), np.empty(dense.size)
    n = k._CELL.kernels()["_input_nonzero"](dense, off, idx, val)
    for mine, theirs in zip(x.input_lists(), (off, idx[:n], val[:n])):
        _bytes_equal(mine, theirs, "input lists")


@pytest.mark.parametrize("symbols, size, match", [
    (np.zeros((3, 2), dtype=float), 4, "integer"),
    (np.zeros(3, dtype=int), 4, "2-d"),
    (np.full((3, 2), 4), 4, r"\[-1, 4\)"),
    (np.full((3, 2), -2), 4, r"\[-1, 4\)"),
    (np.zeros((3, 2), dtype=int), 0, "at least 1"),
])
def test_bad_symbols_are_refused(symbols, size, match):
    with pytest.raises(ValueError, match=match):
        OneHotInputs(symbols, size)


@pytest.mark.parametrize("name, options", [("1", {}), ("2a", {"p": 20}), ("2b", {"p": 20}),
                                           ("2c", {"q": 30, "p": 20}), ("6a", {}), ("6b", {})])
def test_one_hot_tasks_hold_their_inputs_as_symbols(name, options):
    task = get_task(name)
    rng = np.random.default_rng(2)
    a, b = task.generate(rng, 5, **options), task.generate(rng, 3, **options)
    assert isinstance(a.inputs, OneHotInputs) and isinstance(b.inputs, OneHotInputs)
    dense = a.xs
    assert isinstance(dense, np.ndarray) and dense.shape == a.inputs.shape and a.xs is dense  # made once
    assert np.all(dense.sum(axis=2) == (np.arange(a.steps)[:, None] < a.lengths[None, :]))
    taken = a.take([4, 1])
    assert isinstance(taken.inputs, OneHotInputs)
    dense_batch = Batch(a.xs, a.targets, a.mask, a.lengths, a.info)
    _bytes_equal(taken.xs, dense_batch.take([4, 1]).xs, f"{name}: take")
    joined = Batch.concatenate([a, b])
    assert isinstance(joined.inputs, OneHotInputs)
    _bytes_equal(joined.xs, Batch.concatenate([dense_batch, Batch(b.xs, b.targets, b.mask, b.lengths, b.info)]).xs,
                 f"{name}: concatenate")


def test_dense_tasks_keep_dense_inputs():
    batch = get_task("4").generate(np.random.default_rng(3), 3, T=20)
    assert isinstance(batch.inputs, np.ndarray) and batch.xs is batch.inputs


def test_one_hot_helper_equals_the_dense_form_of_the_symbols():
    rng = np.random.default_rng(4)
    sym = rng.integers(0, 6, size=(T, B))
    lengths = np.array([T, 3, 10, 0])
    expected = np.zeros((T, B, 6))
    for b, length in enumerate(lengths):
        expected[np.arange(length), b, sym[:length, b]] = 1.0
    _bytes_equal(one_hot(sym, lengths, 6), expected, "one_hot")


TOPOLOGIES = [Topology("lstm1997", 24, 3, 2, 2, bias="all"),  # 24 inputs: the numba sparse path
              Topology("forget", 24, 3, 2, 1, recurrent="cells", bias="all"),
              Topology("lstm1997", 7, 7, 3, 2, bias="gates")]  # Exp. 1's size: too few inputs, the dense path


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("top", TOPOLOGIES, ids=lambda t: f"{t.cell}-{t.n_in}")
def test_networks_and_learners_give_the_dense_results(top, backend):
    if backend == "numba":
        pytest.importorskip("numba")
    rng = np.random.default_rng(5)
    x = OneHotInputs(_symbols(rng, top.n_in), top.n_in)
    dense = x.dense()
    tg, mask = rng.uniform(size=(T, B, top.n_out)), (rng.uniform(size=(T, B)) < 0.5).astype(float)
    k = load_kernels(top.cell, backend)
    params = init_params(top, rng, 0.5)
    net = Network(top, k)
    (l0, g0), (l1, g1) = (net.loss_and_grad(params, xs, tg, mask) for xs in (dense, x))
    _bytes_equal(l1, l0, "loss")
    for name in g0.arrays:
        _bytes_equal(g1.arrays[name], g0.arrays[name], f"gradient {name}")
    _bytes_equal(net.forward(params, x).outputs, net.forward(params, dense).outputs, "forward")
    trials = [init_params(top, np.random.default_rng(20 + i), 0.5) for i in range(B)]
    frozen = np.array([False, True, False, True])  # mixed: two learner calls on selected sequences
    results = []
    for xs in (dense, x):
        state = TrialState(stack_params(trials), np.linspace(0.1, 0.4, B))
        learner = OnlineLearner(top, kernels=k)
        ys = learner.run_sequence(state, xs, tg, mask)
        ys2 = learner.run_sequence(state, xs, tg, mask, frozen=frozen)
        G = learner.sequence_gradient(params, xs, tg, mask)
        results.append((ys, ys2, state.params, G))
    (a, a2, pa, ga), (b, b2, pb, gb) = results
    _bytes_equal(b, a, "learner outputs")
    _bytes_equal(b2, a2, "learner outputs, frozen trials mixed in")
    for name in pa.arrays:
        _bytes_equal(pb.arrays[name], pa.arrays[name], f"learned weights {name}")
        _bytes_equal(gb.arrays[name], ga.arrays[name], f"sequence gradient {name}")


def test_numba_reads_one_hot_lists_without_scanning_a_dense_array(monkeypatch):
    pytest.importorskip("numba")
    top = TOPOLOGIES[0]
    k = importlib.import_module("lstm_proofs.derivations.numba_lstm1997")
    jit = k._CELL.kernels()
    calls = []
    for name in ("_input_nonzero", "_forward_kernel", "_forward_kernel_sparse", "_learner_kernel_lists"):
        kernel = jit[name]
        monkeypatch.setitem(jit, name, lambda *args, kernel=kernel, name=name: (calls.append(name), kernel(*args))[1])
    rng = np.random.default_rng(6)
    x = OneHotInputs(_symbols(rng, top.n_in), top.n_in)
    params = init_params(top, rng, 0.5)
    net = Network(top, load_kernels("lstm1997", "numba"))
    net.forward(params, x)
    OnlineLearner(top, kernels=load_kernels("lstm1997", "numba")).run_sequence(
        TrialState(stack_params([params] * B), np.full(B, 0.1)), x, rng.uniform(size=(T, B, 3)), np.ones((T, B)))
    assert calls == ["_forward_kernel_sparse", "_learner_kernel_lists"]
    calls.clear()
    assert k.input_path(x, "dense") == "dense"
    ys, *_ = k.forward_sequence(params.W_hidden, params.W_output, (), x, top.n_blocks, top.block_size, path="dense")
    assert calls == ["_forward_kernel"]  # a forced dense path makes the dense array
    _bytes_equal(ys, net.forward(params, x.dense()).outputs, "forced dense path")
