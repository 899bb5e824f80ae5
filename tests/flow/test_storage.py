"""What a trained Exp. 2 network stores of the class symbol (lstm_proofs.flow.storage), on hand-built networks
whose answer is known."""

import numpy as np
import pytest

from lstm_proofs.errors import UserError
from lstm_proofs.flow.storage import (_best_threshold, class_units, failure_counts, measure_stage, storage_section,
                                      trial_failure)
from lstm_proofs.flow.trained import fresh_sequences
from lstm_proofs.network import Params, Topology
from lstm_proofs.tasks import get_task

P = 10
TOP = Topology("lstm1997_2a", P + 1, P + 1, 1, 1, recurrent="none", output_from="below")


def _batch(task="2a", n=64):
    opts = get_task(task).options(p=P)
    return opts, fresh_sequences(task, opts, n, 0)


def _storing_net(read: float = 8.0) -> Params:
    """An Exp. 2a net that stores the class: the input gate opens for x only (unit p - 1) and shuts for every
    other symbol; g(net_c) is about 1 for x; the x unit reads the cell with weight ``read``, the y unit with
    -``read``, each with a bias-like input weight from the last middle symbol a_{p-1} (unit p - 2)."""
    shapes = TOP.param_shapes()
    W_h, W_o = np.zeros(shapes["W_hidden"]), np.zeros(shapes["W_output"])
    # rows: cell 0, then the input gate; columns: inputs 0..p, hidden activations, bias (masked where absent)
    W_h[1, :P + 1] = -30.0
    W_h[1, P - 1] = 30.0
    W_h[0, :P + 1] = 10.0
    x_unit, y_unit = class_units("2a", {"p": P})
    cell_col = TOP.n_in
    W_o[x_unit, cell_col], W_o[y_unit, cell_col] = read, -read
    W_o[x_unit, P - 2], W_o[y_unit, P - 2] = -read / 2, read / 2
    return Params({"W_hidden": W_h, "W_output": W_o})


def test_best_threshold_counts_sides_and_cannot_split_ties():
    cls = np.array([0, 0, 1, 1])
    assert _best_threshold(np.array([0.0, 0.1, 0.9, 1.0]), cls) == 1.0
    assert _best_threshold(np.array([1.0, 0.9, 0.1, 0.0]), cls) == 1.0  # either orientation
    assert _best_threshold(np.array([0.0, 0.9, 0.1, 1.0]), cls) == 0.75
    assert _best_threshold(np.zeros(4), cls) == 0.5
    assert _best_threshold(np.zeros(5), np.array([0, 0, 0, 1, 1])) == 0.6  # the larger class's share


def test_a_net_that_stores_and_reads_the_class_is_measured_so():
    opts, batch = _batch()
    m = measure_stage(TOP, _storing_net(), "2a", opts, batch)
    assert m["stored"] == 1.0 and m["gap"] > 0.9 and abs(m["written"] - m["gap"]) < 1e-9
    assert abs(m["drift"]) < 1e-6 and m["gate_middle"] < 1e-9 and m["gate_info"] > 0.4
    assert m["read_right"] == 1.0 and m["target"] > 0.9 and m["other"] < 0.1
    assert trial_failure(m) == "not read"  # the rule's last case: stored, not stuck


def test_net_input_splits_into_the_cells_part_and_the_rest():
    opts, batch = _batch()
    params = _storing_net()
    m = measure_stage(TOP, params, "2a", opts, batch)
    cls = batch.info["cls"]
    s_end = m["gap"]  # class x's state minus class y's; class y stores 0
    x_unit, y_unit = class_units("2a", opts)
    # target unit of class x reads +8 s, of class y -8 s (s = 0 there): the mean over sequences
    expected_cells = float(np.mean(np.where(cls == 0, 8.0 * s_end, 0.0)))
    assert m["net_cells"] == pytest.approx(expected_cells, rel=1e-9)
    assert m["net_rest"] == pytest.approx(float(np.mean(np.where(cls == 0, -4.0, 4.0))), rel=1e-12)
    params.arrays["W_output"][:, TOP.n_in] = 0.0
    assert measure_stage(TOP, params, "2a", opts, batch)["net_cells"] == 0.0


def test_a_ramp_read_with_negative_weights_is_stuck_by_the_cells():
    opts, batch = _batch()
    params = _storing_net(read=-8.0)
    params.arrays["W_hidden"][1, :P + 1] = 0.0  # the gate half open at every step: the state ramps up
    params.arrays["W_output"][:, P - 2] = 0.0
    m = measure_stage(TOP, params, "2a", opts, batch)
    sigma10 = 1.0 / (1.0 + np.exp(-10.0))
    assert m["drift"] == pytest.approx(0.5 * sigma10 * (P - 1), rel=1e-12)  # y_in g at each of the p - 1 steps
    assert m["target"] < 0.5 and m["slope"] < 0.01
    assert trial_failure(m) == "stuck by the cells"
    doc = {"trials": [{"trial": 0, "solved": False, "sequences": 1, "stages": [{"label": "final", "sequences": 1,
                                                                                 **m}]}],
           "task": "2a", "cell": "lstm1997_2a", "p": P, "sequences": batch.n, "seed": 0}
    assert failure_counts(doc) == {"stuck by the cells": 1}
    text = "\n".join(storage_section({"default": doc}))
    assert "| `default` | unsolved (1) | end |" in text and "stuck by the cells 1" in text
    assert storage_section({"default": {**doc, "trials": []}}) == []


def test_other_tasks_are_refused_with_one_line():
    with pytest.raises(UserError, match="2a, 2b, 2c only"):
        class_units("4", {})
