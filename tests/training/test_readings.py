"""Readings of the paper and contrasts (lstm_proofs.training.readings) and the diagnostics trials record with them."""

import io
import math
from dataclasses import replace

import numpy as np
import pytest

from lstm_proofs.errors import UserError
from lstm_proofs.network import Network
from lstm_proofs.tasks import get_task
from lstm_proofs.training.diagnostics import error_sites, sample_points
from lstm_proofs.training.presets import get_preset
from lstm_proofs.training.readings import (SAME_GRADIENT, SAME_UPDATE, TRAINER_READINGS, SameRun, apply_reading,
                                           matrix_readings, readings_for, recorded_readings, same_runs)
from lstm_proofs.training.results import row_options, settings_of
from lstm_proofs.training.trainer import initial_params, run_trials


def _run(row: str, sub: str | None = None):
    preset = get_preset(row, sub)
    return preset, row_options(preset), preset.update


def _names(row, sub=None):
    return [r.name for r in readings_for(*_run(row, sub))]


def test_each_row_gets_the_readings_that_apply_to_it():
    reber = _names("1", "3x2/lr=0.5")
    assert {"targets=legal", "update=sequence", "in-bias=table10", "train=fresh", "check=every", "output-bias=yes",
            "gradient=full", "cell=forget", "cell=forget-open", "h=identity", "ranges=swapped"} == set(reber)
    lstm2a = _names("2a", "lstm")
    assert {"criterion=end", "construction=full", "plateau=long", "gradient=full"} <= set(lstm2a)
    assert "cell=forget" not in lstm2a and "st3-error=squared" not in lstm2a  # 2a's own cell; no ST3
    assert {"x2_range=positions", "first_marker=end", "first_pair_rule=x1_only", "st3-error=squared",
            "out-bias=section4"} <= set(_names("4", "T=100"))
    assert "st3-error=squared" not in _names("5", "nseq=140")
    assert {"continue_prob=0.1", "distractor_range=q"} <= set(_names("2c", "q=50,p=50"))
    # the printed a_1 .. a_q cannot be drawn where q > p: not a reading of those rows
    assert "continue_prob=0.1" in _names("2c", "q=1000,p=500")
    assert "distractor_range=q" not in _names("2c", "q=1000,p=500")
    assert "distractor_range=q" in _names("2c", "q=1000,p=1000")
    with pytest.raises(UserError, match="does not apply to row 2c/q=1000,p=50"):
        apply_reading(_run("2c", "q=1000,p=50"), "distractor_range=q")
    assert "origin=0" in _names("6a")
    assert _names("2a", "rtrl/p=4/lr=1") == ["criterion=end", "check=every"]  # baselines: no LSTM readings
    names = reber
    assert names.index("targets=legal") < names.index("gradient=full")  # readings before contrasts


def test_unknown_or_inapplicable_reading_is_a_user_error():
    with pytest.raises(UserError, match="does not apply to row 2a/lstm"):
        apply_reading(_run("2a", "lstm"), "cell=forget")
    with pytest.raises(UserError, match="no-such"):
        apply_reading(_run("6a"), "no-such=1")


def test_in_bias_reading_scales_only_the_input_gate_biases():
    base = _run("1", "3x2/lr=0.5")
    table10 = apply_reading(base, "in-bias=table10")[0]
    a, b = initial_params(base[0], 0, 4), initial_params(table10, 0, 4)
    rows = base[0].topology.row_slices()["in"]
    np.testing.assert_array_equal(b.W_hidden[rows, -1], 0.5 * a.W_hidden[rows, -1])
    assert np.abs(b.W_hidden[rows, -1]).max() <= 0.1
    a.W_hidden[rows, -1] = b.W_hidden[rows, -1]
    for name in a.arrays:
        np.testing.assert_array_equal(a[name], b[name])


