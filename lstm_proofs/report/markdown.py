"""The Markdown report (``report.md``): LaTeX math that renders on common code hosts, plots beside it."""

from __future__ import annotations

from typing import Any

from lstm_proofs.codegen.markdown import KIND_TITLES, latex
from lstm_proofs.report.model import (KERNEL_OF_KIND, OTHER_COLUMNS, OVERVIEW_COLUMNS, OVERVIEW_TEXT, PAIRED_TEXT,
                                      READINGS_COLUMNS, READINGS_FIGURE, TRAINING_COLUMNS, ReportData, agreeing,
                                      figure_file, figure_text, other_training_rows, overview_rows, reading_rows,
                                      same_outcomes_text, storage_lines, trained_figure_file, training_rows)


def _fmt(value: Any) -> str:
    return figure_text(value).replace("|", "\\|")


def _table(columns: tuple[str, ...], rows: list[tuple[Any, ...]], code_columns: tuple[int, ...] = (0,)) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(f"`{v}`" if i in code_columns else _fmt(v) for i, v in enumerate(r)) + " |"
            for r in rows]
    return out


def _item_latex(item) -> str:
    lhs = latex(item.lhs)
    if item.wrt is not None:
        lhs = r"\frac{\partial %s}{\partial %s}" % (lhs, latex(item.wrt))
    return f"{lhs} = {latex(item.rhs)}"


def render_report_markdown(data: ReportData) -> str:
    """The report as Markdown."""
    n_pass = sum(1 for r in data.checks.values() if r.get("passed"))
    out = ["# lstm-proofs: derivation and verification report", "",
           "Hochreiter & Schmidhuber, \"Long Short-Term Memory\" (1997), and successors. Figures are read from results "
           "files produced by `lstm-proofs check`, `lstm-proofs flow` and `lstm-proofs train`.", "",
           f"Checks: **{n_pass:,} of {len(data.checks):,} passed**.", "", "## The paper's claims", "",
           "| where | claim (our words) | method | measured | verdict |", "|---|---|---|---|---|"]
    for claim, verdict, matched in data.claims:
        figs = "; ".join(f"`{r['id']}`: {_fmt(r.get('max_rel_error'))}" for r in matched[:6])
        out.append(f"| {claim.where} | {claim.statement} | {claim.method} | {figs or '–'} | **{verdict}** |")
    out += ["", "## Error flow", ""]
    out.append("![error flow against lag](flow.svg)" if data.flow_svg else
               "*Not run yet:* run `lstm-proofs flow --json results/flow.json --plot results/flow.svg`.")
    if data.trained_flow is not None:
        from lstm_proofs.flow.text import format_trained

        out += ["", "### In the trained networks", ""]
        out += [f"![error flow in the trained networks of task {task}]({trained_figure_file(task)})"
                for task, _ in data.trained_svgs]
        out += ["", format_trained(data.trained_flow, markdown=True)]
    out += ["", "## Cells", ""]
    for sec in data.cells:
        out += [f"### Cell `{sec.cell.name}`", "", f"{sec.cell.title}. Source: {sec.cell.source}.", "",
                f"Declaration (`lstm_proofs/cells/library.py`; gates: {', '.join(sec.cell.gates) or 'none'}):", "",
                "```", *(line.strip() for line in sec.cell.text.strip().splitlines()), "```", ""]
        for kind in ("F", "BT", "T", "X"):
            items = [i for i in sec.items if i.kind == kind]
            if not items:
                continue
            out += [f"**{KIND_TITLES[kind]}**", ""]
            out += [f"- `{i.label}`: $`{_item_latex(i)}`$" for i in items]
            fn = KERNEL_OF_KIND[kind]
            if fn in sec.code:
                out += ["", f"Generated `{fn}` (implements `{items[0].label}` … `{items[-1].label}`):", "",
                        "```python", sec.code[fn], "```"]
            out.append("")
        out += [f"Full-gradient adjoint and local partials: `derivations/{sec.cell.name}.md`.", ""]
    out += ["## Verification", ""]
    if data.checks:
        out += ["| check | reference | max error / figure | tolerance | verdict |", "|---|---|---|---|---|"]
        for rec in sorted(data.checks.values(), key=lambda r: r["id"]):
            out.append(f"| `{rec['id']}` | {_fmt(rec.get('reference', ''))} | {_fmt(rec.get('max_rel_error'))} | "
                       f"{_fmt(rec.get('tolerance'))} | {'pass' if rec.get('passed') else 'FAIL'} |")
    else:
        out.append("*Not run yet:* run `lstm-proofs check --json results/checks.json`.")
    out += ["", "## Task results", ""]
    if data.training:
        out += ["Statistics over all trials of every row at the paper's reading (method and verdict rule: "
                "`docs/statistics.md`); the reading column names any departure from the paper's conditions.", ""]
        out += _table(TRAINING_COLUMNS, training_rows(data.rows))
        if data.others:
            out += ["", "Other readings (each run labelled by its reading; shown, not judged):", ""]
            out += _table(OTHER_COLUMNS, other_training_rows(data.others), code_columns=(0, 2))
        for i, (title, _) in enumerate(data.figures, 1):
            out += ["", f"![{title}]({figure_file(i)})"]
    else:
        out.append("*Not run yet:* no training results in `results/train/`.")
    if data.readings:
        out += ["", "### Readings of the paper", "",
                "Rows run by `lstm-proofs ablate` under our default reading and under each documented alternative "
                "reading and contrast, one change at a time (`docs/readings.md` has the diagnostics).", ""]
        overview = overview_rows(data.readings)
        if overview:
            out += [OVERVIEW_TEXT, "", *_table(OVERVIEW_COLUMNS, overview), "", PAIRED_TEXT, ""]
        for row, runs in data.readings.items():
            agree = agreeing(runs)
            out += [f"**`{row}`**: agrees with the paper under "
                    + (", ".join(f"`{a}`" for a in agree) if agree else "no reading tried") + ".", ""]
            out += _table(READINGS_COLUMNS, reading_rows(runs))
            out.append("")
            same = same_outcomes_text(runs)
            if same:
                out += [same, ""]
            if row in data.storage:
                out += [*storage_lines(data.storage[row]), ""]
        if data.readings_svg:
            out += [f"![internal states during training]({READINGS_FIGURE})", ""]
    return "\n".join(out) + "\n"
