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
    c.name: c for c in (LSTM1997, LSTM1997_2A, LSTM1997_HID, LSTM1997_SWAP, FORGET, PEEPHOLE, VANILLA, RNN, RNN_TANH,
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
