"""Error-flow measurements (Section 3 eqs. 1-2, Appendix A.2 eqs. 30-41) on random networks, and their failure modes."""

import functools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lstm_proofs.flow import measure as fm
from lstm_proofs.network import Params, Topology, init_params
from lstm_proofs.network.model import load_kernels



def _lstm(cell, n_in, C, S, interval, seed, T, sequences=1, per_cell=True):
    rng = np.random.default_rng(seed)
    top = Topology(cell, n_in, 2, C, S, bias="all")
    params = init_params(top, rng, interval)
    xs = rng.uniform(-1, 1, size=(T, sequences, n_in))
    cells = np.zeros(sequences, dtype=int)
    if per_cell:
        xs, cells = fm.replicate_per_cell(xs, top.n_cells)
    return top, params, fm.run_forward(top, params, xs), cells


lstm_shapes = dict(n_in=st.integers(1, 3), C=st.integers(1, 3), S=st.integers(1, 3),
                   interval=st.sampled_from([0.1, 1.0, 4.0]), seed=st.integers(0, 2**32 - 1), T=st.integers(2, 40))


# ----- Appendix A.2: the 1997 cell -----

@given(**lstm_shapes)
def test_truncated_cec_flow_is_exactly_one(n_in, C, S, interval, seed, T):
    top, params, caches, cells = _lstm("lstm1997", n_in, C, S, interval, seed, T, sequences=2)
    for flow in (fm.state_flow(top, params, caches, True, cells), fm.at_cells(fm.trace_flow(top, caches), cells)):
        assert flow.mantissa.shape == (T - 1, 2 * top.n_cells)
        assert np.all(flow.values() == 1.0)  # eqs. (30), (35): exact equality


@given(**lstm_shapes)
def test_error_leaving_the_cell_is_entry_times_exit(n_in, C, S, interval, seed, T):
    top, params, caches, _ = _lstm("lstm1997", n_in, C, S, interval, seed, T, per_cell=False)
    r = fm.entry_exit_ratios(top, params, caches)
    for v in ("c", "in"):
        assert r[v].shape == (T - 1, C)
        assert np.max(np.abs(r[v]), initial=0.0) <= 1e-15  # eqs. (40), (41), independent of q


def test_entry_exit_exact_when_drift_makes_h_prime_subnormal():
    """A state that drifts to s(t) ~ 720 makes h'(s(t)) subnormal; the power-of-two injection keeps the ratio exact."""
    top = Topology("lstm1997", 1, 1, 1, 1, bias="all")
    W_hidden = np.zeros((3, 5))
    W_hidden[:, -1] = [20.0, 20.0, 0.7]  # g(net_c) ~ 2, y_in ~ 1: s grows by ~2 per step
    params = Params({"W_hidden": W_hidden, "W_output": np.zeros((1, 5))})
    caches = fm.run_forward(top, params, np.zeros((361, 1, 1)))
    s_t = fm.cache_values(load_kernels("lstm1997"), caches[-1])["s"].item()
    assert 0 < math.exp(-s_t) < np.finfo(float).tiny
    r = fm.entry_exit_ratios(top, params, caches)
    assert max(np.max(np.abs(r["c"])), np.max(np.abs(r["in"]))) <= 1e-15


@given(**lstm_shapes)
def test_forget_gate_flow_is_product_of_forget_activations(n_in, C, S, interval, seed, T):
    top, params, caches, cells = _lstm("forget", n_in, C, S, interval, seed, T, sequences=2)
    flow = fm.state_flow(top, params, caches, True, cells)
    ref = fm.at_cells(fm.gate_product(top, caches, "forget"), cells)
    assert np.max(np.abs(flow.ratio(ref) - 1.0)) <= 1e-12


def test_full_gradient_state_flow_matches_complex_step():
    """theta_s(t-q) of eq. (33) = d s_j(t) / d s_j(t-q), perturbing s_j(t-q) (and so y_c(t-q)) by i h."""
    top, params, caches, cells = _lstm("lstm1997", 2, 2, 2, 1.0, 7, 25)
    k = load_kernels("lstm1997")
    flow = fm.state_flow(top, params, caches, False, cells).values()
    xs = np.stack([c[0][:1, :2] for c in caches])  # the inputs x(t) from the sources z
    h = 1e-30
    for j in range(top.n_cells):
        for q in range(1, 25):
            tau = 24 - q  # the state s(tau) is perturbed: it is s_prev of step tau plus y_in g(net_c), J = 1
            c = caches[tau]
            v = fm.cache_values(k, c)
            a = np.asarray(c[0][j:j + 1, 2:2 + top.n_activations], dtype=complex)  # a(tau-1) from the sources z
            s = np.asarray(v["s_prev"][j:j + 1], dtype=complex).copy()
            s.reshape(-1)[j] += 1j * h
            for t in range(tau, 25):
                _, a, s, _ = k.forward_step(params.W_hidden, params.W_output, (), xs[t].astype(complex), a, s,
                                            top.n_blocks, top.block_size)
            expected = s.reshape(-1)[j].imag / h
            assert flow[q - 1, j] == pytest.approx(expected, rel=1e-12, abs=1e-14)
    assert np.max(np.abs(flow - 1.0)) > 1e-6  # the full gradient is not the CEC's constant 1


