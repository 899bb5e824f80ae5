"""Checks ``section3/...``: the analytic claims of Section 3 of the 1997 paper, proved with SymPy.

Section 3.1 explains why error flow vanishes in conventional recurrent nets (eqs. (1), (2), the logistic bounds and
the weak upper bound); Section 3.2 derives the constant error carousel (CEC) from the condition ``f'(net) w = 1``.
Every claim is one check; each checking function takes the paper's statement (the activation, the claimed
maximum, maximiser, bound, path sum) as arguments with the paper's values as defaults, so that a wrong statement
can be fed in and seen to fail.

The logistic function is written as plain SymPy, ``1/(1 + exp(-x))`` (:func:`logistic`), not as the project's
symbolic ``lstm_proofs.symbolic.functions.sigma``: ``solveset``, ``limit``, ``dsolve`` and ``simplify`` see through
the exponential form directly, whereas ``sigma`` is an opaque function that they would first need rewritten. Where a
sign has to be decided, expressions in ``exp(net)`` are rewritten as rational functions of ``E = exp(net) > 0``.

Proofs by SymPy are exact; the one measured figure is the tightest ratio of exact (rational) error flows to the weak
upper bound over random networks in ``section3/weak-upper-bound``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from lstm_proofs.results import CheckResult

SEED = 0
PROOF = "SymPy proof"
PROOF_AND_EVAL = "SymPy proof + exact evaluation"

Fn = Callable[[sp.Expr], sp.Expr]

x = sp.Symbol("x", real=True)
net = sp.Symbol("net", real=True)
b = sp.Symbol("b", real=True)
w = sp.Symbol("w", real=True)
E = sp.Symbol("E", positive=True)  # exp(net)


def logistic(z: sp.Expr) -> sp.Expr:
    """The logistic function ``1/(1 + exp(-z))`` (Appendix A.1, eq. (3)) as a plain SymPy expression."""
    return 1 / (1 + sp.exp(-z))


def identity(z: sp.Expr) -> sp.Expr:
    """The identity activation of the CEC (Section 3.2)."""
    return z


@dataclass(frozen=True)
class Activation:
    """An activation function together with its derivative written through its value.

    Args:
        name: short name.
        f: the function, ``f(z) -> Expr``.
        fprime_of_value: ``phi`` with ``f'(z) = phi(f(z))`` (checked symbolically before use).
        value_range: the open interval ``(lo, hi)`` of values ``f`` takes on the reals.
    """

    name: str
    f: Fn
    fprime_of_value: Fn
    value_range: tuple[sp.Expr, sp.Expr]

    def __call__(self, z: sp.Expr) -> sp.Expr:
        return self.f(z)


LOGISTIC = Activation("logistic", logistic, lambda s: s * (1 - s), (sp.S.Zero, sp.S.One))
TANH = Activation("tanh", sp.tanh, lambda s: 1 - s**2, (-sp.S.One, sp.S.One))


def _s(e: object) -> str:
    return sp.sstr(e)


def _is_zero(e: sp.Expr) -> bool:
    """True iff SymPy simplifies ``e`` (rewritten in exponentials) to exactly 0."""
    return sp.simplify(sp.sympify(e).rewrite(sp.exp)) == 0


def _identically(e: sp.Expr, target: sp.Expr, symbols: Sequence[sp.Symbol]) -> tuple[bool, str]:
    """Whether ``e == target`` identically in ``symbols``, and what was shown.

    A value at a fixed rational point, evaluated to 30 digits, that differs from ``target`` disproves the identity
    cheaply (deeply nested expressions are slow to simplify); otherwise ``simplify(e - target)`` must give 0.
    """
    point = {s: sp.Rational(k + 2, 7 * (k + 1)) * (-1) ** k for k, s in enumerate(symbols)}
    value = sp.N(e.subs(point), 30)
    if abs(value - target) > sp.Float("1e-25", 30):
        return False, f"{sp.N(value, 12)} at {_s(point)}"
    difference = sp.simplify(e - target)
    return difference == 0, _s(sp.simplify(e)) if difference == 0 else f"{_s(target)} + {_s(difference)}"


# ----- the logistic derivative -----

@dataclass
class DerivativeMax:
    """Result of :func:`derivative_maximum`: the supremum of ``f'`` over the reals and how it was established."""

    fprime: sp.Expr
    critical_points: list[sp.Expr]
    values: list[sp.Expr]
    second_derivatives: list[sp.Expr]
    limits: tuple[sp.Expr, sp.Expr]
    value: sp.Expr | None
    argmax: sp.Expr | None
    problem: str


