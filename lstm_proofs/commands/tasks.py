"""``lstm-proofs tasks``: list the task generators of the paper's experiments, their sizes and default options."""

from __future__ import annotations

import argparse
from typing import Any

from lstm_proofs.commands.outputs import force_flag, json_with, output_file


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tasks`` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser(
        "tasks", help="list the experiments' task generators (Section 5) with their options",
        description="Print one line per task of the paper's experiments: name, aliases, experiment, the paper's "
                    "table, input/output units, default options and a description. Options marked * are "
                    "readings of points the paper leaves open (see docs/decisions.md).")
    p.add_argument("--json", metavar="PATH", help="also write every task's description and options to this JSON file")
    force_flag(p)
    p.set_defaults(func=run)


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_table(summaries: list[dict[str, Any]]) -> str:
    """The aligned text table of task summaries (from :meth:`Task.summary`)."""
    header = ("task", "aliases", "experiment", "paper", "in/out", "default options", "description")
    rows = []
    for s in summaries:
        opts = " ".join(f"{o['name']}={_format_value(o['default'])}{'*' if o['unconfirmed'] else ''}"
                        for o in s["options"]) or "-"
        rows.append((s["name"], ",".join(s["aliases"]), s["experiment"], s["tables"], s["io"], opts,
                     s["description"]))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    return "\n".join([fmt.format(*header), *(fmt.format(*r) for r in rows)])


def run(args: argparse.Namespace) -> int:
    """Print the table; write the JSON if asked."""
    from lstm_proofs.errors import UserError
    from lstm_proofs.results import write_json_atomic
    from lstm_proofs.tasks import TASKS

    json_path = (output_file("--json", args.json, owned=json_with("tasks"),
                             what="a task list written by lstm-proofs tasks", force=args.force)
                 if args.json is not None else None)
    summaries = [t.summary() for t in TASKS.values()]
    if json_path is not None:
        try:
            write_json_atomic(json_path, {"tasks": summaries})
        except OSError as exc:
            raise UserError(f"cannot write {exc.filename or args.json}: {exc.strerror or exc}") from None
    print(format_table(summaries))
    print("* a reading of a point the paper leaves open (UNCONFIRMED in the spec); see docs/decisions.md"
          + (f"; wrote {args.json}" if args.json else ""))
    return 0
