"""The self-contained HTML report: MathML equations, inline SVG, inline CSS, no external resources."""

from __future__ import annotations

import html
import re
from html.entities import html5
from typing import Any
from xml.dom.minidom import Element

import sympy as sp
from sympy.printing.conventions import split_super_sub
from sympy.printing.mathml import MathMLPresentationPrinter, greek_unicode

from lstm_proofs.codegen.markdown import KIND_TITLES, DerivedItem
from lstm_proofs.report.model import (KERNEL_OF_KIND, NETWORK_FUNCTIONS, OTHER_COLUMNS, OVERVIEW_COLUMNS,
                                      OVERVIEW_TEXT, PAIRED_TEXT, READINGS_COLUMNS, STORAGE_COLUMNS, TRAINING_COLUMNS,
                                      ReportData, agreeing, figure_text, other_training_rows, overview_rows,
                                      reading_rows, same_outcomes_text, training_rows)
from lstm_proofs.training.diagnosis import SATURATION, saturation_point
from lstm_proofs.training.results import fmt_count

#: Width of the page's text column in CSS px; the figures (``FIGURE_WIDTH_INCHES`` of :mod:`lstm_proofs.flow.plot`,
#: 1,008 px) are narrower, so they are shown at their natural size, where their smallest text is 11 px high.
COLUMN_PX = 1120

CSS = f"""
body{{font-family:Georgia,serif;max-width:{COLUMN_PX}px;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}}
h1,h2,h3{{font-family:Helvetica,Arial,sans-serif}}
table{{border-collapse:collapse;margin:0.6rem 0}}
td,th{{border:1px solid #ccc;padding:0.25rem 0.5rem;vertical-align:top}}
th{{background:#f2f2f2}}code,pre{{font-family:Menlo,Consolas,monospace;font-size:0.85rem}}
code.row,.value{{white-space:nowrap}}table.results{{font-size:0.9rem}}
pre{{background:#f7f7f7;padding:0.6rem;border:1px solid #e3e3e3;white-space:pre-wrap;overflow-wrap:anywhere;
overflow-x:auto}}
.pass{{color:#17692c;font-weight:bold}}.fail{{color:#b00020;font-weight:bold}}.info{{color:#555;font-weight:bold}}
.label{{font-family:Menlo,Consolas,monospace;font-size:0.8rem;color:#555;white-space:nowrap}}
math{{font-size:1.05rem}}details{{margin:0.5rem 0}}figure{{margin:1rem 0}}svg{{max-width:100%;height:auto}}
nav.contents{{background:#f7f7f7;border:1px solid #e3e3e3;padding:0.4rem 1rem}}nav.contents ol{{margin:0.3rem 0}}
nav.contents li li{{display:inline-block;margin-right:0.8rem}}nav.contents li ol{{padding-left:1rem}}
"""

#: The report's sections: anchor and heading, in page order (the table of contents links to each).
SECTIONS = (
    ("claims", "The paper's claims"),
    ("flow", "Error flow"),
    ("cells", "Cells: declarations, derivations, generated code"),
    ("checks", "Verification"),
    ("tasks", "Task results next to the paper's tables"),
)


def _numeric_entities(text: str) -> str:
    """Replace named entities (which XML parsers do not know) by numeric character references."""
    def repl(m: re.Match[str]) -> str:
        name = m.group(1) + ";"
        if name in ("amp;", "lt;", "gt;", "quot;", "apos;"):
            return m.group(0)
        chars = html5.get(name)
        return "".join(f"&#{ord(c)};" for c in chars) if chars else m.group(0)
    return re.sub(r"&([A-Za-z][A-Za-z0-9]*);", repl, text)


