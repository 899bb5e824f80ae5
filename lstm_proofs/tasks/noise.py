"""Experiment 3: Bengio et al.'s 2-sequence problem and its noisy variants (paper Section 5.3, Tables 4-6).

One input line. Class 1 (probability 0.5) starts with N elements 1.0, class 2 with N elements -1.0; every later
element is Gaussian noise with mean 0 and variance 0.2. Lengths are random between T and T + T/10. The only target
is at the end: 1.0 / 0.0 (3a, 3b), or 0.2 / 0.8 plus Gaussian noise of variance 0.1 (3c).

* 3a: noise-free information-carrying elements.
* 3b: Gaussian noise (variance 0.2) added to the N information-carrying elements as well.
* 3c: noisy real-valued targets; the net must learn the conditional expectation 0.2 / 0.8.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lstm_proofs.errors import UserError
from lstm_proofs.tasks.base import Batch, Option, Task, check_outputs, end_mask

#: Variance of the distractor noise and of the noise added to 3b's informative elements.
INPUT_NOISE_VARIANCE = 0.2
#: Variance of 3c's target noise.
TARGET_NOISE_VARIANCE = 0.1


def _options(N: int, info_noise: bool, unconfirmed_info_noise: str) -> tuple[Option, ...]:
    return (
        Option("T", 100, "minimal sequence length; lengths in [T, T + T/10]", 2, 1_000_000),
        Option("N", N, "number of information-carrying elements at the start", 1, 1_000_000),
        Option("lengths", "uniform",
               "'uniform': integer lengths uniform in [T, T + T/10]; 'fixed': every sequence has length T",
               choices=("uniform", "fixed"), unconfirmed="6.5"),
        Option("info_noise", info_noise,
               "add Gaussian noise (variance 0.2) to the N information-carrying elements",
               unconfirmed=unconfirmed_info_noise),
    )


class _TwoSequenceTask(Task):
    """Shared generator of Experiments 3a, 3b and 3c."""

    targets_by_class: tuple[float, float] = (1.0, 0.0)
    target_noise: bool = False
    tolerance = 0.2  # Table 11: ABS(0.2)

    def n_inputs(self, **options: Any) -> int:
        """One input line."""
        return 1

    def n_outputs(self, **options: Any) -> int:
        """One output unit."""
        return 1

    def max_steps(self, **options: Any) -> int:
        """T + T/10."""
        T = self.options(**options)["T"]
        return T + T // 10

    def _check_options(self, opts: dict[str, Any]) -> None:
        if opts["N"] > opts["T"]:
            raise UserError(f"option N must not exceed T, got N={opts['N']}, T={opts['T']}")

    def _generate(self, rng: np.random.Generator, n: int, opts: dict[str, Any]) -> Batch:
        T, N = opts["T"], opts["N"]
        sd = math.sqrt(INPUT_NOISE_VARIANCE)
        cls = (rng.random(n) < 0.5).astype(np.int64)          # 0: class 1, 1: class 2 (probability 0.5 each)
        if opts["lengths"] == "uniform":
            lengths = rng.integers(T, T + T // 10, size=n, endpoint=True).astype(np.int64)
        else:
            lengths = np.full(n, T, dtype=np.int64)
        steps = int(lengths.max())
        noise = rng.normal(0.0, sd, size=(T + T // 10, n))[:steps]
        values = noise.copy()
        sign = np.where(cls == 0, 1.0, -1.0)
        # The first N elements carry the class: 1.0 (class 1) or -1.0 (class 2), plus noise in 3b.
        values[:N] = sign[None, :] + (noise[:N] if opts["info_noise"] else 0.0)
        valid = np.arange(steps)[:, None] < lengths[None, :]
        xs = (values * valid)[:, :, None]
        clean = np.asarray(self.targets_by_class)[cls]
        target = clean.copy()
        if self.target_noise:
            target = clean + rng.normal(0.0, math.sqrt(TARGET_NOISE_VARIANCE), size=n)
        targets = np.zeros((steps, n, 1))
        cols = np.arange(n)
        targets[lengths - 1, cols, 0] = target
        return Batch(xs=xs, targets=targets, mask=end_mask(lengths, steps, 1), lengths=lengths,
                     info={"cls": cls, "clean_target": clean, "target": target})


class TwoSequenceTask(_TwoSequenceTask):
    """Experiment 3a: Bengio et al.'s 2-sequence problem (Section 5.3, Table 4)."""

    name = "3a"
    aliases = ("two-sequence",)
    title = "2-sequence problem"
    experiment = "Exp. 3a, Section 5.3"
    tables = "Table 4"
    description = "one input: N elements +1|-1, then Gaussian noise (var 0.2); target 1|0 at the end"
    option_specs = _options(3, False, "")
    paper_rows = ({"T": 100, "N": 3}, {"T": 100, "N": 1}, {"T": 1000, "N": 3})


class NoisyTwoSequenceTask(_TwoSequenceTask):
    """Experiment 3b: noise on the information-carrying elements (Section 5.3, Table 5)."""

    name = "3b"
    aliases = ("two-sequence-noisy",)
    title = "2-sequence problem, noisy information-carrying elements"
    experiment = "Exp. 3b, Section 5.3"
    tables = "Table 5"
    description = "as 3a with Gaussian noise (var 0.2) added to the N informative elements"
    option_specs = _options(3, True, "")
    paper_rows = ({"T": 100, "N": 3}, {"T": 100, "N": 1}, {"T": 1000, "N": 1})


class NoisyTargetTask(_TwoSequenceTask):
    """Experiment 3c: noisy real-valued targets (Section 5.3, Table 6).

    ``correct`` compares with the noise-free target 0.2 / 0.8: misclassified if the difference exceeds 0.1;
    ``errors`` is the absolute difference to the noise-free target (Table 6's "av. difference to mean").
    """

    name = "3c"
    aliases = ("two-sequence-noisy-targets",)
    title = "2-sequence problem, noisy real-valued targets"
    experiment = "Exp. 3c, Section 5.3"
    tables = "Table 6"
    description = "as 3a with targets 0.2|0.8 plus Gaussian noise (var 0.1); learn the conditional mean"
    targets_by_class = (0.2, 0.8)
    target_noise = True
    tolerance = 0.1
    option_specs = _options(3, False, "6.7")
    paper_rows = ({"T": 100, "N": 3}, {"T": 100, "N": 1})

    def correct(self, outputs: np.ndarray, batch: Batch, **options: Any) -> np.ndarray:
        """|output - noise-free target| <= 0.1 at the end ("misclassified" means it exceeds 0.1)."""
        return self.errors(outputs, batch, **options) <= self.tolerance

    def errors(self, outputs: np.ndarray, batch: Batch, **options: Any) -> np.ndarray:
        """Absolute difference between the output at the end and the noise-free target."""
        self.options(**options)
        out = check_outputs(outputs, batch)
        return np.abs(batch.at_end(out)[:, 0] - batch.info["clean_target"])