# ----- Section 3: conventional units -----

conventional = dict(cell=st.sampled_from(["rnn", "rnn_linear", "rnn_tanh"]), n=st.integers(2, 6),
                    scale=st.sampled_from([0.3, 1.0, 3.0, 8.0]), seed=st.integers(0, 2**32 - 1),
                    T=st.integers(2, 60))


def _conventional(cell, n, scale, seed, T):
    rng = np.random.default_rng(seed)
    top = Topology(cell, 2, 1, n, bias="hidden")
    params = init_params(top, rng, scale)
    flow, caches = fm.conventional_flow(top, params, rng.uniform(-1, 1, size=(T, 1, 2)))
    return top, params, flow, caches


@given(**conventional)
def test_conventional_flow_respects_the_weak_norm_bound(cell, n, scale, seed, T):
    top, params, flow, caches = _conventional(cell, n, scale, seed, T)
    bound = fm.norm_bound_log(fm.realised_fprime(top, caches), fm.recurrent_weights(top, params))
    assert np.all(flow.ln_abs() <= bound[:, None, None])


@given(**conventional)
def test_conventional_flow_is_the_eq1_recursion(cell, n, scale, seed, T):
    top, params, flow, caches = _conventional(cell, n, scale, seed, T)
    pred = fm.eq1_recursion(fm.realised_fprime(top, caches), fm.recurrent_weights(top, params))
    meas, ref = flow.values(), pred.values()
    ok = np.isfinite(ref)
    err = np.abs(meas - ref)[ok] / np.max(np.abs(ref), axis=2, keepdims=True).repeat(n, axis=2)[ok]
    assert np.all(err <= 1e-12)


def test_eq2_path_sum_is_eq1_and_needs_w_from_l_m_to_l_m_minus_1():
    """Eq. (2) summed over all n**(q-1) paths equals eq. (1); with the printed index order w_{l_m l_{m-1}} it would
    be the flow of the transposed net."""
    rng = np.random.default_rng(3)
    n, T = 3, 8
    fprime = rng.uniform(0.05, 0.25, size=(T, n))
    W = rng.normal(0, 2, size=(n, n))
    rec = fm.eq1_recursion(fprime, W).values()
    rec_t = fm.eq1_recursion(fprime, W.T).values()
    for q in range(1, T):
        for u in range(n):
            for v in range(n):
                assert fm.eq2_path_sum(fprime, W, u, v, q) == pytest.approx(rec[q - 1, u, v], rel=1e-12)
    assert not np.allclose(rec, rec_t)


@pytest.mark.parametrize("cell, w, net_star, rate", [
    ("rnn_linear", 0.9, 0.0, 0.9), ("rnn_linear", 1.1, 0.0, 1.1), ("rnn", 6.0, 0.0, 1.5),
    ("rnn", 3.0, 1.0, 3 * 0.19661193324148185),
])
def test_single_unit_rate_is_abs_fprime_w(cell, w, net_star, rate):
    m = fm.measure_single_unit("x", "x", cell, w, net_star, 300)
    assert m.passed and m.predicted_rate == pytest.approx(rate, rel=1e-15)
    assert m.measured_rate == pytest.approx(rate, rel=1e-10)


def test_logistic_unit_has_no_stable_fixed_point_with_exploding_flow():
    """Iterating y -> sigma(w y + x) from 1e-6 beside each fixed point: it returns exactly when |f'(net*) w| < 1."""
    exploding = 0
    for drive in np.linspace(-8, 2, 41):
        for w in (4.5, 6.0, 10.0):
            for fp in fm.logistic_fixed_points(w, drive):
                assert abs(fp["rate"] - 1.0) > 1e-3  # no borderline case on this grid
                y = fp["y"] + 1e-6
                for _ in range(500):
                    y = 1.0 / (1.0 + math.exp(-(w * y + drive)))
                returned = abs(y - fp["y"]) < 1e-6
                assert returned == fp["stable"] == (fp["rate"] < 1.0)
                exploding += fp["rate"] > 1.0
    assert exploding > 10  # repelling fixed points with |f' w| > 1 exist; none of them is stable
    pts = fm.logistic_fixed_points(6.0, -3.0)
    assert [p["stable"] for p in pts] == [True, False, True]
    assert pts[1]["net"] == pytest.approx(0.0, abs=1e-12) and pts[1]["rate"] == pytest.approx(1.5)