def test_bias_readings_change_the_network_as_documented():
    base = _run("4", "T=100")
    out = apply_reading(base, "out-bias=section4")[0]
    params = initial_params(out, 0, 0)
    np.testing.assert_array_equal(params.W_hidden[out.topology.row_slices()["out"], -1], [-1.0, -2.0])
    reber = _run("1", "4x1/lr=0.1")
    biased = apply_reading(reber, "output-bias=yes")[0]
    assert biased.topology.n_weights == reber[0].topology.n_weights + reber[0].topology.n_out
    forget = apply_reading(reber, "cell=forget")[0]
    assert forget.topology.cell == "forget" and forget.gate_biases["forget"] == (0.5, 1.0, 1.5, 2.0)
    wide_open = apply_reading(reber, "cell=forget-open")[0]
    assert wide_open.topology.cell == "forget" and wide_open.gate_biases["forget"] == (5.0,) * 4
    assert wide_open.readings == ("cell=forget-open",)
    params = initial_params(wide_open, 0, 0)
    np.testing.assert_array_equal(params.W_hidden[wide_open.topology.row_slices()["forget"], -1], [5.0] * 4)


def test_the_open_forget_gate_contrast_is_a_follow_up_run_only_when_named():
    """cell=forget-open applies where the row has gate bias weights, is not part of a row's matrix, and replays."""
    for row, sub in (("1", "4x1/lr=0.1"), ("4", "T=100"), ("5", "nseq=140"), ("6b", None)):
        run = _run(row, sub)
        assert "cell=forget-open" in _names(row, sub)
        assert "cell=forget-open" not in matrix_readings(*run) and "cell=forget" in matrix_readings(*run)
        preset, options, update = apply_reading(run, "cell=forget-open")
        settings = settings_of(preset, 0, 1000, options, update)
        again = recorded_readings(run[0], settings["readings"])
        assert settings_of(again, 0, 1000, options, update) == settings
    assert not any(r.optional for r in TRAINER_READINGS if r.name != "cell=forget-open")
    assert "cell=forget-open" not in _names("2a", "lstm")


def test_recorded_readings_rebuild_the_settings_for_replay():
    for name in ("gradient=full", "plateau=long", "train=fresh", "check=every"):
        for row, sub in (("2a", "lstm"), ("1", "3x2/lr=0.5")):
            run = _run(row, sub)
            if name not in [r.name for r in readings_for(*run)]:
                continue
            preset, options, update = apply_reading(run, name)
            settings = settings_of(preset, 0, 1000, options, update)
            assert settings["readings"] == [name]
            again = recorded_readings(replace(run[0], update=update), settings["readings"])
            assert settings_of(again, 0, 1000, options, update) == settings
    with pytest.raises(UserError, match="unknown reading"):
        recorded_readings(run[0], ["bogus=1"])


def test_every_trainer_reading_has_a_source_and_kind():
    for r in TRAINER_READINGS:
        assert r.kind in ("reading", "contrast") and r.source and r.text and "=" in r.name


