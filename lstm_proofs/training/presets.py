"""One preset per row of the paper's result tables (Tables 1-9), with the conditions of Tables 10 and 11.

A preset holds everything a training run of that row needs (task and options, network, initialisation, learning
rate, update timing, stopping and success criteria, test-set size, trial count, sequence cap) and the figures the
paper printed for the row, so that ``lstm-proofs train`` and ``lstm-proofs results`` can put measured and printed
figures side by side. Sources: spec sections 5 (Tables 10, 11), 6 (each experiment), 7 (topologies), 9 (baselines).

Rows of the tables that were taken from the literature or whose method is not implemented here (Table 1's RTRL,
ELM and RCC rows, Table 2's chunker) are listed in :data:`PAPER_ONLY_ROWS` with their printed figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from lstm_proofs.errors import UserError
from lstm_proofs.network.topology import Topology

Method = Literal["lstm", "bptt", "rtrl"]
StopKind = Literal["sets", "test", "st1st2", "st3", "window_wrong"]

#: Table 11: training stops after 5 million sequence presentations in Exps. 2a, 2b, 2c.
EXP2_BUDGET = 5_000_000

#: Where the paper gives no budget, a trial runs up to 10 times the paper's mean sequences to success for its row
#: (a trial that takes longer is right-censored there; docs/statistics.md).
CAP_10X = "ours (10 x the paper's mean; the paper gives no budget)"


@dataclass(frozen=True)
class Stopping:
    """When a trial stops, and whether it has then succeeded.

    Kinds (Table 11 and Section 5):

    * ``sets`` (Exp. 1): every symbol of every string of the trial's training set and test set is predicted
      correctly (the task's ``correct``); checked every ``check_every`` sequences once the last ``window``
      training sequences were all correct.
    * ``test`` (Exps. 2a-2c): the net passes ``test_size`` fresh random sequences without an error (ABS(beta) by
      the task's ``correct``); checked like ``sets``.
    * ``st1st2`` (Exp. 3): ST1 = at most ``max_wrong`` of ``check_size`` fresh sequences misclassified; ST2 = ST1
      and mean test error (the task's ``errors``) below ``beta``. Checked every ``check_every`` sequences; ST1's
      first time is recorded, the trial stops at ST2.
    * ``st3`` (Exps. 4, 6): ST3(beta) = the ``window`` most recent training sequences were all correct and their
      mean error (the task's ``errors``; with ``error="squared"`` its square) is below ``beta``; checked after
      every sequence.
    * ``window_wrong`` (Exp. 5): fewer than ``n_seq`` of the ``window`` most recent training sequences were
      incorrect; checked after every sequence.
    """

    kind: StopKind
    beta: float | None = None
    window: int = 2000
    check_every: int = 100
    check_size: int = 256
    max_wrong: int = 0
    n_seq: int | None = None
    error: str = "absolute"

    def describe(self) -> str:
        """One line in the paper's terms."""
        if self.kind == "sets":
            return "all strings of training and test set predicted correctly"
        if self.kind == "test":
            return "no error on a test of fresh sequences (success criterion)"
        if self.kind == "st1st2":
            st1 = "none" if self.max_wrong == 0 else f"at most {self.max_wrong}"
            return f"ST1 ({st1} of {self.check_size} misclassified) and ST2 (mean test error < {self.beta})"
        if self.kind == "st3":
            return f"ST3({self.beta}): mean training error < {self.beta} and last {self.window} correct"
        return f"fewer than {self.n_seq} of the last {self.window} training sequences wrong"


CONSTRUCTIONS = ("full", "sequential")


@dataclass(frozen=True)
class Construction:
    """Whether the memory cells exist from the start or are added once the error has stopped decreasing.

    ``sequential`` is the paper's remedy 1 for the abuse problem (Section 4, after Fahlman 1991), used in Exps. 2a
    and 2b: the net starts as the same topology with its hidden part frozen at zero (outputs see the inputs only;
    :func:`lstm_proofs.learning.frozen_masks`), and a trial's cells and gates are added once its training error has
    stopped decreasing. The paper gives no test for that (spec section 10 item 11); ours, after the patience test of
    Fahlman's cascade-correlation: the error of a sequence is its loss E = 1/2 sum (target - output)^2 over all
    steps and output units; the mean of E over each block of ``window`` consecutive sequences is compared with a
    reference block mean (the first block's, replaced by every block mean that is lower than the reference by
    more than the fraction ``rel_eps``); once ``patience`` blocks in a row failed to improve on the reference, the
    error has stopped decreasing. ``full``: the cells exist from the start.
    """

    kind: str = "full"
    window: int = 100
    patience: int = 5
    rel_eps: float = 0.05

    def describe(self) -> str:
        """One line."""
        if self.kind == "full":
            return "memory cells present from the start"
        return (f"cells added once the error has stopped decreasing (mean loss of {self.window}-sequence blocks "
                f"not below the reference by more than {self.rel_eps:g} of it for {self.patience} blocks in a row)")

    def setting(self) -> dict[str, Any] | None:
        """The construction as recorded in a results file's settings (None for ``full``, which older files
        imply)."""
        if self.kind == "full":
            return None
        return {"kind": self.kind, "window": self.window, "patience": self.patience, "rel_eps": self.rel_eps}


@dataclass(frozen=True)
class PaperFigures:
    """What the paper printed for a row.

    Attributes:
        table: where (e.g. ``Table 7``).
        trials: the number of trials the paper's means are over.
        success_rate: percentage of successful trials, or None where the paper prints none.
        sequences: mean number of training sequences until success / the stopping criterion ("success after").
        extra: further printed figures by name (e.g. ``st1`` sequences, ``wrong`` test sequences of 2560).
        note: anything else the text says about the row.
    """

    table: str
    trials: int
    success_rate: float | None = None
    sequences: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Preset:
    """Everything a training run of one table row needs.

    Attributes:
        row: stable id, e.g. ``4/T=100``, ``1/3x2/lr=0.5``, ``2a/lstm``, ``2a/bptt/p=100``.
        task: task name for :func:`lstm_proofs.tasks.get_task`.
        title: short description.
        task_options: options passed to the task (over its defaults).
        topology: the network (spec section 7).
        paper_weights: the paper's "# weights" for the row.
        method: ``lstm`` (the paper's online learner), ``bptt`` or ``rtrl`` (full gradient, conventional net).
        init_interval: initial weights uniform in [-interval, interval] (Section 5, Table 11).
        gate_biases: fixed initial gate biases per gate (Table 10); gates not listed keep random biases.
        learning_rate: alpha (Table 10).
        update: ``step`` (weights change at every time step) or ``sequence`` (summed over a sequence).
        stopping: the stopping criterion.
        success: the success criterion in the paper's words.
        test_size: sequences of the final test set (0: none).
        trials: the paper's trial count.
        max_sequences: default cap on training sequences per trial.
        cap_source: where the cap comes from (the paper's budget or our choice).
        paper: the paper's figures.
        train_set_size: for Exp. 1, the size of the fixed training set (0: sequences generated online).
        trials_per_dataset: Exp. 1 uses 3 training/test-set pairs with 10 trials each.
        construction: cells from the start, or added once the error has stopped decreasing (Exps. 2a, 2b).
        bias_intervals: per gate, a half-width for the random initial biases of that gate other than
            ``init_interval`` (drawn from the same stream, scaled; ``lstm-proofs ablate``'s reading ``in-bias``).
        fresh_training: Exp. 1: train on freshly generated strings instead of the fixed training set (the sets are
            still used by the stopping test).
        diagnostics: record sampled internal-state and gate statistics and, at the end, where the errors are
            (:mod:`~lstm_proofs.training.diagnostics`); they do not change the training.
        readings: names of the readings and contrasts of :mod:`~lstm_proofs.training.readings` applied to the row
            beyond its task options, update timing, construction and ST3 error (empty for the paper's reading).
    """

    row: str
    task: str
    title: str
    task_options: dict[str, Any]
    topology: Topology
    paper_weights: int
    method: Method
    init_interval: float
    gate_biases: dict[str, tuple[float, ...]]
    learning_rate: float
    update: str
    stopping: Stopping
    success: str
    test_size: int
    trials: int
    max_sequences: int
    cap_source: str
    paper: PaperFigures
    train_set_size: int = 0
    trials_per_dataset: int = 0
    construction: Construction = Construction()
    bias_intervals: dict[str, float] = field(default_factory=dict)
    fresh_training: bool = False
    diagnostics: bool = False
    readings: tuple[str, ...] = ()

    @property
    def file_stem(self) -> str:
        """The row id made safe for a file name (``4/T=100`` -> ``4_T=100``)."""
        return sanitise(self.row)

    def with_(self, **changes: Any) -> "Preset":
        return replace(self, **changes)

    def describe(self) -> dict[str, Any]:
        """The preset as a JSON-ready dict (recorded in results files)."""
        top = self.topology
        return {
            "row": self.row, "task": self.task, "title": self.title, "task_options": dict(self.task_options),
            "topology": {"cell": top.cell, "n_in": top.n_in, "n_out": top.n_out, "n_blocks": top.n_blocks,
                         "block_size": top.block_size, "recurrent": top.recurrent, "output_from": top.output_from,
                         "bias": top.bias, **({"output_bias": True} if top.output_bias else {}),
                         "n_weights": top.n_weights},
            "paper_weights": self.paper_weights, "method": self.method, "init_interval": self.init_interval,
            "gate_biases": {k: list(v) for k, v in self.gate_biases.items()}, "learning_rate": self.learning_rate,
            "update": self.update, "stopping": self.stopping.describe(), "stopping_kind": self.stopping.kind,
            "success": self.success, "test_size": self.test_size, "trials": self.trials,
            "max_sequences": self.max_sequences, "cap_source": self.cap_source,
            "train_set_size": self.train_set_size, "construction": self.construction.describe(),
        }


@dataclass(frozen=True)
class PaperOnlyRow:
    """A row of the paper's tables that is not trained here (literature figure or method not implemented)."""

    row: str
    table: str
    method: str
    weights: str
    learning_rate: str
    success_rate: str
    sequences: str
    reason: str


def sanitise(row: str) -> str:
    """A row id as a file-name stem: characters other than letters, digits, ``.=-`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9.=\-]", "_", row)


# ----- Experiment 1: embedded Reber grammar (Section 5.1, Table 1) -----

def _reber(blocks: int, size: int, lr: float, weights: int, rate: float, seqs: float, note: str = "") -> Preset:
    top = Topology("lstm1997", 7, 7, blocks, size, bias="gates")
    return Preset(
        row=f"1/{blocks}x{size}/lr={lr:g}", task="1",
        title=f"Embedded Reber grammar, {blocks} blocks of size {size}, alpha {lr:g}",
        task_options={}, topology=top, paper_weights=weights, method="lstm", init_interval=0.2,
        # Table 10: output-gate biases -1, -2, -3 (, -4); input-gate biases random ("r"), here in [-0.2, 0.2]
        # as the Exp. 1 text says all weights except the output-gate biases are (spec 5.1 caveat).
        gate_biases={"out": tuple(-float(i + 1) for i in range(blocks))},
        learning_rate=lr, update="step",
        stopping=Stopping("sets", window=50, check_every=100),
        success="all string symbols of training and test set predicted correctly (most active outputs)",
        test_size=256, trials=30, max_sequences=int(10 * seqs), cap_source=CAP_10X,
        paper=PaperFigures("Table 1", 30, rate, seqs, note=note), train_set_size=256, trials_per_dataset=10)


REBER = (
    _reber(4, 1, 0.1, 264, 100.0, 39_740),
    _reber(3, 2, 0.1, 276, 100.0, 21_730),
    _reber(3, 2, 0.2, 276, 97.0, 14_060),
    _reber(4, 1, 0.5, 264, 97.0, 9_500),
    _reber(3, 2, 0.5, 276, 100.0, 8_440, note="sequences varied between 3,800 and 24,100"),
)


# ----- Experiment 2a/2b: noise-free and random long-lag sequences (Section 5.2, Table 2) -----

def _conventional(method: Method, p: int, lr: float, weights: int, rate: float, seqs: float | None,
                  lr_text: str = "") -> Preset:
    top = Topology("rnn", p + 1, p + 1, 1, 1, output_from="below")
    note = "paper: '> 5,000,000' (no success within the budget)" if seqs is None else ""
    if lr_text:
        note = (note + "; " if note else "") + f"paper lists learning rates {lr_text}; we use {lr:g}"
    return Preset(
        row=f"2a/{method}/p={p}" + (f"/lr={lr:g}" if p == 4 else ""), task="2a",
        title=f"Noise-free long-lag sequences, {method.upper()} on the conventional net (1 self-recurrent unit)",
        task_options={"p": p}, topology=top, paper_weights=weights, method=method, init_interval=0.2,
        gate_biases={}, learning_rate=lr, update="sequence",
        stopping=Stopping("test", window=100, check_every=100, check_size=10_000),
        success="during 10,000 successive random sequences the absolute error of all outputs stays below 0.25",
        test_size=10_000, trials=18, max_sequences=EXP2_BUDGET, cap_source="paper (Table 11: 5 million)",
        paper=PaperFigures("Table 2", 18, rate, seqs, note=note))


EXP2 = (
    _conventional("rtrl", 4, 1.0, 36, 78.0, 1_043_000),
    _conventional("rtrl", 4, 4.0, 36, 56.0, 892_000),
    _conventional("rtrl", 4, 10.0, 36, 22.0, 254_000),
    _conventional("rtrl", 10, 1.0, 144, 0.0, None, "1.0-10.0"),
    _conventional("rtrl", 100, 1.0, 10404, 0.0, None, "1.0-10.0"),
    _conventional("bptt", 100, 1.0, 10404, 0.0, None, "1.0-10.0"),
)

_TOP_2A = Topology("lstm1997_2a", 101, 101, 1, 1, recurrent="none", output_from="below")


def _lstm2(task: str, seqs: float, table: str, success: str) -> Preset:
    return Preset(
        row=f"{task}/lstm", task=task,
        title=("Noise-free" if task == "2a" else "Random-middle") + " long-lag sequences (p = 100), LSTM",
        task_options={"p": 100}, topology=_TOP_2A, paper_weights=10504, method="lstm", init_interval=0.2,
        gate_biases={}, learning_rate=1.0, update="step",
        stopping=Stopping("test", window=100, check_every=100, check_size=10_000),
        success=success, test_size=10_000, trials=18, max_sequences=EXP2_BUDGET,
        cap_source="paper (Table 11: 5 million)", paper=PaperFigures(table, 18, 100.0, seqs),
        construction=Construction("sequential"))  # Section 5.2: cell and gate added once the error stops decreasing


EXP2_LSTM = (
    _lstm2("2a", 5_040, "Table 2",
           "during 10,000 successive random sequences the absolute error of all outputs stays below 0.25"),
    _lstm2("2b", 5_680, "Section 5.2 (text)",
           "during 10,000 successive random sequences the absolute error of all outputs at the end stays below 0.25"),
)


# ----- Experiment 2c: very long lags (Section 5.2, Table 3) -----

def _exp2c(q: int, p: int, weights: int, seqs: float) -> Preset:
    return Preset(
        row=f"2c/q={q},p={p}", task="2c", title=f"Very long lags, q = {q}, p = {p} distractors",
        task_options={"q": q, "p": p}, topology=Topology("lstm1997", p + 4, 2, 2, 1), paper_weights=weights,
        method="lstm", init_interval=0.2, gate_biases={}, learning_rate=0.01, update="step",
        stopping=Stopping("test", window=100, check_every=100, check_size=10_000),
        success="for 10,000 successive random sequences the final error of both outputs stays below 0.2",
        test_size=10_000, trials=20, max_sequences=EXP2_BUDGET, cap_source="paper (Table 11: 5 million)",
        paper=PaperFigures("Table 3", 20, None, seqs, note="the paper prints mean sequences only"))


EXP2C = (
    _exp2c(50, 50, 364, 30_000), _exp2c(100, 100, 664, 31_000), _exp2c(200, 200, 1264, 33_000),
    _exp2c(500, 500, 3064, 38_000), _exp2c(1000, 1000, 6064, 49_000), _exp2c(1000, 500, 3064, 49_000),
    _exp2c(1000, 200, 1264, 75_000), _exp2c(1000, 100, 664, 135_000), _exp2c(1000, 50, 364, 203_000),
)


# ----- Experiment 3: two-sequence problem and its noisy variants (Section 5.3, Tables 4-6) -----

_TOP_3 = Topology("lstm1997", 1, 1, 3, 1, bias="hidden")
_BIASES_3 = {"in": (-1.0, -3.0, -5.0), "out": (-2.0, -4.0, -6.0)}


def _exp3(task: str, T: int, N: int, lr: float, stop: Stopping, table: str, st1: float | None, st2: float,
          figures: dict[str, Any], success: str) -> Preset:
    extra = dict(figures)
    if st1 is not None:
        extra["st1"] = st1
    return Preset(
        row=f"{task}/T={T},N={N}", task=task, title=f"Two-sequence problem {task}, T = {T}, N = {N}",
        task_options={"T": T, "N": N}, topology=_TOP_3, paper_weights=102, method="lstm", init_interval=0.1,
        gate_biases=_BIASES_3, learning_rate=lr, update="step", stopping=stop, success=success, test_size=2560,
        trials=10, max_sequences=int(10 * st2), cap_source=CAP_10X,
        paper=PaperFigures(table, 10, None, st2, extra, note="the paper prints means only; 'success after' = ST2"
                           if st1 is not None else "the paper prints means only"))


_ST_3A = Stopping("st1st2", beta=0.01, check_every=100, check_size=256, max_wrong=0)
_ST_3B = Stopping("st1st2", beta=0.04, check_every=100, check_size=256, max_wrong=5)
_ST_3C = Stopping("st1st2", beta=0.015, check_every=100, check_size=256, max_wrong=0)
_S3A = "absolute error at sequence end below 0.2"
_S3C = "|output - noise-free target| <= 0.1"

EXP3 = (
    _exp3("3a", 100, 3, 1.0, _ST_3A, "Table 4", 27_380, 39_850, {"fraction_misclassified": 0.000195}, _S3A),
    _exp3("3a", 100, 1, 1.0, _ST_3A, "Table 4", 58_370, 64_330, {"fraction_misclassified": 0.000117}, _S3A),
    _exp3("3a", 1000, 3, 1.0, _ST_3A, "Table 4", 446_850, 452_460, {"fraction_misclassified": 0.000078}, _S3A),
    _exp3("3b", 100, 3, 1.0, _ST_3B, "Table 5", 41_740, 43_250, {"fraction_misclassified": 0.00828}, _S3A),
    _exp3("3b", 100, 1, 1.0, _ST_3B, "Table 5", 74_950, 78_430, {"fraction_misclassified": 0.01500}, _S3A),
    _exp3("3b", 1000, 1, 1.0, _ST_3B, "Table 5", 481_060, 485_080, {"fraction_misclassified": 0.01207}, _S3A),
    _exp3("3c", 100, 3, 0.1, _ST_3C, "Table 6", None, 269_650,
          {"fraction_misclassified": 0.00558, "mean_error": 0.014}, _S3C),
    _exp3("3c", 100, 1, 0.1, _ST_3C, "Table 6", None, 565_640,
          {"fraction_misclassified": 0.00441, "mean_error": 0.012}, _S3C),
)


# ----- Experiments 4 and 5: adding and multiplication problems (Sections 5.4, 5.5, Tables 7, 8) -----

_TOP_45 = Topology("lstm1997", 2, 1, 2, 2, bias="all")


def _exp4(T: int, wrong: int, seqs: float) -> Preset:
    return Preset(
        row=f"4/T={T}", task="4", title=f"Adding problem, T = {T}", task_options={"T": T}, topology=_TOP_45,
        paper_weights=93, method="lstm", init_interval=0.1, gate_biases={"in": (-3.0, -6.0)}, learning_rate=0.5,
        update="step", stopping=Stopping("st3", beta=0.01, window=2000),
        success="absolute error at sequence end below 0.04", test_size=2560, trials=10,
        max_sequences=int(10 * seqs), cap_source=CAP_10X,
        paper=PaperFigures("Table 7", 10, None, seqs, {"wrong": wrong},
                           note="text: average test error always below 0.01, never more than 3 wrong"
                           + ("; sequences varied between 370,000 and 2,020,000" if T == 1000 else "")))


EXP4 = (_exp4(100, 1, 74_000), _exp4(500, 0, 209_000), _exp4(1000, 1, 853_000))


def _exp5(n_seq: int, wrong: int, mse: float, seqs: float) -> Preset:
    return Preset(
        row=f"5/nseq={n_seq}", task="5", title=f"Multiplication problem, T = 100, n_seq = {n_seq}",
        task_options={"T": 100}, topology=_TOP_45, paper_weights=93, method="lstm", init_interval=0.1,
        gate_biases={}, learning_rate=0.1, update="step", stopping=Stopping("window_wrong", window=2000, n_seq=n_seq),
        success="absolute error at sequence end below 0.04", test_size=2560, trials=10,
        max_sequences=int(10 * seqs), cap_source=CAP_10X,
        paper=PaperFigures("Table 8", 10, None, seqs, {"wrong": wrong, "mse": mse}))


EXP5 = (_exp5(140, 139, 0.0223, 482_000), _exp5(13, 14, 0.0139, 1_273_000))


# ----- Experiment 6: temporal order (Section 5.6, Table 9) -----

def _exp6(task: str, top: Topology, weights: int, biases: tuple[float, ...], lr: float, trials: int, wrong: int,
          seqs: float) -> Preset:
    return Preset(
        row=task, task=task, title=f"Temporal order, {'two' if task == '6a' else 'three'} relevant symbols",
        task_options={}, topology=top, paper_weights=weights, method="lstm", init_interval=0.1,
        gate_biases={"in": biases}, learning_rate=lr, update="step", stopping=Stopping("st3", beta=0.1, window=2000),
        success="final absolute error of all outputs below 0.3", test_size=2560, trials=trials,
        max_sequences=int(10 * seqs), cap_source=CAP_10X,
        paper=PaperFigures("Table 9", trials, None, seqs, {"wrong": wrong},
                           note="text: average test error always below 0.1, never more than 3 misclassified"))


EXP6 = (
    _exp6("6a", Topology("lstm1997", 8, 4, 2, 2, bias="all"), 156, (-2.0, -4.0), 0.5, 20, 1, 31_390),
    _exp6("6b", Topology("lstm1997", 8, 8, 3, 2, bias="all"), 308, (-2.0, -4.0, -6.0), 0.1, 10, 2, 571_100),
)

#: Every trainable row, in table order.
PRESETS: tuple[Preset, ...] = (*REBER, *EXP2, *EXP2_LSTM, *EXP2C, *EXP3, *EXP4, *EXP5, *EXP6)

#: Rows printed in the paper that are not trained here.
PAPER_ONLY_ROWS: tuple[PaperOnlyRow, ...] = (
    PaperOnlyRow("1/rtrl-3", "Table 1", "RTRL (Smith & Zipser 1989), 3 hidden units", "~170", "0.05",
                 "some fraction", "173,000", "literature figure (the paper did not run it)"),
    PaperOnlyRow("1/rtrl-12", "Table 1", "RTRL (Smith & Zipser 1989), 12 hidden units", "~494", "0.1",
                 "some fraction", "25,000", "literature figure (the paper did not run it)"),
    PaperOnlyRow("1/elm", "Table 1", "ELM (Cleeremans et al. 1989), 15 hidden units", "~435", "-", "0",
                 "> 200,000", "literature figure (the paper did not run it)"),
    PaperOnlyRow("1/rcc", "Table 1", "RCC (Fahlman 1991), 7-9 hidden units", "~119-198", "-", "50", "182,000",
                 "literature figure (the paper did not run it)"),
    PaperOnlyRow("2a/ch", "Table 2", "CH (2-net neural sequence chunker)", "10506", "1.0", "33", "32,400",
                 "method not implemented (Schmidhuber 1992b)"),
)

_BY_ROW = {p.row: p for p in PRESETS}


def with_construction(preset: Preset, kind: str | None) -> Preset:
    """The preset with cells added sequentially or present from the start (None: the row's own)."""
    if kind is None or kind == preset.construction.kind:
        return preset
    if kind not in CONSTRUCTIONS:
        raise UserError(f"construction must be one of {CONSTRUCTIONS}, got {kind!r}")
    if kind == "sequential" and preset.method != "lstm":
        raise UserError(f"sequential construction applies to LSTM rows; row {preset.row} is {preset.method}")
    return preset.with_(construction=replace(preset.construction, kind=kind))


#: Readings of ST3's "average training error" (spec section 10, item 10).
ST3_ERRORS = ("absolute", "squared")


def with_st3_error(preset: Preset, error: str | None) -> Preset:
    """The preset with ST3's training error read as the mean absolute or the mean squared error (None: as is)."""
    if error is None or error == preset.stopping.error:
        return preset
    if error not in ST3_ERRORS:
        raise UserError(f"ST3 error must be one of {ST3_ERRORS}, got {error!r}")
    if preset.stopping.kind != "st3":
        raise UserError(f"--st3-error applies to rows stopped by ST3 (Exps. 4, 6); row {preset.row} is not")
    return preset.with_(stopping=replace(preset.stopping, error=error))


def row_construction(preset: Preset) -> str:
    """The construction kind of the preset's row as the paper describes it (``full`` for unknown rows)."""
    row = _BY_ROW.get(preset.row)
    return row.construction.kind if row is not None else "full"


def rows_of_task(task: str) -> list[Preset]:
    """The presets of one task, in table order."""
    return [p for p in PRESETS if p.task == task]


def get_preset(task: str, row: str | None = None) -> Preset:
    """The preset of a row, given the task name and optionally the row id.

    Args:
        task: task name as ``lstm-proofs train`` takes it (``4``, ``2a``, an alias, or a full row id).
        row: row id (``4/T=500``) or its part after the task (``T=500``); default: the task's first LSTM row.

    Raises:
        UserError: unknown task or row (the message lists the known rows).
    """
    if row is None and task in _BY_ROW:
        return _BY_ROW[task]
    name = _canonical_task(task)
    rows = rows_of_task(name)
    if not rows:
        raise UserError(f"no training presets for task {task!r}; tasks with presets: "
                        f"{', '.join(dict.fromkeys(p.task for p in PRESETS))}")
    if row is None:  # the task's first LSTM row (Exp. 2a: the LSTM row, not the baselines listed before it)
        return next((p for p in rows if p.method == "lstm"), rows[0])
    for candidate in (row, f"{name}/{row}"):
        if candidate in _BY_ROW and _BY_ROW[candidate].task == name:
            return _BY_ROW[candidate]
    raise UserError(f"task {name!r} has no row {row!r}; its rows: {', '.join(p.row for p in rows)}")


_ALIASES = {"reber": "1", "adding": "4", "multiplication": "5", "order2": "6a", "order3": "6b"}


def _canonical_task(task: str) -> str:
    task = task.strip()
    if task in _ALIASES:
        return _ALIASES[task]
    try:  # the task registry's own names and aliases, when it is importable
        from lstm_proofs.tasks import get_task
        t = get_task(task)
        return str(getattr(t, "name", task))
    except Exception:  # noqa: BLE001 - an unknown task name is reported by get_preset
        return task
