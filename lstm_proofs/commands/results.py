"""``lstm-proofs results``: regenerate docs/results.md from the training results files."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from lstm_proofs.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``results`` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser(
        "results", help="regenerate docs/results.md: every table row, the paper's figures next to measured ones",
        description="Read the results files of 'lstm-proofs train' and write a Markdown page listing every row of "
                    "the paper's Tables 1-9 with the printed figures next to statistics over all trials (exact "
                    "success intervals, Kaplan-Meier medians of sequences to success, restricted means), a verdict, "
                    "like-for-like comparisons and each row's commit; rows without results are marked 'not run'. "
                    "A file that cannot be read is named and the command fails.")
    p.add_argument("--dir", default="results/train", metavar="DIR", help="results files (default results/train)")
    p.add_argument("--out", default="docs/results.md", metavar="PATH", help="output (default docs/results.md)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 with a diff if PATH differs from what the results files give")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the page; 0 on success."""
    from lstm_proofs.training.presets import PRESETS
    from lstm_proofs.training.results import generate_markdown, load_runs

    root = Path(args.dir)
    if not root.is_dir():
        raise UserError(f"no results directory {root}")
    runs = load_runs(root)
    text = generate_markdown(runs)
    out = Path(args.out)
    if args.check:
        return _check(out, text)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    rows_run = len({r["row"] for r in runs} & {p.row for p in PRESETS})
    print(f"wrote {out}: {len(PRESETS)} rows, {rows_run} with results ({len(runs)} results files in {root})")
    return 0


def _check(out: Path, text: str) -> int:
    """0 if ``out`` holds ``text``; else print a diff (at most 60 lines) and return 1."""
    import difflib

    try:
        old = out.read_text(encoding="utf-8")
    except FileNotFoundError:
        print(f"{out} is missing; run 'lstm-proofs results' to write it", file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {out}: {exc}") from None
    if old == text:
        print(f"{out} is up to date with the results files")
        return 0
    diff = list(difflib.unified_diff(old.splitlines(), text.splitlines(), f"{out} (checked in)",
                                     f"{out} (from the results files)", lineterm="", n=0))
    print(f"{out} is stale; run 'lstm-proofs results' to regenerate it:", file=sys.stderr)
    print("\n".join(diff[:60]) + (f"\n... {len(diff) - 60} more diff lines" if len(diff) > 60 else ""),
          file=sys.stderr)
    return 1
