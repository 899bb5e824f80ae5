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

import numpy as np

from lstm_proofs.inputs import OneHotInputs
from lstm_proofs.learning import OnlineLearner, TrialState, stack_params
from lstm_proofs.network import Network, Topology, init_params
from lstm_proofs.network.model import load_kernels
from lstm_proofs.results import CheckResult

TOLERANCE = 1e-12
SEED = 0
#: inputs of the one-hot case (the network otherwise the same): many, one of them 1.0 at a step, as in Exps. 2a, 2c
ONE_HOT_INPUTS = 40

#: Topologies compared by default (the paper's 1997 cell, its Exp. 2a form, the forget-gate cell), then in --full.
TOPOLOGIES = {
    "lstm1997": Topology("lstm1997", 3, 2, 2, 2, bias="all"),
    "lstm1997_2a": Topology("lstm1997_2a", 4, 4, 1, 1, recurrent="none", output_from="below"),
    "forget": Topology("forget", 3, 2, 2, 2, recurrent="cells", bias="all"),
}
FULL_TOPOLOGIES = {
    "peephole": Topology("peephole", 3, 2, 3, 1, bias="all"),
    "vanilla": Topology("vanilla", 3, 2, 3, 1, recurrent="cells", output_from="below", bias="all"),
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


def run_checks(full: bool = False) -> list[CheckResult]:
    """One check per cell: the numba module against the NumPy module.

    Args:
        full: also the peephole, vanilla and conventional-unit cells (more compile time on a fresh checkout).

    Returns:
        Check results with ids ``backends/<cell>/numba-vs-numpy``.
    """
    tops = dict(TOPOLOGIES, **(FULL_TOPOLOGIES if full else {}))
    from lstm_proofs.derivations import numba_lstm1997  # every generated numba module has available()

    results = []
    for cell, top in tops.items():
        cid = f"backends/{cell}/numba-vs-numpy"
        title = f"compiled (numba) kernels of cell '{cell}' agree with the NumPy reference"
        ref = "generated NumPy module (same derivation)"
        if not numba_lstm1997.available():
            results.append(CheckResult(id=cid, passed=True, tolerance=TOLERANCE, title=title, reference=ref,
                                       details={"skipped": "numba not installed"},
                                       message="skipped: numba not installed, nothing compared"))
            continue
        errors = compare(top)
        worst = max(errors, key=errors.get)
        passed = errors[worst] <= TOLERANCE
        results.append(CheckResult(
            id=cid, passed=passed, max_rel_error=errors[worst], tolerance=TOLERANCE, title=title, reference=ref,
            claim="code generation: one derivation, two backends",
            details={"topology": repr(top), "n_weights": top.n_weights, "errors": errors, "worst": worst,
                     "rule": "max|numba - numpy| / max|numpy| per array"},
            message="" if passed else f"{cell}: {worst} differs by {errors[worst]:.3e} (tolerance {TOLERANCE:g})"))
    return results
