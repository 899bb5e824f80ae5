"""Cell declarations: parsing, validation errors, levels."""

import pytest
import sympy as sp

from lstm_proofs.cells import CELLS, declare_cell
from lstm_proofs.errors import DeclarationError

VALID = """
y_in = sigma(net_in)   # in
s = s_prev + y_in * g(net_c)   # cec
y_c = h(s)   # out
"""


def test_library_cells_parse_with_expected_structure():
    c = CELLS["lstm1997"]
    assert c.gates == ("in", "out")
    assert [s.name for s in c.states] == ["s"]
    assert [s.name for s in c.inputs] == ["net_c", "net_in", "net_out", "s_prev"]
    assert c.level(sp.Symbol("y_in")) == "block" and c.level(sp.Symbol("s")) == "cell"
    assert c.shared_gates and not CELLS["peephole"].shared_gates
    assert [p.name for p in CELLS["vanilla"].params] == ["p_in", "p_forget", "p_out"]
    assert CELLS["rnn"].states == ()


def test_valid_declaration_and_labels():
    c = declare_cell("mini", "t", "s", ("in",), VALID)
    assert [e.label for e in c.equations] == ["in", "cec", "out"]


@pytest.mark.parametrize("text, gates, fragment", [
    ("y_c = sigma(net_x)", (), "unknown name 'net_x'"),
    ("y_c = sigma(net_c)\ny_c = net_c", (), "assigned more than once"),
    ("y_in = sigma(net_in)", ("in",), "no equation assigns the cell output 'y_c'"),
    ("y_c = sigma(net_c)", ("in",), "gate 'in' has no activation 'y_in'"),
    ("y_c = s\ns = s_prev + net_c", (), "unknown name 's'"),
    ("y_c = sigma(net_c +)", (), "cannot parse"),
    ("y_c sigma(net_c)", (), "expected 'name = expression'"),
    ("y_c = cos(net_c)", (), "unknown function 'cos'"),
    ("net_c = sigma(net_c)\ny_c = net_c", (), "cannot be assigned"),
    ("y_in = sigma(net_c)\ny_c = y_in", ("in",), "never reads its net input 'net_in'"),
])
def test_invalid_declarations_raise_one_line_errors(text, gates, fragment):
    with pytest.raises(DeclarationError) as err:
        declare_cell("bad", "t", "s", gates, text)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_names():
    with pytest.raises(DeclarationError, match="identifier"):
        declare_cell("1bad", "t", "s", (), "y_c = net_c")
    with pytest.raises(DeclarationError, match="gate name"):
        declare_cell("ok", "t", "s", ("c",), "y_c = net_c")
