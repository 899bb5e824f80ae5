"""Truncated-gradient checks: three-way agreement passes, and a broken trace or truncation rule is caught."""

from pathlib import Path

from lstm_proofs.checks import truncated
from lstm_proofs.codegen import module_from_source

DERIVATIONS = Path(__file__).resolve().parents[2] / "derivations"


def mutant(cell: str, old: str, new: str):
    source = (DERIVATIONS / f"{cell}.py").read_text()
    assert old in source
    return module_from_source(source.replace(old, new), f"mutant_{cell}")


def test_three_way_agreement_for_the_1997_cell_and_the_forget_gate_cell():
    for cell in ("lstm1997", "forget"):
        for r, lengths in ((truncated.check_traces_vs_bptt(cell), {"1", "10", "1000"}),
                           (truncated.check_bptt_vs_autograd(cell), {"1", "10", "100"})):
            assert r.passed, r.message
            assert r.max_rel_error < 1e-13
            assert {run["where"].split("T=")[1].split(",")[0] for run in r.details["runs"]} == lengths
    assert 1000 in truncated.AUTOGRAD_LENGTHS[True]  # --full takes autograd to T = 1000


def test_distance_to_full_is_information_and_nonzero_where_there_is_recurrence():
    r = truncated.check_distance_to_full("lstm1997")
    assert r.passed and r.tolerance is None and r.details["informational"]
    assert r.max_rel_error > 1e-3  # the truncated gradient is not the full one
    r2a = truncated.check_distance_to_full("lstm1997_2a")
    assert r2a.max_rel_error == 0.0  # no recurrent connections: nothing to truncate


def test_a_wrong_trace_update_is_caught():
    # Forget part of the previous trace's contribution to the input-gate trace in learner_sequence (what
    # OnlineLearner runs): the learner no longer equals truncated BPTT. J = 1 for the CEC: the generated in-place
    # update has no factor.
    old = "        T_net_in += "
    k = mutant("lstm1997", old, "        T_net_in *= 0.999\n        T_net_in += ")
    r = truncated.check_traces_vs_bptt("lstm1997", kernels=k)
    assert not r.passed and r.max_rel_error > 1e-6
    assert r.message.startswith("cell lstm1997: W_hidden[")


def test_a_missing_truncation_is_caught_by_autograd_with_stop_gradients():
    # Run the full backward pass where the truncated one is asked for.
    head = "def gradient_sequence(W_hidden, W_output, xs, ys, acts, cache, d_ys, truncated, C, S):\n"
    k = mutant("lstm1997", head, head + "    truncated = False\n")
    r = truncated.check_bptt_vs_autograd("lstm1997", kernels=k)
    assert not r.passed and r.max_rel_error > 1e-3
