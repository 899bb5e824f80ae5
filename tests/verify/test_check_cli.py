"""``lstm-proofs check``: exit status, JSON schema, --only; the full mode of the gradient families (slow)."""

import json

import pytest

from lstm_proofs.checks import gradients, truncated
from lstm_proofs.cli import main


def test_check_json_schema_and_exit_status(tmp_path, capsys):
    out = tmp_path / "checks.json"
    assert main(["check", "--only", "gradient/rnn_tanh", "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert payload["passed"] is True
    ids = [c["id"] for c in payload["checks"]]
    assert ids == [f"gradient/rnn_tanh/{k}" for k in ("autograd", "complex-step", "finite-differences",
                                                       "exact-50-digits")]
    for c in payload["checks"]:
        assert isinstance(c["passed"], bool)
        assert isinstance(c["max_rel_error"], float) and isinstance(c["tolerance"], float)
        assert c["max_rel_error"] <= c["tolerance"]
    assert "4 of 4 checks passed" in capsys.readouterr().out


def test_unknown_prefix_is_a_one_line_error(capsys):
    assert main(["check", "--only", "no-such-check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no check id starts with" in err[0]


def test_a_failing_check_gives_exit_status_1(monkeypatch, tmp_path):
    real = gradients.check_autograd

    def failing(cell, full=False, kernels=None, reference=gradients.autograd_models.gradient):
        def off(top, params, xs, targets, mask):
            g = reference(top, params, xs, targets, mask)
            g.arrays["W_hidden"][0, 0] += 1.0
            return g
        return real(cell, full, kernels, off)
    monkeypatch.setattr(gradients, "check_autograd", failing)
    out = tmp_path / "c.json"
    assert main(["check", "--only", "gradient/rnn", "--json", str(out)]) == 1
    payload = json.loads(out.read_text())
    assert payload["passed"] is False
    bad = [c for c in payload["checks"] if not c["passed"]]
    assert {c["id"] for c in bad} == {"gradient/rnn/autograd", "gradient/rnn_tanh/autograd",
                                      "gradient/rnn_linear/autograd"}
    assert all(c["message"].startswith("cell rnn") for c in bad)


@pytest.mark.slow
def test_full_mode_of_gradient_and_truncated_checks_passes():
    for r in gradients.run_checks(full=True) + truncated.run_checks(full=True):
        assert r.passed, f"{r.id}: {r.message}"
