"""The entry-point checks (checks/entrypoints.py) and the learner checks against the independent learner
(checks/learner.py, lstm_proofs/reference/online.py) pass on the generated code and fail on single faults planted in
a copy of a generated module: a scaled output in forward_step, a truncation leak in backward_step, a dropped trace
factor in learner_step, a wrong J in cell_traces, a wrong exit partial, swapped errors in cell_backward_truncated,
a doubled or slightly scaled weight change in learner_sequence."""

from __future__ import annotations

import importlib
import pathlib

import numpy as np
import pytest

from lstm_proofs.cells import CELLS
from lstm_proofs.checks import entrypoints, learner
from lstm_proofs.codegen.loader import module_from_source
from lstm_proofs.learning import OnlineLearner, TrialState, stack_params, unstack_params
from lstm_proofs.network import init_params
from lstm_proofs.network.model import load_kernels
from lstm_proofs.reference.online import ReferenceLearner
from lstm_proofs.verify.cases import check_topology


def mutated(cell: str, fn: str, old: str, new: str):
    """The generated NumPy module of ``cell`` with ``old`` replaced by ``new`` once in the code of ``fn``."""
    src = pathlib.Path(importlib.import_module(f"lstm_proofs.derivations.{cell}").__file__).read_text()
    start = src.index(f"\ndef {fn}(")
    end = src.find("\ndef ", start + 5)
    body = src[start:end]
    assert old in body
    return module_from_source(src[:start] + body.replace(old, new, 1) + src[end:], f"mutated_{cell}")


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_entry_point_checks_pass_on_the_generated_code(cell):
    for r in entrypoints.check_cell(cell):
        assert r.passed, r.message
        assert r.max_rel_error <= 1e-12 and r.details["compared"] >= 4


ENTRY_FAULTS = [
    ("forget", "forward_step", "y_k = _k.sigmoid(net_k)", "y_k = _k.sigmoid(net_k * (1 + 1e-9))", "steps"),
    ("lstm1997", "backward_step", "d_a_prev = np.zeros_like(d_a)", "d_a_prev = d_net @ W_hidden[:, I:-1]", "steps"),
    ("forget", "learner_step", "T_net_in = J[..., None] * T_net_in", "T_net_in = T_net_in", "steps"),
    ("vanilla_nfg", "learner_step", "* (target - y_k) * tmask", "* (target - y_k) * tmask * (1 + 1e-9)", "steps"),
    ("peephole", "cell_traces", "ds_ds_prev = y_forget", "ds_ds_prev = y_forget * (1 + 1e-9)", "cell-kernels"),
    ("vanilla", "cell_exit", "dyc_dp_out = s*t1", "dyc_dp_out = s_prev*t1", "cell-kernels"),
    ("lstm1997", "cell_backward_truncated", "), d_y_c, d_y_in, d_y_out, d_s)", "), d_y_c, d_y_out, d_y_in, d_s)",
     "cell-kernels"),
    ("rnn_tanh", "cell_exit", "dyc_dnet_c = 4*", "dyc_dnet_c = 3.9999999*", "cell-kernels"),
]


@pytest.mark.parametrize("cell,fn,old,new,check", ENTRY_FAULTS, ids=[f"{f[0]}-{f[1]}" for f in ENTRY_FAULTS])
def test_entry_point_checks_fail_on_a_planted_fault(cell, fn, old, new, check):
    results = {r.id.split("/")[-1]: r for r in entrypoints.check_cell(cell, mutated(cell, fn, old, new))}
    assert not results[check].passed
    assert cell in results[check].message and "differs by" in results[check].message


def test_the_reference_learner_is_the_generated_learner_of_every_cell():
    for cell in ("lstm1997", "vanilla_cifg", "rnn"):
        for r in learner.check_cell(cell, {"numpy": load_kernels(cell)}):
            assert r.passed, r.message