def derivative_maximum(f: Fn) -> DerivativeMax:
    """The global maximum of ``f'`` on the reals, from its critical points and its limits at +-oo.

    ``f'`` is differentiable on R, so if its value at some critical point exceeds both limits at +-oo, the largest
    such value is the global maximum, attained there (and only at critical points with that value).

    Args:
        f: the activation function.

    Returns:
        The critical points (real roots of ``f''``), ``f'`` there, ``f'''`` there, the limits, and the maximum and
        its (unique) location, or ``value=None`` with ``problem`` saying why the maximum could not be established.
    """
    fp = sp.diff(f(x), x)
    crit_set = sp.solveset(sp.diff(fp, x), x, sp.S.Reals)
    lims = (sp.limit(fp, x, -sp.oo), sp.limit(fp, x, sp.oo))
    if not isinstance(crit_set, sp.FiniteSet):
        return DerivativeMax(fp, [], [], [], lims, None, None,
                             f"critical points of f' not a finite set: {_s(crit_set)}")
    crit = sorted(crit_set, key=sp.default_sort_key)
    vals = [sp.simplify(fp.subs(x, c)) for c in crit]
    second = [sp.simplify(sp.diff(fp, x, 2).subs(x, c)) for c in crit]
    if not crit:
        return DerivativeMax(fp, crit, vals, second, lims, None, None, "f' has no critical point")
    if not all(v.is_extended_real and v.is_number for v in (*vals, *lims)):
        return DerivativeMax(fp, crit, vals, second, lims, None, None,
                             f"f' at its critical points {_s(vals)} or its limits {_s(lims)} are not real numbers")
    top = max(vals, key=lambda v: float(v))
    where = [c for c, v in zip(crit, vals) if sp.simplify(v - top) == 0]
    if not all((top - lim).is_positive for lim in lims):
        return DerivativeMax(fp, crit, vals, second, lims, None, None,
                             f"sup of f' is approached at +-oo (limits {_s(lims)}), not attained")
    if len(where) != 1:
        return DerivativeMax(fp, crit, vals, second, lims, top, None, f"maximum attained at several points {where}")
    return DerivativeMax(fp, crit, vals, second, lims, top, where[0], "")


def check_logistic_derivative_max(f: Fn = logistic, claimed_max: sp.Expr = sp.Rational(1, 4),
                                  claimed_at: sp.Expr = sp.S.Zero) -> CheckResult:
    """Section 3.1: the logistic derivative ``f' = f (1 - f)`` has maximum 1/4, at 0.

    Proof: the real critical points of ``f'`` (roots of ``f''``), the sign of ``f'''`` there and the limits of ``f'``
    at +-oo; independently, ``claimed_max - f'`` is written as a rational function of ``E = exp(x) > 0`` (for the
    logistic ``(E - 1)**2 / (4 (E + 1)**2)``), which SymPy finds non-negative, zero only at ``E = exp(claimed_at)``.

    Args:
        f: the activation (default: the logistic).
        claimed_max: the claimed maximum of ``f'``.
        claimed_at: where it is claimed to be attained.
    """
    dm = derivative_maximum(f)
    claimed_max, claimed_at = sp.sympify(claimed_max), sp.sympify(claimed_at)
    # Independent proof: claimed_max - f' as a rational function of E = exp(x) > 0 (a square for the logistic).
    gap = sp.factor(sp.together(sp.simplify((claimed_max - dm.fprime).rewrite(sp.exp).subs(x, sp.log(E)))))
    gap_zeros = sp.solveset(sp.fraction(gap)[0], E, sp.Interval.open(0, sp.oo))
    details = {"f": _s(f(x)), "f_prime": _s(dm.fprime), "f_prime_as_f(1-f)": _is_zero(dm.fprime - f(x) * (1 - f(x))),
               "critical_points": [_s(c) for c in dm.critical_points],
               "f_prime_at_critical": [_s(v) for v in dm.values],
               "f_prime_second_derivative_at_critical": [_s(v) for v in dm.second_derivatives],
               "limits_at_-oo_+oo": [_s(v) for v in dm.limits], "maximum": _s(dm.value), "argmax": _s(dm.argmax),
               "claimed_maximum": _s(claimed_max), "claimed_argmax": _s(claimed_at),
               "claimed_minus_f_prime_in_E=exp(x)": _s(gap), "claimed_minus_f_prime_latex": sp.latex(gap),
               "claimed_minus_f_prime_nonnegative": gap.is_nonnegative,
               "claimed_minus_f_prime_zero_at_E": _s(gap_zeros)}
    problems = []
    if dm.value is None:
        problems.append(dm.problem)
    else:
        if sp.simplify(dm.value - claimed_max) != 0:
            problems.append(f"max f' = {_s(dm.value)}, not the claimed {_s(claimed_max)}")
        if dm.argmax is None or sp.simplify(dm.argmax - claimed_at) != 0:
            problems.append(f"max attained at {_s(dm.argmax)}, not at the claimed {_s(claimed_at)}")
        i = dm.critical_points.index(dm.argmax) if dm.argmax is not None else None
        if i is not None and not bool(dm.second_derivatives[i] < 0):
            problems.append(f"f''' at the argmax is {_s(dm.second_derivatives[i])}, not negative")
    if not (gap.is_nonnegative and gap_zeros == sp.FiniteSet(sp.exp(claimed_at))):
        problems.append(f"claimed max - f' = {_s(gap)} (E = exp(x)) not shown >= 0 with equality only at the claimed "
                        f"argmax (its zeros: E in {_s(gap_zeros)})")
    return CheckResult(
        id="section3/logistic-derivative-max", passed=not problems, title="The logistic derivative f(1-f) has "
        "maximum 1/4, attained only at x = 0", reference=PROOF, claim="Section 3.1 (max f' = 0.25 for logistic "
        "units)", details=details, message="; ".join(problems))


# ----- |f'(w y + b) w| as a function of w -----

def coth_maximiser(net_: sp.Expr, y: sp.Expr) -> sp.Expr:
    """The paper's maximiser of ``|f'(net) w|`` for constant input ``y``: ``w = coth(net/2) / y`` (Section 3.1)."""
    return sp.coth(net_ / 2) / y


def _in_exp_net(e: sp.Expr) -> sp.Expr:
    """``e`` (a function of ``net``) as a factored rational function of ``E = exp(net) > 0``."""
    return sp.factor(sp.simplify(e.rewrite(sp.exp).subs(net, sp.log(E))))


