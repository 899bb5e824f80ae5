"""Code generation from derivations: NumPy kernels (the reference backend) and the compiled numba backend."""

from lstm_proofs.codegen.loader import kernels_for, module_from_source
from lstm_proofs.codegen.numpy_backend import generate_module

__all__ = ["generate_module", "kernels_for", "module_from_source"]
