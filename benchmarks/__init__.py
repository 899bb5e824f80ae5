"""Speed benchmarks of the generated kernels: ``python -m benchmarks`` (from the repository root).

Measures the cost per time step (and per trial-step) of the loss gradient by backpropagation through time and of
the paper's online learner, for the paper's networks and a modern-size network, with the NumPy and the compiled
(numba) backends side by side with HIPS autograd and PyTorch (CPU, if installed); how the cost grows with the
number of weights; the learner's memory against sequence length; and trials in lockstep. Writes
``results/benchmarks.json``; ``python -m benchmarks --report`` regenerates ``docs/performance.md`` from it.
"""
