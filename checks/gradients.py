"""Checks ``gradient/<cell>/<reference>``: the generated full gradient against four independent references.

For every declared cell, on the random networks of :mod:`lstm_proofs.verify.cases`:

* ``autograd``: HIPS autograd applied to the hand-written model of :mod:`lstm_proofs.reference.autograd_models`,
  sequences of T = 1, 10 and 100 steps (``--full``: 1, 2, 10, 100 and 1000, three seeds); normwise per-array error
  <= 1e-10. Autograd's tape over 1000 steps costs about twenty times its cost over 100 (2 to 3 s a cell), so the
  default run leaves T = 1000 to the directional checks below, which cover every component's long-sequence
  contribution at a fraction of the cost.
* ``complex-step``: every component by complex-step differentiation (T = 20), and three random directions at
  T = 1000; <= 1e-12.
* ``finite-differences``: every component by central differences (T = 20) and three random directions (T = 1000);
  <= 1e-6.
* ``exact-50-digits``: SymPy unrolls a tiny network over T = 3 steps and differentiates its loss symbolically;
  evaluated at 50 significant digits; <= 1e-13.

The tolerance rule is stated in :mod:`lstm_proofs.verify.gradcheck` and docs/verification.md. Each check function
takes the generated kernels (and the reference) as arguments, so that tests can hand it broken code and see it fail.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np

from lstm_proofs.cells import CELLS
from lstm_proofs.network.model import Network
from lstm_proofs.network.topology import Params
from lstm_proofs.reference import autograd_models
from lstm_proofs.results import CheckResult, wanted
from lstm_proofs.verify.cases import Case, random_case
from lstm_proofs.verify.exact import exact_gradient
from lstm_proofs.verify.gradcheck import WorstCase, central_difference, complex_step, directional_error

TOLERANCES = {"autograd": 1e-10, "complex-step": 1e-12, "finite-differences": 1e-6, "exact-50-digits": 1e-13}
REFERENCES = {
    "autograd": "HIPS autograd on an independently written model",
    "complex-step": "complex-step differentiation (h = 1e-30)",
    "finite-differences": "central finite differences",
    "exact-50-digits": "SymPy: unrolled network differentiated symbolically, evaluated at 50 digits",
}
#: Sequence lengths per reference: (quick, full).
LENGTHS = {"autograd": ((1, 10, 100), (1, 2, 10, 100, 1000)),
           "componentwise": ((20,), (5, 20)), "directional": ((1000,), (200, 1000))}
SEEDS = {False: (0,), True: (0, 1, 2)}

Reference = Callable[..., Params]


def _result(cell: str, name: str, worst: WorstCase, title: str) -> CheckResult:
    tol = TOLERANCES[name]
    passed = bool(worst.error <= tol)
    return CheckResult(id=f"gradient/{cell}/{name}", passed=passed, max_rel_error=worst.error, tolerance=tol,
                       title=title, reference=REFERENCES[name], claim="Appendix A.1 (the derivation itself)",
                       details={"runs": worst.runs, "worst_case": worst.where},
                       message="" if passed else worst.message)


def check_autograd(cell: str, full: bool = False, kernels: ModuleType | None = None,
                   reference: Reference = autograd_models.gradient) -> CheckResult:
    """Generated full gradient against autograd on the hand-written model (T = 1, 10, 100; ``full``: up to 1000).

    Args:
        cell: cell type.
        full: more lengths and seeds.
        kernels: generated module to test (default: the checked-in one).
        reference: ``f(top, params, xs, targets, mask) -> Params`` (default: autograd).
    """
    worst = WorstCase()
    for seed in SEEDS[full]:
        for T in LENGTHS["autograd"][full]:
            case = random_case(cell, T, 2, seed)
            _, got = Network(case.topology, kernels).loss_and_grad(case.params, case.xs, case.targets, case.mask)
            ref = reference(case.topology, case.params, case.xs, case.targets, case.mask)
            worst.compare(got, ref, cell, "normwise relative error per parameter array", case.label)
    return _result(cell, "autograd", worst, f"{cell}: generated BPTT gradient = autograd on an independent model")


def _directional(worst: WorstCase, case: Case, kernels: ModuleType | None, method: str, n_dirs: int, cell: str) -> None:
    net = Network(case.topology, kernels)
    top = case.topology
    _, grad = net.loss_and_grad(case.params, case.xs, case.targets, case.mask)
    g = grad.to_vector(top)
    rng = np.random.default_rng([len(case.xs), n_dirs])
    loss = lambda p: net.loss(p, case.xs, case.targets, case.mask)  # noqa: E731
    for i in range(n_dirs):
        d = rng.standard_normal(g.size)
        if method == "complex-step":
            ref = complex_step(loss, top, case.params, d)
        else:
            ref = central_difference(loss, top, case.params, d)
        err = directional_error(g, d, ref)
        worst.add(err, f"cell {cell}: directional derivative along random direction {i} ({case.label}): generated "
                       f"<d, g> = {float(d @ g)!r} vs {method} {ref!r}; rule |<d,g> - D_d L| / <|d|,|g|>: {err:.3g}",
                  case.label, direction=i)


def _componentwise(worst: WorstCase, case: Case, kernels: ModuleType | None, method: str, cell: str) -> None:
    net = Network(case.topology, kernels)
    top = case.topology
    _, got = net.loss_and_grad(case.params, case.xs, case.targets, case.mask)
    loss = lambda p: net.loss(p, case.xs, case.targets, case.mask)  # noqa: E731
    n = top.n_weights
    ref = np.empty(n)
    for k in range(n):
        e = np.zeros(n)
        e[k] = 1.0
        ref[k] = (complex_step if method == "complex-step" else central_difference)(loss, top, case.params, e)
    worst.compare(got, Params.from_vector(top, ref), cell,
                  f"normwise relative error per parameter array against {method}, component by component", case.label)


def check_numerical(cell: str, method: str, full: bool = False, kernels: ModuleType | None = None) -> CheckResult:
    """Generated gradient against complex-step or central differences: every component, and random directions.

    Args:
        cell: cell type.
        method: ``"complex-step"`` or ``"finite-differences"``.
        full: more lengths and seeds.
        kernels: generated module to test.
    """
    worst = WorstCase()
    for seed in SEEDS[full]:
        for T in LENGTHS["componentwise"][full]:
            _componentwise(worst, random_case(cell, T, 2, seed), kernels, method, cell)
        for T in LENGTHS["directional"][full]:
            _directional(worst, random_case(cell, T, 1, seed), kernels, method, 3, cell)
    return _result(cell, method, worst, f"{cell}: generated BPTT gradient = {method} derivatives (components and "
                                        "random directions)")


def check_exact(cell: str, full: bool = False, kernels: ModuleType | None = None) -> CheckResult:
    """Generated gradient of a tiny network (T <= 3) against the 50-digit symbolic reference."""
    worst = WorstCase()
    for seed in SEEDS[full]:
        for T in ((1, 2, 3) if full else (3,)):
            case = random_case(cell, T, 1, seed, small=True)
            _, got = Network(case.topology, kernels).loss_and_grad(case.params, case.xs, case.targets, case.mask)
            ref = exact_gradient(case.topology, case.params, case.xs, case.targets, case.mask, digits=50)
            worst.compare(got, ref, cell, "normwise relative error against the 50-digit reference", case.label)
    return _result(cell, "exact-50-digits", worst,
                   f"{cell}: generated gradient = symbolic derivative of the unrolled network (50 digits)")


def check_cell(cell: str, full: bool = False, kernels: ModuleType | None = None) -> list[CheckResult]:
    """All four gradient checks of one cell."""
    return [check_autograd(cell, full, kernels), check_numerical(cell, "complex-step", full, kernels),
            check_numerical(cell, "finite-differences", full, kernels), check_exact(cell, full, kernels)]


def run_checks(full: bool = False, only: str | None = None) -> list[CheckResult]:
    """The gradient checks of every declared cell (of the cells ``only``, an id prefix, can match), then those of
    the rows' own networks (:mod:`.row_gradients`)."""
    from lstm_proofs.checks import row_gradients

    return [r for cell in CELLS if wanted(f"gradient/{cell}/", only) for r in check_cell(cell, full)] + \
        row_gradients.run_checks(only)
