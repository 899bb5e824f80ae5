"""Section 3's analytic claims (checks/section3.py): every check passes, and a wrong statement makes it fail."""

import contextlib
import io
import itertools
import json
from types import SimpleNamespace

import pytest
import sympy as sp

from lstm_proofs.checks import section3 as s3
from lstm_proofs.cli import main

IDS = [
    "section3/logistic-derivative-max", "section3/maximiser-coth", "section3/vanishes-large-w",
    "section3/below-one-for-w-lt-4", "section3/constant-flow-forces-linear", "section3/error-flow-product",
    "section3/weak-upper-bound",
]


@pytest.fixture(scope="module")
def command(tmp_path_factory):
    """``lstm-proofs check --only section3 --json PATH``, run once: exit status, printed text, JSON payload."""
    out = tmp_path_factory.mktemp("section3") / "x.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["check", "--only", "section3", "--json", str(out)])
    return status, printed.getvalue(), json.loads(out.read_text())


@pytest.fixture(scope="module")
def results(command):
    return {c["id"]: SimpleNamespace(**c) for c in command[2]["checks"]}


def test_check_command_exits_0_with_the_seven_checks(command):
    status, printed, payload = command
    assert status == 0 and payload["passed"] is True
    assert [c["id"] for c in payload["checks"]] == IDS
    assert "7 of 7 checks passed" in printed


def test_every_claim_holds(results):
    assert list(results) == IDS
    for r in results.values():
        assert r.passed, (r.id, r.message)
        assert r.title and r.claim.startswith("Section 3") and r.reference.startswith("SymPy proof")
        assert r.message == ""
    proofs = [r for r in results.values() if r.id != "section3/weak-upper-bound"]
    assert all(r.max_rel_error is None and r.tolerance is None for r in proofs)


def test_derived_expressions_are_recorded(results):
    d = results["section3/logistic-derivative-max"].details
    assert d["maximum"] == "1/4" and d["argmax"] == "0" and d["critical_points"] == ["0"]
    assert d["claimed_minus_f_prime_in_E=exp(x)"] == "(E - 1)**2/(4*(E + 1)**2)"
    d = results["section3/maximiser-coth"].details
    assert d["solved_minus_claimed"] == ["0"] and d["dg_dw_at_claimed"] == "0"
    assert d["numerator_negative"] is True and d["denominator_zero_at_E"] == "{1}"
    d = results["section3/vanishes-large-w"].details
    limits = [v for k, v in d.items() if k.startswith("limit")]
    assert limits and all(v == "0" for v in limits)
    d = results["section3/below-one-for-w-lt-4"].details
    assert d["set_where_bound_below_one"] == "Interval.open(-4, 4)" and d["sup_over_claimed_set"] == "1"
    d = results["section3/constant-flow-forces-linear"].details
    assert d["dsolve"] == "Eq(F(x), C1 + x/w)" and d["flow_dy(t)_dy(t-q)_q=1.."] == ["1"] * 4
    d = results["section3/error-flow-product"].details
    assert d["printed_order_equals_eq1_of_transposed_W"] is True
    assert not d["printed_order_w_{l_m l_(m-1)}_equals_eq1"].startswith(str(d["comparisons"]))


def test_weak_bound_figures(results):
    r = results["section3/weak-upper-bound"]
    d = r.details
    assert r.tolerance == 1.0 and 0 < r.max_rel_error <= 1.0
    assert d["flows_above_bound"] == 0 and d["networks"] == 33  # 10 random + 1 extreme per n = 2, 3, 4
    assert d["flows_checked"] == sum(11 * n * n * d["lags"] for n in (2, 3, 4))  # every (u, v) and q
    # the extreme network (all weights +w_max, every f' = 1/4) attains tau^q / n exactly
    key = next(k for k in d if k.startswith("tightest_ratio_flow_to_tau^q/n"))
    assert d[key] == 1.0


def test_same_seed_same_result_other_seed_still_holds():
    a, b = s3.check_weak_upper_bound(seed=5), s3.check_weak_upper_bound(seed=5)
    assert a.to_json() == b.to_json() and a.passed
    assert s3.check_weak_upper_bound(seed=6, sizes=(3,), networks_per_size=3).passed


# ----- mutations: a wrong statement must fail -----

