"""Statistics of a table row that count every trial: exact success intervals, censored sequences-to-success, and
a verdict against the paper's figures.

A trial ends solved (its stopping criterion held after ``sequences`` training sequences: an event) or at its
sequence cap (right-censored there: it would have needed more than ``sequences``, if it ever succeeds). So:

* **success**: k solved of n trials, with the exact (Clopper-Pearson) two-sided interval, from
  :func:`scipy.stats.binomtest`;
* **sequences to success**, over all trials: the Kaplan-Meier estimate S(t) of the probability that a trial is not
  yet solved after t sequences (:func:`scipy.stats.ecdf` on :class:`scipy.stats.CensoredData`), with pointwise
  Greenwood intervals on the log-log scale; its median (the first t with S(t) <= 1/2; "not reached" when S stays
  above 1/2, reported as ">= the largest time") and the median's interval by inverting the pointwise band
  (Brookmeyer & Crowley 1982, as R's ``survfit`` does: the lower limit is the first t where the band's lower
  edge is <= 1/2, the upper limit the first t where its upper edge is <= 1/2, else not reached); and the restricted
  mean up to the cap, the area under S from 0 to the cap, which is the mean of min(sequences to success, cap) over
  all trials and a lower bound of the unrestricted mean when trials are censored;
* the mean over solved trials only, labelled so, as the paper's own figure is a mean of sequences to success.

The verdict rule (:func:`verdict`) is stated in ``docs/statistics.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Two-sided confidence level of every interval.
LEVEL = 0.95

#: Sequences to success within this factor of the paper's mean (either way) reproduce it; beyond it a row is
#: "slower" or "faster".
SPEED_FACTOR = 2.0

VERDICTS = ("reproduces", "faster", "slower", "less reliable", "more reliable", "fails", "inconclusive")


def success_interval(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The exact (Clopper-Pearson) two-sided interval of a success probability from k successes in n trials."""
    from scipy.stats import binomtest

    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class Survival:
    """The Kaplan-Meier estimate at its distinct times: S just after each time, with its pointwise band."""

    times: np.ndarray
    survival: np.ndarray
    low: np.ndarray
    high: np.ndarray


def kaplan_meier(sequences: Sequence[float], solved: Sequence[bool], level: float = LEVEL) -> Survival:
    """Kaplan-Meier estimate of P(not solved after t sequences), solved trials as events and the others
    right-censored at their sequence counts; pointwise Greenwood intervals on the log-log scale.

    Where S(t) = 0 the log-log interval is undefined: there the lower limit is 0 and the upper limit carries the
    last defined one forward. With no events at all, S = 1 throughout, with the band [1, 1].
    """
    from scipy.stats import CensoredData, ecdf

    t = np.asarray(sequences, dtype=float)
    e = np.asarray(solved, dtype=bool)
    if t.size == 0:
        raise ValueError("no trials")
    if not e.any():
        times = np.unique(t)
        ones = np.ones(times.size)
        return Survival(times, ones, ones.copy(), ones.copy())
    sf = ecdf(CensoredData(uncensored=t[e], right=t[~e])).sf
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The confidence interval is undefined", RuntimeWarning)
        band = sf.confidence_interval(confidence_level=level, method="log-log")
    low, high = np.array(band.low.probabilities), np.array(band.high.probabilities)
    s = np.array(sf.probabilities)
    for i in range(s.size):
        if not math.isfinite(low[i]):
            low[i] = 0.0 if s[i] == 0 else (low[i - 1] if i else 1.0)
        if not math.isfinite(high[i]):
            high[i] = high[i - 1] if i else 1.0
    return Survival(np.array(sf.quantiles, dtype=float), s, low, high)


def _first_at_or_below(times: np.ndarray, values: np.ndarray, level: float) -> float | None:
    idx = np.flatnonzero(values <= level + 1e-12)
    return float(times[idx[0]]) if idx.size else None


