"""The rows of the paper's tables (spec sections 5-6) with what a projection of their training time needs.

Per row: the network, the mean number of time steps per training sequence, the mean number of training sequences
to success (the table's "success after"), the number of trials, and whether error signals come at every step
(Exps. 1, 2a, 2b) or only at the sequence end (all others). Mean steps per sequence, derived from the task
definitions (the net reads every element except a final one that is only a target):

* Exp. 1: embedded Reber strings have 12 symbols on average (B, T/P, an inner Reber string of 8 on average, T/P, E;
  the inner string's expected length solves the grammar's Markov chain), so 11 steps.
* Exp. 2a/2b: p + 1 = 101 symbols, 100 steps.
* Exp. 2c: q + k + 4 symbols with E[k] = 9 (spec 6.4: q + 13 on average), so q + 12 steps.
* Exps. 3, 4, 5: lengths uniform in [T, T + T/10], 1.05 T steps on average.
* Exp. 6a/6b: lengths uniform in [100, 110], 105 steps.

Only training presentations are counted (no test sets, no success checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from lstm_proofs.network.paper import PAPER_NETWORKS
from lstm_proofs.network.topology import Topology
from lstm_proofs.training.presets import get_preset

_NETS = {where: top for where, top, _ in PAPER_NETWORKS}


def _net(where: str) -> Topology:
    return _NETS[where]


def reber_mean_length() -> float:
    """Expected number of symbols of an embedded Reber string (spec 6.1 automaton), solved exactly."""
    import numpy as np

    # expected symbols emitted from inner states 0..4 up to and including E (state 5 emits E); each choice is 1/2
    nxt = {0: (1, 2), 1: (1, 3), 2: (2, 4), 3: (2, 5), 4: (3, 5)}
    A, b = np.eye(6), np.ones(6)
    for i, (u, v) in nxt.items():
        A[i, u] -= 0.5
        A[i, v] -= 0.5
    inner = 1.0 + np.linalg.solve(A, b)[0]  # the leading B, then the walk from state 0
    return 2.0 + inner + 2.0  # B, T/P ... T/P, E


@dataclass(frozen=True)
class Row:
    """One row of a table of the paper; its printed figures (mean sequences to success, trials) are those of the
    trainer's preset for the row."""

    table: str
    label: str
    network: str  # key into PAPER_NETWORKS
    steps: float  # mean time steps per training sequence
    every_step: bool  # error signals at every step (else only at the sequence end)
    row_id: str  # the row as lstm-proofs names it (lstm-proofs train --list)

    @property
    def topology(self) -> Topology:
        return _net(self.network)

    @property
    def sequences(self) -> float:
        """The paper's mean training sequences to success."""
        return float(get_preset(self.row_id).paper.sequences)

    @property
    def trials(self) -> int:
        """The paper's number of trials."""
        return get_preset(self.row_id).paper.trials


E1_44, E1_32 = "Exp 1, Table 1 (4 blocks of 1)", "Exp 1, Table 1 (3 blocks of 2)"
E2A, E3, E45 = "Exp 2a/2b, Table 2", "Exp 3, Tables 4-6", "Exps 4, 5, Tables 7-8"
E2C = {p: f"Exp 2c, Table 3 (p = {p})" for p in (50, 100, 200, 500, 1000)}

ROWS: tuple[Row, ...] = (
    Row("Table 1", "4 blocks of 1, lr 0.1", E1_44, reber_mean_length() - 1, True, "1/4x1/lr=0.1"),
    Row("Table 1", "3 blocks of 2, lr 0.1", E1_32, reber_mean_length() - 1, True, "1/3x2/lr=0.1"),
    Row("Table 1", "3 blocks of 2, lr 0.2", E1_32, reber_mean_length() - 1, True, "1/3x2/lr=0.2"),
    Row("Table 1", "4 blocks of 1, lr 0.5", E1_44, reber_mean_length() - 1, True, "1/4x1/lr=0.5"),
    Row("Table 1", "3 blocks of 2, lr 0.5", E1_32, reber_mean_length() - 1, True, "1/3x2/lr=0.5"),
    Row("Table 2", "Exp 2a, p = 100", E2A, 100, True, "2a/lstm"),
    Row("Sec. 5.2", "Exp 2b, p = 100", E2A, 100, True, "2b/lstm"),
    Row("Table 3", "q = 50, p = 50", E2C[50], 50 + 12, False, "2c/q=50,p=50"),
    Row("Table 3", "q = 100, p = 100", E2C[100], 100 + 12, False, "2c/q=100,p=100"),
    Row("Table 3", "q = 200, p = 200", E2C[200], 200 + 12, False, "2c/q=200,p=200"),
    Row("Table 3", "q = 500, p = 500", E2C[500], 500 + 12, False, "2c/q=500,p=500"),
    Row("Table 3", "q = 1000, p = 1000", E2C[1000], 1000 + 12, False, "2c/q=1000,p=1000"),
    Row("Table 3", "q = 1000, p = 500", E2C[500], 1000 + 12, False, "2c/q=1000,p=500"),
    Row("Table 3", "q = 1000, p = 200", E2C[200], 1000 + 12, False, "2c/q=1000,p=200"),
    Row("Table 3", "q = 1000, p = 100", E2C[100], 1000 + 12, False, "2c/q=1000,p=100"),
    Row("Table 3", "q = 1000, p = 50", E2C[50], 1000 + 12, False, "2c/q=1000,p=50"),
    Row("Table 4", "3a, T = 100, N = 3 (ST2)", E3, 105, False, "3a/T=100,N=3"),
    Row("Table 4", "3a, T = 100, N = 1 (ST2)", E3, 105, False, "3a/T=100,N=1"),
    Row("Table 4", "3a, T = 1000, N = 3 (ST2)", E3, 1050, False, "3a/T=1000,N=3"),
    Row("Table 5", "3b, T = 100, N = 3 (ST2)", E3, 105, False, "3b/T=100,N=3"),
    Row("Table 5", "3b, T = 100, N = 1 (ST2)", E3, 105, False, "3b/T=100,N=1"),
    Row("Table 5", "3b, T = 1000, N = 1 (ST2)", E3, 1050, False, "3b/T=1000,N=1"),
    Row("Table 6", "3c, T = 100, N = 3", E3, 105, False, "3c/T=100,N=3"),
    Row("Table 6", "3c, T = 100, N = 1", E3, 105, False, "3c/T=100,N=1"),
    Row("Table 7", "adding, T = 100", E45, 105, False, "4/T=100"),
    Row("Table 7", "adding, T = 500", E45, 525, False, "4/T=500"),
    Row("Table 7", "adding, T = 1000", E45, 1050, False, "4/T=1000"),
    Row("Table 8", "multiplication, n_seq = 140", E45, 105, False, "5/nseq=140"),
    Row("Table 8", "multiplication, n_seq = 13", E45, 105, False, "5/nseq=13"),
    Row("Table 9", "6a, two relevant symbols", "Exp 6a, Table 9", 105, False, "6a"),
    Row("Table 9", "6b, three relevant symbols", "Exp 6b, Table 9", 105, False, "6b"),
)
