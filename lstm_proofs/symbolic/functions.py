"""SymPy functions the cell declarations are written in.

``sigma`` is the logistic function kept as its own symbol (never expanded into exponentials, which makes
derivations slow and their printed form overflow). Its derivative is written through its values,
``sigma(x) * sigma(-x)``, which keeps full relative precision where ``sigma(x) * (1 - sigma(x))`` would cancel.
``tanh`` likewise differentiates to ``4 sigma(2x) sigma(-2x)`` (= sech^2 x, without overflow or cancellation).
``stop`` marks a truncation point: its derivative is zero. ``BlockSum`` sums over the cells of a memory-cell block
(it appears only in generated adjoints, where a per-block gate collects error from its S cells).
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.printer import Printer


class sigma(sp.Function):  # noqa: N801 - mathematical name
    """Logistic function ``1/(1+exp(-x))``."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return sigma(x) * sigma(-x)

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer: Printer) -> str:
        return r"\sigma\left(%s\right)" % printer._print(self.args[0])

    def _numpycode(self, printer: Printer) -> str:
        return "_k.sigmoid(%s)" % printer._print(self.args[0])

    def _mathml_presentation(self, printer: Printer):
        return _applied(printer, "\u03c3", self.args[0])


class tanh(sp.Function):  # noqa: N801 - mathematical name
    """Hyperbolic tangent, differentiated as ``4 sigma(2x) sigma(-2x)``."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return 4 * sigma(2 * x) * sigma(-2 * x)

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return sp.tanh(x).rewrite(sp.exp)

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return sp.tanh(self.args[0])._eval_evalf(prec)

    def _latex(self, printer: Printer) -> str:
        return r"\tanh\left(%s\right)" % printer._print(self.args[0])

    def _numpycode(self, printer: Printer) -> str:
        return "np.tanh(%s)" % printer._print(self.args[0])

    def _mathml_presentation(self, printer: Printer):
        return _applied(printer, "tanh", self.args[0])


class stop(sp.Function):  # noqa: N801 - mathematical name
    """Stop-gradient: the value of its argument, derivative zero (a truncation point of the paper's gradient)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero

    def _latex(self, printer: Printer) -> str:
        return r"\operatorname{sg}\left(%s\right)" % printer._print(self.args[0])

    def _numpycode(self, printer: Printer) -> str:
        return printer._print(self.args[0])

    def _mathml_presentation(self, printer: Printer):
        return _applied(printer, "sg", self.args[0])


class BlockSum(sp.Function):
    """Sum over the cells ``v = 1..S`` of a block (used where a shared gate collects error from its cells)."""

    nargs = 1

    def _latex(self, printer: Printer) -> str:
        return r"\sum_{v=1}^{S}\left(%s\right)" % printer._print(self.args[0])

    def _numpycode(self, printer: Printer) -> str:
        return "_k.block_sum(%s)" % printer._print(self.args[0])

    def _mathml_presentation(self, printer: Printer):
        return _applied(printer, "\u2211", self.args[0])


def _applied(printer: Printer, name: str, arg: sp.Expr):
    """MathML presentation of ``name(arg)`` (used by the report)."""
    row = printer.dom.createElement("mrow")
    mi = printer.dom.createElement("mi")
    mi.appendChild(printer.dom.createTextNode(name))
    row.appendChild(mi)
    fenced = printer.dom.createElement("mrow")
    for part in ("(", None, ")"):
        if part is None:
            fenced.appendChild(printer._print(arg))
        else:
            mo = printer.dom.createElement("mo")
            mo.appendChild(printer.dom.createTextNode(part))
            fenced.appendChild(mo)
    row.appendChild(fenced)
    return row
