"""The paper's weight counts come out exactly (spec section 7) and the parameter layout round-trips."""

import numpy as np
import pytest

from lstm_proofs.errors import UserError
from lstm_proofs.network import Params, Topology, init_params

PAPER_COUNTS = [
    # (topology, paper's "# weights", where)
    (Topology("lstm1997", 7, 7, 4, 1, bias="gates"), 264, "Exp 1, Table 1"),
    (Topology("lstm1997", 7, 7, 3, 2, bias="gates"), 276, "Exp 1, Table 1"),
    (Topology("lstm1997_2a", 101, 101, 1, 1, recurrent="none", output_from="below"), 10504, "Exp 2a/2b, Table 2"),
    (Topology("lstm1997", 54, 2, 2, 1), 364, "Exp 2c, Table 3"),
    (Topology("lstm1997", 104, 2, 2, 1), 664, "Exp 2c, Table 3"),
    (Topology("lstm1997", 204, 2, 2, 1), 1264, "Exp 2c, Table 3"),
    (Topology("lstm1997", 504, 2, 2, 1), 3064, "Exp 2c, Table 3"),
    (Topology("lstm1997", 1004, 2, 2, 1), 6064, "Exp 2c, Table 3"),
    (Topology("lstm1997", 1, 1, 3, 1, bias="hidden"), 102, "Exp 3, Tables 4-6"),
    (Topology("lstm1997", 2, 1, 2, 2, bias="all"), 93, "Exps 4 and 5, Tables 7-8"),
    (Topology("lstm1997", 8, 4, 2, 2, bias="all"), 156, "Exp 6a, Table 9"),
    (Topology("lstm1997", 8, 8, 3, 2, bias="all"), 308, "Exp 6b, Table 9"),
    (Topology("rnn", 5, 5, 1, 1, output_from="below"), 36, "RTRL p=4, Table 2"),
    (Topology("rnn", 11, 11, 1, 1, output_from="below"), 144, "RTRL p=10, Table 2"),
    (Topology("rnn", 101, 101, 1, 1, output_from="below"), 10404, "RTRL/BPTT p=100, Table 2"),
]


@pytest.mark.parametrize("top, count, where", PAPER_COUNTS, ids=[f"{w}-{c}" for _, c, w in PAPER_COUNTS])
def test_paper_weight_counts_exact(top, count, where):
    assert top.n_weights == count


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