class NestedSubscriptPrinter(MathMLPresentationPrinter):
    """SymPy's presentation MathML, with each further subscript of a symbol's name nested in the one before.

    SymPy prints ``a_y_c`` as ``a`` with the row ``y c`` below it; the project's names mean ``a`` sub ``y_c``
    (the error at ``y_c``), so they are printed as ``<msub><mi>a</mi><msub><mi>y</mi><mi>c</mi></msub></msub>``.
    """

    def _mi(self, text: str) -> Element:
        mi = self.dom.createElement("mi")
        mi.appendChild(self.dom.createTextNode(greek_unicode.get(text, text)))
        return mi

    def _print_Symbol(self, sym: sp.Symbol, style: str = "plain") -> Element:
        name, supers, subs = split_super_sub(sym.name)
        if len(subs) < 2:
            return super()._print_Symbol(sym, style)
        sub = self._mi(subs[-1])
        for part in reversed(subs[:-1]):
            nested = self.dom.createElement("msub")
            nested.appendChild(self._mi(part))
            nested.appendChild(sub)
            sub = nested
        x = self.dom.createElement("msubsup" if supers else "msub")
        x.appendChild(self._mi(name))
        x.appendChild(sub)
        if supers:
            sup = self.dom.createElement("mrow")
            for i, part in enumerate(supers):
                if i:
                    space = self.dom.createElement("mo")
                    space.appendChild(self.dom.createTextNode(" "))
                    sup.appendChild(space)
                sup.appendChild(self._mi(part))
            x.appendChild(sup)
        if style == "bold":
            x.setAttribute("mathvariant", "bold")
        return x


def presentation_mathml(expr: sp.Basic) -> str:
    """Presentation MathML of a SymPy expression (the content of a ``<math>`` element), nested subscripts nested."""
    return NestedSubscriptPrinter().doprint(expr)


def math(expr: sp.Expr) -> str:
    """Inline MathML of a SymPy expression."""
    return _numeric_entities('<math xmlns="http://www.w3.org/1998/Math/MathML">%s</math>' % presentation_mathml(expr))


def item_math(item: DerivedItem) -> str:
    """MathML of ``lhs = rhs`` (with a partial-derivative fraction on the left for partials)."""
    lhs = presentation_mathml(item.lhs)
    if item.wrt is not None:
        lhs = ("<mfrac><mrow><mo>&#8706;</mo>%s</mrow><mrow><mo>&#8706;</mo>%s</mrow></mfrac>"
               % (lhs, presentation_mathml(item.wrt)))
    rhs = presentation_mathml(item.rhs)
    return _numeric_entities('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mrow>%s<mo>=</mo>%s</mrow></math>'
                             % (lhs, rhs))


def _fmt(value: Any) -> str:
    """A table figure (:func:`~lstm_proofs.report.model.figure_text`), HTML-escaped."""
    return html.escape(figure_text(value))


def verdict_html(verdict: str) -> str:
    cls = {"holds": "pass", "pass": "pass", "fails": "fail", "FAIL": "fail"}.get(verdict, "info")  # inconclusive: info
    return f'<span class="{cls}">{html.escape(verdict)}</span>'


def _check_rows(checks: list[dict[str, Any]]) -> str:
    rows = []
    for rec in checks:
        v = "pass" if rec.get("passed") else "FAIL"
        rows.append(f"<tr><td><code>{html.escape(rec['id'])}</code></td><td>{html.escape(str(rec.get('reference', '')))}</td>"
                    f"<td>{_fmt(rec.get('max_rel_error'))}</td><td>{_fmt(rec.get('tolerance'))}</td>"
                    f"<td>{verdict_html(v)}</td></tr>")
    return ("<table><tr><th>check</th><th>reference</th><th>max error / figure</th><th>tolerance</th><th>verdict</th></tr>"
            + "".join(rows) + "</table>")