def restricted_mean(sequences: Sequence[float], solved: Sequence[bool], tau: float) -> float:
    """The area under the Kaplan-Meier curve from 0 to ``tau``: the restricted mean sequences to success."""
    km = kaplan_meier(sequences, solved)
    area, last_t, last_s = 0.0, 0.0, 1.0
    for t, s in zip(km.times, km.survival):
        if t >= tau:
            break
        area += last_s * (t - last_t)
        last_t, last_s = t, s
    return float(area + last_s * (tau - last_t))


@dataclass(frozen=True)
class RowStatistics:
    """Every figure of a row's statistics (JSON-ready through :meth:`to_json`).

    Attributes:
        trials, solved: n and k.
        rate_low, rate_high: the exact interval of the success probability.
        median, median_reached: the Kaplan-Meier median sequences to success; when not reached, ``median`` is the
            largest observed time and the true median is at least that.
        median_low, median_high: its interval (``median_high`` None: not reached, at least the largest time).
        restricted_mean, tau: the restricted mean up to ``tau`` (the largest cap of the row's trials).
        censored: trials that stopped at the cap.
        solved_mean: the mean over solved trials only (None when none solved).
        largest: the largest sequence count of any trial.
    """

    trials: int
    solved: int
    rate_low: float
    rate_high: float
    median: float
    median_reached: bool
    median_low: float | None
    median_high: float | None
    restricted_mean: float
    tau: float
    censored: int
    solved_mean: float | None
    largest: float

    @property
    def rate(self) -> float:
        return self.solved / self.trials

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def row_statistics(records: Sequence[dict[str, Any]], cap: float) -> RowStatistics:
    """The statistics of a row from its finished trial records (``solved``, ``sequences``) and its cap."""
    if not records:
        raise ValueError("no finished trials")
    t = np.array([float(r["sequences"]) for r in records])
    e = np.array([bool(r["solved"]) for r in records])
    km = kaplan_meier(t, e)
    median = _first_at_or_below(km.times, km.survival, 0.5)
    low = _first_at_or_below(km.times, km.low, 0.5)  # the band's lower edge reaches 1/2 first
    high = _first_at_or_below(km.times, km.high, 0.5)
    lo, hi = success_interval(int(e.sum()), int(e.size))
    tau = max(float(cap), float(t.max()))
    return RowStatistics(
        trials=int(e.size), solved=int(e.sum()), rate_low=lo, rate_high=hi,
        median=float(t.max()) if median is None else median, median_reached=median is not None,
        median_low=low, median_high=high, restricted_mean=restricted_mean(t, e, tau), tau=tau,
        censored=int((~e).sum()), solved_mean=float(t[e].mean()) if e.any() else None, largest=float(t.max()))


@dataclass(frozen=True)
class Verdict:
    """A row's verdict and the reason in words."""

    verdict: str
    reason: str


def percent_text(x: float) -> str:
    """A fraction as a percentage: whole numbers, one decimal where rounding would reach 0% or 100% from inside."""
    v = 100 * x
    return f"{v:.1f}%" if (0 < v < 0.5 or 99.5 <= v < 100) else f"{v:.0f}%"


