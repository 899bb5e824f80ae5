"""The stable primitives of the generated kernels: accuracy against 40-digit values, no warnings at any finite
input, complex inputs for complex-step differentiation."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lstm_proofs import numerics

mpmath.mp.dps = 40


def exact_sigmoid(x: float) -> float:
    return float(1 / (1 + mpmath.exp(-mpmath.mpf(x))))


FINITE = st.floats(allow_nan=False, allow_infinity=False)


@given(st.lists(FINITE, min_size=1, max_size=8))
def test_sigmoid_pair_is_finite_and_bounded_for_any_finite_input(xs):
    x = np.array(xs)
    sg, sgn = numerics.sigmoid_pair(x)  # RuntimeWarnings are errors in this suite
    assert np.all((sg >= 0) & (sg <= 1) & (sgn >= 0) & (sgn <= 1))


@given(st.floats(min_value=-700, max_value=700))
def test_sigmoid_pair_is_accurate_to_a_few_ulps(x):
    sg, sgn = numerics.sigmoid_pair(np.array([x]))
    for got, ref in ((sg[0], exact_sigmoid(x)), (sgn[0], exact_sigmoid(-x))):
        assert abs(got - ref) <= 4 * np.spacing(ref), (x, got, ref)


def test_sigmoid_pair_agrees_with_two_sigmoid_calls():
    x = np.linspace(-1000.0, 1000.0, 4001)
    sg, sgn = numerics.sigmoid_pair(x)
    np.testing.assert_allclose(sg, numerics.sigmoid(x), rtol=4e-16, atol=0)
    np.testing.assert_allclose(sgn, numerics.sigmoid(-x), rtol=4e-16, atol=0)  # the same clamp beyond |x| = 708


def test_sigmoid_pair_of_complex_input_is_the_analytic_pair():
    x = np.array([-3.0 + 1e-30j, 0.5 + 1e-30j, 40.0 + 1e-30j])
    sg, sgn = numerics.sigmoid_pair(x)
    np.testing.assert_array_equal(sg, numerics.sigmoid(x))
    np.testing.assert_array_equal(sgn, numerics.sigmoid(-x))
    # complex step: Im sigma(x + ih) / h = sigma(x) sigma(-x)
    np.testing.assert_allclose(sg.imag / 1e-30, (sg * sgn).real, rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_ones_column_is_shared_and_read_only(dtype):
    a = numerics.ones_column(3, dtype)
    assert a.shape == (3, 1) and a.dtype == dtype and np.all(a == 1)
    assert numerics.ones_column(3, dtype) is a
    with pytest.raises(ValueError):
        a[0, 0] = 2.0


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_out_arguments_give_the_same_values(dtype):
    x = np.linspace(-800.0, 800.0, 101).astype(dtype).reshape(1, 101)
    sg, sgn = np.empty_like(x), np.empty_like(x)
    got = numerics.sigmoid_pair(x, out=(sg, sgn))
    assert got[0] is sg and got[1] is sgn
    ref = numerics.sigmoid_pair(x)
    np.testing.assert_array_equal(sg, ref[0])
    np.testing.assert_array_equal(sgn, ref[1])
    one = np.empty_like(x)
    assert numerics.sigmoid(x, out=one) is one
    np.testing.assert_array_equal(one, numerics.sigmoid(x))
