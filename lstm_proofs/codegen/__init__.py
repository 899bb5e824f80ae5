"""Code generation from derivations: NumPy kernels (the reference backend)."""

from lstm_proofs.codegen.numpy_backend import generate_module

__all__ = ["generate_module"]