def test_exploding_logistic_multiunit_matches_eq1():
    m = fm.measure_logistic_exploding_multiunit(200, np.random.default_rng(0))
    assert m.passed and m.predicted_rate > 1.0
    assert m.details["max_normwise_rel_difference_flow_vs_eq1"] <= 1e-9


# ----- numerics: exact rescaling, grid, fit -----

def test_power_of_two_rescaling_is_exact():
    """Flows beyond 2**200 are rescaled; mantissa * 2**exponent equals the unscaled backward pass bit for bit."""
    top = Topology("rnn_linear", 1, 1, 1)
    params = Params({"W_hidden": np.array([[0.3, 1.7, 0.0]]), "W_output": np.zeros((1, 3))})
    T = 400  # 1.7**400 ~ 1e92: representable, but past the rescaling threshold
    xs = np.random.default_rng(0).uniform(-1, 1, size=(T, 1, 1))
    flow, caches = fm.conventional_flow(top, params, xs)
    assert flow.exponent.max() > 0
    k = load_kernels("rnn_linear")
    d_a, plain = np.ones((1, 1)), []
    for tau in range(T - 1, 0, -1):
        _, _, _, d_a, _ = k.backward_step(params.W_hidden, params.W_output, (), caches[tau], np.zeros((1, 1)), d_a,
                                          None, False, 1, 1)
        plain.append(d_a[0, 0])
    np.testing.assert_array_equal(flow.values()[:, 0, 0], np.array(plain))


def test_lag_grid_and_fit_rate():
    g = fm.lag_grid(1000)
    assert g[0] == 1 and g[-1] == 1000 and np.all(np.diff(g) > 0)
    assert list(fm.lag_grid(2)) == [1, 2]
    q = np.arange(1, 501)
    assert fm.fit_rate(q * math.log(0.7)) == pytest.approx(0.7, rel=1e-13)


def test_scaled_values_never_warn_or_overflow():
    s = fm.Scaled(np.array([0.5, 0.0, -0.75]), np.array([5000, 0, -5000]))
    v = s.values()
    assert math.isnan(v[0]) and v[1] == 0.0 and math.isnan(v[2])
    assert s.log10_abs()[0] == pytest.approx(math.log10(0.5) + 5000 * math.log10(2))


# ----- the measurements fail when the kernels are wrong -----

def test_truncated_constant_fails_if_the_cec_leaks(monkeypatch):
    k = load_kernels("lstm1997")
    original = k.cell_backward_truncated

    def leaky(*args):
        *rest, d_s_prev = original(*args)
        return (*rest, d_s_prev * (1 - 2.0 ** -52))

    monkeypatch.setattr(k, "cell_backward_truncated", leaky)
    m = fm.measure_lstm1997_truncated(50, np.random.default_rng(0))
    assert not m.passed and 0 < m.figure < 1e-13


def test_truncated_constant_fails_if_the_trace_partial_is_wrong(monkeypatch):
    k = load_kernels("lstm1997")
    original = k.cell_traces

    @functools.wraps(original)  # the measurement calls kernels by their argument names
    def wrong_j(*args):
        J, *rest = original(*args)
        return (J * (1 + 2.0 ** -52), *rest)

    monkeypatch.setattr(k, "cell_traces", wrong_j)
    assert not fm.measure_lstm1997_truncated(50, np.random.default_rng(0)).passed


def test_entry_exit_fails_if_gate_derivative_is_off(monkeypatch):
    k = load_kernels("lstm1997")
    original = k.cell_backward_truncated

    def off(*args):
        d_net_c, d_net_in, *rest = original(*args)
        return (d_net_c, d_net_in * (1 + 1e-14), *rest)

    monkeypatch.setattr(k, "cell_backward_truncated", off)
    assert not fm.measure_lstm1997_entry_exit(30, np.random.default_rng(0)).passed


def test_forget_product_fails_without_the_forget_gate(monkeypatch):
    k = load_kernels("forget")
    original = k.cell_backward_truncated

    def no_forget(*args):
        *rest, d_s_prev = original(*args)
        return (*rest, d_s_prev / args[6])  # args[6] = y_forget: the CEC of 1997 instead

    monkeypatch.setattr(k, "cell_backward_truncated", no_forget)
    assert not fm.measure_forget(30, np.random.default_rng(0)).passed


def test_rate_fails_if_the_backward_step_scales_errors(monkeypatch):
    k = load_kernels("rnn_linear")
    original = k.cell_backward
    monkeypatch.setattr(k, "cell_backward", lambda *a: tuple(x * 1.02 for x in original(*a)))
    m = fm.measure_single_unit("rnn-linear-decay-rate", "x", "rnn_linear", 0.9, 0.0, 100)
    assert not m.passed and m.figure == pytest.approx(0.02, rel=1e-9)
