"""The logistic function of the compiled kernels (plain Python; ``numba_compile`` compiles it)."""

import math


def sigmoid(x):
    """Logistic function from exp(-|x|) only (never overflows): exp(x) / (1 + exp(x)) for x < 0, else
    1 / (1 + exp(-x)). Branch-free (the select picks the numerator), and sigma(x), sigma(-x) of one x take the
    same exp, which the compiler computes once when both appear in a kernel."""
    e = math.exp(-abs(x))
    return (e if x < 0.0 else 1.0) / (1.0 + e)