def check_maximiser_coth(f: Fn = logistic, maximiser: Callable[[sp.Expr, sp.Expr], sp.Expr] = coth_maximiser
                         ) -> CheckResult:
    """Section 3.1: with constant ``y != 0``, ``|f'(w y + b) w|`` is maximal where ``w = coth(net/2) / y``.

    Proof: ``g(w) = f'(w y + b) w``; its stationarity condition ``dg/dw = 0`` is derived and written in terms of
    ``net = w y + b`` (it is linear in ``w``, so it has one solution for every ``net != 0``); SymPy solves it for
    ``w`` and the difference to the claimed maximiser simplifies to 0, and substituting the claim into ``dg/dw``
    gives 0. Maximality: ``g'' g`` at the claimed point is a rational function of ``E = exp(net)`` with negative
    numerator and positive denominator for every ``net != 0``, so every stationary point of ``|g|`` (``g != 0`` for
    ``w != 0``) is a strict local maximum. On each side of ``w = 0`` there is then at most one (two strict maxima
    would enclose a minimum, another stationary point), and as ``g(0) = 0`` and ``g -> 0`` at +-oo
    (``section3/vanishes-large-w``) there is one: the maximum of ``|g|`` on that side.

    Args:
        f: the activation (default: the logistic).
        maximiser: the claimed maximiser ``w(net, y)``.
    """
    y = sp.Symbol("y", real=True, nonzero=True)
    fp = sp.Lambda(x, sp.diff(f(x), x))
    g = fp(w * y + b) * w
    stationarity = sp.expand(sp.diff(g, w).subs(b, net - w * y))  # dg/dw with net = w y + b eliminated
    g2 = sp.diff(g, w, 2).subs(b, net - w * y)
    claimed = maximiser(net, y)
    details: dict[str, object] = {"f": _s(f(x)), "g": _s(g), "dg_dw": _s(stationarity),
                                  "dg_dw_latex": sp.latex(stationarity), "claimed_maximiser": _s(claimed)}
    problems = []
    poly = sp.Poly(stationarity, w)
    coeff = sp.simplify(poly.coeff_monomial(w) / y) if poly.degree() == 1 else None
    details["dg_dw_degree_in_w"] = poly.degree()
    if coeff is not None:
        details["coefficient_of_w_over_y"] = _s(coeff)
        details["coefficient_of_w_zero_at_net"] = _s(sp.solveset(coeff, net, sp.S.Reals))
    solutions = sp.solve(stationarity, w)
    details["solved_maximiser"] = [_s(s) for s in solutions]
    differences = [sp.simplify((s - claimed).rewrite(sp.exp)) for s in solutions]
    details["solved_minus_claimed"] = [_s(d) for d in differences]
    if not any(d == 0 for d in differences):
        problems.append(f"dg/dw = 0 solves to w = {details['solved_maximiser']}, which differs from the claimed "
                        f"{_s(claimed)} by {details['solved_minus_claimed']}")
    residual = sp.simplify(stationarity.subs(w, claimed).rewrite(sp.exp))
    details["dg_dw_at_claimed"] = _s(residual)
    if residual != 0:
        sample = residual.subs({net: 1, y: 1}).evalf(20)
        details["dg_dw_at_claimed_net1_y1"] = _s(sample)
        problems.append(f"dg/dw at w = {_s(claimed)} is {_s(residual)} (= {_s(sample)} at net = y = 1), not 0")
    curvature = _in_exp_net(sp.simplify((g2 * g.subs(b, net - w * y)).subs(w, claimed)))
    num, den = sp.fraction(curvature)
    den_zeros = sp.solveset(den, E, sp.Interval.open(0, sp.oo))
    details.update({"g2_times_g_at_claimed_in_E=exp(net)": _s(curvature), "numerator_negative": num.is_negative,
                    "denominator_nonnegative": den.is_nonnegative, "denominator_zero_at_E": _s(den_zeros)})
    if not (num.is_negative and den.is_nonnegative and den_zeros.is_subset(sp.FiniteSet(1))):
        problems.append(f"g'' g at the claimed maximiser is {_s(curvature)} (E = exp(net)): not shown negative for "
                        "net != 0, so |g| need not be maximal there")
    return CheckResult(
        id="section3/maximiser-coth", passed=not problems, title="|f'(w y + b) w| is maximal where w = coth(net/2)/y "
        "(stationarity derived, solved and checked; g'' g < 0 there)", reference=PROOF,
        claim="Section 3.1 (maximiser of |f'(net) w| for constant y)", details=details, message="; ".join(problems))


