"""The declared cells: the 1997 cell and its successors, and the paper's conventional recurrent units.

Each is declared once, as equations; derivatives, generated code, report sections and checks follow from these.
"""

from __future__ import annotations

from lstm_proofs.cells.declaration import CellDeclaration, declare_cell
from lstm_proofs.errors import UserError

LSTM1997 = declare_cell(
    "lstm1997",
    "LSTM 1997: input and output gates, constant error carousel, memory-cell blocks, no forget gate",
    "Hochreiter & Schmidhuber (1997), Section 4 and Appendix A.1",
    ("in", "out"),
    """
    y_in  = sigma(net_in)             # eq. (7) input gate
    y_out = sigma(net_out)            # eq. (8) output gate
    s     = s_prev + y_in * g(net_c)  # eq. (9) internal state: the CEC, self-connection fixed at 1.0
    y_c   = y_out * h(s)              # eq. (9) cell output
    """,
)

LSTM1997_2A = declare_cell(
    "lstm1997_2a",
    "LSTM 1997, Exp. 2a/2b form: input gate only, g logistic in [0, 1], h identity",
    "Hochreiter & Schmidhuber (1997), Section 5.2 and Table 10",
    ("in",),
    """
    y_in = sigma(net_in)                  # eq. (7) input gate
    s    = s_prev + y_in * sigma(net_c)   # eq. (9) CEC with g = logistic (Exp. 2a)
    y_c  = s                              # eq. (9) with h = identity and no output gate
    """,
)

LSTM1997_HID = declare_cell(
    "lstm1997_hid",
    "LSTM 1997 with h the identity: the cell state leaves the cell unsquashed (a contrast for state drift)",
    "Hochreiter & Schmidhuber (1997), Section 4 ('internal state drift': h(x) = x avoids it)",
    ("in", "out"),
    """
    y_in  = sigma(net_in)             # eq. (7) input gate
    y_out = sigma(net_out)            # eq. (8) output gate
    s     = s_prev + y_in * g(net_c)  # eq. (9) internal state: the CEC, self-connection fixed at 1.0
    y_c   = y_out * s                 # eq. (9) with h the identity
    """,
)

LSTM1997_SWAP = declare_cell(
    "lstm1997_swap",
    "LSTM 1997 with Table 10's caption's ranges: g in [-1, 1] and h in [-2, 2] (the appendix has them the other "
    "way round)",
    "Hochreiter & Schmidhuber (1997), Table 10 caption against Appendix A.1 eqs. (4)-(5)",
    ("in", "out"),
    """
    y_in  = sigma(net_in)                           # eq. (7) input gate
    y_out = sigma(net_out)                          # eq. (8) output gate
    s     = s_prev + y_in * (2 * sigma(net_c) - 1)  # eq. (9) with g in [-1, 1] (Table 10 caption)
    y_c   = y_out * (4 * sigma(s) - 2)              # eq. (9) with h in [-2, 2] (Table 10 caption)
    """,
)

FORGET = declare_cell(
    "forget",
    "LSTM with forget gate: the CEC's self-connection becomes the forget gate's activation",
    "Gers, Schmidhuber & Cummins (2000), Learning to Forget",
    ("in", "forget", "out"),
    """
    y_in     = sigma(net_in)                         # eq. (7) input gate
    y_forget = sigma(net_forget)                     # Gers 2000: forget gate
    y_out    = sigma(net_out)                        # eq. (8) output gate
    s        = y_forget * s_prev + y_in * g(net_c)   # Gers 2000: state with forgetting
    y_c      = y_out * h(s)                          # eq. (9) cell output
    """,
)

