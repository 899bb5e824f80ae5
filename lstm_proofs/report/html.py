"""The self-contained HTML report: MathML equations, inline SVG, inline CSS, no external resources."""

from __future__ import annotations

import html
import re
from html.entities import html5
from typing import Any

import sympy as sp
from sympy.printing.mathml import mathml

from lstm_proofs.codegen.markdown import KIND_TITLES, DerivedItem
from lstm_proofs.report.build import KERNEL_OF_KIND, NETWORK_FUNCTIONS, TRAINING_COLUMNS, ReportData, training_rows

CSS = """
body{font-family:Georgia,serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1,h2,h3{font-family:Helvetica,Arial,sans-serif}
table{border-collapse:collapse;margin:0.6rem 0}td,th{border:1px solid #ccc;padding:0.25rem 0.5rem;vertical-align:top}
th{background:#f2f2f2}code,pre{font-family:Menlo,Consolas,monospace;font-size:0.85rem}
pre{background:#f7f7f7;padding:0.6rem;overflow-x:auto;border:1px solid #e3e3e3}
.pass{color:#17692c;font-weight:bold}.fail{color:#b00020;font-weight:bold}.info{color:#555;font-weight:bold}
.label{font-family:Menlo,Consolas,monospace;font-size:0.8rem;color:#555;white-space:nowrap}
math{font-size:1.05rem}details{margin:0.5rem 0}svg{max-width:100%;height:auto}
"""


def _numeric_entities(text: str) -> str:
    """Replace named entities (which XML parsers do not know) by numeric character references."""
    def repl(m: re.Match[str]) -> str:
        name = m.group(1) + ";"
        if name in ("amp;", "lt;", "gt;", "quot;", "apos;"):
            return m.group(0)
        chars = html5.get(name)
        return "".join(f"&#{ord(c)};" for c in chars) if chars else m.group(0)
    return re.sub(r"&([A-Za-z][A-Za-z0-9]*);", repl, text)


def math(expr: sp.Expr) -> str:
    """Inline MathML of a SymPy expression."""
    return _numeric_entities('<math xmlns="http://www.w3.org/1998/Math/MathML">%s</math>'
                             % mathml(expr, printer="presentation"))


def item_math(item: DerivedItem) -> str:
    """MathML of ``lhs = rhs`` (with a partial-derivative fraction on the left for partials)."""
    lhs = mathml(item.lhs, printer="presentation")
    if item.wrt is not None:
        lhs = ("<mfrac><mrow><mo>&#8706;</mo>%s</mrow><mrow><mo>&#8706;</mo>%s</mrow></mfrac>"
               % (lhs, mathml(item.wrt, printer="presentation")))
    rhs = mathml(item.rhs, printer="presentation")
    return _numeric_entities('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mrow>%s<mo>=</mo>%s</mrow></math>'
                             % (lhs, rhs))


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}"
    return html.escape(str(value))


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


def _cell_section(sec) -> str:
    cell = sec.cell
    parts = [f'<h3 id="cell-{cell.name}">Cell <code>{cell.name}</code></h3>',
             f"<p>{html.escape(cell.title)}. Source: {html.escape(cell.source)}. Generated module: "
             f"<code>derivations/{cell.name}.py</code>; derivation: <code>derivations/{cell.name}.md</code>.</p>"]
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
        title = f"{KIND_TITLES[kind]} ({len(items)})"
        if kind in ("B", "L"):
            parts.append(f"<details><summary>{html.escape(title)}</summary>{body}</details>")
        else:
            parts.append(f"<h4>{html.escape(title)}</h4>{body}")
    for fn, what in NETWORK_FUNCTIONS.items():
        if fn in sec.code:
            parts.append(f"<details><summary>Network step <code>{fn}</code>: {html.escape(what)}</summary>"
                         f"<pre>{html.escape(sec.code[fn])}</pre></details>")
    return "\n".join(parts)


