"""The compiled kernels of this tree against those of an earlier commit, measured in one run.

Issue 18 moved the network loops out of the generated files into loops written once (``lstm_proofs/kernels``),
with a target: the benchmark figures stay within 10% of the per-cell loops they replaced. This measures both in
the same run on the same machine: the earlier commit's tree (``git archive``, :data:`BASELINE` by default) and this
one, each timed in a process of its own (``PYTHONPATH`` set to its tree, numba's cache in a directory of its own),
alternating over rounds so that a change in the machine's load falls on both. Per paper LSTM network (T = 100, one
warm-up call, then the minimum of at least :data:`MIN_REPEATS` calls; the minimum over rounds): the compiled
gradient (full BPTT, one sequence, per step) and the compiled learner (32 trials in lockstep, per trial-step;
one-hot inputs where the network's task feeds them, so the sparse path is the one measured there).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: the last commit whose generated numba modules held their own loops (the commit before issue 18's shared loops)
BASELINE = "bb50fea^"
#: timed calls per figure and round at least: a call takes 0.03 to 10 ms, and the minimum of a few is noisy
MIN_REPEATS = 30

#: run in each tree's process: prints one JSON object with the figures (the APIs it uses exist in both trees)
DRIVER = r"""
import json, sys, time
import numpy as np
import lstm_proofs
from lstm_proofs.learning import OnlineLearner, TrialState, stack_params
from lstm_proofs.network import Network, init_params
from lstm_proofs.network.model import load_kernels
from lstm_proofs.network.paper import PAPER_NETWORKS

T, B, REPEATS = 100, 32, int(sys.argv[1])
ONE_HOT = ("Exp 1,", "Exp 2a/2b,", "Exp 2c,", "Exp 6a,", "Exp 6b,")


def best(fn):
    fn()
    out = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def inputs(where, top, b, rng):
    if where.startswith(ONE_HOT):
        xs = np.zeros((T, b, top.n_in))
        xs[np.arange(T)[:, None], np.arange(b)[None, :], rng.integers(0, top.n_in, (T, b))] = 1.0
        return xs
    return rng.uniform(-1, 1, (T, b, top.n_in))


out = {"package": lstm_proofs.__file__, "networks": {}}
for where, top, _ in PAPER_NETWORKS:
    if not top.cell.startswith("lstm") or where in out["networks"]:
        continue
    rng = np.random.default_rng(0)
    kernels = load_kernels(top.cell, "numba")
    params = init_params(top, np.random.default_rng(0), 0.1)
    xs1, tg1, mask1 = inputs(where, top, 1, rng), rng.uniform(size=(T, 1, top.n_out)), np.ones((T, 1))
    net = Network(top, kernels)
    grad = best(lambda: net.loss_and_grad(params, xs1, tg1, mask1)) / T
    xs, tg, mask = inputs(where, top, B, rng), rng.uniform(size=(T, B, top.n_out)), np.ones((T, B))
    trials = [init_params(top, np.random.default_rng(i), 0.1) for i in range(B)]
    learner = OnlineLearner(top, kernels=kernels)
    state = TrialState(stack_params(trials), np.full(B, 0.1))
    learn = best(lambda: learner.run_sequence(state, xs, tg, mask)) / (T * B)
    out["networks"][where] = {"gradient_us": grad * 1e6, "learner_us": learn * 1e6}
print(json.dumps(out))
"""


def _tree_of(rev: str, directory: Path) -> Path:
    """The files of commit ``rev`` of this repository, unpacked into ``directory``."""
    directory.mkdir(parents=True)
    archive = directory.with_suffix(".tar")
    try:
        subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), rev], check=True,
                       capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"git archive {rev} failed: {exc.stderr.strip()}") from None
    with tarfile.open(archive) as tar:
        tar.extractall(directory, filter="data")
    archive.unlink()
    return directory


def _measure(tree: Path, cache: Path, repeats: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree), "NUMBA_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(repeats)], cwd=tree, env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"timing the kernels of {tree} failed: {proc.stderr.strip().splitlines()[-1:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if not Path(out["package"]).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"the process meant for {tree} imported {out['package']}")
    return out["networks"]


def versus(rev: str = BASELINE, rounds: int = 3, repeats: int = MIN_REPEATS) -> dict[str, Any]:
    """Both trees' figures per network (the minimum over ``rounds``) and this tree's over the baseline's."""
    repeats = max(repeats, MIN_REPEATS)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True, capture_output=True,
                            text=True).stdout.strip()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "current": []}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"baseline": _tree_of(rev, Path(tmp) / "baseline"), "current": ROOT}
        for r in range(rounds):
            order = ("baseline", "current") if r % 2 == 0 else ("current", "baseline")
            for which in order:
                print(f"  round {r + 1}/{rounds}: {which}", flush=True)
                runs[which].append(_measure(trees[which], Path(tmp) / f"cache-{which}", repeats))
    networks = []
    for where in runs["current"][0]:
        row: dict[str, Any] = {"network": where}
        for figure in ("gradient_us", "learner_us"):
            base = min(run[where][figure] for run in runs["baseline"])
            now = min(run[where][figure] for run in runs["current"])
            row[figure] = {"baseline": base, "current": now, "ratio": now / base}
        networks.append(row)
    ratios = [row[f]["ratio"] for row in networks for f in ("gradient_us", "learner_us")]
    return {"baseline": {"rev": rev, "commit": commit}, "current": {"commit": head}, "rounds": rounds,
            "repeats": repeats, "load_average_at_start": list(os.getloadavg()), "networks": networks,
            "median_ratio": statistics.median(ratios), "max_ratio": max(ratios)}
