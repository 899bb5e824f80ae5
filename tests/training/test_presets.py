"""Presets: one per row of Tables 1-9, with the paper's weight counts, trial counts and conditions."""

import pytest

from lstm_proofs.errors import UserError
from lstm_proofs.network.paper import PAPER_NETWORKS
from lstm_proofs.tasks import get_task
from lstm_proofs.training.presets import PAPER_ONLY_ROWS, PRESETS, get_preset, sanitise

#: Trials the paper's means are over (Tables 1-9 captions and text).
PAPER_TRIALS = {"1": 30, "2a": 18, "2b": 18, "2c": 20, "3a": 10, "3b": 10, "3c": 10, "4": 10, "5": 10, "6a": 20,
                "6b": 10}
#: Rows per table: Table 1 has 5 LSTM rows, Table 2 six RTRL/BPTT rows and one LSTM row, Table 3 nine, ...
ROWS_PER_TASK = {"1": 5, "2a": 7, "2b": 1, "2c": 9, "3a": 3, "3b": 3, "3c": 2, "4": 3, "5": 2, "6a": 1, "6b": 1}


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.row)
def test_weight_count_is_the_papers(preset):
    assert preset.topology.n_weights == preset.paper_weights


def test_paper_network_counts_are_all_used():
    counts = {p.paper_weights for p in PRESETS}
    assert {w for _, _, w in PAPER_NETWORKS} <= counts


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.row)
def test_trial_count_and_table(preset):
    assert preset.trials == PAPER_TRIALS[preset.task] == preset.paper.trials


def test_rows_per_task_and_unique_ids():
    rows = [p.row for p in PRESETS]
    assert len(rows) == len(set(rows)) == 37
    assert len({sanitise(r) for r in rows}) == len(rows)
    for task, n in ROWS_PER_TASK.items():
        assert sum(p.task == task for p in PRESETS) == n, task
    assert {o.row for o in PAPER_ONLY_ROWS} == {"1/rtrl-3", "1/rtrl-12", "1/elm", "1/rcc", "2a/ch"}


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.row)
def test_task_options_fit_the_network(preset):
    task = get_task(preset.task)
    opts = task.options(**preset.task_options)
    assert task.n_inputs(**opts) == preset.topology.n_in
    assert task.n_outputs(**opts) == preset.topology.n_out


def test_table_10_conditions():
    assert get_preset("4").gate_biases == {"in": (-3.0, -6.0)} and get_preset("4").learning_rate == 0.5
    assert get_preset("4").stopping.kind == "st3" and get_preset("4").stopping.beta == 0.01
    exp3 = get_preset("3a")
    assert exp3.gate_biases == {"in": (-1.0, -3.0, -5.0), "out": (-2.0, -4.0, -6.0)} and exp3.init_interval == 0.1
    assert get_preset("3c", "T=100,N=1").learning_rate == 0.1
    reber = get_preset("1", "4x1/lr=0.5")
    assert reber.gate_biases == {"out": (-1.0, -2.0, -3.0, -4.0)} and reber.init_interval == 0.2
    assert reber.paper.success_rate == 97.0 and reber.paper.sequences == 9_500
    assert get_preset("6b").gate_biases == {"in": (-2.0, -4.0, -6.0)} and get_preset("6b").learning_rate == 0.1
    assert get_preset("5", "nseq=13").stopping.n_seq == 13
    assert get_preset("2a", "lstm").topology.cell == "lstm1997_2a"
    assert get_preset("2a", "bptt/p=100").method == "bptt" and get_preset("2a", "bptt/p=100").paper.success_rate == 0
    for p in PRESETS:
        if p.task in ("2a", "2b", "2c"):
            assert p.max_sequences == 5_000_000  # Table 11


def test_lookup_by_alias_row_and_full_id():
    assert get_preset("adding").row == "4/T=100"
    assert get_preset("4", "T=500").row == "4/T=500"
    assert get_preset("4", "4/T=1000").row == "4/T=1000"
    assert get_preset("2c/q=1000,p=50").paper.sequences == 203_000
    assert get_preset("reber").row == "1/4x1/lr=0.1"
    assert get_preset("2a").row == "2a/lstm"  # the LSTM row, not the baselines listed before it


@pytest.mark.parametrize("task,row", [("nope", None), ("4", "T=123"), ("1", "3x3/lr=0.1")])
def test_unknown_task_or_row(task, row):
    with pytest.raises(UserError):
        get_preset(task, row)


def test_only_the_exp2_lstm_rows_add_their_cells_sequentially():
    sequential = {p.row for p in PRESETS if p.construction.kind == "sequential"}
    assert sequential == {"2a/lstm", "2b/lstm"}


def test_construction_is_in_settings_and_file_name_when_it_departs_from_the_row():
    from lstm_proofs.training.presets import with_construction
    from lstm_proofs.training.results import default_path, is_paper_setting, settings_of

    row = get_preset("2a", "lstm")
    options = get_task("2a").options(**row.task_options)
    full = with_construction(row, "full")
    assert default_path(row, options, "step").name == "2a_lstm.json"
    assert default_path(full, options, "step").name == "2a_lstm__construction=full.json"
    assert settings_of(row, 0, 10, options, "step")["construction"]["kind"] == "sequential"
    assert "construction" not in settings_of(full, 0, 10, options, "step")  # as in files written before it
    assert is_paper_setting(row, settings_of(row, 0, 10, options, "step"))
    assert not is_paper_setting(row, settings_of(full, 0, 10, options, "step"))
    four = get_preset("4")
    assert "construction" not in settings_of(four, 0, 10, get_task("4").options(), "step")
    with pytest.raises(UserError, match="construction must be one of"):
        with_construction(row, "later")