def _cell_section(sec, open_: bool = False) -> str:
    """One cell: its declaration as written, then its derivation and generated code in a collapsible block (open
    for ``open_``; with every cell open the page grows too tall to read or render as one screenshot)."""
    cell = sec.cell
    declaration = "\n".join(line.strip() for line in cell.text.strip().splitlines())
    opened = ' open="open"' if open_ else ""
    parts = [f'<h3 id="cell-{cell.name}">Cell <code>{cell.name}</code></h3>',
             f"<p>{html.escape(cell.title)}. Source: {html.escape(cell.source)}. Generated module: "
             f"<code>derivations/{cell.name}.py</code>; derivation: <code>derivations/{cell.name}.md</code>.</p>",
             f"<p>Declaration (<code>lstm_proofs/cells/library.py</code>; gates: "
             f"{html.escape(', '.join(cell.gates) or 'none')}):</p><pre>{html.escape(declaration)}</pre>",
             f'<details class="derivation"{opened}><summary>Derivation and generated code of '
             f"<code>{cell.name}</code></summary>"]
    for kind in ("F", "BT", "T", "X", "B", "L"):
        items = [i for i in sec.items if i.kind == kind]
        if not items:
            continue
        rows = "".join(f'<tr><td class="label">{html.escape(i.label)}</td><td>{item_math(i)}</td></tr>' for i in items)
        body = f"<table>{rows}</table>"
        fn = KERNEL_OF_KIND.get(kind)
        if fn and fn in sec.code:
            body += (f"<p>Generated code implementing <span class=\"label\">{html.escape(items[0].label)}</span> … "
                     f"<span class=\"label\">{html.escape(items[-1].label)}</span>:</p><pre>{html.escape(sec.code[fn])}</pre>")
        title = f"{KIND_TITLES[kind]} ({fmt_count(len(items))})"
        if kind in ("B", "L"):
            parts.append(f"<details><summary>{html.escape(title)}</summary>{body}</details>")
        else:
            parts.append(f"<h4>{html.escape(title)}</h4>{body}")
    for fn, what in NETWORK_FUNCTIONS.items():
        if fn in sec.code:
            parts.append(f"<details><summary>Network step <code>{fn}</code>: {html.escape(what)}</summary>"
                         f"<pre>{html.escape(sec.code[fn])}</pre></details>")
    parts.append("</details>")
    return "\n".join(parts)


def _table(columns: tuple[str, ...], rows: list[tuple[Any, ...]], code_columns: tuple[int, ...] = (0,)) -> str:
    """A table of task results; the cells of ``code_columns`` as code, the first column's (a row id) on one line."""
    def cell(i: int, v: Any) -> str:
        if i not in code_columns:  # a censored figure stays on one line with its mark
            return f"<td>{_fmt(v).replace('≥ ', '≥&#160;')}</td>"
        attr = ' class="row"' if i == 0 else ""
        return f"<td><code{attr}>{_fmt(v)}</code></td>"

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f'<table class="results"><tr>{head}</tr>{body}</table>'


def _training_section(data: ReportData) -> tuple[str, list[tuple[str, str]]]:
    """The task-results section and its entries of the table of contents (anchor, title)."""
    toc: list[tuple[str, str]] = []
    parts: list[str] = []
    if data.training:
        toc, parts = _paper_rows_section(data)
    else:
        parts.append("<p><em>Not run yet:</em> no training results in <code>results/train/</code>. Run "
                     "<code>lstm-proofs train</code> on a table row, then rebuild the report.</p>")
    if data.readings:
        toc.append(("tasks-readings", "Readings of the paper"))
        parts += _readings_section(data)
    return "\n".join(parts), toc


def _paper_rows_section(data: ReportData) -> tuple[list[tuple[str, str]], list[str]]:
    """The rows at the paper's reading, the other runs and the study figures: (table-of-contents entries, parts)."""
    toc = [("tasks-paper", "Rows at the paper's reading")]
    parts = ['<h3 id="tasks-paper">Rows at the paper\'s reading</h3>',
             "<p>Statistics over all trials of every row at the paper's reading; how they are computed and the verdict "
             "rule: <code>docs/statistics.md</code>. The reading column names any departure of a row's run from the "
             "paper's conditions (here only a sequence cap other than the row's, <code>cap=…</code>; "
             "<code>paper</code>: none).</p>",
             _table(TRAINING_COLUMNS, training_rows(data.rows))]
    if data.others:
        toc.append(("tasks-other", "Other readings"))
        parts += ['<h3 id="tasks-other">Other readings</h3>',
                  "<p>Runs under another reading of the paper, each labelled by it (the task options, update timing, "
                  "construction, ST3 error or sequence cap that differ from the row's), and further runs of a row at "
                  "its reading. Shown, not judged: the claims above use the rows at the paper's reading.</p>",
                  _table(OTHER_COLUMNS, other_training_rows(data.others), code_columns=(0, 2))]
    if data.figures:
        toc.append(("tasks-figures", "Figures"))
        parts.append('<h3 id="tasks-figures">Figures</h3>')
        parts += [f'<figure id="figure-{i}">{_inline_svg(svg, f"figure-{i}-")}<figcaption>{html.escape(title)}: '
                  "success with its exact 95% interval against the paper's rate (left); sequences to success over the "
                  "paper's mean, log scale (right).</figcaption></figure>"
                  for i, (title, svg) in enumerate(data.figures, 1)]
    parts.append("<p>Like-for-like figures, provenance and the other readings: <code>docs/results.md</code> "
                 "(<code>lstm-proofs results</code>).</p>")
    return toc, parts


