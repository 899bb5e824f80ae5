"""Error flow back in time (Section 3; Appendix A.2), measured with the generated kernels."""

from lstm_proofs.flow.measure import (
    UNIT_DERIVATIVES, Curve, Measurement, Scaled, at_cells, backward_errors, conventional_flow, entry_exit_ratios,
    eq1_recursion, eq2_path_sum, fit_rate, gate_product, lag_grid, logistic_fixed_points, measure_all,
    norm_bound_log, realised_fprime, recurrent_weights, replicate_per_cell, run_forward, state_flow, trace_flow,
)

__all__ = [
    "UNIT_DERIVATIVES", "Curve", "Measurement", "Scaled", "at_cells", "backward_errors", "conventional_flow",
    "entry_exit_ratios", "eq1_recursion", "eq2_path_sum", "fit_rate", "gate_product", "lag_grid",
    "logistic_fixed_points", "measure_all", "norm_bound_log", "realised_fprime", "recurrent_weights",
    "replicate_per_cell", "run_forward", "state_flow", "trace_flow",
]
