"""Checks ``gradient/rows/<row>/<reference>``: the full gradient on the paper's own networks and sequences.

The checks ``gradient/<cell>/...`` hold the generated full gradient to its references on random networks that have
every connection of a cell type. The contrast ``gradient=full`` of ``lstm-proofs ablate`` trains a row with that
gradient (``Network.loss_and_grad``, as Table 2's BPTT baselines do) on the row's own network: its connections
(Exp. 1's blocks, Exp. 2's cell without recurrence, no output bias where Table 10 gives none), its initial weights
(Section 5's intervals and Table 10's gate biases) and the inputs, targets and masks its task draws, several
sequences of unequal length side by side as the trainer pads them. These checks run the same computation on those
networks, for one row of every task (both networks of Exp. 1), at two sets of weights: a trial's initial weights
(trial 0, seed 0; under sequential construction, as once the cells are added) and the same weights plus uniform
noise in [-1, 1] on every existing connection, which drives the gates and squashing functions into their
non-linear ranges. References and tolerances are those of ``gradient/<cell>/...`` (:mod:`.gradients`):

* ``autograd``: HIPS autograd on the hand-written model (:mod:`lstm_proofs.reference.autograd_models`), normwise
  per-array error <= 1e-10;
* ``complex-step``: the derivative along :data:`DIRECTIONS` random directions by complex-step differentiation,
  <= 1e-12 by the directional rule of :func:`~lstm_proofs.verify.gradcheck.directional_error`.

The rows train with the compiled (numba) kernels; ``backends/rows/<row>/numba-vs-numpy`` (run with the backends
checks, once the kernels are compiled) holds their loss and gradient on the same networks, weights and sequences
to the NumPy kernels' above, by the rule of :mod:`.backends` (normwise per array, <= 1e-12).

The row's sequences come from its task generator with the row's options (:data:`SEQUENCES` of them, seed 0);
one-hot inputs are passed as the trainer passes them (symbols), and densely to the references.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lstm_proofs.inputs import OneHotInputs
from lstm_proofs.network.model import Network
from lstm_proofs.network.topology import Params, Topology
from lstm_proofs.reference import autograd_models
from lstm_proofs.results import CheckResult, wanted
from lstm_proofs.tasks import get_task
from lstm_proofs.training.presets import PRESETS, Preset
from lstm_proofs.training.trainer import initial_params
from lstm_proofs.verify.gradcheck import WorstCase, complex_step, directional_error

TOLERANCES = {"autograd": 1e-10, "complex-step": 1e-12, "backends": 1e-12}
REFERENCES = {"autograd": "HIPS autograd on an independently written model",
              "complex-step": "complex-step differentiation (h = 1e-30) along random directions"}
#: Sequences per batch, drawn by the row's task generator.
SEQUENCES = 3
#: Random directions of the complex-step check.
DIRECTIONS = 3
#: Half-width of the uniform noise added to the initial weights for the second set of weights.
NOISE = 1.0
SEED = 0
CLAIM = "Appendix A.1, and the contrast gradient=full (docs/readings.md)"


def checked_rows() -> list[Preset]:
    """One LSTM row of every task, and every network of a task with several block layouts (Exp. 1's 4 x 1 and
    3 x 2): the first such row in the tables' order."""
    seen: dict[tuple, Preset] = {}
    for p in PRESETS:
        key = (p.task, p.topology.n_blocks, p.topology.block_size)
        if p.method == "lstm" and key not in seen:
            seen[key] = p
    return list(seen.values())


def weight_sets(preset: Preset) -> list[tuple[str, Params]]:
    """(label, weights): trial 0's initial weights, and the same plus uniform noise of :data:`NOISE` on every
    existing connection."""
    top = preset.topology
    start = initial_params(preset, SEED, 0)
    v = start.to_vector(top)
    noisy = v + np.random.default_rng([SEED, 31]).uniform(-NOISE, NOISE, size=v.size)
    return [("initial weights", start), (f"initial weights + U(-{NOISE:g}, {NOISE:g})",
                                         Params.from_vector(top, noisy))]


