"""The paper's learning algorithm: online, truncated gradient with forward-accumulated traces (Appendix A.1)."""

from lstm_proofs.learning.online import OnlineLearner, TrialState, frozen_masks, stack_params, unstack_params

__all__ = ["OnlineLearner", "TrialState", "frozen_masks", "stack_params", "unstack_params"]
