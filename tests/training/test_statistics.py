"""Row statistics: exact intervals, Kaplan-Meier median and band, restricted mean, and the verdict rule, against
known values and an independent implementation written here."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta, norm

from lstm_proofs.training.statistics import (RowStatistics, holm, kaplan_meier, paired_comparison, restricted_mean,
                                             row_statistics, success_interval, verdict)


@pytest.mark.parametrize("k,n,low,high", [
    (7, 10, 0.3475471499, 0.9332604888),  # R: binom.test(7, 10)$conf.int
    (0, 18, 0.0, 1 - 0.025 ** (1 / 18)),  # closed forms at k = 0 and k = n
    (18, 18, 0.025 ** (1 / 18), 1.0),
    (0, 30, 0.0, 1 - 0.025 ** (1 / 30)),
])
def test_clopper_pearson_known_values(k, n, low, high):
    lo, hi = success_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-7) and hi == pytest.approx(high, abs=1e-7)


@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
@settings(max_examples=60, deadline=None)
def test_clopper_pearson_equals_beta_quantiles(kn):
    k, n = kn
    lo, hi = success_interval(k, n)
    want_lo = 0.0 if k == 0 else beta.ppf(0.025, k, n - k + 1)
    want_hi = 1.0 if k == n else beta.ppf(0.975, k + 1, n - k)
    assert lo == pytest.approx(want_lo, abs=1e-9) and hi == pytest.approx(want_hi, abs=1e-9)


def _km_by_hand(times, events, level=0.95):
    """Kaplan-Meier with Greenwood's variance on the log-log scale, written out."""
    times, events = np.asarray(times, float), np.asarray(events, bool)
    z = norm.ppf(0.5 + level / 2)
    out, s, g = [], 1.0, 0.0
    for t in np.unique(times):
        at_risk = int((times >= t).sum())
        d = int(((times == t) & events).sum())
        if d:
            s *= 1 - d / at_risk
            g += d / (at_risk * (at_risk - d)) if at_risk > d else math.inf
        if s > 0 and g > 0 and math.isfinite(g):
            half = z * math.sqrt(g) / abs(math.log(s))
            lo, hi = s ** math.exp(half), s ** math.exp(-half)
        else:
            lo = hi = None
        out.append((t, s, lo, hi))
    return out


AML_MAINTAINED = ([9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161],
                  [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0])  # R survival's aml data, "Maintained" arm (0 = censored)


def test_kaplan_meier_known_values_and_hand_implementation():
    t, e = AML_MAINTAINED
    km = kaplan_meier(t, np.array(e, bool))
    assert list(km.times) == [9, 13, 18, 23, 28, 31, 34, 45, 48, 161]
    assert km.survival[[0, 1, 2, 3, 5, 6, 8]] == pytest.approx([10 / 11, 9 / 11, 0.7159091, 0.6136364, 0.4909091,
                                                                 0.3681818, 0.1840909], abs=1e-6)
    for (tt, s, lo, hi), s2, lo2, hi2 in zip(_km_by_hand(t, e), km.survival, km.low, km.high):
        assert s == pytest.approx(s2, abs=1e-12)
        if lo is not None:
            assert (lo, hi) == pytest.approx((lo2, hi2), abs=1e-9), tt
    stats = row_statistics([{"sequences": a, "solved": bool(b)} for a, b in zip(t, e)], cap=161)
    assert stats.median == 31 and stats.median_reached
    assert restricted_mean(t, np.array(e, bool), 161) == pytest.approx(52.6454545, abs=1e-6)  # R: rmean 52.6


@given(st.lists(st.tuples(st.integers(1, 1000), st.booleans()), min_size=1, max_size=40))
@settings(max_examples=80, deadline=None)
def test_median_and_its_interval_invert_the_hand_band(trials):
    t = [a for a, _ in trials]
    e = [b for _, b in trials]
    stats = row_statistics([{"sequences": a, "solved": b} for a, b in trials], cap=1000)
    rows = _km_by_hand(t, e)
    first = [tt for tt, s, _, _ in rows if s <= 0.5 + 1e-12]
    assert stats.median_reached == bool(first)
    if first:
        assert stats.median == first[0]
    else:
        assert stats.median == max(t)
    km = kaplan_meier(t, e)
    if stats.median_low is not None:  # the first time the band's lower edge is <= 1/2
        assert stats.median_low == km.times[np.flatnonzero(km.low <= 0.5 + 1e-12)[0]]
        assert stats.median_low <= stats.median
    if stats.median_high is not None and stats.median_reached:
        assert stats.median_high >= stats.median


@given(st.lists(st.integers(1, 500), min_size=1, max_size=30), st.integers(1, 30))
@settings(max_examples=60, deadline=None)
def test_restricted_mean_with_censoring_at_the_cap_is_the_mean_of_min(times, n_capped):
    cap = 500
    t = [*times, *([cap] * n_capped)]
    e = [True] * len(times) + [False] * n_capped
    assert restricted_mean(t, e, cap) == pytest.approx(np.mean(np.minimum(t, cap)), rel=1e-12)


