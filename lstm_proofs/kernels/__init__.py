"""The hand-written runtime of the generated kernels: what every cell's generated module shares.

The generated modules (``derivations/<cell>.py``, ``derivations/numba_<cell>.py``) hold what the derivation decides
for their cell; everything that is the same for every cell lives here once:

* ``numba_math``: the logistic function of the compiled kernels;
* ``numba_inputs``: the input helpers of the compiled kernels (a chunk of inputs time innermost, their part of
  the net inputs, the lists of nonzero inputs, the learner's seen inputs);
* ``numba_sums``: the matrix-vector sums of the compiled loops (rows interleaved, each sum in plain order);
* ``numba_loops``: the compiled whole-sequence loops (forward, BPTT, the online learner, dense and sparse), written
  once and calling a cell's generated functions;
* ``numba_splice``: writes the functions a loop calls into it, as source text;
* ``numba_compile``: splices a cell module's functions into those loops and compiles them, on first use;
* ``numba_entry``: the Python entry points of a compiled cell module (argument coercion, the input path, scratch
  arrays, parameter stacking);
* ``numpy_network``: the shared scaffolding of the NumPy modules.

Nothing here imports numba at import time.
"""
