"""The gradient checks pass on the generated code, and fail (naming what is wrong) on broken code or declarations."""

from pathlib import Path

import pytest

from lstm_proofs.cells import CELLS, declare_cell
from lstm_proofs.checks import gradients
from lstm_proofs.codegen import kernels_for, module_from_source

DERIVATIONS = Path(__file__).resolve().parents[2] / "derivations"


def mutant(cell: str, old: str, new: str):
    """The checked-in generated module of ``cell`` with one line of it changed."""
    source = (DERIVATIONS / f"{cell}.py").read_text()
    assert source.count(old) >= 1, old
    return module_from_source(source.replace(old, new), f"mutant_{cell}")


def test_all_gradient_checks_pass_for_lstm1997():
    results = gradients.check_cell("lstm1997")
    assert [r.id for r in results] == [f"gradient/lstm1997/{k}" for k in
                                       ("autograd", "complex-step", "finite-differences", "exact-50-digits")]
    for r in results:
        assert r.passed, r.message
        assert r.max_rel_error <= r.tolerance
        assert r.max_rel_error < 1e-8 if "finite" in r.id else r.max_rel_error < 1e-14


@pytest.mark.parametrize("cell", ["rnn", "lstm1997_2a"])
def test_exact_reference_agrees_for_other_cells(cell):
    r = gradients.check_exact(cell)
    assert r.passed and r.max_rel_error < 1e-14, r.message


# A small error on one path of the backward step: the input gate's local partial (cell_partials), scaled by
# (1 + 1e-9); and the same error in the linear adjoint step instead (cell_adjoint, where the partial is used).
SMALL = ("    pd_y_in__net_in = sgn_net_in*y_in\n", "    pd_y_in__net_in = sgn_net_in*y_in*(1 + 1e-9)\n")
SMALL_ADJOINT = ("    d_net_in = a_y_in*pd_y_in__net_in\n", "    d_net_in = a_y_in*pd_y_in__net_in*(1 + 1e-9)\n")


@pytest.mark.parametrize("where", [SMALL, SMALL_ADJOINT], ids=["partials", "adjoint"])
@pytest.mark.parametrize("check", [
    lambda k: gradients.check_autograd("lstm1997", kernels=k),
    lambda k: gradients.check_numerical("lstm1997", "complex-step", kernels=k),
    lambda k: gradients.check_exact("lstm1997", kernels=k),
], ids=["autograd", "complex-step", "exact"])
def test_a_1e9_error_in_generated_backward_code_fails_and_is_named(check, where):
    result = check(mutant("lstm1997", *where))
    assert not result.passed
    assert 1e-12 < result.max_rel_error < 1e-6
    assert result.message.startswith("cell lstm1997: W_hidden[")  # the input-gate rows are in W_hidden
    assert " vs reference " in result.message


def test_finite_differences_catch_a_1e3_error():
    k = mutant("lstm1997", SMALL[0], SMALL[0].replace("\n", "*(1 + 1e-3)\n"))
    result = gradients.check_numerical("lstm1997", "finite-differences", kernels=k)
    assert not result.passed and result.max_rel_error > 1e-6
    assert "W_hidden" in result.message


def test_a_wrong_declaration_fails_against_the_independent_autograd_model():
    # The 1997 cell with h(s) replaced by h(1.001 s): derivation and generated code are consistent with this
    # declaration, but it is not the paper's cell, and the hand-written autograd model says so.
    text = CELLS["lstm1997"].text.replace("h(s)", "h(1.001*s)")
    assert text != CELLS["lstm1997"].text
    wrong = declare_cell("lstm1997", "mutated", "test", ("in", "out"), text)
    result = gradients.check_autograd("lstm1997", kernels=kernels_for(wrong))
    assert not result.passed
    assert result.message.startswith("cell lstm1997: ")


def test_failure_when_the_reference_disagrees_names_cell_array_and_index():
    def off_by_one_element(top, params, xs, targets, mask):
        g = gradients.autograd_models.gradient(top, params, xs, targets, mask)
        g.arrays["W_output"][1, 0] += 1.0
        return g
    result = gradients.check_autograd("forget", reference=off_by_one_element)
    assert not result.passed
    assert result.message.startswith("cell forget: W_output[1, 0] generated ")
