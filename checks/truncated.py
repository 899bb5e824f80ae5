"""Checks ``truncated/<cell>/...``: the paper's truncated gradient, computed three ways (Section 4, Appendix A.1).

* ``traces-vs-bptt``: the generated online learner (forward-accumulated traces ds/dw, eqs. 25 and 27, with the
  weights held fixed over the sequence) against generated truncated backpropagation through time;
* ``bptt-vs-autograd``: generated truncated BPTT against HIPS autograd on the hand-written model with a
  stop-gradient at every truncation point;

both normwise per-array relative error <= 1e-10, on random networks and sequences of T = 1, 10 and 1000 steps
(autograd: T = 1, 10 and 100, as for ``gradient/<cell>/autograd``; ``--full``: every length up to 1000 for both).

* ``distance-to-full`` (information, not a pass/fail criterion): the normwise distance between the truncated and
  the full gradient, ``max_P |g_trunc - g_full|_inf / |g_full|_inf``, at T = 10, 100, 1000. Its check passes when
  the distance was measured and is finite.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np

from lstm_proofs.cells import CELLS
from lstm_proofs.learning.online import OnlineLearner
from lstm_proofs.network.model import Network
from lstm_proofs.network.topology import Params
from lstm_proofs.reference import autograd_models
from lstm_proofs.results import CheckResult, wanted
from lstm_proofs.verify.cases import random_case
from lstm_proofs.verify.gradcheck import WorstCase, compare_params

TOLERANCE = 1e-10
LENGTHS = {False: (1, 10, 1000), True: (1, 2, 10, 100, 1000)}
#: Autograd's tape over 1000 steps costs about twenty times its cost over 100 (checks/gradients.py).
AUTOGRAD_LENGTHS = {False: (1, 10, 100), True: LENGTHS[True]}
SEEDS = {False: (0,), True: (0, 1, 2)}
CLAIM = "Section 4, Appendix A.1, eqs. (10)-(28)"


def _result(name: str, cell: str, worst: WorstCase, title: str, reference: str) -> CheckResult:
    passed = bool(worst.error <= TOLERANCE)
    return CheckResult(id=f"truncated/{cell}/{name}", passed=passed, max_rel_error=worst.error, tolerance=TOLERANCE,
                       title=title, reference=reference, claim=CLAIM, details={"runs": worst.runs},
                       message="" if passed else worst.message)


def check_traces_vs_bptt(cell: str, full: bool = False, kernels: ModuleType | None = None) -> CheckResult:
    """Forward-trace gradient of the generated learner = generated truncated BPTT."""
    worst = WorstCase()
    for seed in SEEDS[full]:
        for T in LENGTHS[full]:
            case = random_case(cell, T, 2, seed)
            traces = OnlineLearner(case.topology, kernels=kernels).sequence_gradient(case.params, case.xs,
                                                                                     case.targets, case.mask)
            _, bptt = Network(case.topology, kernels).loss_and_grad(case.params, case.xs, case.targets, case.mask,
                                                                    truncated=True)
            worst.compare(traces, bptt, cell, "forward traces vs truncated BPTT, normwise per array", case.label)
    return _result("traces-vs-bptt", cell, worst, f"{cell}: forward-trace learner gradient = truncated BPTT",
                   "generated truncated BPTT")


def check_bptt_vs_autograd(cell: str, full: bool = False, kernels: ModuleType | None = None,
                           reference: Callable[..., Params] = autograd_models.gradient) -> CheckResult:
    """Generated truncated BPTT = autograd with stop-gradients at every truncation point."""
    worst = WorstCase()
    for seed in SEEDS[full]:
        for T in AUTOGRAD_LENGTHS[full]:
            case = random_case(cell, T, 2, seed)
            _, bptt = Network(case.topology, kernels).loss_and_grad(case.params, case.xs, case.targets, case.mask,
                                                                    truncated=True)
            ref = reference(case.topology, case.params, case.xs, case.targets, case.mask, truncated=True)
            worst.compare(bptt, ref, cell, "truncated BPTT vs autograd with stop-gradients, normwise", case.label)
    return _result("bptt-vs-autograd", cell, worst, f"{cell}: truncated BPTT = autograd with stop-gradients",
                   "HIPS autograd on an independent model with stop-gradients")


def check_distance_to_full(cell: str, full: bool = False) -> CheckResult:
    """How far the truncated gradient is from the full one (information)."""
    rows = []
    for seed in SEEDS[full]:
        for T in (10, 100, 1000):
            case = random_case(cell, T, 2, seed)
            net = Network(case.topology)
            _, g_full = net.loss_and_grad(case.params, case.xs, case.targets, case.mask)
            _, g_trunc = net.loss_and_grad(case.params, case.xs, case.targets, case.mask, truncated=True)
            cmp = compare_params(g_trunc, g_full)
            v_trunc, v_full = g_trunc.to_vector(case.topology), g_full.to_vector(case.topology)
            cosine = float(v_trunc @ v_full / (np.linalg.norm(v_trunc) * np.linalg.norm(v_full)))
            rows.append({"T": T, "seed": seed, "distance": cmp.error, "per_array": cmp.per_array, "cosine": cosine})
    distance = max(r["distance"] for r in rows)
    finite = bool(np.isfinite(distance))
    return CheckResult(id=f"truncated/{cell}/distance-to-full", passed=finite, max_rel_error=distance,
                       tolerance=None, title=f"{cell}: distance between truncated and full gradient (information)",
                       reference="generated full BPTT", claim="Sections 4, 6",
                       details={"informational": True, "runs": rows},
                       message="" if finite else "distance is not finite")


def run_checks(full: bool = False, only: str | None = None) -> list[CheckResult]:
    """The truncated-gradient checks of every declared cell (of the cells ``only``, an id prefix, can match)."""
    out = []
    for cell in CELLS:
        if not wanted(f"truncated/{cell}/", only):
            continue
        out += [check_traces_vs_bptt(cell, full), check_bptt_vs_autograd(cell, full), check_distance_to_full(cell, full)]
    return out
