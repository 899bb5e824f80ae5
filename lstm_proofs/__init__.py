"""lstm-proofs: the 1997 LSTM paper, derived with SymPy, generated as NumPy, verified and reproduced."""

__version__ = "0.1.0"