def test_the_reference_learner_changes_the_weights_at_every_step_in_mode_step():
    """Step updates differ from sequence updates (the weights change inside the sequence) and the summed gradient
    with fixed weights is the generated learner's; a reference that ignored the mode would fail here."""
    top = check_topology("forget")
    rng = np.random.default_rng(1)
    p = init_params(top, rng, interval=1.0)
    xs = rng.uniform(-1, 1, (8, 1, top.n_in))
    tg = rng.uniform(size=(8, 1, top.n_out))
    m = np.ones((8, 1))
    step, _ = ReferenceLearner(top, "step").run_sequence([p], [0.5], xs, tg, m)
    seq, _ = ReferenceLearner(top, "sequence").run_sequence([p], [0.5], xs, tg, m)
    assert np.abs(step[0].W_hidden - seq[0].W_hidden).max() > 1e-6
    state = TrialState(stack_params([p]), np.array([0.5]))
    OnlineLearner(top, "step").run_sequence(state, xs, tg, m)
    got = unstack_params(state.params)[0]
    for name, v in step[0].arrays.items():
        np.testing.assert_allclose(got.arrays[name], v, rtol=0, atol=1e-13)


# Faults in the generated learner (its forward traces; the weight changes of each mode are applied by the shared
# lstm_proofs/kernels/numpy_network.py, whose modes the checks compare with the reference the same way).
LEARNER_FAULTS = [
    ("vanilla", "T_p_in += ds_dp_in", "T_p_in += 2 * ds_dp_in"),
    ("forget", "T_net_forget += ds_dnet_forget[..., None] * z_cells",
     "T_net_forget += ds_dnet_forget[..., None] * z_cells * (1 + 1e-9)"),
    ("lstm1997", "T_net_in += ds_dnet_in[..., None] * z_cells", "T_net_in += ds_dnet_in[..., None] * z_cells * (1 + 1e-9)"),
    ("vanilla_cifg", "T_p_in += ds_dp_in", "T_p_in += ds_dp_in * (1 + 1e-9)"),
]


@pytest.mark.parametrize("cell,old,new", LEARNER_FAULTS, ids=[f[0] for f in LEARNER_FAULTS])
def test_learner_check_fails_on_a_fault_in_a_weight_change_mode(cell, old, new):
    r = learner.check_cell(cell, {"numpy": mutated(cell, "learner_sequence", old, new)})[0]
    assert r.id == f"learner/{cell}/numpy-vs-reference"
    assert not r.passed and "differs by" in r.message


def test_variant_flow_claims_hold_and_fail_on_a_wrong_carousel(monkeypatch):
    """flow/<variant>-state-flow: CIFG's flow is the product of 1 - input gate; a J of the generated cell_traces
    off by 1e-9 (and a backward_step whose state error is scaled) fails against it."""
    import numpy as np

    from lstm_proofs.flow import cec

    rng = np.random.default_rng(0)
    for variant in ("vanilla_cifg", "vanilla_nfg", "vanilla-fgr"):
        m = cec.measure_variant(variant, 60, rng)
        assert m.passed, m.message
    bad = mutated("vanilla_cifg", "cell_traces", "ds_ds_prev = 1 - y_in", "ds_ds_prev = (1 - y_in) * (1 + 1e-9)")
    monkeypatch.setattr(cec, "load_kernels", lambda cell, backend="numpy": bad)
    m = cec.measure_variant("vanilla_cifg", 60, rng)
    assert not m.passed and "1 - y_in" in m.message


@pytest.mark.slow
def test_sparse_check_fails_when_the_sparse_path_ignores_the_input_values(tmp_path):
    """A numba module whose sparse forward path takes every nonzero input as 1.0 (one-hot inputs cannot tell)
    fails backends/<cell>/sparse-vs-dense; the module is compiled from a copy in a temporary directory."""
    pytest.importorskip("numba")
    import importlib.util

    from lstm_proofs.checks import backends

    src = pathlib.Path(importlib.import_module("lstm_proofs.derivations.numba_forget").__file__).read_text()
    assert src.count("            x = VAL[q]\n") == 1
    path = tmp_path / "numba_forget_mutated.py"
    path.write_text(src.replace("            x = VAL[q]\n", "            x = 1.0\n"))
    spec = importlib.util.spec_from_file_location("numba_forget_mutated", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert backends.check_sparse("forget", backends.TOPOLOGIES["forget"]).passed
    r = backends.check_sparse("forget", backends.TOPOLOGIES["forget"], module)
    assert not r.passed and "elements differ" in r.message