def test_full_gradient_contrast_trains_with_the_full_gradient_and_adds_the_cell():
    """gradient=full on Exp. 2a (sequential construction): the hidden part stays zero until the cell is added,
    and the trial records diagnostics; the truncated run with the same timing takes another path."""
    small = {"p": 5, "criterion": "all_steps"}
    task = get_task("2a")
    base = get_preset("2a", "lstm")
    base = base.with_(topology=base.topology.with_(n_in=task.n_inputs(**small), n_out=task.n_outputs(**small)),
                      test_size=200, stopping=replace(base.stopping, check_size=200))
    full = apply_reading((base, small, "step"), "gradient=full")[0].with_(diagnostics=True)
    assert full.method == "bptt" and full.update == "sequence"
    (rec,) = run_trials(full, [0], seed=1, max_sequences=3000, options=small)
    assert rec["cell_added"] is not None and rec["cell_added"] > 0
    samples = rec["diagnostics"]["samples"]
    assert [s["sequences"] for s in samples] == [n for n in sample_points(rec["sequences"])]
    frozen = [s for s in samples if s["sequences"] <= rec["cell_added"]]
    assert len(frozen) >= 2 and all(s["max_abs_state"] == frozen[0]["max_abs_state"] for s in frozen)
    assert any(s["max_abs_state"] != frozen[0]["max_abs_state"] for s in samples if s not in frozen)
    assert set(rec["diagnostics"]["error_sites"]) == {"sequences", "wrong_final", "wrong_middle"}
    # 2a's net has no recurrent connections: the truncation removes nothing, so the truncated gradient with the
    # same timing (update=sequence) is the same run to rounding (SameRun, not exact).
    (trunc,) = run_trials(base.with_(update="sequence"), [0], seed=1, max_sequences=3000, options=small)
    assert (trunc["solved"], trunc["sequences"], trunc["cell_added"]) == (rec["solved"], rec["sequences"],
                                                                          rec["cell_added"])
    assert trunc["test"]["mean_error"] == pytest.approx(rec["test"]["mean_error"], rel=1e-12)
    assert same_runs(base, small, "step")["gradient=full"] == SameRun("update=sequence", False, SAME_GRADIENT)


def _final_weights(rec):
    return {k: np.load(io.BytesIO(v)) for k, v in rec["weights"]["final"].items()}


def test_full_gradient_takes_another_path_where_the_net_is_recurrent():
    """On 6a (hidden layer fully connected) the truncation drops terms: the full gradient's weights part from
    the truncated gradient's with the same timing by far more than rounding."""
    base = get_preset("6a")
    assert "gradient=full" not in same_runs(*_run("6a"))
    full = apply_reading((base, row_options(base), base.update), "gradient=full")[0]
    (a,) = run_trials(full, [0], seed=2, max_sequences=300)
    (b,) = run_trials(base.with_(update="sequence"), [0], seed=2, max_sequences=300)
    wa, wb = _final_weights(a), _final_weights(b)
    assert max(float(np.abs(wa[k] - wb[k]).max()) for k in wa) > 1e-6


#: One small setting per task whose only target is at the sequence end (update=sequence is the default's run).
_END_TARGET = [("2c", "q=50,p=50", {"q": 8, "p": 8}), ("3a", "T=100,N=3", {"T": 12}), ("3c", "T=100,N=3", {"T": 12}),
               ("4", "T=100", {"T": 20}), ("5", "nseq=140", {"T": 20}), ("6b", None, {})]


@pytest.mark.parametrize("row, sub, small", _END_TARGET)
def test_update_sequence_is_the_default_run_bit_for_bit_where_the_target_is_at_the_end(row, sub, small):
    """The claim that lets ``ablate`` skip update=sequence on these rows: every record field but the timing is
    identical, the final weights to the bit."""
    preset, options, update = _run(row, sub)
    assert same_runs(preset, options, update)["update=sequence"] == SameRun("default", True, SAME_UPDATE)
    opts = {**options, **small}
    task = get_task(row)
    preset = preset.with_(topology=preset.topology.with_(n_in=task.n_inputs(**opts), n_out=task.n_outputs(**opts)))
    (step,) = run_trials(preset, [0], seed=3, max_sequences=400, options=opts, update="step")
    (seq,) = run_trials(preset, [0], seed=3, max_sequences=400, options=opts, update="sequence")
    ws, wq = _final_weights(step), _final_weights(seq)
    assert all(np.array_equal(ws[k], wq[k]) for k in ws) and set(ws) == set(wq)
    assert not all(np.array_equal(ws[k], _final_weights(run_trials(preset, [0], seed=3, max_sequences=200,
                                                                   options=opts)[0])[k]) for k in ws)  # it learned
    assert {k: v for k, v in step.items() if k != "seconds"} == {k: v for k, v in seq.items() if k != "seconds"}


def test_update_sequence_is_not_the_default_run_where_targets_come_at_every_step():
    assert "update=sequence" not in same_runs(*_run("1", "3x2/lr=0.5"))
    assert "update=sequence" not in same_runs(*_run("2a", "lstm"))


