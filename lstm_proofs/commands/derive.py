"""``lstm-proofs derive``: derive every declared cell and (re)generate ``derivations/``."""

from __future__ import annotations

import argparse
import sys
import time

from lstm_proofs.cells import CELLS
from lstm_proofs.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("derive", help="derive the cells with SymPy and regenerate the NumPy kernels",
                       description="Derive every declared cell symbolically and write derivations/<cell>.py and "
                                   "derivations/<cell>.md (and the compiled backend, derivations/numba_<cell>.py). With --check, write nothing and fail (exit 1, with a "
                                   "unified diff) if the checked-in files are stale.")
    p.add_argument("--check", action="store_true", help="fail with a diff if the checked-in files are stale")
    p.add_argument("--cell", action="append", choices=list(CELLS), help="only this cell (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lstm_proofs.codegen import files as gen

    directory = gen.DERIVATIONS_DIR
    if not directory.is_dir():
        raise UserError(f"derivations directory not found at {directory} (derive needs a source checkout)")
    start = time.perf_counter()
    files = gen.render_all(args.cell)
    elapsed = time.perf_counter() - start
    if args.check:
        diffs = gen.stale_files(files, directory)
        if diffs:
            for text in diffs.values():
                sys.stdout.write(text)
            print(f"lstm-proofs: derive --check: {len(diffs)} generated file(s) stale: {', '.join(diffs)}; "
                  "run 'lstm-proofs derive'", file=sys.stderr)
            return 1
        print(f"derive --check: {len(files)} generated files up to date ({elapsed:.1f} s to derive and generate)")
        return 0
    written = gen.write_files(files, directory)
    print(f"derived and generated {len(files)} files for {len(args.cell or CELLS)} cells in {elapsed:.1f} s; "
          f"{len(written)} changed")
    return 0