def check_vanishes_large_w(f: Fn = logistic) -> CheckResult:
    """Section 3.1: ``|f'(w y + b) w| -> 0`` as ``|w| -> oo`` (``y != 0``).

    SymPy's ``limit`` is tried with ``y`` only known to be non-zero; where the result depends on the sign of ``y``
    (it does for the logistic), the limits are taken for ``y > 0`` and ``y < 0`` separately, with ``b`` symbolic.

    Args:
        f: the activation (default: the logistic).
    """
    fp = sp.Lambda(x, sp.diff(f(x), x))
    details: dict[str, object] = {"f": _s(f(x))}
    problems = []
    cases = []
    y = sp.Symbol("y", real=True, nonzero=True)
    try:
        lims = [sp.limit(fp(w * y + b) * w, w, d) for d in (sp.oo, -sp.oo)]
        if any(lim.has(y, b) for lim in lims):
            raise ValueError("limit depends on y or b")
        cases.append(("y != 0", lims))
        details["y_nonzero_symbolic"] = True
    except (ValueError, NotImplementedError) as exc:
        details["y_nonzero_symbolic"] = False
        details["why_split_by_sign"] = f"SymPy: {exc}"
        for name, ys in (("y > 0", sp.Symbol("y", positive=True)), ("y < 0", sp.Symbol("y", negative=True))):
            cases.append((name, [sp.limit(fp(w * ys + b) * w, w, d) for d in (sp.oo, -sp.oo)]))
    for name, (plus, minus) in cases:
        details[f"limit w->+oo ({name})"] = _s(plus)
        details[f"limit w->-oo ({name})"] = _s(minus)
        for where, lim in (("+oo", plus), ("-oo", minus)):
            if lim != 0:
                problems.append(f"f'(w y + b) w -> {_s(lim)} as w -> {where} ({name}), not 0")
    return CheckResult(
        id="section3/vanishes-large-w", passed=not problems, title="|f'(w y + b) w| -> 0 as |w| -> oo "
        "(SymPy limits, b symbolic" + (")" if details["y_nonzero_symbolic"] else ", y > 0 and y < 0 separately)"),
        reference=PROOF, claim="Section 3.1 (vanishes for |w| -> oo)", details=details, message="; ".join(problems))


def check_below_one(f: Fn = logistic, w_bound: sp.Expr = sp.Integer(4)) -> CheckResult:
    """Section 3.1: ``|f'(net) w| < 1`` for all ``net`` whenever ``|w| < 4``.

    Proof: ``0 < f'(net) <= M`` with ``M = max f'`` from :func:`derivative_maximum` (equality only at the argmax),
    so ``|f'(net) w| <= M |w|``; SymPy solves ``M |w| < 1`` over the reals, and the claim holds iff ``|w| < w_bound``
    lies inside that set. The bound is sharp: ``sup |f'(net) w|`` over ``|w| < w_bound`` is ``M w_bound``, so for
    ``M w_bound > 1`` a counterexample is reported.

    Args:
        f: the activation (default: the logistic).
        w_bound: the claimed weight bound.
    """
    dm = derivative_maximum(f)
    w_bound = sp.sympify(w_bound)
    details: dict[str, object] = {"f": _s(f(x)), "f_prime": _s(dm.fprime), "max_f_prime": _s(dm.value),
                                  "argmax": _s(dm.argmax), "w_bound": _s(w_bound)}
    if dm.value is None:
        return CheckResult(id="section3/below-one-for-w-lt-4", passed=False, title="|f'(net) w| < 1 for |w| < 4",
                           reference=PROOF, claim="Section 3.1 (|f' w| < 1 for |w| < 4.0)", details=details,
                           message=f"max f' not established: {dm.problem}")
    M = dm.value
    positive = sp.solveset(dm.fprime <= 0, x, sp.S.Reals)
    safe = sp.solveset(M * sp.Abs(w) < 1, w, sp.S.Reals)
    claimed = sp.Interval.open(-w_bound, w_bound)
    holds = bool(claimed.is_subset(safe))
    sup = sp.simplify(M * w_bound)
    details.update({"f_prime_nonpositive_at": _s(positive), "bound": f"|f'(net) w| <= {_s(M)} |w|",
                    "set_where_bound_below_one": _s(safe), "claimed_set": _s(claimed),
                    "sup_over_claimed_set": _s(sup), "bound_equality_only_at_net": _s(dm.argmax)})
    problems = []
    if positive != sp.S.EmptySet:
        problems.append(f"f' is not positive everywhere (f' <= 0 on {_s(positive)})")
    if not holds:
        w_bad = (1 / M + w_bound) / 2
        details["counterexample"] = {"w": _s(w_bad), "net": _s(dm.argmax), "f_prime_w": _s(sp.simplify(M * w_bad))}
        problems.append(f"max f' = {_s(M)}, so |f' w| reaches {_s(sup)} > 1 on |w| < {_s(w_bound)} (e.g. w = "
                        f"{_s(w_bad)}, net = {_s(dm.argmax)} gives {_s(sp.simplify(M * w_bad))}); |f' w| < 1 only "
                        f"for w in {_s(safe)}")
    return CheckResult(
        id="section3/below-one-for-w-lt-4", passed=not problems, title="|f'(net) w| <= |w|/4 < 1 for |w| < 4 "
        "(from max f' = 1/4)", reference=PROOF, claim="Section 3.1 (|f' w| < 1 for |w| < 4.0)", details=details,
        message="; ".join(problems))


# ----- Section 3.2: the CEC -----

