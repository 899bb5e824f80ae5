"""The paper's weight counts come out exactly (spec section 7) and the parameter layout round-trips."""

import numpy as np
import pytest

from lstm_proofs.errors import UserError
from lstm_proofs.network import Params, Topology, init_params
from lstm_proofs.network.paper import PAPER_NETWORKS

@pytest.mark.parametrize("where, top, count", PAPER_NETWORKS, ids=[w for w, _, _ in PAPER_NETWORKS])
def test_paper_weight_counts_exact(where, top, count):
    assert top.n_weights == count


def test_weight_count_check_fails_for_a_wrong_count(monkeypatch):
    from lstm_proofs.checks import topology

    assert topology.run_checks()[0].passed
    bad = ((PAPER_NETWORKS[0][0], PAPER_NETWORKS[0][1], 265),) + PAPER_NETWORKS[1:]
    monkeypatch.setattr(topology, "PAPER_NETWORKS", bad)
    result = topology.run_checks()[0]
    assert not result.passed and "paper 265, measured 264" in result.message


def test_gates_never_feed_outputs_and_cec_is_not_a_weight():
    top = Topology("lstm1997", 2, 1, 2, 2, bias="all")
    om = top.output_mask()
    rows = top.row_slices()
    assert not om[:, top.n_in + rows["in"].start:top.n_in + rows["out"].stop].any()
    assert om[:, top.n_in:top.n_in + top.n_cells].all()


def test_vector_round_trip_and_index():
    top = Topology("forget", 3, 2, 2, 2, bias="gates")
    p = init_params(top, np.random.default_rng(0), 0.2, gate_biases={"forget": [1.0, 2.0]})
    v = p.to_vector(top)
    q = Params.from_vector(top, v)
    for k in p.arrays:
        np.testing.assert_array_equal(p.arrays[k], q.arrays[k])
    name, idx = p.index_of(top, len(v) - 1)
    assert p.arrays[name][idx] == v[-1]
    assert p.W_hidden[top.row_slices()["forget"], -1].tolist() == [1.0, 2.0]


def test_init_is_uniform_in_interval_and_deterministic():
    top = Topology("lstm1997", 2, 1, 2, 2, bias="all")
    a = init_params(top, np.random.default_rng(5), 0.1).to_vector(top)
    b = init_params(top, np.random.default_rng(5), 0.1).to_vector(top)
    assert np.array_equal(a, b) and np.abs(a).max() <= 0.1


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(cell="nope", n_in=1, n_out=1, n_blocks=1), "unknown cell"),
    (dict(cell="lstm1997", n_in=0, n_out=1, n_blocks=1), "n_in must be a positive integer"),
    (dict(cell="lstm1997", n_in=1, n_out=1, n_blocks=1, bias="some"), "bias must be one of"),
    (dict(cell="peephole", n_in=1, n_out=1, n_blocks=1, block_size=2), "block_size 1 only"),
])
def test_bad_topologies(kwargs, fragment):
    with pytest.raises(UserError, match=fragment):
        Topology(**kwargs)


def test_gate_bias_errors():
    top = Topology("lstm1997", 1, 1, 2, 1, bias="none")
    with pytest.raises(UserError, match="no bias weight"):
        init_params(top, np.random.default_rng(0), gate_biases={"in": [-1, -2]})
    top = Topology("lstm1997", 1, 1, 2, 1, bias="gates")
    with pytest.raises(UserError, match="needs 2 values"):
        init_params(top, np.random.default_rng(0), gate_biases={"in": [-1]})
    with pytest.raises(UserError, match="has no gate"):
        init_params(top, np.random.default_rng(0), gate_biases={"forget": [1, 1]})
