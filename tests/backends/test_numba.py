"""The compiled (numba) backend against the NumPy reference, both generated from the same derivation.

Agreement is to rounding (max |numba - numpy| / max |numpy| <= 1e-12): the two sum in different orders. Skipped
without numba; the first run on a fresh checkout compiles the kernels (cached in derivations/__pycache__).
"""

import subprocess
import sys

import numpy as np
import pytest

from lstm_proofs.checks.backends import TOPOLOGIES, compare
from lstm_proofs.errors import UserError
from lstm_proofs.network import Network, Topology, init_params
from lstm_proofs.network.model import load_kernels

TOL = 1e-12


@pytest.mark.parametrize("cell", ["lstm1997"])
def test_numba_matches_numpy(cell):
    pytest.importorskip("numba")
    errors = compare(TOPOLOGIES[cell], seed=3, T=12, B=2)
    assert max(errors.values()) <= TOL, errors


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["forget", "lstm1997_2a"])
def test_numba_matches_numpy_other_cells(cell):
    pytest.importorskip("numba")
    errors = compare(TOPOLOGIES[cell], seed=4, T=12, B=2)
    assert max(errors.values()) <= TOL, errors


def test_truncation_flag_reaches_the_compiled_kernel():
    pytest.importorskip("numba")
    top = TOPOLOGIES["lstm1997"]
    rng = np.random.default_rng(0)
    p = init_params(top, rng, 0.5)
    xs, tg, m = rng.uniform(-1, 1, (8, 1, top.n_in)), rng.uniform(size=(8, 1, top.n_out)), np.ones((8, 1))
    net = Network(top, load_kernels("lstm1997", "numba"))
    full = net.loss_and_grad(p, xs, tg, m)[1].to_vector(top)
    trunc = net.loss_and_grad(p, xs, tg, m, truncated=True)[1].to_vector(top)
    assert np.max(np.abs(full - trunc)) > 1e-6


def test_unknown_backend_is_a_user_error():
    with pytest.raises(UserError, match="backend must be one of"):
        load_kernels("lstm1997", "cuda")


def test_missing_numba_falls_back_to_numpy_with_a_warning(monkeypatch):
    module = load_kernels("lstm1997", "numpy")
    fast = __import__("lstm_proofs.derivations.numba_lstm1997", fromlist=["x"])
    monkeypatch.setattr(fast, "available", lambda: False)
    with pytest.warns(UserWarning, match="numba is not installed"):
        assert load_kernels("lstm1997", "numba") is module


def test_calling_the_compiled_kernels_without_numba_is_a_user_error(monkeypatch):
    fast = __import__("lstm_proofs.derivations.numba_lstm1997", fromlist=["x"])
    monkeypatch.setattr(fast._CELL, "jit", {})
    monkeypatch.setitem(sys.modules, "numba", None)
    assert not fast.available()
    top = Topology("lstm1997", 2, 1, 1)
    with pytest.raises(UserError, match="needs numba"):
        Network(top, fast).forward(init_params(top, np.random.default_rng(0)), np.zeros((3, 1, 2)))


def test_generated_module_imports_without_numba():
    code = ("import sys; sys.modules['numba'] = None\n"
            "import lstm_proofs.derivations.numba_forget as m\n"
            "assert not m.available() and m.BACKEND == 'numba'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