def _readings_section(data: ReportData) -> list[str]:
    """The readings of ``lstm-proofs ablate``: a table per row and the figure of internal states."""
    parts = ['<h3 id="tasks-readings">Readings of the paper</h3>',
             "<p>Rows run by <code>lstm-proofs ablate</code> under our default reading and under each documented "
             "alternative reading of the paper and each contrast (not the paper's method: full gradient, "
             "forget gate, other squashing ranges), one change at a time, with the same seeds. Diagnostics: "
             "<code>docs/readings.md</code>.</p>"]
    overview = overview_rows(data.readings)
    if overview:
        parts += [f"<p>{_inline_markup(OVERVIEW_TEXT)}</p>",
                  _table(OVERVIEW_COLUMNS, [tuple(c.replace("`", "") for c in r) for r in overview]),
                  f"<p>{_inline_markup(PAIRED_TEXT)}</p>"]
    for row, runs in data.readings.items():
        agree = agreeing(runs)
        parts += [f"<p><code>{html.escape(row)}</code> agrees with the paper under "
                  + (", ".join(f"<code>{html.escape(a)}</code>" for a in agree) if agree
                     else "no reading tried") + ".</p>",
                  _table(READINGS_COLUMNS, reading_rows(runs))]
        same = same_outcomes_text(runs)
        if same:
            parts.append(f"<p>{_inline_markup(same)}</p>")
        if row in data.storage:
            view = data.storage[row]
            parts += [f"<p>{_inline_markup(p)}</p>" for p in view.paragraphs]
            parts += [_table(STORAGE_COLUMNS, view.rows), f"<p>{_inline_markup(view.failures)}</p>"]
    if data.readings_svg:
        parts.append(f'<figure id="readings-states">{_inline_svg(data.readings_svg, "readings-")}<figcaption>'
                     "The largest internal state |s| over a trial's memory cells on its probe sequences during "
                     "training, default reading: solved trials blue, unsolved red; beyond the dotted line the "
                     f"slope of the row's h is below {SATURATION:.0%} of its slope at 0 (|s| = "
                     f"{saturation_point('lstm1997'):.1f} for h = 2 sigma - 1; no line where h is the identity), so "
                     "little error flows back through the cell output (Section 4's internal state drift)."
                     "</figcaption></figure>")
    return parts


