"""The paper's claims, in our own words, and which checks give each its verdict."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Claim:
    """A claim of the paper (or of a successor) and the checks that test it.

    Attributes:
        id: short identifier.
        where: paper section and equations.
        statement: the claim, in our words.
        method: how lstm-proofs tests it.
        checks: check-id patterns (``fnmatch`` style) whose verdicts decide the claim.
        informational: the checks measure something the paper states qualitatively (no pass/fail threshold).
    """

    id: str
    where: str
    statement: str
    method: str
    checks: tuple[str, ...]
    informational: bool = False


CLAIMS: tuple[Claim, ...] = (
    Claim("cec-constant-flow", "Appendix A.2, eqs. (30), (35)",
          "With the truncated gradient, error flowing back through a memory cell's internal state neither decays nor "
          "grows: ds(t)/ds(t-q) = 1 for every lag q.",
          "Inject an error at the state of random 1997 networks and read it q = 1 ... 1,000 steps back with the "
          "generated truncated backward step and with the product of the generated trace partials; compare with 1.0 "
          "exactly.", ("flow/lstm1997-truncated-constant",)),
    Claim("entry-exit-scaling", "Appendix A.2, eqs. (40), (41)",
          "An error entering a cell at its output is scaled only when it enters (output gate, h') and when it leaves "
          "(input gate, g or g'), never in between, so the scaling does not depend on the lag.",
          "Ratio of the error arriving at net_c(t-q), net_in(t-q) to entry(t) * exit(t-q), for all q.",
          ("flow/lstm1997-entry-exit-independent-of-lag",)),
    Claim("conventional-decay-explosion", "Section 3.1, eqs. (1), (2)",
          "In conventional recurrent nets the back-propagated error is multiplied at every step by f'(net) w, so it "
          "vanishes exponentially when |f'(net) w| < 1 and explodes when it is > 1.",
          "Measured decay and growth rates of the error flow of logistic and linear units over 1,000 steps against "
          "the predicted product factor; eq. (1)'s recursion equals eq. (2)'s path sum (SymPy).",
          ("flow/rnn-*-rate", "section3/error-flow-product")),
    Claim("weak-upper-bound", "Section 3.1 (bound with the max-row-sum norm)",
          "With logistic units and all weights below 4/n in magnitude the error flow is bounded by n tau^q with "
          "tau < 1: it decays exponentially.",
          "The bound evaluated along realised trajectories (flow) and over random exact-rational networks.",
          ("flow/rnn-norm-bound", "section3/weak-upper-bound")),
    Claim("logistic-bounds", "Section 3.1",
          "The logistic derivative is at most 1/4; |f'(w y + b) w| is maximal at w = coth(net/2)/y, vanishes as |w| "
          "grows, and is below 1 for |w| < 4.",
          "SymPy proofs.", ("section3/logistic-derivative-max", "section3/maximiser-coth", "section3/vanishes-large-w",
                            "section3/below-one-for-w-lt-4")),
    Claim("cec-is-linear", "Section 3.2",
          "Constant error flow through a single self-connected unit, f'(net) w = 1, forces f to be linear; with "
          "w = 1 the unit is the identity: the constant error carousel.",
          "SymPy solves the differential equation.", ("section3/constant-flow-forces-linear",)),
    Claim("learner-is-truncated-gradient", "Section 4, Appendix A.1, eqs. (10)-(28)",
          "The paper's learning rule (forward-accumulated traces of ds/dw, errors truncated once they leave a cell or "
          "gate) computes the truncated gradient at O(W) memory.",
          "Forward-trace gradient = truncated BPTT = autograd with stop-gradients at every truncation point.",
          ("truncated/*/traces-vs-bptt", "truncated/*/bptt-vs-autograd")),
    Claim("truncated-vs-full", "Sections 4, 6",
          "The truncated gradient differs from the full gradient; the paper reports no significant difference in "
          "learning (information: the measured distance).",
          "Normwise distance between truncated and full gradients; the full-gradient CEC flow over lags.",
          ("truncated/*/distance-to-full", "flow/lstm1997-full-deviation"), informational=True),
    Claim("forget-gate-flow", "Gers et al. (2000)",
          "With a forget gate the state-to-state error flow is the product of the forget-gate activations.",
          "Measured flow against the product of the realised forget activations.", ("flow/forget-product-of-gates",)),
    Claim("greff-variants-flow", "Greff et al. (2017), Section 3",
          "Each of Greff et al.'s variants changes the error flow through the state as its equations say: with a "
          "forget gate it is the product of the forget-gate activations (also without input gate, output gate, "
          "input or output squashing, peepholes, and with full gate recurrence); without a forget gate it is the "
          "1997 carousel, exactly 1; with the coupled gate it is the product of 1 - input gate.",
          "Measured truncated flow (backward_step and cell_traces) against the product predicted from the forward "
          "values, lags q = 1 ... 1,000.", ("flow/*-state-flow",)),
    Claim("online-learner", "Section 5, Appendix A.1, eqs. (17)-(30)",
          "The paper's online learning, with weights changed at every step inside the sequence (or the changes "
          "summed over the sequence), is what the generated learner computes.",
          "Generated learner (NumPy and numba; trials in lockstep, frozen trials) against a learner written "
          "independently from the equations, 3 sequences of online learning per mode.", ("learner/*",)),
    *(Claim(f"lstm-solves-{key}", where,
            f"Trained with its own learning rule, LSTM solves {what} in (nearly) every trial, after about the number of "
            "training sequences the paper reports.",
            "lstm-proofs train on every row at the paper's reading and trial count; each row's verdict from its "
            "statistics over all trials (exact success interval, Kaplan-Meier median, restricted mean; rule in "
            "docs/statistics.md). Figure: restricted mean / paper's mean.", patterns)
      for key, where, what, patterns in (
          ("reber", "Section 5.1, Table 1", "the embedded Reber grammar", ("train/lstm/1/*",)),
          ("long-lags", "Section 5.2, Tables 2-3", "the long-lag tasks 2a, 2b and 2c",
           ("train/lstm/2a/*", "train/lstm/2b/*", "train/lstm/2c/*")),
          ("two-sequence", "Section 5.3, Tables 4-6", "the two-sequence problem and its noisy variants",
           ("train/lstm/3?/*",)),
          ("adding", "Section 5.4, Table 7", "the adding problem", ("train/lstm/4/*",)),
          ("multiplication", "Section 5.5, Table 8", "the multiplication problem", ("train/lstm/5/*",)),
          ("temporal-order", "Section 5.6, Table 9", "the temporal-order problems", ("train/lstm/6?",)))),
    Claim("baselines-fail", "Section 5.2, Table 2",
          "Conventional recurrent nets trained with BPTT or RTRL solve the short lag p = 4 in some trials and fail on "
          "p = 10 and p = 100, which LSTM solves (Table 2's rates).",
          "lstm-proofs train on Table 2's baseline rows; each row's verdict from its statistics (docs/statistics.md).",
          ("train/baseline/*",)),
    Claim("weight-counts", "Tables 1-10; spec section 7",
          "The paper's networks have 264, 276, 10,504, 364-6,064, 102, 93, 156 and 308 weights (36, 144, 10,404 for the "
          "RTRL/BPTT baselines).",
          "Weight counts of the reconstructed topologies.", ("topology/weight-counts",)),
    Claim("generated-gradients", "Appendix A.1 (the derivation itself)",
          "The gradients SymPy derives and the generated NumPy code computes are the true gradients of the networks.",
          "Independent autograd model, central finite differences, complex step, 50-digit SymPy reference.",
          ("gradient/*",)),
)


def claim_verdict(claim: Claim, checks: dict[str, dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The verdict of a claim from check records by id: ``holds``, ``fails``, ``information``, ``inconclusive``
    (records marked ``inconclusive`` and none failing) or ``not run``."""
    matched = [rec for cid, rec in checks.items() if any(fnmatch.fnmatchcase(cid, pat) for pat in claim.checks)]
    if not matched:
        return "not run", []
    if not all(rec.get("passed") or rec.get("inconclusive") for rec in matched):
        return "fails", matched
    if any(rec.get("inconclusive") for rec in matched):
        return "inconclusive", matched
    return ("information" if claim.informational else "holds"), matched