def test_no_solved_trial_gives_a_censored_median():
    stats = row_statistics([{"sequences": 200, "solved": False}] * 5, cap=200)
    assert not stats.median_reached and stats.median == 200 and stats.median_low is None
    assert stats.rate_high == pytest.approx(0.5218238, abs=1e-6) and stats.restricted_mean == 200


def _stats(k, n, rmst, censored=0):
    lo, hi = success_interval(k, n)
    return RowStatistics(n, k, lo, hi, rmst, True, None, None, rmst, 10 * rmst, censored, rmst, rmst)


@pytest.mark.parametrize("args,want", [
    ((_stats(10, 10, 50_000), 10, None, 40_000, 400_000), "reproduces"),
    ((_stats(10, 10, 90_000), 10, None, 40_000, 400_000), "slower"),
    ((_stats(10, 10, 10_000), 10, None, 40_000, 400_000), "faster"),
    ((_stats(3, 10, 90_000, 7), 10, None, 40_000, 400_000), "less reliable"),
    ((_stats(0, 30, 400_000, 30), 30, 100.0, 39_740, 397_400), "fails"),
    ((_stats(5, 18, 1e6, 13), 18, 78.0, 1_043_000, 1_000_000, 5_000_000), "inconclusive"),  # cap < 2x mean
    ((_stats(0, 18, 2e5, 18), 18, 0.0, None, 200_000, 5_000_000), "inconclusive"),  # cap below the budget
    ((_stats(0, 18, 5e6, 18), 18, 0.0, None, 5_000_000, 5_000_000), "reproduces"),
    ((_stats(6, 18, 1e6, 12), 18, 0.0, None, 5_000_000, 5_000_000), "more reliable"),
    ((_stats(7, 7, 50_000), 20, None, 40_000, 400_000), "inconclusive"),  # incomplete
])
def test_verdict_rule(args, want):
    assert verdict(*args).verdict == want


def test_verdict_reasons_print_intervals_as_the_table_does():
    """1 of 30 has the interval [0.1%, 17%], 19 of 20 [75%, 99.9%]: the reason must not round them to 0% or 100%,
    which would contradict the table (and, for 19 of 20, the paper's 100% being above the interval)."""
    assert verdict(_stats(1, 30, 90_000, 29), 30, 97.0, 9_500, 95_000).reason == (
        "paper's 97% is above the interval [0.1%, 17%] within the cap of 95,000")
    assert "[75%, 99.9%]" in verdict(_stats(19, 20, 100_000, 1), 20, None, 30_000, 5_000_000).reason


def _hand_mcnemar(a, b):
    """Exact two-sided McNemar p by hand: twice the smaller binomial tail of a in a + b at 1/2, capped at 1."""
    n = a + b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(a, b) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize("a, b", [(9, 0), (0, 17), (6, 1), (13, 1), (3, 3), (0, 0), (2, 0)])
def test_paired_comparison_is_the_exact_mcnemar_test(a, b):
    first = {i: (i < a, 100) for i in range(a + b + 5)}  # trials 0..a-1 solved only in first
    second = {i: (a <= i < a + b, 100) for i in range(a + b + 5)}
    c = paired_comparison(first, second, cap=1000)
    assert (c.pairs, c.only_first, c.only_second) == (a + b + 5, a, b)
    assert c.p_value == pytest.approx(_hand_mcnemar(a, b), rel=1e-12)
    assert paired_comparison({i: (True, 1) for i in range(9)}, {i: (False, 1) for i in range(9)},
                             1).p_value == pytest.approx(2 / 2 ** 9)


def test_paired_comparison_judges_both_at_the_smaller_cap_and_pairs_only_common_trials():
    first = {0: (True, 500), 1: (True, 1500), 2: (False, 2000), 3: (True, 10)}
    second = {0: (False, 1000), 1: (False, 1000), 2: (True, 900)}
    c = paired_comparison(first, second, cap=1000)
    # trial 1 solved beyond the cap counts as unsolved; trial 3 has no pair
    assert (c.pairs, c.only_first, c.only_second) == (3, 1, 1)
    assert c.p_value == 1.0


def test_holm_known_values():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.5]) == [1.0, 1.0] and holm([]) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_is_monotone_bounded_and_never_below_the_raw_p(ps):
    adj = holm(ps)
    assert all(r <= x <= 1.0 for r, x in zip(ps, adj))
    order = np.argsort(ps, kind="stable")
    assert all(adj[order[i]] <= adj[order[i + 1]] for i in range(len(ps) - 1))
    assert min(adj) == pytest.approx(min(1.0, len(ps) * min(ps)))
