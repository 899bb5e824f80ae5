"""Checks ``backends/<cell>/numba-vs-numpy``: the compiled backend computes what the NumPy reference computes.

Both are generated from the same derivation (derivations/<cell>.py and derivations/numba_<cell>.py); this compares
them numerically on random networks: the loss gradient by backpropagation through time (full and truncated), the
online learner's outputs and weight changes (per-step and per-sequence updates, independent trials in lockstep)
and its summed gradient with the weights held fixed. Summation order differs between the two (BLAS against plain
loops), so they agree to rounding, not bit for bit. Each comparison runs twice: on random inputs, and on one-hot
inputs over :data:`ONE_HOT_INPUTS` inputs (the paper's tasks' kind), held as symbols as the tasks hand them to the
trainer (:class:`~lstm_proofs.inputs.OneHotInputs`): the numba kernels read their nonzero inputs from them (the
sparse input path), the NumPy kernels get the dense array.

Error rule: for every compared array, ``max |numba - numpy| / max |numpy|`` (norm-wise, so that near-zero entries do
not blow the figure up); the check's figure is the largest over all arrays, held to 1e-12. Without numba the checks
are reported as passed with ``details["skipped"] = "numba not installed"`` and no figure: nothing was compared.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType

import numpy as np

from lstm_proofs.cells.library import GREFF_VARIANTS
from lstm_proofs.inputs import OneHotInputs
from lstm_proofs.learning import OnlineLearner, TrialState, stack_params
from lstm_proofs.network import Network, Topology, init_params
from lstm_proofs.network.model import load_kernels
from lstm_proofs.results import CheckResult, wanted

TOLERANCE = 1e-12
SEED = 0
#: inputs of the one-hot case (the network otherwise the same): many, one of them 1.0 at a step, as in Exps. 2a, 2c
ONE_HOT_INPUTS = 40

#: Topologies compared, one per cell (every cell by default: a fault in a compiled kernel must not wait for --full).
TOPOLOGIES = {
    "lstm1997": Topology("lstm1997", 3, 2, 2, 2, bias="all"),
    "lstm1997_2a": Topology("lstm1997_2a", 4, 4, 1, 1, recurrent="none", output_from="below"),
    "forget": Topology("forget", 3, 2, 2, 2, recurrent="cells", bias="all"),
    "peephole": Topology("peephole", 3, 2, 3, 1, bias="all"),
    "vanilla": Topology("vanilla", 3, 2, 3, 1, recurrent="cells", output_from="below", bias="all"),
    **{cell: Topology(cell, 3, 2, 3, 1, recurrent="cells", output_from="below", bias="all")
       for cell in GREFF_VARIANTS if cell != "vanilla_np"},
    "vanilla_np": Topology("vanilla_np", 3, 2, 2, 2, recurrent="all", output_from="below", bias="all"),
    "rnn": Topology("rnn", 3, 2, 4, 1, bias="all"),
    "rnn_tanh": Topology("rnn_tanh", 3, 2, 4, 1, bias="all"),
    "rnn_linear": Topology("rnn_linear", 3, 2, 4, 1, bias="all"),
}
def _rel(a: np.ndarray, b: np.ndarray) -> float:
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    diff = float(np.max(np.abs(a - b))) if b.size else 0.0
    return diff / scale if scale > 0 else diff


def one_hot(T: int, B: int, n: int, rng: np.random.Generator) -> OneHotInputs:
    """(T, B, n) inputs, one random input 1.0 at each step of each sequence, the others 0.0, held as symbols."""
    return OneHotInputs(rng.integers(0, n, size=(T, B)), n)


def compare(top: Topology, seed: int = SEED, T: int = 25, B: int = 3) -> dict[str, float]:
    """Largest relative disagreement of each compared quantity (see the module docstring).

    Args:
        top: the network (its cell must have both generated modules).
        seed: random seed of weights and data.
        T, B: sequence length and batch (sequences for gradients, trials for the learner).

    Returns:
        Quantity name -> relative error; the one-hot case's names start with ``one-hot inputs:``.

    Raises:
        AssertionError: if the numba kernels would not take their sparse input path on the one-hot inputs.
    """
    out = _compare(top, seed, T, B, lambda rng: rng.uniform(-1, 1, size=(T, B, top.n_in)))
    wide = dataclasses.replace(top, n_in=ONE_HOT_INPUTS)
    sparse = _compare(wide, seed, T, B, lambda rng: one_hot(T, B, ONE_HOT_INPUTS, rng), sparse=True)
    out.update({f"one-hot inputs: {name}": value for name, value in sparse.items()})
    sparse = _compare(wide, seed, T, B, lambda rng: sparse_values(T, B, ONE_HOT_INPUTS, rng), sparse=True)
    out.update({f"sparse inputs, arbitrary values: {name}": value for name, value in sparse.items()})
    return out


def sparse_values(T: int, B: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(T, B, n) inputs, mostly exact zeros (about 1 in 10 nonzero, few enough for the sparse input path), the
    nonzero ones drawn from [-1.5, 1.5] (never 1.0 by design: a fault that only shows for values other than 1.0
    must show), with a step without any input and a run of equal nonzero inputs."""
    xs = rng.uniform(-1.5, 1.5, size=(T, B, n)) * (rng.uniform(size=(T, B, n)) < 0.1)
    xs[xs == 1.0] = 0.75
    xs[T // 2, 0] = 0.0
    xs[1, -1, 2:7] = -0.5
    return xs


def _no_negative_zero(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a[a == 0.0] = 0.0  # -0.0 -> +0.0: the one value the two paths may treat differently (docs/pipeline.md)
    return a


def sparse_vs_dense(top: Topology, kernels: ModuleType | None = None, seed: int = SEED, T: int = 25,
                    B: int = 3) -> dict[str, int]:
    """The numba kernels' sparse input path against their dense path on :func:`sparse_values` inputs, bit for
    bit: forward (outputs, activations, states), gradient (full and truncated), learner in every mode (trials in
    lockstep; outputs, weights, sums).

    Returns:
        Quantity name -> number of elements whose bytes differ (signs of zeros included).
    """
    k = kernels if kernels is not None else load_kernels(top.cell, "numba")
    top = dataclasses.replace(top, n_in=ONE_HOT_INPUTS)
    rng = np.random.default_rng([seed, 3])
    p0 = init_params(top, rng, interval=0.5)
    params = type(p0)({name: _no_negative_zero(v) for name, v in p0.arrays.items()})
    xs = sparse_values(T, B, top.n_in, rng)
    if k.input_path(xs) != "sparse":
        raise AssertionError(f"{top}: the numba kernels would not take their sparse input path")
    d_ys = rng.normal(size=(T, B, top.n_out)) * (rng.uniform(size=(T, B, 1)) < 0.5)
    targets = rng.uniform(size=(T, B, top.n_out))
    mask = (rng.uniform(size=(T, B)) < 0.4).astype(float)
    mask[-1] = 1.0
    masks = top.masks()
    C, S, P = top.n_blocks, top.block_size, params.cell_params(top)
    trials = [type(p0)({n: _no_negative_zero(v) for n, v in init_params(top, np.random.default_rng([seed, 4, i]),
                                                                          0.5).arrays.items()}) for i in range(B)]
    lr = np.linspace(0.3, 0.9, B)
    runs: dict[str, dict[str, np.ndarray]] = {}
    for path in ("dense", "sparse"):
        r: dict[str, np.ndarray] = {}
        ys, acts, states, cache = k.forward_sequence(params.W_hidden, params.W_output, P, xs, C, S, path=path)
        r["forward: outputs"], r["forward: activations"] = ys, acts
        if states is not None:
            r["forward: states"] = states
        for truncated in (False, True):
            gW_h, gW_o, gP = k.gradient_sequence(params.W_hidden, params.W_output, xs, ys, acts, cache, d_ys,
                                                 truncated, C, S, path=path)
            kind = "truncated" if truncated else "full"
            r[f"gradient ({kind}): W_hidden"], r[f"gradient ({kind}): W_output"] = gW_h, gW_o
            for i, g in enumerate(gP):
                r[f"gradient ({kind}): P[{i}]"] = g
        for mode in ("forward", "step", "sequence", "gradient"):
            W = stack_params(trials)
            W = type(W)({name: a.copy() for name, a in W.arrays.items()})
            cell_p = W.cell_params(top)
            ys, G = k.learner_sequence(W.W_hidden, W.W_output, cell_p, lr, xs, targets, mask,
                                       masks["W_hidden"].astype(float), masks["W_output"].astype(float), mode, C, S,
                                       path=path)
            r[f"learner ({mode}): outputs"] = ys
            for name, a in W.arrays.items():
                r[f"learner ({mode}): {name}"] = a
            if G is not None:
                r[f"learner ({mode}): sum for W_hidden"], r[f"learner ({mode}): sum for W_output"] = G[0], G[1]
                for i, g in enumerate(G[2]):
                    r[f"learner ({mode}): sum for P[{i}]"] = g
        runs[path] = r
    out = {}
    for name, dense in runs["dense"].items():
        a, b = np.ascontiguousarray(dense, dtype=float), np.ascontiguousarray(runs["sparse"][name], dtype=float)
        if a.shape != b.shape:
            out[name] = max(a.size, b.size, 1)
            continue
        out[name] = int(np.count_nonzero(a.view(np.uint64) != b.view(np.uint64)))
    return out


def _compare(top: Topology, seed: int, T: int, B: int, inputs, sparse: bool = False) -> dict[str, float]:
    """:func:`compare` on the inputs ``inputs(rng)`` (T, B, top.n_in), an array or one-hot symbols; ``sparse``:
    they must take the numba kernels' sparse input path."""
    rng = np.random.default_rng(seed)
    fast = load_kernels(top.cell, "numba")
    params = init_params(top, rng, interval=0.5)
    xs = inputs(rng)
    if sparse and fast.input_path(xs) != "sparse":
        raise AssertionError(f"{top}: the numba kernels would not take their sparse input path")
    targets = rng.uniform(size=(T, B, top.n_out))
    mask = (rng.uniform(size=(T, B)) < 0.5).astype(float)
    mask[-1] = 1.0
    out: dict[str, float] = {}
    for truncated in (False, True):
        l0, g0 = Network(top).loss_and_grad(params, xs, targets, mask, truncated=truncated)
        l1, g1 = Network(top, fast).loss_and_grad(params, xs, targets, mask, truncated=truncated)
        kind = "truncated" if truncated else "full"
        out[f"loss ({kind})"] = _rel(np.asarray(l1), np.asarray(l0))
        out[f"gradient ({kind} BPTT)"] = _rel(g1.to_vector(top), g0.to_vector(top))
    trials = [init_params(top, np.random.default_rng(seed + 1 + i), interval=0.5) for i in range(B)]
    for update in ("step", "sequence"):
        ref, got = TrialState(stack_params(trials), np.full(B, 0.5)), TrialState(stack_params(trials), np.full(B, 0.5))
        y0 = OnlineLearner(top, update).run_sequence(ref, xs, targets, mask)
        y1 = OnlineLearner(top, update, kernels=fast).run_sequence(got, xs, targets, mask)
        out[f"learner outputs ({update})"] = _rel(y1, y0)
        start = stack_params(trials)
        for name in ref.params.arrays:
            d0 = ref.params.arrays[name] - start.arrays[name]
            d1 = got.params.arrays[name] - start.arrays[name]
            out[f"learner update {name} ({update})"] = _rel(d1, d0)
    s0 = OnlineLearner(top).sequence_gradient(params, xs, targets, mask)
    s1 = OnlineLearner(top, kernels=fast).sequence_gradient(params, xs, targets, mask)
    out["learner gradient (weights fixed)"] = _rel(s1.to_vector(top), s0.to_vector(top))
    return out


def run_checks(full: bool = False, only: str | None = None) -> list[CheckResult]:
    """Per cell: the numba module against the NumPy module, and the numba sparse input path against its dense path.

    Args:
        full: unused (every cell is compared in the default run).
        only: an id prefix; cells it cannot match are not compiled.

    Returns:
        Check results with ids ``backends/<cell>/numba-vs-numpy`` and ``backends/<cell>/sparse-vs-dense``.
    """
    from lstm_proofs.derivations import numba_lstm1997  # every generated numba module has available()

    results = []
    for cell, top in TOPOLOGIES.items():
        if not wanted(f"backends/{cell}/", only):
            continue
        for name in ("numba-vs-numpy", "sparse-vs-dense"):
            cid = f"backends/{cell}/{name}"
            if numba_lstm1997.available():
                results.append(_numba_vs_numpy(cell, top) if name == "numba-vs-numpy" else check_sparse(cell, top))
                continue
            results.append(CheckResult(id=cid, passed=True, tolerance=TOLERANCE if name == "numba-vs-numpy" else 0.0,
                                       title=f"compiled (numba) kernels of cell '{cell}': {name}", reference="-",
                                       details={"skipped": "numba not installed"},
                                       message="skipped: numba not installed, nothing compared"))
    if numba_lstm1997.available():  # the rows' own networks, as the contrast gradient=full trains them
        from lstm_proofs.checks.row_gradients import check_row_backend, checked_rows

        results += [check_row_backend(p) for p in checked_rows() if wanted(f"backends/rows/{p.row}/", only)]
    return results


def _numba_vs_numpy(cell: str, top: Topology) -> CheckResult:
    cid = f"backends/{cell}/numba-vs-numpy"
    title = f"compiled (numba) kernels of cell '{cell}' agree with the NumPy reference"
    ref = "generated NumPy module (same derivation)"
    errors = compare(top)
    worst = max(errors, key=errors.get)
    passed = errors[worst] <= TOLERANCE
    return CheckResult(
        id=cid, passed=passed, max_rel_error=errors[worst], tolerance=TOLERANCE, title=title, reference=ref,
        claim="code generation: one derivation, two backends",
        details={"topology": repr(top), "n_weights": top.n_weights, "errors": errors, "worst": worst,
                 "rule": "max|numba - numpy| / max|numpy| per array"},
        message="" if passed else f"{cell}: {worst} differs by {errors[worst]:.3e} (tolerance {TOLERANCE:g})")


def check_sparse(cell: str, top: Topology, kernels: ModuleType | None = None) -> CheckResult:
    """``backends/<cell>/sparse-vs-dense``: :func:`sparse_vs_dense`, every element equal bit for bit."""
    differing = sparse_vs_dense(top, kernels)
    worst = max(differing, key=differing.get)
    passed = differing[worst] == 0
    return CheckResult(
        id=f"backends/{cell}/sparse-vs-dense", passed=passed, max_rel_error=float(differing[worst]), tolerance=0.0,
        title=f"numba kernels of cell '{cell}': sparse input path = dense path, bit for bit, on inputs with exact "
              "zeros and arbitrary nonzero values",
        reference="the same module's dense input path", claim="code generation: the sparse input path",
        details={"figure": "elements whose bytes differ", "differing": differing, "worst": worst,
                 "inputs": f"{ONE_HOT_INPUTS} inputs, about 1 in 10 nonzero, values in [-1.5, 1.5]"},
        message="" if passed else f"{cell}: {worst}: {differing[worst]} elements differ between the sparse and the "
                                  "dense input path (bit for bit expected)")
