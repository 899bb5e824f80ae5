"""``gradient/rows/<row>/...`` and ``backends/rows/<row>/...``: the full gradient (the contrast gradient=full) on the
rows' own networks, and that the checks fail when the gradient or the compiled kernels are wrong."""

import numpy as np
import pytest

from lstm_proofs.checks import row_gradients
from lstm_proofs.cli import main
from lstm_proofs.network.model import Network
from lstm_proofs.training.presets import PRESETS, get_preset


def test_the_checked_rows_cover_every_lstm_task_and_both_networks_of_exp1():
    rows = row_gradients.checked_rows()
    assert {p.task for p in rows} == {p.task for p in PRESETS if p.method == "lstm"}
    assert {(p.topology.n_blocks, p.topology.block_size) for p in rows if p.task == "1"} == {(4, 1), (3, 2)}
    assert all(p.method == "lstm" for p in rows)


def test_the_batch_is_the_rows_task_with_sequences_of_unequal_length():
    xs, dense, targets, mask = row_gradients.row_batch(get_preset("6b"))
    assert dense.shape[1] == row_gradients.SEQUENCES and dense.shape[2] == get_preset("6b").topology.n_in
    lengths = (np.abs(dense).sum(axis=2) > 0).sum(axis=0)
    assert len(set(lengths.tolist())) > 1  # padding is exercised
    assert mask.shape[:2] == dense.shape[:2] and set(np.unique(mask)) <= {0.0, 1.0}
    assert np.all(mask[lengths.max() - 1:, np.argmin(lengths)] == 0.0)  # no target after a sequence ends


def test_the_noisy_weights_keep_the_rows_connections():
    preset = get_preset("1/4x1/lr=0.1")
    (_, start), (_, noisy) = row_gradients.weight_sets(preset)
    for name, arr in start.arrays.items():
        absent = ~preset.topology.masks()[name]
        assert np.all(noisy.arrays[name][absent] == 0.0) and np.all(arr[absent] == 0.0)
    assert np.max(np.abs(noisy.to_vector(preset.topology) - start.to_vector(preset.topology))) > 0.5


def test_a_row_passes_and_the_command_runs_its_checks(capsys):
    assert main(["check", "--only", "gradient/rows/6a/"]) == 0
    out = capsys.readouterr().out
    assert "gradient/rows/6a/autograd" in out and "gradient/rows/6a/complex-step" in out and "2 of 2" in out


class _Off(Network):
    """The generated gradient with one entry of one array off by a relative 1e-6."""

    def loss_and_grad(self, params, xs, targets, mask, truncated=False):
        loss, g = super().loss_and_grad(params, xs, targets, mask, truncated)
        arr = g.arrays["W_hidden"]
        i = np.unravel_index(int(np.argmax(np.abs(arr))), arr.shape)
        arr[i] *= 1.0 + 1e-6
        return loss, g


@pytest.mark.parametrize("row", ["2a/lstm", "6b"])
def test_a_gradient_wrong_in_the_sixth_digit_fails_both_checks(row):
    preset = get_preset(row)
    results = row_gradients.check_row(preset, net=_Off(preset.topology))
    assert [r.id for r in results] == [f"gradient/rows/{row}/autograd", f"gradient/rows/{row}/complex-step"]
    assert [r.passed for r in results] == [False, False]
    assert f"row {row}" in results[0].message and "W_hidden" in results[0].message


def test_a_wrong_reference_fails_the_autograd_check():
    preset = get_preset("4/T=100")

    def off(top, params, xs, targets, mask):
        g = row_gradients.autograd_models.gradient(top, params, xs, targets, mask)
        g.arrays["W_output"] *= 1.0 + 1e-8
        return g

    auto, cstep = row_gradients.check_row(preset, reference=off)
    assert not auto.passed and auto.max_rel_error > 1e-9 and cstep.passed


def test_the_backend_check_compares_the_compiled_kernels(monkeypatch):
    pytest.importorskip("numba")
    preset = get_preset("6a")
    good = row_gradients.check_row_backend(preset)
    assert good.passed and good.id == "backends/rows/6a/numba-vs-numpy" and good.max_rel_error > 0.0
    made = []

    def networks(top, kernels=None):  # the compiled kernels' network is made first: give it a wrong gradient
        made.append(kernels)
        return (_Off if len(made) == 1 else Network)(top, kernels)
    monkeypatch.setattr(row_gradients, "Network", networks)
    bad = row_gradients.check_row_backend(preset)
    assert made[0] is not None and made[0].__name__.endswith("numba_lstm1997") and made[1] is None
    assert not bad.passed and "W_hidden" in bad.message