def row_batch(preset: Preset) -> tuple[object, np.ndarray, np.ndarray, np.ndarray]:
    """(inputs as the trainer passes them, dense inputs, targets, mask) of :data:`SEQUENCES` sequences of the row's
    task with its options."""
    task = get_task(preset.task)
    batch = task.generate(np.random.default_rng([SEED, 17]), SEQUENCES, **task.options(**preset.task_options))
    xs = batch.inputs
    dense = xs.dense() if isinstance(xs, OneHotInputs) else np.asarray(xs)
    return xs, dense, batch.targets, batch.mask


def _label(preset: Preset, weights: str, dense: np.ndarray) -> str:
    top = preset.topology
    return f"row {preset.row}: {top.n_weights} weights, {weights}, {dense.shape[1]} sequences of {dense.shape[0]} steps"


def check_row(preset: Preset, reference: Callable[..., Params] = autograd_models.gradient,
              net: Network | None = None) -> list[CheckResult]:
    """Both checks of one row (``reference`` and ``net`` replaceable, so that tests can hand in broken ones)."""
    top: Topology = preset.topology
    net = net or Network(top)
    xs, dense, targets, mask = row_batch(preset)
    auto, cstep = WorstCase(), WorstCase()
    rng = np.random.default_rng([SEED, 43])
    for weights, params in weight_sets(preset):
        where = _label(preset, weights, dense)
        _, got = net.loss_and_grad(params, xs, targets, mask)
        auto.compare(got, reference(top, params, dense, targets, mask), top.cell,
                     "normwise relative error per parameter array", where)
        g = got.to_vector(top)
        loss = lambda p: net.loss(p, dense, targets, mask)  # noqa: E731
        for i in range(DIRECTIONS):
            d = rng.standard_normal(g.size)
            ref = complex_step(loss, top, params, d)
            err = directional_error(g, d, ref)
            cstep.add(err, f"{where}: along random direction {i}: generated <d, g> = {float(d @ g)!r} vs complex "
                           f"step {ref!r}; rule |<d,g> - D_d L| / <|d|,|g|>: {err:.3g}", where, direction=i)
    out = []
    for name, worst in (("autograd", auto), ("complex-step", cstep)):
        tol = TOLERANCES[name]
        passed = bool(worst.error <= tol)
        out.append(CheckResult(
            id=f"gradient/rows/{preset.row}/{name}", passed=passed, max_rel_error=worst.error, tolerance=tol,
            title=f"row {preset.row}: the full gradient (gradient=full) on the row's network and sequences = "
                  f"{name}", reference=REFERENCES[name], claim=CLAIM,
            details={"runs": worst.runs, "worst_case": worst.where}, message="" if passed else worst.message))
    return out


def check_row_backend(preset: Preset) -> CheckResult:
    """``backends/rows/<row>/numba-vs-numpy``: the compiled kernels' loss and full gradient on the row's network,
    weights and sequences against the NumPy kernels'."""
    from lstm_proofs.network.model import load_kernels

    top = preset.topology
    xs, dense, targets, mask = row_batch(preset)
    fast, ref = Network(top, load_kernels(top.cell, "numba")), Network(top)
    worst = WorstCase()
    for weights, params in weight_sets(preset):
        where = _label(preset, weights, dense)
        loss1, g1 = fast.loss_and_grad(params, xs, targets, mask)
        loss0, g0 = ref.loss_and_grad(params, dense, targets, mask)
        worst.compare(g1, g0, top.cell, "normwise relative error per parameter array", where)
        worst.add(abs(float(loss1) - float(loss0)) / abs(float(loss0)), f"{where}: loss {loss1!r} vs {loss0!r}",
                  where, what="loss")
    passed = bool(worst.error <= TOLERANCES["backends"])
    return CheckResult(id=f"backends/rows/{preset.row}/numba-vs-numpy", passed=passed, max_rel_error=worst.error,
                       tolerance=TOLERANCES["backends"],
                       title=f"row {preset.row}: the compiled kernels' full gradient on the row's network = NumPy's",
                       reference="the generated NumPy kernels", claim=CLAIM,
                       details={"runs": worst.runs, "worst_case": worst.where}, message="" if passed else worst.message)


def run_checks(only: str | None = None) -> list[CheckResult]:
    """The checks of every row of :func:`checked_rows` (of those ``only``, an id prefix, can match)."""
    return [r for p in checked_rows() if wanted(f"gradient/rows/{p.row}/", only) for r in check_row(p)]
