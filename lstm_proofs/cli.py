"""The ``lstm-proofs`` command: one sub-command per module in :mod:`lstm_proofs.commands`.

Each command module exposes ``register(subparsers)`` (adds its parser and sets ``func``) and a ``run(args)``
that returns the exit status. User mistakes raise :class:`~lstm_proofs.errors.UserError` and are printed as one
line, with exit status 2 and no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lstm_proofs.errors import UserError

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = ("derive", "check", "flow", "tasks", "sample", "train", "ablate", "replay", "results", "report", "docs",
            "demo")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="lstm-proofs",
        description="Derive, generate, verify and reproduce the 1997 LSTM paper (Hochreiter & Schmidhuber).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"lstm_proofs.commands.{name}")
        except ModuleNotFoundError as exc:  # a command whose module is not part of this build
            if exc.name == f"lstm_proofs.commands.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lstm-proofs`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"lstm-proofs: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lstm-proofs: interrupted; finished results were kept", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (``lstm-proofs ... | head``): stop quietly
        _silence_stdout()
        return 141  # 128 + SIGPIPE, as a shell reports a process killed by it


def _silence_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's flush at exit does not fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured in tests)
        pass
    finally:
        os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
