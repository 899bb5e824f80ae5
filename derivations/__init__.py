"""Generated NumPy kernels (do not edit: regenerate with `lstm-proofs derive`)."""