def _inline_markup(text: str) -> str:
    """A paragraph of the generated docs' plain Markdown (``code`` and *emphasis* only) as escaped HTML."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*([^*\s][^*]*)\*", r"<em>\1</em>", out)


def _inline_svg(svg: str, prefix: str) -> str:
    """An SVG document as an element of the page, its ids (and the references to them) prefixed with ``prefix`` so
    that several figures on one page share no id."""
    body = re.sub(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", "", svg.strip())
    ids = set(re.findall(r'\bid="([^"]+)"', body))
    body = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', body)
    body = re.sub(r'((?:xlink:)?href)="#([^"]+)"',
                  lambda m: f'{m.group(1)}="#{prefix}{m.group(2)}"' if m.group(2) in ids else m.group(0), body)
    return re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})" if m.group(1) in ids else m.group(0),
                  body)


def _contents(entries: list[tuple[str, str, list[tuple[str, str]]]]) -> str:
    """The table of contents: a numbered list of (anchor, title, sub-entries)."""
    items = []
    for anchor, title, subs in entries:
        sub = ("<ol>" + "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in subs) + "</ol>"
               if subs else "")
        items.append(f'<li><a href="#{anchor}">{html.escape(title)}</a>{sub}</li>')
    return f'<nav class="contents" id="contents" aria-label="Contents"><b>Contents</b><ol>{"".join(items)}</ol></nav>'


def render_html(data: ReportData) -> str:
    """The whole report as one self-contained HTML document."""
    n_pass = sum(1 for r in data.checks.values() if r.get("passed"))
    claim_rows = []
    for claim, verdict, matched in data.claims:
        figs = "; ".join(f'<code>{html.escape(r["id"])}</code>: '
                         f'<span class="value">{_fmt(r.get("max_rel_error"))}</span>' for r in matched[:6])
        if len(matched) > 6:
            figs += f"; … ({fmt_count(len(matched))} checks)"
        claim_rows.append(f"<tr><td>{html.escape(claim.where)}</td><td>{html.escape(claim.statement)}</td>"
                          f"<td>{html.escape(claim.method)}</td><td>{figs or '–'}</td><td>{verdict_html(verdict)}</td></tr>")
    if data.flow_svg:
        flow = (f'<figure id="flow-figure">{_inline_svg(data.flow_svg, "flow-")}<figcaption>Error flow against lag '
                "(from <code>results/flow.json</code>).</figcaption></figure>")
    else:
        flow = "<p><em>Not run yet:</em> run <code>lstm-proofs flow --json results/flow.json --plot results/flow.svg</code>.</p>"
    if data.trained_flow is not None:
        from lstm_proofs.flow.text import format_trained

        figs = "".join(f'<figure id="flow-trained-{html.escape(task)}">{_inline_svg(svg, f"flow-trained-{task}-")}'
                       f"<figcaption>Error flow in the trained networks of task {html.escape(task)} (from "
                       "<code>results/flow_trained.json</code>; docs/flow.md, 'Trained networks').</figcaption>"
                       "</figure>" for task, svg in data.trained_svgs)
        verdicts = "".join(f"<p>Verdict for task {html.escape(v['task'])}: <strong>{html.escape(v['verdict'])}"
                           f"</strong> ({html.escape(v['reason'])}).</p>" for v in data.trained_flow["verdicts"])
        rule = data.trained_flow["verdicts"][0]["rule"] if data.trained_flow["verdicts"] else ""
        flow += ("<h3>In the trained networks</h3>" + figs + verdicts + f"<p>Rule: {html.escape(rule)}.</p>"
                 f"<pre>{html.escape(format_trained(data.trained_flow, markdown=True))}</pre>")
    flow_rows = ""
    if data.flow:
        flow_rows = _check_rows([{"id": m["id"], "passed": m["passed"], "max_rel_error": m.get("figure"),
                                  "tolerance": m.get("tolerance"), "reference": m.get("reference", "")}
                                 for m in data.flow.get("measurements", [])])
    checks = (_check_rows(sorted(data.checks.values(), key=lambda r: r["id"])) if data.checks else
              "<p><em>Not run yet:</em> run <code>lstm-proofs check --json results/checks.json</code>.</p>")
    training, training_toc = _training_section(data)
    subsections = {"cells": [(f"cell-{s.cell.name}", s.cell.name) for s in data.cells], "tasks": training_toc}
    contents = _contents([(anchor, title, subsections.get(anchor, [])) for anchor, title in SECTIONS])
    body = {
        "claims": "<table><tr><th>where</th><th>claim (our words)</th><th>method</th><th>measured</th><th>verdict</th>"
                  f"</tr>{''.join(claim_rows)}</table>",
        "flow": f"{flow}\n{flow_rows}",
        "cells": "\n".join(_cell_section(s, open_=i == 0) for i, s in enumerate(data.cells)),
        "checks": checks,
        "tasks": training,
    }
    sections = "\n".join(f'<h2 id="{anchor}">{html.escape(title)}</h2>\n{body[anchor]}' for anchor, title in SECTIONS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><title>lstm-proofs report</title><style>{CSS}</style></head>
<body>
<h1>lstm-proofs: derivation and verification report</h1>
<p>Hochreiter &amp; Schmidhuber, "Long Short-Term Memory", Neural Computation 9(8):1735-1780 (1997), and successors.
Every figure below is read from results files produced by <code>lstm-proofs check</code>, <code>lstm-proofs flow</code>
and <code>lstm-proofs train</code>.</p>
<p>Checks: <b>{fmt_count(n_pass)} of {fmt_count(len(data.checks))} passed</b>.</p>
{contents}
{sections}
</body></html>
"""
