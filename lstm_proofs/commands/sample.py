"""``lstm-proofs sample``: draw sequences of one task and save them as a NumPy ``.npz`` file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from lstm_proofs.commands.arguments import int_arg
from lstm_proofs.commands.outputs import force_flag, npz_with, output_file
from lstm_proofs.errors import UserError
from lstm_proofs.results import atomic_file

#: Largest number of sequences one ``sample`` call writes.
MAX_N = 1_000_000
#: Largest estimated size of the padded arrays (bytes) ``sample`` agrees to build.
MAX_BYTES = 2_000_000_000


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sample`` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser(
        "sample", help="draw sequences of a task and save them to an .npz file",
        description="Generate N sequences of TASK (a name or alias from 'lstm-proofs tasks') with the given seed "
                    "and write xs, targets, mask, lengths, the per-sequence info arrays (info_<key>) and a JSON "
                    "string 'meta' (task, options, seed, n) to FILE.npz.")
    p.add_argument("task", metavar="TASK", help="task name or alias, e.g. 4 or adding")
    p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                   help="task option (repeatable), typed like its default, e.g. --opt T=1000")
    p.add_argument("--n", required=True, metavar="N", help=f"number of sequences (1 ... {MAX_N})")
    p.add_argument("--seed", default="0", metavar="S", help="seed of the generator (default 0)")
    p.add_argument("--out", required=True, metavar="FILE.npz", help="output file (directories are created)")
    force_flag(p)
    p.set_defaults(func=run)



def sample_arrays(task_name: str, options: dict[str, Any], n: int, seed: int) -> dict[str, np.ndarray]:
    """The arrays ``sample`` writes: a batch of the task and its description.

    Args:
        task_name: task name or alias.
        options: validated task options.
        n: number of sequences.
        seed: seed of ``np.random.default_rng``.

    Returns:
        ``xs``, ``targets``, ``mask``, ``lengths``, ``info_<key>`` for every info array and ``meta`` (a JSON string).
    """
    from lstm_proofs.tasks import get_task

    task = get_task(task_name)
    batch = task.generate(np.random.default_rng(seed), n, **options)
    arrays = {"xs": batch.xs, "targets": batch.targets, "mask": batch.mask, "lengths": batch.lengths}
    arrays.update({f"info_{k}": v for k, v in batch.info.items()})
    meta = {"task": task.name, "options": options, "seed": seed, "n": n,
            "n_inputs": task.n_inputs(**options), "n_outputs": task.n_outputs(**options)}
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def run(args: argparse.Namespace) -> int:
    """Validate everything, generate, write the file atomically and print one summary line."""
    from lstm_proofs.tasks import get_task

    task = get_task(args.task)
    options = task.parse_options(args.opt)
    n = int_arg("--n", args.n, 1, MAX_N)
    seed = int_arg("--seed", args.seed, 0, 2**63 - 1)
    if Path(args.out).suffix != ".npz":
        raise UserError(f"--out must name a .npz file, got {args.out!r}")
    out = output_file("--out", args.out, owned=npz_with("meta", "xs"), what="a sample written by lstm-proofs sample",
                      force=args.force)
    size = 8 * n * task.max_steps(**options) * (task.n_inputs(**options) + 2 * task.n_outputs(**options))
    if size > MAX_BYTES:
        raise UserError(f"{n} sequences of task {task.name} with these options need about {size / 1e9:.1f} GB; "
                        f"ask for fewer (at most {MAX_BYTES / 1e9:.0f} GB)")
    arrays = sample_arrays(task.name, options, n, seed)
    try:
        with atomic_file(out, binary=True) as fh:
            np.savez_compressed(fh, **arrays)
    except OSError as exc:
        raise UserError(f"cannot write {exc.filename or args.out}: {exc.strerror or exc}") from None
    lengths = arrays["lengths"]
    print(f"wrote {out}: {n} sequences of task {task.name} ({task.title}), lengths {lengths.min()}-{lengths.max()}, "
          f"{arrays['xs'].shape[2]} inputs, {arrays['targets'].shape[2]} outputs, seed {seed}")
    return 0
