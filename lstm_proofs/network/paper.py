"""The networks of the paper's tables with their printed weight counts (spec section 7)."""

from __future__ import annotations

from lstm_proofs.network.topology import Topology

#: (where, topology, the paper's "# weights")
PAPER_NETWORKS: tuple[tuple[str, Topology, int], ...] = (
    ("Exp 1, Table 1 (4 blocks of 1)", Topology("lstm1997", 7, 7, 4, 1, bias="gates"), 264),
    ("Exp 1, Table 1 (3 blocks of 2)", Topology("lstm1997", 7, 7, 3, 2, bias="gates"), 276),
    ("Exp 2a/2b, Table 2", Topology("lstm1997_2a", 101, 101, 1, 1, recurrent="none", output_from="below"), 10504),
    ("Exp 2c, Table 3 (p = 50)", Topology("lstm1997", 54, 2, 2, 1), 364),
    ("Exp 2c, Table 3 (p = 100)", Topology("lstm1997", 104, 2, 2, 1), 664),
    ("Exp 2c, Table 3 (p = 200)", Topology("lstm1997", 204, 2, 2, 1), 1264),
    ("Exp 2c, Table 3 (p = 500)", Topology("lstm1997", 504, 2, 2, 1), 3064),
    ("Exp 2c, Table 3 (p = 1000)", Topology("lstm1997", 1004, 2, 2, 1), 6064),
    ("Exp 3, Tables 4-6", Topology("lstm1997", 1, 1, 3, 1, bias="hidden"), 102),
    ("Exps 4, 5, Tables 7-8", Topology("lstm1997", 2, 1, 2, 2, bias="all"), 93),
    ("Exp 6a, Table 9", Topology("lstm1997", 8, 4, 2, 2, bias="all"), 156),
    ("Exp 6b, Table 9", Topology("lstm1997", 8, 8, 3, 2, bias="all"), 308),
    ("RTRL p = 4, Table 2", Topology("rnn", 5, 5, 1, 1, output_from="below"), 36),
    ("RTRL p = 10, Table 2", Topology("rnn", 11, 11, 1, 1, output_from="below"), 144),
    ("RTRL/BPTT p = 100, Table 2", Topology("rnn", 101, 101, 1, 1, output_from="below"), 10404),
)
