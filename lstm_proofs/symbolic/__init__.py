"""Symbolic building blocks: the logistic and tanh functions with value-based derivatives, stop-gradient."""

from lstm_proofs.symbolic.functions import BlockSum, sigma, stop, tanh

__all__ = ["BlockSum", "sigma", "stop", "tanh"]