def check_constant_flow(f: Fn = identity, w_self: sp.Expr = sp.S.One, lags: int = 4) -> CheckResult:
    """Section 3.2: constant error flow ``f'(net) w = 1`` forces a linear ``f``; identity with ``w = 1`` is the CEC.

    Proof: ``dsolve`` of ``F'(x) = 1/w`` gives ``F(x) = x/w + C1`` (second derivative 0: linear). The given unit
    (``f``, ``w_self``) must satisfy the condition identically in ``net`` (so it lies in that family), and its
    self-recurrence ``y(t) = f(w y(t-1) + in(t))``, unrolled over 1..``lags`` steps with symbolic inputs, must have
    ``d y(t) / d y(t-q) = 1`` exactly: the error neither decays nor grows, whatever the inputs.

    Args:
        f: the unit's activation (default: identity).
        w_self: the self-connection weight (default 1).
        lags: number of steps to unroll.
    """
    F = sp.Function("F")
    ws = sp.Symbol("w", real=True, nonzero=True)
    sol = sp.dsolve(sp.Eq(F(x).diff(x), 1 / ws), F(x))
    general = sol.rhs
    ode_ok = sp.checkodesol(sp.Eq(F(x).diff(x), 1 / ws), sol)[0]
    linear = sp.diff(general, x, 2) == 0
    w_self = sp.sympify(w_self)
    condition = sp.simplify(sp.diff(f(x), x) * w_self - 1)
    y0 = sp.Symbol("y0", real=True)
    inputs = sp.symbols(f"in1:{lags + 1}", real=True)
    ys = [y0]
    for i in range(lags):
        ys.append(f(w_self * ys[-1] + inputs[i]))
    flows = [_identically(sp.diff(ys[q], y0), sp.S.One, (y0, *inputs)) for q in range(1, lags + 1)]
    free_run = sp.simplify(f(w_self * y0) - y0)  # y(t+1) = f(w y(t)) = y(t) without input
    details = {"ode": "F'(x) = 1/w", "dsolve": _s(sol), "dsolve_latex": sp.latex(sol), "solution_checks": ode_ok,
               "second_derivative_of_solution": _s(sp.diff(general, x, 2)), "f": _s(f(x)), "w_self": _s(w_self),
               "f_prime_w_minus_1": _s(condition), "f_minus_x_over_w": _s(sp.simplify(f(x) - x / w_self)),
               "unrolled_state_y(q)": _s(ys[-1])[:400], "flow_dy(t)_dy(t-q)_q=1..": [shown for _, shown in flows],
               "free_run_f(w y) - y": _s(free_run)}
    problems = []
    if not (ode_ok and linear):
        problems.append(f"dsolve gave {_s(sol)}, not a linear function")
    if condition != 0:
        problems.append(f"f'(net) w - 1 = {_s(condition)} is not identically 0: f(x) = {_s(f(x))} with w = "
                        f"{_s(w_self)} is not of the form x/w + C")
    bad = [q for q, (ok, _) in enumerate(flows, 1) if not ok]
    if bad:
        problems.append(f"the unrolled unit's error flow dy(t)/dy(t-q) is not 1 for q = {bad} "
                        f"(q = {bad[0]}: {flows[bad[0] - 1][1]})")
    return CheckResult(
        id="section3/constant-flow-forces-linear", passed=not problems, title="f'(net) w = 1 forces f(x) = x/w + C; "
        "identity with w = 1 keeps the error exactly constant (the CEC)", reference=PROOF,
        claim="Section 3.2 (constant error flow, the CEC)", details=details, message="; ".join(problems))


# ----- eqs. (1), (2): the error-scaling factor -----

def _flow_symbols(n: int, q: int) -> tuple[sp.Matrix, sp.Matrix]:
    """Symbolic weights ``W[i, j] = w_ij`` (from j to i) and derivatives ``D[l, m-1] = f'_l(net_l(t-m))``."""
    W = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"w_{i + 1}{j + 1}"))
    D = sp.Matrix(n, q, lambda i, m: sp.Symbol(f"d_{i + 1}_{m + 1}"))
    return W, D


def eq1_recursion(u: int, v: int, q: int, W: sp.Matrix, D: sp.Matrix) -> sp.Expr:
    """Eq. (1): ``d theta_v(t-q)/d theta_u(t)``, recursively (``D[l, m-1] = f'_l(net_l(t-m))``, ``W[i, j] = w_ij``)."""
    if q == 1:
        return D[v, 0] * W[u, v]
    n = W.shape[0]
    return D[v, q - 1] * sum(eq1_recursion(u, l, q - 1, W, D) * W[l, v] for l in range(n))


def eq2_path_sum(u: int, v: int, q: int, W: sp.Matrix, D: sp.Matrix) -> sp.Expr:
    """Eq. (2): the sum over all ``n**(q-1)`` paths ``l_0 = u, l_1, ..., l_q = v`` of
    ``prod_m f'_{l_m}(net_{l_m}(t-m)) w_{l_{m-1} l_m}``.

    The weight index order is the one consistent with eq. (1) (``w_ij`` from j to i; eq. (1) at q = 1 is
    ``f'_v w_uv``); the paper prints ``w_{l_m l_{m-1}}``, see :func:`eq2_printed_order`.
    """
    n = W.shape[0]
    total = sp.S.Zero
    for inner in itertools.product(range(n), repeat=q - 1):
        path = (u, *inner, v)
        total += sp.Mul(*[D[path[m], m - 1] * W[path[m - 1], path[m]] for m in range(1, q + 1)])
    return total


def eq2_printed_order(u: int, v: int, q: int, W: sp.Matrix, D: sp.Matrix) -> sp.Expr:
    """Eq. (2) with the weight index order as printed, ``w_{l_m l_{m-1}}`` (the flow of the transposed net)."""
    return eq2_path_sum(u, v, q, W.T, D)


