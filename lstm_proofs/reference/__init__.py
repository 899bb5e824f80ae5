"""Independent references: a hand-written HIPS-autograd model and the 50-digit SymPy unrolling."""
