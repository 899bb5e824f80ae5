"""``lstm-proofs docs``: refresh the tables in ``docs/`` that quote results files (or, with --check, fail if stale).

A generated block sits between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` markers. Blocks and their sources:

* ``docs/flow.md``, ``flow-table``: ``results/flow.json`` (written by ``lstm-proofs flow --json``);
* ``docs/flow.md``, ``flow-trained``: ``results/flow_trained.json`` (written by ``lstm-proofs flow --trained ...
  --json``);
* ``docs/verification.md``, ``checks-table``: ``results/checks.json`` (written by ``lstm-proofs check --json``).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lstm_proofs.errors import UserError

REPO = Path(__file__).resolve().parents[2]


def _num(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return "0" if x == 0 else f"{x:.3g}"


def checks_markdown(payload: dict[str, Any]) -> str:
    """The verification table: one row per check of a ``lstm-proofs check --json`` document."""
    lines = ["| check | reference | figure | tolerance | verdict |", "|---|---|---|---|---|"]
    for c in payload["checks"]:
        verdict = "pass" if c["passed"] else "FAIL"
        if c.get("details", {}).get("informational"):
            verdict += " (information)"
        lines.append(f"| `{c['id']}` | {c.get('reference') or '-'} | {_num(c.get('max_rel_error'))} | "
                     f"{_num(c.get('tolerance'))} | {verdict} |")
    lines += ["", f"{sum(c['passed'] for c in payload['checks'])} of {len(payload['checks'])} checks passed "
                  f"({payload.get('elapsed_s', '-')} s, lstm-proofs {payload.get('version', '-')})."]
    return "\n".join(lines)


def _flow_markdown(payload: dict[str, Any]) -> str:
    from lstm_proofs.flow.text import format_markdown
    return format_markdown(payload)


def _trained_markdown(payload: dict[str, Any]) -> str:
    from lstm_proofs.flow.text import format_trained
    return format_trained(payload, markdown=True)


#: (document, block name, results file, renderer)
BLOCKS: tuple[tuple[str, str, str, Callable[[dict[str, Any]], str]], ...] = (
    ("docs/flow.md", "flow-table", "results/flow.json", _flow_markdown),
    ("docs/flow.md", "flow-trained", "results/flow_trained.json", _trained_markdown),
    ("docs/verification.md", "checks-table", "results/checks.json", checks_markdown),
)


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with the block ``name`` replaced by ``content``."""
    begin, end = f"<!-- {name}:begin -->\n", f"<!-- {name}:end -->"
    if begin not in text or end not in text:
        raise UserError(f"no '{name}' block markers in the document")
    head, rest = text.split(begin, 1)
    return head + begin + content.rstrip("\n") + "\n" + end + rest.split(end, 1)[1]


def render_docs(root: Path = REPO) -> dict[Path, str]:
    """The documents with every generated block refreshed from its results file."""
    out: dict[Path, str] = {}
    for doc, name, source, render in BLOCKS:
        path, src = root / doc, root / source
        try:
            payload = json.loads(src.read_text())
        except FileNotFoundError:
            raise UserError(f"{source} not found: run the command that writes it (see {doc})") from None
        except json.JSONDecodeError as exc:
            raise UserError(f"{source} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
        text = out.get(path, path.read_text())
        out[path] = replace_block(text, name, render(payload))
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("docs", help="refresh the tables in docs/ from the results files",
                       description="Rewrite the generated tables in docs/ (flow, verification) from results/*.json. "
                                   "With --check, write nothing and fail (exit 1, with a diff) if a table is stale.")
    p.add_argument("--check", action="store_true", help="fail with a diff if a table is stale")
    p.add_argument("--root", default=str(REPO), metavar="DIR", help="source checkout (default: this one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root = Path(args.root)
    if not (root / "docs").is_dir():
        raise UserError(f"no docs/ directory in {root}")
    docs = render_docs(root)
    stale = {p: t for p, t in docs.items() if p.read_text() != t}
    if args.check:
        for path, text in stale.items():
            sys.stdout.writelines(difflib.unified_diff(path.read_text().splitlines(True), text.splitlines(True),
                                                       f"checked-in/{path.name}", f"regenerated/{path.name}"))
        if stale:
            print(f"lstm-proofs: docs --check: stale: {', '.join(p.name for p in stale)}; run 'lstm-proofs docs'",
                  file=sys.stderr)
            return 1
        print(f"docs --check: {len(docs)} documents up to date")
        return 0
    for path, text in stale.items():
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    print(f"refreshed {len(stale)} of {len(docs)} documents")
    return 0