@pytest.mark.parametrize("kwargs", [dict(claimed_max=sp.Rational(1, 3)), dict(claimed_at=1), dict(f=sp.tanh)])
def test_wrong_maximum_fails(kwargs):
    r = s3.check_logistic_derivative_max(**kwargs)
    assert not r.passed and "claimed" in r.message


def test_derivative_maximum_of_cell_input_squashing():
    g = lambda z: 4 / (1 + sp.exp(-z)) - 2  # noqa: E731 - Appendix A.1, eq. (5): g' = 4 f (1 - f), max 1
    dm = s3.derivative_maximum(g)
    assert dm.value == 1 and dm.argmax == 0
    assert s3.check_logistic_derivative_max(f=g, claimed_max=1).passed


@pytest.mark.parametrize("maximiser", [lambda net, y: sp.tanh(net / 2) / y, lambda net, y: sp.coth(net) / y])
def test_wrong_maximiser_fails(maximiser):
    r = s3.check_maximiser_coth(maximiser=maximiser)
    assert not r.passed and "dg/dw" in r.message


def test_no_vanishing_for_a_linear_unit():
    r = s3.check_vanishes_large_w(f=lambda z: z)
    assert not r.passed and "oo" in r.message


def test_tanh_breaks_the_below_one_bound():
    r = s3.check_below_one(f=sp.tanh)
    assert not r.passed and r.details["max_f_prime"] == "1"
    cx = r.details["counterexample"]
    assert sp.sympify(cx["f_prime_w"]) > 1 and abs(sp.sympify(cx["w"])) < 4


def test_below_one_bound_is_sharp():
    assert not s3.check_below_one(w_bound=sp.Rational(41, 10)).passed
    assert s3.check_below_one(w_bound=2).passed  # a weaker, true statement


@pytest.mark.parametrize("kwargs", [dict(f=s3.logistic), dict(f=lambda z: z + z**3 / 3), dict(f=sp.sinh),
                                    dict(f=lambda z: z, w_self=sp.Rational(9, 10))])
def test_nonlinear_or_misweighted_unit_has_no_constant_flow(kwargs):
    r = s3.check_constant_flow(**kwargs)
    assert not r.passed and "not identically 0" in r.message and "dy(t)/dy(t-q) is not 1" in r.message


def test_any_linear_unit_with_matching_weight_has_constant_flow():
    assert s3.check_constant_flow(f=lambda z: z / 2 + 3, w_self=2).passed


def _drop_one_path(u, v, q, W, D):
    n = W.shape[0]
    paths = list(itertools.product(range(n), repeat=q - 1))
    total = sp.S.Zero
    for inner in paths[:-1] if q > 1 else paths:
        path = (u, *inner, v)
        total += sp.Mul(*[D[path[m], m - 1] * W[path[m - 1], path[m]] for m in range(1, q + 1)])
    return total


def _one_path_twice(u, v, q, W, D):
    path = (u, *([0] * (q - 1)), v)
    extra = sp.Mul(*[D[path[m], m - 1] * W[path[m - 1], path[m]] for m in range(1, q + 1)])
    return s3.eq2_path_sum(u, v, q, W, D) + (extra if q == 3 else 0)


@pytest.mark.parametrize("path_sum", [_drop_one_path, _one_path_twice, s3.eq2_printed_order])
def test_broken_path_sum_fails(path_sum):
    r = s3.check_error_flow_product(sizes=(2, 3), lags=(1, 2, 3), path_sum=path_sum)
    assert not r.passed and "eq. (2)" in r.message


@pytest.mark.parametrize("kwargs", [dict(f_prime_max=sp.Rational(1, 8)), dict(activation=s3.TANH),
                                    dict(bound=lambda n, tau, q: tau**q / n**2)])
def test_wrong_weak_bound_fails_on_exact_networks(kwargs):
    r = s3.check_weak_upper_bound(**kwargs)
    assert not r.passed and r.details["flows_above_bound"] > 0 and r.max_rel_error > 1.0


def test_wrong_derivative_through_value_is_caught():
    wrong = s3.Activation("logistic", s3.logistic, lambda s: s * (1 - s) / 2, (sp.S.Zero, sp.S.One))
    r = s3.check_weak_upper_bound(activation=wrong, sizes=(2,), networks_per_size=2)
    assert not r.passed and "phi" in r.message