PEEPHOLE = declare_cell(
    "peephole",
    "LSTM with forget gate and peephole connections from the state to the cell's own gates",
    "Gers, Schraudolph & Schmidhuber (2002), Learning Precise Timing",
    ("in", "forget", "out"),
    """
    y_in     = sigma(net_in + p_in * s_prev)          # Gers 2002: input gate sees s(t-1)
    y_forget = sigma(net_forget + p_forget * s_prev)  # Gers 2002: forget gate sees s(t-1)
    s        = y_forget * s_prev + y_in * g(net_c)    # Gers 2000: state with forgetting
    y_out    = sigma(net_out + p_out * s)             # Gers 2002: output gate sees s(t)
    y_c      = y_out * h(s)                           # eq. (9) cell output
    """,
)

VANILLA = declare_cell(
    "vanilla",
    "Vanilla LSTM: forget gate, peepholes, tanh input and output squashing",
    "Greff et al. (2017), LSTM: A Search Space Odyssey",
    ("in", "forget", "out"),
    """
    y_in     = sigma(net_in + p_in * s_prev)          # Greff 2017: input gate
    y_forget = sigma(net_forget + p_forget * s_prev)  # Greff 2017: forget gate
    s        = y_forget * s_prev + y_in * tanh(net_c) # Greff 2017: cell state
    y_out    = sigma(net_out + p_out * s)             # Greff 2017: output gate
    y_c      = y_out * tanh(s)                        # Greff 2017: block output
    """,
)

# Greff et al. (2017), "LSTM: A Search Space Odyssey", Section 3: each variant changes one thing of vanilla. The
# eighth, full gate recurrence (FGR), is not a cell equation but a topology option: vanilla with
# Topology(recurrent="all") (gates read every hidden activation of the previous step, as in the 1997 scheme).
VANILLA_NIG = declare_cell(
    "vanilla_nig",
    "Vanilla without input gate (NIG): input gate fixed at 1",
    "Greff et al. (2017), variant NIG",
    ("forget", "out"),
    """
    y_forget = sigma(net_forget + p_forget * s_prev)  # Greff 2017: forget gate
    s        = y_forget * s_prev + tanh(net_c)        # NIG: i = 1
    y_out    = sigma(net_out + p_out * s)             # Greff 2017: output gate
    y_c      = y_out * tanh(s)                        # Greff 2017: block output
    """,
)

VANILLA_NFG = declare_cell(
    "vanilla_nfg",
    "Vanilla without forget gate (NFG): forget gate fixed at 1, the 1997 CEC",
    "Greff et al. (2017), variant NFG",
    ("in", "out"),
    """
    y_in  = sigma(net_in + p_in * s_prev)   # Greff 2017: input gate
    s     = s_prev + y_in * tanh(net_c)     # NFG: f = 1 (constant error carousel)
    y_out = sigma(net_out + p_out * s)      # Greff 2017: output gate
    y_c   = y_out * tanh(s)                 # Greff 2017: block output
    """,
)

VANILLA_NOG = declare_cell(
    "vanilla_nog",
    "Vanilla without output gate (NOG): output gate fixed at 1",
    "Greff et al. (2017), variant NOG",
    ("in", "forget"),
    """
    y_in     = sigma(net_in + p_in * s_prev)          # Greff 2017: input gate
    y_forget = sigma(net_forget + p_forget * s_prev)  # Greff 2017: forget gate
    s        = y_forget * s_prev + y_in * tanh(net_c) # Greff 2017: cell state
    y_c      = tanh(s)                                # NOG: o = 1
    """,
)

VANILLA_NIAF = declare_cell(
    "vanilla_niaf",
    "Vanilla without input activation function (NIAF): g(x) = x",
    "Greff et al. (2017), variant NIAF",
    ("in", "forget", "out"),
    """
    y_in     = sigma(net_in + p_in * s_prev)          # Greff 2017: input gate
    y_forget = sigma(net_forget + p_forget * s_prev)  # Greff 2017: forget gate
    s        = y_forget * s_prev + y_in * net_c       # NIAF: no squashing of the cell input
    y_out    = sigma(net_out + p_out * s)             # Greff 2017: output gate
    y_c      = y_out * tanh(s)                        # Greff 2017: block output
    """,
)

