"""Checks ``learner/<cell>/<backend>-vs-reference``: the generated online learner against an independent one.

The reference (:mod:`lstm_proofs.reference.online`) is the paper's online learner (Section 5, Appendix A.1)
written from the equations on the hand-written cell models, sharing no code with the generators. For every cell,
on the network of :func:`lstm_proofs.verify.cases.check_topology` (every connection of the cell type), with
:data:`TRIALS` independent trials in lockstep, each with its own weights and learning rate:

* ``update="step"`` and ``update="sequence"``: :data:`SEQUENCES` sequences of online learning one after the other
  (the weights carried over), comparing the outputs and every weight change (per sequence, per array);
* evaluation (``learn=False``): the outputs;
* the summed gradient estimate with the weights held fixed (``sequence_gradient``);
* frozen trials mixed with learning ones (``frozen=``, the sequential construction of Exps. 2a/2b): the frozen
  trial holds every weight but the input-to-output weights and the output bias at zero (as its caller must), and
  only those may change.

Error rule, as for the other learner comparisons: per compared array ``max |generated - reference| / max |reference|``
(normwise), the check's figure the largest over everything compared, held to 1e-12. Both backends are checked where
numba is installed (``numba`` otherwise reported as skipped, nothing compared).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from lstm_proofs.cells import CELLS
from lstm_proofs.learning import OnlineLearner, TrialState, stack_params, unstack_params
from lstm_proofs.network.model import load_kernels
from lstm_proofs.network.topology import Params, Topology, init_params
from lstm_proofs.reference.online import ReferenceLearner
from lstm_proofs.results import CheckResult, wanted
from lstm_proofs.verify.cases import SCALE, check_topology

TOLERANCE = 1e-12
TRIALS = 2
SEQUENCES = 3
LENGTH = 6
LEARNING_RATES = (0.5, 0.3)
REFERENCE = "independent online learner written from the equations (lstm_proofs/reference/online.py)"
CLAIM = "Section 5, Appendix A.1: online learning, eqs. (17)-(30)"


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    diff = float(np.max(np.abs(a - b))) if b.size else 0.0
    return diff / scale if scale > 0 else diff


def _data(top: Topology, rng: np.random.Generator, T: int, B: int):
    xs = rng.uniform(-1.0, 1.0, size=(T, B, top.n_in))
    targets = rng.uniform(0.0, 1.0, size=(T, B, top.n_out))
    mask = (rng.uniform(size=(T, B)) < 0.5).astype(float)
    mask[-1] = 1.0
    return xs, targets, mask


def _frozen_net(top: Topology, params: Params) -> Params:
    """``params`` as a frozen trial holds them (the net before its memory cells are added, Exps. 2a/2b): every
    weight except those from the inputs to the outputs and the output bias at zero, per-cell parameters too."""
    out = params.copy()
    out.arrays["W_hidden"][...] = 0.0
    keep = np.zeros(top.n_sources, dtype=bool)
    keep[:top.n_in] = True
    keep[-1] = True
    out.arrays["W_output"][:, ~keep] = 0.0
    for p in top.declaration.params:
        out.arrays["P_" + p.name[2:]][...] = 0.0
    return out


def reference_runs(top: Topology, seed: int = 0) -> dict:
    """Everything the reference learner computes on ``top``: inputs, and per comparison its results."""
    rng = np.random.default_rng([seed, top.n_weights])
    scale = SCALE.get(top.cell, 1.0)
    trials = [init_params(top, rng, interval=scale) for _ in range(TRIALS)]
    lr = np.array(LEARNING_RATES[:TRIALS])
    data = [_data(top, rng, LENGTH, TRIALS) for _ in range(SEQUENCES)]
    runs: dict = {"trials": trials, "lr": lr, "data": data}
    for update in ("step", "sequence"):
        ref = ReferenceLearner(top, update)
        weights, steps = [p.copy() for p in trials], []
        for xs, targets, mask in data:
            new, ys = ref.run_sequence(weights, lr, xs, targets, mask)
            steps.append((ys, [{k: new[b].arrays[k] - weights[b].arrays[k] for k in new[b].arrays}
                               for b in range(TRIALS)]))
            weights = new
        runs[update] = steps
    xs, targets, mask = data[0]
    runs["forward"] = ReferenceLearner(top).run_sequence(trials, lr, xs, targets, mask, learn=False)[1]
    runs["gradient"] = ReferenceLearner(top).sequence_gradient(trials[0], xs, targets, mask)
    frozen = np.array([True] + [False] * (TRIALS - 1))
    mixed = [_frozen_net(top, trials[0])] + trials[1:]
    new, ys = ReferenceLearner(top, "step").run_sequence(mixed, lr, xs, targets, mask, frozen=frozen)
    runs["frozen"] = (frozen, mixed, ys, [{k: new[b].arrays[k] - mixed[b].arrays[k] for k in new[b].arrays}
                                          for b in range(TRIALS)])
    return runs


def compare(top: Topology, kernels: ModuleType, runs: dict) -> dict[str, float]:
    """Largest relative disagreement of each compared quantity between the learner on ``kernels`` and ``runs``."""
    out: dict[str, float] = {}

    def note(name: str, value: float) -> None:
        out[name] = max(out.get(name, 0.0), value)

    trials, lr = runs["trials"], runs["lr"]
    for update in ("step", "sequence"):
        learner = OnlineLearner(top, update, kernels=kernels)
        state = TrialState(stack_params(trials), lr.copy())
        for i, ((xs, targets, mask), (ref_ys, ref_changes)) in enumerate(zip(runs["data"], runs[update])):
            before = unstack_params(state.params)
            ys = learner.run_sequence(state, xs, targets, mask)
            note(f"outputs ({update})", _rel(ys, ref_ys))
            after = unstack_params(state.params)
            for b in range(TRIALS):
                for name, change in ref_changes[b].items():
                    note(f"weight change {name} ({update})", _rel(after[b].arrays[name] - before[b].arrays[name],
                                                                   change))
    xs, targets, mask = runs["data"][0]
    state = TrialState(stack_params(trials), lr.copy())
    note("outputs (learn=False)", _rel(OnlineLearner(top, kernels=kernels).run_sequence(state, xs, targets, mask,
                                                                                        learn=False), runs["forward"]))
    grad = OnlineLearner(top, kernels=kernels).sequence_gradient(trials[0], xs, targets, mask)
    for name, ref in runs["gradient"].arrays.items():
        note(f"gradient {name} (weights fixed)", _rel(grad.arrays[name], ref))
    frozen, mixed, ref_ys, ref_changes = runs["frozen"]
    state = TrialState(stack_params(mixed), lr.copy())
    ys = OnlineLearner(top, "step", kernels=kernels).run_sequence(state, xs, targets, mask, frozen=frozen)
    note("outputs (frozen and learning trials)", _rel(ys, ref_ys))
    after = unstack_params(state.params)
    for b in range(TRIALS):
        for name, change in ref_changes[b].items():
            note(f"weight change {name} (frozen and learning trials)",
                 _rel(after[b].arrays[name] - mixed[b].arrays[name], change))
    return out


def _numba_available() -> bool:
    from lstm_proofs.derivations import numba_lstm1997  # every generated numba module has available()
    return bool(numba_lstm1997.available())


def check_cell(cell: str, kernels: dict[str, ModuleType] | None = None) -> list[CheckResult]:
    """The learner checks of one cell, one per backend.

    Args:
        cell: cell type.
        kernels: backend name -> generated module to test (default: the checked-in NumPy and, where numba is
            installed, numba modules).
    """
    top = check_topology(cell)
    if kernels is None:
        kernels = {"numpy": load_kernels(cell)}
        if _numba_available():
            kernels["numba"] = load_kernels(cell, "numba")
    runs = reference_runs(top)
    results = []
    for backend in ("numpy", "numba"):
        cid = f"learner/{cell}/{backend}-vs-reference"
        title = f"{cell}: generated online learner ({backend}) = independent learner, every mode"
        if backend not in kernels:
            results.append(CheckResult(id=cid, passed=True, tolerance=TOLERANCE, title=title, reference=REFERENCE,
                                       claim=CLAIM, details={"skipped": "numba not installed"},
                                       message="skipped: numba not installed, nothing compared"))
            continue
        errors = compare(top, kernels[backend], runs)
        worst = max(errors, key=errors.get)
        passed = bool(errors[worst] <= TOLERANCE)
        results.append(CheckResult(
            id=cid, passed=passed, max_rel_error=errors[worst], tolerance=TOLERANCE, title=title, reference=REFERENCE,
            claim=CLAIM,
            details={"topology": repr(top), "trials": TRIALS, "sequences": SEQUENCES, "T": LENGTH, "errors": errors,
                     "worst": worst, "rule": "max|generated - reference| / max|reference| per array"},
            message="" if passed else f"{cell} ({backend}): {worst} differs by {errors[worst]:.3e} "
                                      f"(tolerance {TOLERANCE:g}; {top.n_weights} weights, T={LENGTH})"))
    return results


def run_checks(full: bool = False, only: str | None = None) -> list[CheckResult]:
    """The learner checks of every declared cell (of the cells ``only``, an id prefix, can match)."""
    return [r for cell in CELLS if wanted(f"learner/{cell}/", only) for r in check_cell(cell)]