def test_sample_points_are_a_1_2_5_series():
    assert sample_points(20_000) == [100, 200, 500, 1000, 2000, 5000, 10_000, 20_000]
    assert sample_points(99) == []


def test_error_sites_of_reber_count_the_long_lag_step_apart():
    task = get_task("1")
    batch = task.generate(np.random.default_rng(0), 20)
    legal = batch.info["legal"][:, :batch.steps].transpose(1, 0, 2).astype(float)
    net = _FixedNet(legal)
    assert error_sites("1", net, None, batch) == {"sequences": 20, "wrong_long_lag": 0, "wrong_elsewhere": 0}
    bad = legal.copy()
    idx = batch.lengths - 2  # input: the inner E; target: the T or P of the second symbol
    bad[idx[:5], np.arange(5)] = 1.0 - bad[idx[:5], np.arange(5)]
    assert error_sites("1", _FixedNet(bad), None, batch) == {"sequences": 20, "wrong_long_lag": 5,
                                                            "wrong_elsewhere": 0}
    bad = legal.copy()
    bad[0, :3] = 1.0 - bad[0, :3]  # the first step: inner grammar
    assert error_sites("1", _FixedNet(bad), None, batch)["wrong_elsewhere"] == 3


def test_error_sites_of_2a_split_final_and_middle_steps():
    task = get_task("2a")
    batch = task.generate(np.random.default_rng(0), 10, p=6)
    outs = batch.targets.copy()
    assert error_sites("2a", _FixedNet(outs), None, batch)["wrong_final"] == 0
    outs[batch.lengths[:4] - 1, np.arange(4)] = 1.0 - outs[batch.lengths[:4] - 1, np.arange(4)]
    sites = error_sites("2a", _FixedNet(outs), None, batch)
    assert sites["wrong_final"] == 4 and sites["wrong_middle"] == 0
    assert error_sites("4", _FixedNet(outs), None, batch) is None


class _FixedNet(Network):
    """A network whose forward pass returns fixed outputs (to test the error-site counting alone)."""

    def __init__(self, outputs):
        self._outputs = outputs

    def forward(self, params, xs):
        class _Pass:
            outputs = self._outputs
        return _Pass()


def test_under_st3_error_squared_the_average_test_is_implied_by_the_correct_test():
    """What the reading's text says, on every ST3 row: errors all below the task's tolerance (its 'correct' test,
    on the same figures ST3 averages) put their mean square below the tolerance squared, which is under beta."""
    from lstm_proofs.training.presets import PRESETS

    st3 = [p for p in PRESETS if p.stopping.kind == "st3"]
    assert {p.task for p in st3} == {"4", "6a", "6b"}
    for p in st3:
        assert get_task(p.task).tolerance ** 2 < p.stopping.beta
    text = next(r.text for r in TRAINER_READINGS if r.name == "st3-error=squared")
    assert "0.04 or 0.3" in text and "0.0016 or 0.09" in text and "beta 0.01 or 0.1" in text


def test_saturation_point_is_where_the_declared_h_loses_all_but_2_percent_of_its_slope():
    from lstm_proofs.training.diagnosis import SATURATION, saturation_point

    # h = 2 sigma(s) - 1 has slope 2 sigma (1 - sigma) = sech^2(s / 2) / 2; tanh has sech^2(s)
    edge = math.acosh(1 / math.sqrt(SATURATION))
    assert saturation_point("lstm1997") == pytest.approx(2 * edge, rel=1e-10)
    assert saturation_point("lstm1997_swap") == pytest.approx(2 * edge, rel=1e-10)  # h = 4 sigma - 2: same shape
    assert saturation_point("vanilla") == pytest.approx(edge, rel=1e-10)
    for cell in ("lstm1997_2a", "lstm1997_hid", "vanilla_noaf", "rnn"):  # y_c linear in s, or no state
        assert saturation_point(cell) is None
