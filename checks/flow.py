"""Checks ``flow/...``: the error-flow claims of Section 3 and Appendix A.2, measured with the generated kernels.

The figures are those of ``lstm-proofs flow`` (same measuring functions, :func:`lstm_proofs.flow.measure_all`,
lags q = 1 ... 1000, seed 0).
"""

from __future__ import annotations

from lstm_proofs.flow.measure import Measurement, measure_all
from lstm_proofs.results import CheckResult

#: Largest lag the checks measure (the paper's longest lags are 1000 steps).
MAX_LAG = 1000
SEED = 0


def to_check(m: Measurement) -> CheckResult:
    """The :class:`CheckResult` of one flow measurement.

    Args:
        m: a measurement.

    Returns:
        The check result (``max_rel_error`` is the measurement's figure).
    """
    details = {"figure": m.figure_name, "description": m.description, "predicted_rate": m.predicted_rate,
               "measured_rate": m.measured_rate, "informational": m.informational, **m.details}
    return CheckResult(id="flow/" + m.id, passed=m.passed, max_rel_error=m.figure, tolerance=m.tolerance,
                       title=m.title, reference=m.reference, claim=m.claim, details=details, message=m.message)


def run_checks(full: bool = False) -> list[CheckResult]:
    """Measure every flow claim (q = 1 ... 1000, seed 0) and return one check per claim.

    Args:
        full: also measure on further random networks.

    Returns:
        Check results with ids starting ``flow/``.
    """
    return [to_check(m) for m in measure_all(MAX_LAG, SEED, full)]