def _training_section(data: ReportData) -> str:
    if not data.training:
        return ("<p><em>Not run yet:</em> no training results in <code>results/train/</code>. Run "
                "<code>lstm-proofs train</code> on a table row, then rebuild the report.</p>")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in TRAINING_COLUMNS)
    rows = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in r) + "</tr>" for r in training_rows(data.rows))
    figures = "".join(
        f"<figure>{_inline_svg(svg)}<figcaption>{html.escape(title)}: success with its exact 95% interval against "
        "the paper's rate (left); sequences to success over the paper's mean, log scale (right).</figcaption>"
        "</figure>" for title, svg in data.figures)
    return (f"<p>Statistics over all trials of every row at the paper's reading; how they are computed and the "
            f"verdict rule: <code>docs/statistics.md</code>.</p><table><tr>{head}</tr>{rows}</table>{figures}"
            "<p>Like-for-like figures, provenance and the other readings: <code>docs/results.md</code> "
            "(<code>lstm-proofs results</code>).</p>")


def _inline_svg(svg: str) -> str:
    return re.sub(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", "", svg.strip())


def render_html(data: ReportData) -> str:
    """The whole report as one self-contained HTML document."""
    n_pass = sum(1 for r in data.checks.values() if r.get("passed"))
    claim_rows = []
    for claim, verdict, matched in data.claims:
        figs = "; ".join(f"<code>{html.escape(r['id'])}</code>: {_fmt(r.get('max_rel_error'))}" for r in matched[:6])
        if len(matched) > 6:
            figs += f"; … ({len(matched)} checks)"
        claim_rows.append(f"<tr><td>{html.escape(claim.where)}</td><td>{html.escape(claim.statement)}</td>"
                          f"<td>{html.escape(claim.method)}</td><td>{figs or '–'}</td><td>{verdict_html(verdict)}</td></tr>")
    if data.flow_svg:
        svg = _inline_svg(data.flow_svg)
        flow = f"<figure>{svg}<figcaption>Error flow against lag (from <code>results/flow.json</code>).</figcaption></figure>"
    else:
        flow = "<p><em>Not run yet:</em> run <code>lstm-proofs flow --json results/flow.json --plot results/flow.svg</code>.</p>"
    flow_rows = ""
    if data.flow:
        flow_rows = _check_rows([{"id": m["id"], "passed": m["passed"], "max_rel_error": m.get("figure"),
                                  "tolerance": m.get("tolerance"), "reference": m.get("reference", "")}
                                 for m in data.flow.get("measurements", [])])
    checks = (_check_rows(sorted(data.checks.values(), key=lambda r: r["id"])) if data.checks else
              "<p><em>Not run yet:</em> run <code>lstm-proofs check --json results/checks.json</code>.</p>")
    toc = " · ".join(f'<a href="#cell-{s.cell.name}">{s.cell.name}</a>' for s in data.cells)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><title>lstm-proofs report</title><style>{CSS}</style></head>
<body>
<h1>lstm-proofs: derivation and verification report</h1>
<p>Hochreiter &amp; Schmidhuber, "Long Short-Term Memory", Neural Computation 9(8):1735-1780 (1997), and successors.
Every figure below is read from results files produced by <code>lstm-proofs check</code>, <code>lstm-proofs flow</code>
and <code>lstm-proofs train</code>.</p>
<p>Checks: <b>{n_pass} of {len(data.checks)} passed</b>.</p>
<h2 id="claims">The paper's claims</h2>
<table><tr><th>where</th><th>claim (our words)</th><th>method</th><th>measured</th><th>verdict</th></tr>{''.join(claim_rows)}</table>
<h2 id="flow">Error flow</h2>
{flow}
{flow_rows}
<h2 id="cells">Cells: declarations, derivations, generated code</h2>
<p>{toc}</p>
{''.join(_cell_section(s) for s in data.cells)}
<h2 id="checks">Verification</h2>
{checks}
<h2 id="tasks">Task results next to the paper's tables</h2>
{_training_section(data)}
</body></html>
"""
