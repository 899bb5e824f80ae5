"""Checks ``trained/...``: the error-flow identities on networks trained on the paper's tasks, not random ones.

Small networks are trained here, in a few seconds, with the trainer of ``lstm-proofs train`` (NumPy kernels, a low
sequence cap, the rows' own learning rates and initialisation): Exp. 6a's 1997 network, the Exp. 2a LSTM network
(the ``lstm1997_2a`` cell, on the task with p = 5, its cell added during training) and the Exp. 2a RTRL network
(one self-recurrent logistic unit, p = 4). Their weights at every kept stage (initial, snapshots, final) are
measured with :mod:`lstm_proofs.flow.trained` on fresh task sequences:

* ``trained/lstm-entry-exit``: with the truncated gradient, the error at the informative input equals
  entry x exit (eqs. 40, 41) to 1e-12, and the state error carried from the target step is exactly 1 (eq. 35);
* ``trained/conventional-eq2-rate``: the RTRL net's measured rate per step equals eq. (2)'s along the realised
  ``f'(net) w`` within 1%.

``lstm-proofs flow --trained ROW`` runs the same measurements on the stored weights of full training runs.
"""

from __future__ import annotations

from dataclasses import replace

from lstm_proofs.flow.trained import (IDENTITY_TOLERANCE, RATE_TOLERANCE, checks_of, fresh_sequences,
                                      measure_stages)
from lstm_proofs.results import CheckResult
from lstm_proofs.tasks import get_task
from lstm_proofs.training.presets import get_preset
from lstm_proofs.training.trainer import run_trials
from lstm_proofs.training.weights import WEIGHTS_FIELD, unpack_params

#: (row, task options, sequence cap): the networks trained for the checks.
NETWORKS = (("6a", {}, 300), ("2a/lstm", {"p": 5, "criterion": "all_steps"}, 1500),
            ("2a/rtrl/p=4/lr=10", {}, 300))
#: Fresh task sequences measured per stage.
SEQUENCES = 3
SEED = 0


def trained_docs(networks: tuple = NETWORKS, sequences: int = SEQUENCES) -> list[dict]:
    """Train each network of ``networks`` (one trial, seed 0) and measure it at every kept stage."""
    docs = []
    for row, opts, cap in networks:
        preset = get_preset(row)
        task = get_task(preset.task)
        options = task.options(**{**preset.task_options, **opts})
        top = preset.topology.with_(n_in=task.n_inputs(**options), n_out=task.n_outputs(**options))
        preset = preset.with_(topology=top, test_size=20, stopping=replace(preset.stopping, check_size=20))
        (rec,) = run_trials(preset, [0], SEED, cap, options=options)
        w = rec[WEIGHTS_FIELD]
        stages = [(f"at {n}", int(n), unpack_params(p)) for n, p in sorted(w["kept"].items(), key=lambda x: int(x[0]))
                  if int(n) < rec["sequences"]] + [("final", rec["sequences"], unpack_params(w["final"]))]
        batch = fresh_sequences(preset.task, options, sequences, SEED)
        trials = [{"trial": 0, "solved": rec["solved"], "stop": rec["stop"], "sequences": rec["sequences"],
                   "stages": measure_stages(top, stages, preset.task, options, batch)}]
        docs.append({"row": row, "task": preset.task, "method": preset.method, "cell": top.cell,
                     "cap": cap, "options": options, "trials": trials})
    return docs


def run_checks() -> list[CheckResult]:
    """The two ``trained/...`` checks (see the module docstring)."""
    docs = trained_docs()
    lstm = [d for d in docs if d["method"] == "lstm"]
    conv = [d for d in docs if d["method"] != "lstm"]
    out = []
    for group, id_, title, tol, reference, claim in (
            (lstm, "trained/lstm-entry-exit", "trained 1997 networks (Exps. 6a, 2a): truncated error at the "
             "informative input = entry x exit, carried exactly 1 through the CEC", IDENTITY_TOLERANCE,
             "entry(t) x exit(tau) from the forward values, exact rational product", "Appendix A.2, eqs. (35), "
             "(40), (41)"),
            (conv, "trained/conventional-eq2-rate", "trained RTRL net (Exp. 2a, p = 4): measured rate per step of "
             "the error flow = eq. (2)'s along the realised f'(net) w", RATE_TOLERANCE,
             "eq. (1)/(2) recursion with independently written f'", "Section 3.1, eqs. (1), (2)")):
        checks = [c for d in group for c in checks_of(d, d["method"] != "lstm")]
        worst = max(c["figure"] for c in checks)
        passed = all(c["passed"] for c in checks)
        stages = [{"row": d["row"], "stage": s["label"], "solved": t["solved"],
                   **{k: s[k] for k in ("identity_max", "cec_trunc_exactly_one", "median_log10_at_info",
                                        "rate_rel_error_max", "median_measured_rate") if k in s}}
                  for d in group for t in d["trials"] for s in t["stages"]]
        out.append(CheckResult(id=id_, passed=passed, max_rel_error=worst, tolerance=tol, title=title,
                               reference=reference, claim=claim, details={"stages": stages},
                               message="" if passed else f"{id_}: figure {worst:.3g} above {tol:g} or the "
                                                         "truncated CEC did not carry exactly 1"))
    return out
