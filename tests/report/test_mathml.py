"""MathML of the report: symbols whose names hold nested subscripts are typeset as nested <msub>."""

import xml.dom.minidom

import sympy as sp

from lstm_proofs.cells import CELLS
from lstm_proofs.codegen.markdown import derivation_items
from lstm_proofs.derive import derive
from lstm_proofs.report.html import item_math, math


def _tree(node):
    """An element as (tag, text) for a token element, else (tag, [children])."""
    kids = [k for k in node.childNodes if k.nodeType == k.ELEMENT_NODE]
    if node.tagName in ("mi", "mo", "mn"):
        return node.tagName, "".join(t.data for t in node.childNodes)
    return node.tagName, [_tree(k) for k in kids]


def _symbol(name):
    root = xml.dom.minidom.parseString(math(sp.Symbol(name))).documentElement
    (only,) = [k for k in root.childNodes if k.nodeType == k.ELEMENT_NODE]
    return _tree(only)


def test_nested_subscripts_are_nested_msub():
    assert _symbol("a_y_c") == ("msub", [("mi", "a"), ("msub", [("mi", "y"), ("mi", "c")])])
    assert _symbol("d_s_prev") == ("msub", [("mi", "d"), ("msub", [("mi", "s"), ("mi", "prev")])])
    assert _symbol("d_y_in_x") == ("msub", [("mi", "d"),
                                            ("msub", [("mi", "y"), ("msub", [("mi", "in"), ("mi", "x")])])])
    assert _symbol("alpha_beta_gamma") == ("msub", [("mi", "α"), ("msub", [("mi", "β"), ("mi", "γ")])])
    # one subscript, or none, as SymPy prints it
    assert _symbol("y_in") == ("msub", [("mi", "y"), ("mi", "in")])
    assert _symbol("s") == ("mi", "s")
    # a superscript keeps its place beside the nested subscript
    assert _symbol("w_y_c^2") == ("msubsup", [("mi", "w"), ("msub", [("mi", "y"), ("mi", "c")]),
                                              ("mrow", [("mi", "2")])])


def test_derived_equations_nest_their_subscripts():
    items = derivation_items(derive(CELLS["lstm1997"]))
    text = "".join(item_math(i) for i in items)
    doc = xml.dom.minidom.parseString(f"<all>{text}</all>")
    subs = doc.getElementsByTagName("msub")
    # no subscript is a row of letters separated by spaces (SymPy's rendering of a_y_c as "a" over "y c")
    for el in subs:
        script = [k for k in el.childNodes if k.nodeType == k.ELEMENT_NODE][1]
        spaces = [mo for mo in script.getElementsByTagName("mo") if mo.firstChild.data == " "]
        assert not (script.tagName == "mrow" and spaces)
    nested = [el for el in subs if el.parentNode.tagName == "msub" and el.parentNode.lastChild is el]
    names = {"".join(t.firstChild.data for t in [el.parentNode.firstChild, *el.getElementsByTagName("mi")])
             for el in nested}
    assert {"ayc", "dsprev", "dnetc", "ayout"} <= names
