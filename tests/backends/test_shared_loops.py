"""The compiled loops are written once (lstm_proofs/kernels/numba_loops.py) and compiled per cell around the cell's
generated functions (lstm_proofs/kernels/numba_compile.py).

What would break if that went wrong: a cell running another cell's code (the loops share their source and names),
a stale cached kernel after a generated file changes, a generated module missing what the loops call, and the
entry points' handling of arrays they may not write (a single sequence's broadcast weights).
"""

import ast
import importlib
import inspect
from pathlib import Path

import numpy as np
import pytest

from lstm_proofs.cells import CELLS
from lstm_proofs.kernels import numba_compile, numba_inputs, numba_loops, numba_splice
from lstm_proofs.learning import OnlineLearner
from lstm_proofs.network import Network, Topology, init_params
from lstm_proofs.network.model import load_kernels


def _numba_module(cell):
    return importlib.import_module(f"lstm_proofs.derivations.numba_{cell}")


@pytest.mark.parametrize("cell", list(CELLS))
def test_generated_module_defines_what_the_loops_call_and_no_loop_of_its_own(cell):
    module = _numba_module(cell)
    for name in numba_compile.CELL_FUNCTIONS:
        assert inspect.isfunction(getattr(module, name)), name
    for name in numba_compile.CELL_SIZES:
        assert isinstance(getattr(module, name), int), name
    source = inspect.getsource(module)
    assert "for b_ in range" not in source and "for t_ in range" not in source  # the loops live in numba_loops
    # the entry points keep their signatures
    assert list(inspect.signature(module.forward_sequence).parameters) == ["W_hidden", "W_output", "P", "xs", "C",
                                                                          "S", "path"]
    assert list(inspect.signature(module.learner_sequence).parameters)[-4:] == ["mode", "C", "S", "path"]


def test_every_loop_that_names_a_cell_function_is_compiled_per_cell():
    names = set(numba_compile.CELL_FUNCTIONS) | set(numba_compile.CELL_SIZES)
    for name in numba_loops.KERNELS + numba_loops.INLINED:
        assert hasattr(numba_loops, name)
    reads = {n for name in numba_loops.KERNELS + numba_loops.INLINED
             for n in getattr(numba_loops, name).__code__.co_names}
    assert names & reads == names - {"N_CELL_PARTIALS", "N_BLOCK_PARTIALS"}  # those two size PD, in numba_entry


def test_spliced_modules_are_named_after_the_cell_and_its_code(monkeypatch):
    module = _numba_module("rnn")
    source = numba_compile.spliced_source(vars(module))
    changed = source.replace("_sigmoid(-", "_sigmoid(0.0 - ", 1)
    assert changed != source
    assert numba_compile.kernels_tag("rnn", source) != numba_compile.kernels_tag("rnn", changed)
    assert numba_compile.kernels_tag("rnn", source).startswith("rnn_")
    tag, text = numba_compile.kernels_tag("rnn", source), numba_compile._text
    for part in (numba_compile, numba_splice, numba_inputs):  # a change to how the kernels are made names them anew
        monkeypatch.setattr(numba_compile, "_text", lambda m, changed=part: text(m) + ("#" if m is changed else ""))
        assert numba_compile.kernels_tag("rnn", source) != tag, part.__name__
    monkeypatch.undo()
    pytest.importorskip("numba")
    jit = module._CELL.kernels()
    for name in numba_loops.KERNELS:
        path = Path(jit[name].py_func.__code__.co_filename)
        assert path.name == f"kernels_{numba_compile.kernels_tag('rnn', source)}.py"
        assert path.read_text(encoding="utf-8") == source  # the file numba's cache checks holds what was compiled


def test_spliced_modules_go_to_a_cache_shared_by_checkouts(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    dirs = numba_compile.source_dirs()
    assert dirs[0] == tmp_path / "xdg" / "lstm-proofs" / "kernels" and dirs[-1].name == "spliced"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "nc"))
    assert numba_compile.source_dirs()[0] == tmp_path / "nc" / "lstm_proofs_spliced"
    assert numba_compile._source_dir() == tmp_path / "nc" / "lstm_proofs_spliced"


def test_the_spliced_kernels_call_no_function_that_should_be_written_in():
    library = set(numba_compile.CELL_FUNCTIONS) | set(numba_compile.SUMS) | set(numba_loops.INLINED)
    for cell in CELLS:
        tree = ast.parse(numba_compile.spliced_source(vars(_numba_module(cell))))
        called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not called & library, cell
        assert {f.name for f in tree.body if isinstance(f, ast.FunctionDef)} == set(numba_loops.KERNELS)

def test_cells_with_the_same_signature_run_their_own_code():
    """rnn and rnn_tanh take the same arrays: if one's compiled loops served the other (a shared cache entry, a
    shared namespace), their results would coincide."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(2)
    xs = rng.uniform(-2, 2, (9, 2, 3))
    ys = {}
    for cell in ("rnn", "rnn_tanh"):
        top = Topology(cell, 3, 2, 3, 1, bias="all")
        params = init_params(top, np.random.default_rng(1), 0.8)
        ys[cell] = Network(top, load_kernels(cell, "numba")).forward(params, xs).outputs
        ref = Network(top, load_kernels(cell, "numpy")).forward(params, xs).outputs
        assert np.max(np.abs(ys[cell] - ref)) <= 1e-12 * np.max(np.abs(ref))
    assert np.max(np.abs(ys["rnn"] - ys["rnn_tanh"])) > 1e-3


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_sequence_gradient_of_a_single_sequence(backend):
    """Batch 1: the weights broadcast to one trial are read-only views; the numba entry point used to pass them to
    the kernel as they were (a numba TypingError)."""
    if backend == "numba":
        pytest.importorskip("numba")
    top = Topology("lstm1997", 2, 1, 2, 2, bias="all")
    rng = np.random.default_rng(4)
    params = init_params(top, rng, 0.5)
    xs, tg, mask = rng.uniform(-1, 1, (7, 1, 2)), rng.uniform(size=(7, 1, 1)), np.ones((7, 1))
    got = OnlineLearner(top, kernels=load_kernels("lstm1997", backend)).sequence_gradient(params, xs, tg, mask)
    ref = OnlineLearner(top, kernels=load_kernels("lstm1997", "numpy")).sequence_gradient(
        params, np.repeat(xs, 2, axis=1), np.repeat(tg, 2, axis=1), np.repeat(mask, 2, axis=1))
    for name, arr in ref.arrays.items():  # two copies of the sequence: twice the gradient
        np.testing.assert_allclose(2 * got.arrays[name], arr, rtol=1e-12, atol=1e-15)


def test_the_shared_runtime_is_part_of_the_trainer_fingerprint():
    """A change to a shared loop changes every cell's training: results made before it must show as made by other
    code (docs/statistics.md)."""
    from lstm_proofs.training.provenance import trainer_files

    names = {f.name for f in trainer_files() if f.parent.name == "kernels"}
    assert {"numba_loops.py", "numba_sums.py", "numba_entry.py", "numpy_network.py"} <= names