def backprop_rule(u: int, v: int, q: int, W: sp.Matrix, D: sp.Matrix) -> sp.Expr:
    """``d theta_v(t-q)/d theta_u(t)`` by differentiating the BPTT rule of Section 3.1 (spec 1.1) unrolled q steps:
    ``theta_j(s) = f'_j(net_j(s)) sum_i w_ij theta_i(s+1)``."""
    n = W.shape[0]
    theta_t = sp.symbols(f"theta1:{n + 1}")
    theta = list(theta_t)
    for m in range(1, q + 1):
        theta = [D[j, m - 1] * sum(W[i, j] * theta[i] for i in range(n)) for j in range(n)]
    return sp.diff(theta[v], theta_t[u])


def matrix_form(u: int, v: int, q: int, W: sp.Matrix, D: sp.Matrix) -> sp.Expr:
    """Spec 1.4, for q > 1: ``(W_{u^T})^T F'(t-1) prod_{m=2}^{q-1} (W F'(t-m)) W_v f'_v(net_v(t-q))``."""
    Fp = [sp.diag(*D[:, m]) for m in range(q)]
    row = W[u, :] * Fp[0]  # W_{u^T}: incoming weights of u, [W_{u^T}]_i = w_ui
    for m in range(2, q):
        row = row * W * Fp[m - 1]
    return sp.expand((row * W[:, v])[0, 0] * D[v, q - 1])  # W_v: outgoing weights of v, [W_v]_i = w_iv


PathSum = Callable[[int, int, int, sp.Matrix, sp.Matrix], sp.Expr]


def check_error_flow_product(sizes: Sequence[int] = (2, 3), lags: Sequence[int] = (1, 2, 3, 4),
                             path_sum: PathSum = eq2_path_sum) -> CheckResult:
    """Section 3.1: eq. (1)'s recursive error scaling equals eq. (2)'s sum over paths of products of ``f'(net) w``.

    For every net size n, lag q and pair (u, v): eq. (1), the unrolled BPTT rule of Section 3.1 and spec 1.4's matrix
    form (q > 1) are expanded as polynomials in symbolic weights ``w_ij`` and derivatives ``d_l_m = f'_l(net_l(t-m))``
    and must equal the expanded path sum; the path sum must have ``n**(q-1)`` terms, each with coefficient 1. The
    paper's printed index order of eq. (2) is compared as well (information: it equals eq. (1) of the transposed
    net).

    Args:
        sizes: numbers of units n.
        lags: lags q.
        path_sum: the eq. (2) implementation under test.
    """
    problems: list[str] = []
    compared = 0
    printed_equal: list[bool] = []
    printed_equal_transposed: list[bool] = []
    example = {}
    for n in sizes:
        for q in lags:
            W, D = _flow_symbols(n, q)
            for u, v in itertools.product(range(n), repeat=2):
                e1 = sp.expand(eq1_recursion(u, v, q, W, D))
                e2 = sp.expand(path_sum(u, v, q, W, D))
                forms = {"eq. (1)": e1, "BPTT rule": sp.expand(backprop_rule(u, v, q, W, D))}
                if q > 1:
                    forms["matrix form (spec 1.4)"] = matrix_form(u, v, q, W, D)
                for name, e in forms.items():
                    compared += 1
                    diff = sp.expand(e - e2)
                    if diff != 0 and len(problems) < 5:
                        problems.append(f"n={n} q={q} u={u + 1} v={v + 1}: {name} - eq. (2) = {_s(diff)}")
                terms = sp.Add.make_args(e2) if e2 != 0 else ()
                coeffs = {t.as_coeff_Mul()[0] for t in terms}
                if (len(terms) != n ** (q - 1) or coeffs != {1}) and len(problems) < 5:
                    problems.append(f"n={n} q={q} u={u + 1} v={v + 1}: eq. (2) expands to {len(terms)} terms with "
                                    f"coefficients {sorted(map(_s, coeffs))}, expected {n ** (q - 1)} terms of "
                                    "coefficient 1 (one per path)")
                printed = sp.expand(eq2_printed_order(u, v, q, W, D))
                printed_equal.append(sp.expand(printed - e1) == 0)
                printed_equal_transposed.append(sp.expand(printed - eq1_recursion(u, v, q, W.T, D)) == 0)
                if (n, q, u, v) == (2, 2, 0, 1):
                    example = {"n=2,q=2,u=1,v=2 eq. (1)": _s(e1), "n=2,q=2,u=1,v=2 eq. (2)": _s(e2),
                               "n=2,q=2,u=1,v=2 eq. (2) latex": sp.latex(e2)}
    details = {"sizes_n": list(sizes), "lags_q": list(lags), "comparisons": compared, **example,
               "printed_order_w_{l_m l_(m-1)}_equals_eq1": f"{sum(printed_equal)} of {len(printed_equal)} (u, v, n, q)",
               "printed_order_equals_eq1_of_transposed_W": all(printed_equal_transposed),
               "index_order_note": "eq. (1) at q = 1 is f'_v w_uv (w_ij from j to i), so eq. (2)'s factor must be "
                                   "w_{l_(m-1) l_m}; the printed w_{l_m l_(m-1)} is the flow of the transposed net "
                                   "(identical only for symmetric W)"}
    return CheckResult(
        id="section3/error-flow-product", passed=not problems, title="Eq. (1)'s recursion = eq. (2)'s sum over "
        "paths of prod f'(net) w = BPTT rule = matrix form (identical polynomials)", reference=PROOF,
        claim="Section 3.1, eqs. (1), (2)", details=details, message="; ".join(problems))


# ----- the weak upper bound -----

