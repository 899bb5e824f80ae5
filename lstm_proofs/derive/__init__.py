"""Symbolic derivation of a declared cell: local partials, adjoints (full and truncated), forward traces."""

from lstm_proofs.derive.derivation import Derivation, derive

__all__ = ["Derivation", "derive"]