def verdict(stats: RowStatistics, paper_trials: int, paper_rate: float | None, paper_mean: float | None,
            cap: float, paper_budget: float | None = None) -> Verdict:
    """The verdict of a row against the paper's figures (``docs/statistics.md`` states the rule).

    Args:
        stats: the row's statistics.
        paper_trials: the paper's number of trials for the row.
        paper_rate: the paper's success percentage, or None where it prints none (its means are then over all its
            trials, which implies 100%).
        paper_mean: the paper's mean sequences to success, or None (rows where the paper reports no success).
        cap: the row's sequence cap per trial.
        paper_budget: the paper's own cap where it states one (Exps. 2a-2c: 5,000,000).
    """
    rate = 1.0 if paper_rate is None else paper_rate / 100.0
    if stats.trials < paper_trials:
        return Verdict("inconclusive", f"{stats.trials} of the paper's {paper_trials} trials finished")
    short = paper_budget is not None and cap < paper_budget
    if rate > stats.rate_high:
        if paper_mean is not None and cap < SPEED_FACTOR * paper_mean:
            return Verdict("inconclusive", f"cap {cap:,.0f} is below {SPEED_FACTOR:g}x the paper's mean "
                                           f"{paper_mean:,.0f}")
        within = f"within the cap of {cap:,.0f}" + (f" (paper: {paper_budget:,.0f})" if short else "")
        if stats.solved == 0:
            return Verdict("fails", f"no trial solved {within}; paper {percent_text(rate)}")
        return Verdict("less reliable", f"paper's {percent_text(rate)} is above the interval "
                                        f"[{percent_text(stats.rate_low)}, {percent_text(stats.rate_high)}] {within}")
    if rate < stats.rate_low:
        return Verdict("more reliable", f"paper's {percent_text(rate)} is below the interval "
                                        f"[{percent_text(stats.rate_low)}, {percent_text(stats.rate_high)}]")
    if paper_mean is None or stats.solved == 0:
        if short:
            return Verdict("inconclusive", f"success rate consistent, but the cap {cap:,.0f} is below the paper's "
                                           f"budget of {paper_budget:,.0f}")
        return Verdict("reproduces", "success rate consistent with the paper's")
    ratio = stats.restricted_mean / paper_mean
    text = (f"restricted mean {stats.restricted_mean:,.0f} = {ratio:.2g}x the paper's mean {paper_mean:,.0f}"
            + (" (a lower bound: censored trials)" if stats.censored else ""))
    if ratio > SPEED_FACTOR:
        return Verdict("slower", text)
    if ratio < 1.0 / SPEED_FACTOR and not stats.censored:
        return Verdict("faster", text)
    return Verdict("reproduces", text)


@dataclass(frozen=True)
class PairedComparison:
    """Two runs of a row compared trial by trial (the same trial index is the same seed in both).

    Attributes:
        pairs: trials finished in both runs.
        cap: the budget both are judged at (the smaller of their caps): a trial counts as solved if it solved
            within it.
        only_first, only_second: trials solved within ``cap`` in the first run but not the second, and the reverse
            (the discordant pairs).
        p_value: the exact two-sided McNemar test of "the two runs solve a trial equally often": the binomial test
            of ``only_first`` successes in ``only_first + only_second`` at 1/2 (1 where no trial differs).
    """

    pairs: int
    cap: float
    only_first: int
    only_second: int
    p_value: float


def paired_comparison(first: dict[int, tuple[bool, float]], second: dict[int, tuple[bool, float]],
                      cap: float) -> PairedComparison:
    """Compare two runs' outcomes by trial index (each trial: (solved, sequences)), counting a trial as solved only
    if it solved within ``cap``; trials finished in one run only are left out.

    The exact McNemar test conditions on the discordant pairs, so it needs nothing from the concordant ones and
    holds for any number of trials; with paired seeds it is more powerful than comparing two exact intervals.
    """
    from scipy.stats import binomtest

    common = sorted(set(first) & set(second))

    def solved(outcome: tuple[bool, float]) -> bool:
        return bool(outcome[0]) and float(outcome[1]) <= cap

    a = sum(1 for i in common if solved(first[i]) and not solved(second[i]))
    b = sum(1 for i in common if solved(second[i]) and not solved(first[i]))
    p = float(binomtest(a, a + b, 0.5).pvalue) if a + b else 1.0
    return PairedComparison(len(common), float(cap), a, b, min(p, 1.0))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (in their order): the adjusted p-value of the i-th
    smallest is the largest of (m - j) p_(j) over j <= i, capped at 1; rejecting where it is below a level keeps
    the family-wise error rate at that level."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()