def _row_sum_lemma(n: int, fmax: sp.Expr) -> tuple[bool, str]:
    """Per-step bound: for ``|w_rs| <= w_max`` and ``0 <= d_s <= f'_max``, a row sum of ``|W F'|`` is at most
    ``n f'_max w_max``. Shown as an identity ``n f'_max w_max - sum_s |w_rs| d_s = sum_s (f'_max a_s + |w_rs| b_s)``
    with slacks ``a_s = w_max - |w_rs| >= 0``, ``b_s = f'_max - d_s >= 0``, whose right side SymPy finds
    non-negative from the signs of its symbols."""
    absw = sp.symbols(f"absw1:{n + 1}", nonnegative=True)
    slack_w = sp.symbols(f"a1:{n + 1}", nonnegative=True)  # w_max - |w_rs|
    slack_d = sp.symbols(f"b1:{n + 1}", nonnegative=True)  # f'_max - d_s
    fm = sp.Symbol("fmax", positive=True)
    d = [fm - bs for bs in slack_d]
    w_max = [aw + sw for aw, sw in zip(absw, slack_w)]  # the same w_max, written per term
    lhs = sum(fm * wm for wm in w_max) - sum(aw * ds for aw, ds in zip(absw, d))
    rhs = sum(fm * sw + aw * bs for sw, aw, bs in zip(slack_w, absw, slack_d))
    identity_ok = sp.expand(lhs - rhs) == 0
    return bool(identity_ok and rhs.is_nonnegative), f"n f'max w_max - sum_s |w_rs| d_s = {_s(rhs)} >= 0"


