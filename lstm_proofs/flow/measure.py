"""Error flow back in time (Section 3 eqs. 1-2; Appendix A.2 eqs. 30-41), measured with the generated kernels.

Every figure comes from running the generated ``forward_step`` / ``backward_step`` / ``cell_traces`` /
``cell_exit`` of a cell over a sequence, injecting an error at the last step ``t`` and reading where it arrives
``q`` steps earlier. The predictions it is compared with are computed separately, from the paper's formulas and
the forward values of the same run. The measurements live by claim:

* :mod:`lstm_proofs.flow.conventional`: conventional units (eqs. 1, 2): ``d theta_v(t-q) / d theta_u(t)`` against
  the eq. (1) recursion, the rate ``|f'(net*) w|`` per step at a fixed operating point, and the weak upper bound
  ``n (f'_max ||W||_A)^q`` of Section 3.1 (spec 1.4, max-row-sum norm);
* :mod:`lstm_proofs.flow.cec`: the memory cells: the 1997 cell (eqs. 30, 35, 40, 41): the truncated
  state-to-state flow, exactly 1; the error at ``net_c(t-q)`` and ``net_in(t-q)`` against ``y_out(t) h'(s(t))``
  times ``g'(net_c(t-q)) y_in(t-q)`` resp. ``g(net_c(t-q)) f'_in(net_in(t-q))``; for information, how far the full
  gradient's flow is from 1; the forget-gate cell (Gers et al. 2000): the product of the forget-gate activations;
  Greff et al.'s (2017) variants: what each does to the truncated state-to-state flow;
* :mod:`lstm_proofs.flow.common`: what they share (:class:`Scaled` numbers far outside float64's range, running the
  kernels forward and back, :class:`Measurement`).

This module runs them all (:func:`measure_all`) and makes the JSON document of a run (:func:`flow_payload`); it
re-exports the names of the three modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstm_proofs.flow.cec import (at_cells, entry_exit_ratios, gate_product, measure_forget,
                                  measure_lstm1997_entry_exit, measure_lstm1997_full, measure_lstm1997_truncated,
                                  measure_variants, replicate_per_cell, state_flow, trace_flow)
from lstm_proofs.flow.common import (RESCALE_AT, BackwardRecord, Curve, Measurement, Scaled, backward_errors,
                                     cache_values, fit_rate, lag_grid, run_forward)
from lstm_proofs.flow.conventional import (UNIT_DERIVATIVES, _w6_stable_net, conventional_flow, eq1_recursion,
                                           eq2_path_sum, logistic_fixed_points, measure_logistic_exploding_multiunit,
                                           measure_norm_bound, measure_single_unit, norm_bound_log, realised_fprime,
                                           recurrent_weights)

__all__ = [
    "BackwardRecord", "Curve", "Measurement", "Scaled", "UNIT_DERIVATIVES", "at_cells", "backward_errors",
    "cache_values", "conventional_flow", "entry_exit_ratios", "eq1_recursion", "eq2_path_sum", "fit_rate",
    "flow_payload", "gate_product", "lag_grid", "logistic_fixed_points", "measure_all", "measure_forget",
    "measure_lstm1997_entry_exit", "measure_lstm1997_full", "measure_lstm1997_truncated",
    "measure_logistic_exploding_multiunit", "measure_norm_bound", "measure_single_unit", "measure_variants",
    "norm_bound_log", "realised_fprime", "recurrent_weights", "replicate_per_cell", "run_forward", "state_flow",
    "trace_flow",
]


def measure_all(max_lag: int = 1000, seed: int = 0, full: bool = False) -> list[Measurement]:
    """Every flow claim, measured with the generated kernels (the command and the checks both call this).

    Args:
        max_lag: largest lag q (the sequences have ``max_lag + 1`` steps).
        seed: seed of the random networks and inputs.
        full: more random networks.

    Returns:
        The measurements, in a fixed order.
    """
    rng = np.random.default_rng(seed)
    return [
        measure_lstm1997_truncated(max_lag, rng, full),
        measure_lstm1997_entry_exit(max_lag, rng, full),
        measure_lstm1997_full(max_lag, rng, full),
        measure_forget(max_lag, rng, full),
        measure_single_unit("rnn-logistic-vanishing-rate", "rnn logistic w=3 (vanishing)", "rnn", 3.0, 1.0, max_lag),
        measure_single_unit("rnn-logistic-w6-stable-rate", "rnn logistic w=6, stable fixed point", "rnn", 6.0,
                            _w6_stable_net(), max_lag),
        measure_single_unit("rnn-logistic-exploding-fixed-point", "rnn logistic w=6, net*=0 (held)", "rnn", 6.0, 0.0,
                            max_lag),
        measure_logistic_exploding_multiunit(max_lag, rng),
        measure_single_unit("rnn-linear-decay-rate", "rnn_linear w=0.9", "rnn_linear", 0.9, 0.0, max_lag),
        measure_single_unit("rnn-linear-growth-rate", "rnn_linear w=1.1", "rnn_linear", 1.1, 0.0, max_lag),
        measure_norm_bound(max_lag, rng),
        *measure_variants(max_lag, rng, full),
    ]


def flow_payload(measurements: list[Measurement], max_lag: int, seed: int, seconds: float,
                 full: bool = False) -> dict[str, Any]:
    """The JSON document of a run: settings, lags, every measurement with its series.

    Args:
        measurements: from :func:`measure_all`; max_lag, seed, full: its settings; seconds: wall time.

    Returns:
        JSON-ready dict (see ``docs/flow.md``).
    """
    lags = lag_grid(max_lag)
    failed = [m.id for m in measurements if not m.passed]
    return {
        "command": f"lstm-proofs flow --max-lag {max_lag} --seed {seed}",
        "settings": {"max_lag": max_lag, "seed": seed, "full": full, "rescale_at_power_of_two": RESCALE_AT},
        "lags": [int(q) for q in lags],
        "summary": {"measurements": len(measurements), "failed": failed, "passed": not failed,
                    "seconds": round(seconds, 2)},
        "measurements": [m.to_json(lags) for m in measurements],
    }