VANILLA_NOAF = declare_cell(
    "vanilla_noaf",
    "Vanilla without output activation function (NOAF): h(x) = x",
    "Greff et al. (2017), variant NOAF",
    ("in", "forget", "out"),
    """
    y_in     = sigma(net_in + p_in * s_prev)          # Greff 2017: input gate
    y_forget = sigma(net_forget + p_forget * s_prev)  # Greff 2017: forget gate
    s        = y_forget * s_prev + y_in * tanh(net_c) # Greff 2017: cell state
    y_out    = sigma(net_out + p_out * s)             # Greff 2017: output gate
    y_c      = y_out * s                              # NOAF: no squashing of the state
    """,
)

VANILLA_NP = declare_cell(
    "vanilla_np",
    "Vanilla without peepholes (NP)",
    "Greff et al. (2017), variant NP",
    ("in", "forget", "out"),
    """
    y_in     = sigma(net_in)                          # NP: input gate without peephole
    y_forget = sigma(net_forget)                      # NP: forget gate without peephole
    s        = y_forget * s_prev + y_in * tanh(net_c) # Greff 2017: cell state
    y_out    = sigma(net_out)                         # NP: output gate without peephole
    y_c      = y_out * tanh(s)                        # Greff 2017: block output
    """,
)

VANILLA_CIFG = declare_cell(
    "vanilla_cifg",
    "Vanilla with coupled input and forget gate (CIFG): f = 1 - i",
    "Greff et al. (2017), variant CIFG",
    ("in", "out"),
    """
    y_in  = sigma(net_in + p_in * s_prev)             # Greff 2017: input gate
    s     = (1 - y_in) * s_prev + y_in * tanh(net_c)  # CIFG: forget gate = 1 - input gate
    y_out = sigma(net_out + p_out * s)                # Greff 2017: output gate
    y_c   = y_out * tanh(s)                           # Greff 2017: block output
    """,
)

#: Greff et al.'s variants of vanilla, in the paper's order (FGR: vanilla on Topology(recurrent="all")).
GREFF_VARIANTS = ("vanilla_nig", "vanilla_nfg", "vanilla_nog", "vanilla_niaf", "vanilla_noaf", "vanilla_np",
                  "vanilla_cifg")

RNN = declare_cell(
    "rnn",
    "Conventional recurrent unit, logistic: the paper's fully recurrent baseline net",
    "Hochreiter & Schmidhuber (1997), Section 3.1 eq. (6)",
    (),
    """
    y_c = sigma(net_c)   # eq. (6) conventional unit, logistic
    """,
)

RNN_TANH = declare_cell(
    "rnn_tanh",
    "Conventional recurrent unit, tanh",
    "Hochreiter & Schmidhuber (1997), Section 3.1 eq. (6) with f = tanh",
    (),
    """
    y_c = tanh(net_c)    # eq. (6) conventional unit, tanh
    """,
)

RNN_LINEAR = declare_cell(
    "rnn_linear",
    "Conventional recurrent unit, linear (f(x) = x): the exploding/constant-flow case of Section 3",
    "Hochreiter & Schmidhuber (1997), Section 3.1-3.2",
    (),
    """
    y_c = net_c          # Section 3.2: linear unit
    """,
)

CELLS: dict[str, CellDeclaration] = {
    c.name: c for c in (LSTM1997, LSTM1997_2A, LSTM1997_HID, LSTM1997_SWAP, FORGET, PEEPHOLE, VANILLA, VANILLA_NIG,
                        VANILLA_NFG, VANILLA_NOG, VANILLA_NIAF, VANILLA_NOAF, VANILLA_NP, VANILLA_CIFG, RNN, RNN_TANH,
                        RNN_LINEAR)
}


def get_cell(name: str) -> CellDeclaration:
    """The declared cell called ``name``.

    Raises:
        UserError: for an unknown name (the message lists the known ones).
    """
    try:
        return CELLS[name]
    except KeyError:
        raise UserError(f"unknown cell {name!r}; known cells: {', '.join(CELLS)}") from None