def _random_network(rng: np.random.Generator, n: int, q: int, act: Activation, fmax_at: sp.Expr,
                    extreme: bool, denom: int = 1000) -> tuple[sp.Matrix, list[sp.Matrix]]:
    """Exact-rational weights ``|w_ij| <= w_max < 4/n`` and diagonal ``F'(t-m)`` built from unit values s in the
    activation's range (``f'(net) = phi(s)``; every s in the open range is ``f(net)`` for some real net)."""
    lo, hi = act.value_range
    limit = sp.Rational(4, n)
    if extreme:  # the worst case: all weights +w_max, every unit at the argmax of f'
        w_max = limit * sp.Rational(denom - 1, denom)
        W = sp.Matrix(n, n, lambda i, j: w_max)
        s_vals = [[act(fmax_at)] * n for _ in range(q)]
    else:
        w_max = limit * sp.Rational(int(rng.integers(denom // 2, denom)), denom)
        W = sp.Matrix(n, n, lambda i, j: w_max * sp.Rational(int(rng.integers(-denom, denom + 1)), denom))
        s_vals = [[lo + (hi - lo) * sp.Rational(int(rng.integers(1, denom)), denom) for _ in range(n)]
                  for _ in range(q)]
    Fps = [sp.diag(*[act.fprime_of_value(s) for s in row]) for row in s_vals]
    return W, Fps


BoundFn = Callable[[int, sp.Expr, int], sp.Expr]


def paper_bound(n: int, tau: sp.Expr, q: int) -> sp.Expr:
    """The weak upper bound of Section 3.1 (spec 1.4): ``n tau**q``."""
    return n * tau**q


def check_weak_upper_bound(activation: Activation = LOGISTIC, f_prime_max: sp.Expr = sp.Rational(1, 4),
                           bound: BoundFn = paper_bound, sizes: Sequence[int] = (2, 3, 4), max_lag: int = 8,
                           networks_per_size: int = 10, seed: int = SEED) -> CheckResult:
    """Section 3.1 (spec 1.4): logistic units with ``|w_ij| <= w_max < 4/n`` have error flow ``<= n tau^q``,
    ``tau = n w_max / 4 < 1``.

    Symbolic part: ``f'_max`` is the proven maximum of ``f'`` (:func:`derivative_maximum`) and ``phi(f) = f'`` is
    verified; the per-step row-sum bound ``||W F'(t-m)||_A <= n f'_max w_max = tau`` (:func:`_row_sum_lemma`);
    ``tau < 1`` iff ``w_max < 1/(n f'_max)`` (solveset). Exact evaluation: on random exact-rational networks (and
    one extreme network per size: all weights ``+w_max``, every ``f'`` at its maximum) the eq. (1) flow of every
    pair (u, v) and lag q must not exceed ``n tau^q``, with ``tau`` from the realised largest ``|w_ij|``.

    Args:
        activation: the units' activation with its derivative through its value (default: logistic).
        f_prime_max: the claimed maximum of ``f'`` used in the bound.
        bound: the claimed bound ``bound(n, tau, q)`` (default the paper's ``n tau**q``).
        sizes: numbers of units n.
        max_lag: lags q = 1 .. max_lag.
        networks_per_size: random networks per n (plus one extreme network).
        seed: seed of the random networks.
    """
    f_prime_max = sp.sympify(f_prime_max)
    problems: list[str] = []
    s = sp.Symbol("s", real=True)
    phi_ok = _is_zero(sp.diff(activation(x), x) - activation.fprime_of_value(activation(x)))
    dm = derivative_maximum(activation)
    details: dict[str, object] = {"activation": activation.name, "f": _s(activation(x)),
                                  "f_prime_as_value": _s(activation.fprime_of_value(s)), "f_prime_as_value_ok": phi_ok,
                                  "proven_max_f_prime": _s(dm.value), "claimed_f_prime_max": _s(f_prime_max)}
    if not phi_ok:
        problems.append(f"f' != phi(f) for phi(s) = {_s(activation.fprime_of_value(s))}")
    if dm.value is None or not bool(dm.value <= f_prime_max):
        problems.append(f"max f' = {_s(dm.value)} exceeds the claimed f'_max = {_s(f_prime_max)}")
    w_max = sp.Symbol("w_max", nonnegative=True)
    tau_s, q_s = sp.Symbol("tau", positive=True), sp.Symbol("q", positive=True, integer=True)
    for n in sizes:
        # |flow| = |P_uv| <= ||P||_A <= prod_m ||W F'(t-m)||_A <= tau**q (norm submultiplicative); the claimed bound
        # follows from this if bound / tau**q >= 1.
        slack = sp.simplify(bound(n, tau_s, q_s) / tau_s**q_s)
        details[f"n={n} bound_over_tau^q"] = _s(slack)
        if not (slack - 1).is_nonnegative:
            problems.append(f"n={n}: the claimed bound is {_s(slack)} tau^q, not implied by |flow| <= tau^q")
        lemma_ok, lemma = _row_sum_lemma(n, f_prime_max)
        decay = sp.solveset(n * w_max * f_prime_max < 1, w_max, sp.Interval(0, sp.oo))
        details[f"n={n} row_sum_lemma"] = lemma
        details[f"n={n} tau<1_iff_w_max_in"] = _s(decay)
        if not lemma_ok:
            problems.append(f"n={n}: row-sum lemma not shown")
        if not sp.Interval.Ropen(0, sp.Rational(4, n)).is_subset(decay):
            problems.append(f"n={n}: tau = n w_max f'_max < 1 holds for w_max in {_s(decay)}, not for every "
                            f"w_max < 4/n")
    rng = np.random.default_rng(seed)
    checked = violations = 0
    first_violation = ""
    worst = (sp.S.Zero, None)
    worst_norm = worst_sharp = sp.S.Zero
    fmax_at = dm.argmax if dm.argmax is not None else sp.S.Zero
    for n in sizes:
        for k in range(networks_per_size + 1):
            W, Fps = _random_network(rng, n, max_lag, activation, fmax_at, extreme=(k == 0))
            tau = n * max(abs(v) for v in W) * f_prime_max
            if not tau < 1:
                problems.append(f"n={n}: tau = {_s(tau)} >= 1")
            norm_A = max(sum(abs(W[r, c]) for c in range(n)) for r in range(n))
            P = sp.eye(n)
            for q in range(1, max_lag + 1):
                P = P * W * Fps[q - 1]  # eq. (1): P[u, v] = d theta_v(t-q) / d theta_u(t)
                limit_q = bound(n, tau, q)
                fmax_q = max(max(F) for F in Fps[:q])
                for flow in P:
                    checked += 1
                    ratio = abs(flow) / limit_q
                    if ratio > worst[0]:
                        worst = (ratio, {"n": n, "q": q, "network": k, "extreme": k == 0})
                    worst_sharp = max(worst_sharp, abs(flow) * n / tau**q)
                    if fmax_q * norm_A > 0:
                        worst_norm = max(worst_norm, abs(flow) / (n * (fmax_q * norm_A) ** q))
                    if ratio > 1:
                        violations += 1
                        if violations == 1:
                            first_violation = (f"n={n} network {k} q={q}: |flow| = {float(abs(flow)):.6g} exceeds "
                                               f"the bound {float(limit_q):.6g} (tau = {float(tau):.6g})")
    if violations:
        problems.append(f"{violations} of {checked} exact flows exceed the bound, first: {first_violation}")
    ratio_f = float(worst[0])
    details.update({"bound": _s(bound(sp.Symbol("n"), sp.Symbol("tau"), sp.Symbol("q"))),
                    "networks": len(sizes) * (networks_per_size + 1), "extreme_networks": len(sizes),
                    "lags": max_lag, "flows_checked": checked, "flows_above_bound": violations, "seed": seed,
                    "tightest_ratio_flow_to_bound": ratio_f, "tightest_at": worst[1],
                    "tightest_ratio_flow_to_n_(fmax_||W||_A)^q": float(worst_norm),
                    "tightest_ratio_flow_to_tau^q/n (information: each of the n^(q-1) path products is at most "
                    "(w_max f'_max)^q)": float(worst_sharp)})
    return CheckResult(
        id="section3/weak-upper-bound", passed=not problems, max_rel_error=ratio_f, tolerance=1.0,
        title="Logistic units, |w| < 4/n: |d theta_v(t-q)/d theta_u(t)| <= n tau^q, tau = n w_max/4 < 1 "
        "(figure: largest flow / bound)", reference=PROOF_AND_EVAL, claim="Section 3.1 (weak upper bound, "
        "max-row-sum norm)", details=details, message="; ".join(problems))


def run_checks(full: bool = False) -> list[CheckResult]:
    """Every Section 3 claim, one check each.

    Args:
        full: more random networks, sizes and lags for the weak upper bound, larger nets for eq. (2).

    Returns:
        Check results with ids starting ``section3/``.
    """
    return [
        check_logistic_derivative_max(),
        check_maximiser_coth(),
        check_vanishes_large_w(),
        check_below_one(),
        check_constant_flow(),
        check_error_flow_product(sizes=(2, 3, 4) if full else (2, 3), lags=(1, 2, 3, 4, 5) if full else (1, 2, 3, 4)),
        check_weak_upper_bound(sizes=(2, 3, 4, 5) if full else (2, 3, 4), max_lag=12 if full else 8,
                               networks_per_size=100 if full else 10),
    ]
