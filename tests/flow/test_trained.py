"""`lstm-proofs flow --trained`: error flow in trained networks from their stored weights. The informative steps of
every task, eqs. (35), (40), (41) on trained LSTM networks (and failure on a broken kernel), eq. (2)'s rate on a
trained conventional net against a plain NumPy forward pass, one-line errors for rows without weights, the JSON,
the figure and the verdicts; the ``trained/...`` checks."""

import functools
import json
import math

import numpy as np
import pytest

from lstm_proofs.cli import main
from lstm_proofs.flow.trained import (IDENTITY_TOLERANCE, fresh_sequences, informative_steps, measure_cells,
                                      measure_conventional, verdicts)
from lstm_proofs.network.model import load_kernels
from lstm_proofs.tasks import get_task
from lstm_proofs.training.weights import load_trial, weights_path

LSTM = ["train", "6a", "--trials", "2", "--max-sequences", "1100", "--quiet", "--backend", "numpy"]
RTRL = ["train", "2a/rtrl/p=4/lr=10", "--trials", "1", "--max-sequences", "300", "--quiet", "--backend", "numpy"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    assert main([*LSTM, "--json", str(root / "6a.json")]) == 0
    assert main([*RTRL, "--json", str(root / "rtrl.json")]) == 0
    return root


def _sym(batch, t, i):
    return int(batch.inputs.symbols[t, i])


@pytest.mark.parametrize("task, options", [("1", {}), ("2a", {"p": 10}), ("2b", {"p": 10}), ("2c", {"q": 20, "p": 20}),
                                           ("3a", {"T": 20, "N": 3}), ("3b", {"T": 20, "N": 1}),
                                           ("3c", {"T": 20, "N": 3}), ("4", {"T": 30}), ("5", {"T": 30}), ("6a", {}),
                                           ("6b", {})])
def test_informative_steps_hold_the_information_the_target_needs(task, options):
    t_ = get_task(task)
    opts = t_.options(**options)
    batch = fresh_sequences(task, opts, 20, 1)
    for i in range(batch.n):
        t, taus = informative_steps(task, opts, batch, i)
        assert taus and all(0 <= tau < t for tau in taus)
        assert batch.mask[t, i].any()  # an error signal at the target step
        if task == "1":  # the symbol predicted at t is the penultimate one, which repeats the second symbol
            assert taus == [1] and np.argmax(batch.targets[t, i]) == batch.info["second"][i]
        elif task in ("2a", "2b"):
            first = _sym(batch, 0, i)
            assert first in (opts["p"] - 1, opts["p"]) and np.argmax(batch.targets[t, i]) == first
        elif task == "2c":
            assert _sym(batch, 1, i) in (opts["p"] + 2, opts["p"] + 3) and _sym(batch, 0, i) == opts["p"] + 1
        elif task.startswith("3"):
            assert taus == list(range(opts["N"]))
            if task != "3b":
                assert np.all(np.abs(batch.xs[taus, i, 0]) == 1.0)
        elif task in ("4", "5"):
            assert len(taus) == 2 and np.all(batch.xs[taus, i, 1] == 1.0)
        else:  # X and Y are symbols 6 and 7
            assert len(taus) == (2 if task == "6a" else 3) and all(_sym(batch, tau, i) in (6, 7) for tau in taus)


def test_trained_lstm_row_entry_times_exit_and_exact_cec(runs, tmp_path, capsys):
    out, svg = tmp_path / "f.json", tmp_path / "f.svg"
    assert main(["flow", "--trained", "6a", "--dir", str(runs), "--sequences", "4", "--json", str(out),
                 "--plot", str(svg)]) == 0
    printed = capsys.readouterr().out
    assert "check trained/lstm-entry-exit" in printed and "pass" in printed and "verdict for task 6a: holds" in printed
    payload = json.loads(out.read_text())
    (doc,) = payload["rows"]
    assert [t["trial"] for t in doc["trials"]] == [0, 1]
    for trial in doc["trials"]:
        assert [s["label"] for s in trial["stages"]] == ["at 0", "at 100", "at 1000", "final"]
        assert len(trial["stages"][-1]["readings"]) == 8  # 4 sequences x 2 X/Y symbols
        for st in trial["stages"]:
            assert st["cec_trunc_exactly_one"] and st["identity_max"] <= IDENTITY_TOLERANCE
            assert ("readings" in st) == (st["label"] == "final")  # the JSON keeps the final weights' readings
            for r in st.get("readings", []):  # the error at the input is entry x 1 x exit, in log10
                assert r["log10_trunc_c"] == pytest.approx(r["log10_entry"] + r["log10_exit_c"], abs=1e-12)
                assert r["cec_trunc"] == 1.0 and math.isfinite(r["log10_cec_full"])
    assert doc["checks"][0]["id"] == "trained/lstm-entry-exit" and doc["checks"][0]["passed"]
    assert svg.read_text().startswith("<?xml") and "Matplotlib" in svg.read_text()[:2000]
    again = tmp_path / "g.json"  # the same weights and sequences give the same figures
    assert main(["flow", "--trained", str(runs / "6a.json"), "--sequences", "4", "--json", str(again)]) == 0
    assert json.loads(again.read_text())["rows"][0]["trials"] == doc["trials"]


def test_a_broken_truncated_kernel_fails_the_identity(runs, monkeypatch, capsys):
    k = load_kernels("lstm1997")
    original = k.cell_adjoint_truncated

    @functools.wraps(original)
    def scaled(*args):
        return tuple(x * (1 + 1e-9) for x in original(*args))

    monkeypatch.setattr(k, "cell_adjoint_truncated", scaled)
    assert main(["flow", "--trained", str(runs / "6a.json"), "--sequences", "2", "--final-only"]) == 1
    assert "FAIL trained/lstm-entry-exit" in capsys.readouterr().out


def _plain_forward(w, xs):
    """One logistic self-recurrent unit (Exp. 2a's RTRL net) by hand: net(t) = w_x x(t) + w y(t-1) (+ bias)."""
    W = w.final.W_hidden
    n_in = w.topology.n_in
    y, nets = 0.0, []
    for t in range(xs.shape[0]):
        net = float(W[0, :n_in] @ xs[t, 0] + W[0, n_in] * y + W[0, -1])
        nets.append(net)
        y = 1.0 / (1.0 + math.exp(-net))
    return np.array(nets), float(W[0, n_in])


def test_trained_conventional_net_decays_as_eq2_predicts(runs, capsys):
    w = load_trial(runs / "rtrl.json", 0)
    assert w.topology.n_blocks == 1 and w.topology.cell == "rnn"
    opts = get_task("2a").options(**w.settings["task_options"])
    batch = fresh_sequences("2a", opts, 3, 0)
    for i in range(batch.n):
        t, taus = informative_steps("2a", opts, batch, i)
        xs = np.ascontiguousarray(batch.xs[: t + 1, i: i + 1])
        r = measure_conventional(w.topology, w.final, xs, t, taus)
        nets, w_self = _plain_forward(w, xs)
        s = 1.0 / (1.0 + np.exp(-nets))
        factors = np.abs(s * (1 - s) * w_self)  # |f'(net(t-m)) w|, m = 1 .. t
        expected = np.sum(np.log10(factors[t - 1::-1][: t - taus[0]]))
        assert r["log10_at_info"][0] == pytest.approx(expected, abs=1e-9)
        assert r["rate_rel_error"] <= 0.01 and r["measured_rate"] < 1.0
        assert r["geo_mean_factor"] == pytest.approx(float(np.exp(np.mean(np.log(factors[:t])))), rel=1e-9)
    assert main(["flow", "--trained", "2a/rtrl/p=4/lr=10", "--dir", str(runs), "--sequences", "3"]) == 0
    assert "check trained/conventional-eq2-rate" in capsys.readouterr().out


def test_a_broken_conventional_kernel_fails_the_rate(runs, monkeypatch, capsys):
    k = load_kernels("rnn")
    original = k.cell_backward

    @functools.wraps(original)
    def scaled(*args):
        return tuple(x * 1.03 for x in original(*args))

    monkeypatch.setattr(k, "cell_backward", scaled)
    assert main(["flow", "--trained", str(runs / "rtrl.json"), "--sequences", "2", "--final-only"]) == 1
    assert "FAIL trained/conventional-eq2-rate" in capsys.readouterr().out


def test_rows_without_weights_are_one_line_errors(runs, tmp_path, capsys):
    old = tmp_path / "old.json"
    old.write_text((runs / "6a.json").read_text())  # a results file trained before weights were kept
    assert main(["flow", "--trained", str(old)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no stored weights" in err[0] and f"lstm-proofs replay --weights {old}" in err[0]
    assert main(["flow", "--trained", "6b", "--dir", str(runs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no results file of row 6b" in err[0]
    assert main(["flow", "--trained", str(tmp_path / "missing.json")]) == 2
    assert "no such results file" in capsys.readouterr().err
    (tmp_path / "old.weights").mkdir()
    weights_path(old, 0).write_bytes(b"garbage")
    assert main(["flow", "--trained", str(old)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot read weights file" in err[0]
    assert main(["flow", "--trained", str(runs / "6a.json"), "--sequences", "0"]) == 2


def test_verdicts_rule():
    def lstm(factor_log10, lag=10):
        r = {"lag": lag, "cec_trunc": 10 ** factor_log10, "log10_cec_full": 0.0}
        return {"task": "x", "method": "lstm", "trials": [{"stages": [{"readings": [r]}]}]}

    conv = {"task": "x", "method": "rtrl", "row": "x/rtrl",
            "trials": [{"stages": [{"readings": [{"measured_rate": 0.3, "lags": [5]}]}]}]}
    (v,) = verdicts([lstm(0.0), conv])
    assert v["verdict"] == "holds" and v["conventional_decays"] is True and "x/rtrl (lag 5) 0.3..0.3" in v["reason"]
    (v,) = verdicts([lstm(-1.0)])  # a carried error that fell by 10x over 10 steps: 0.79 per step
    assert v["verdict"] == "fails"


def test_trained_checks_pass_with_ids():
    from lstm_proofs.checks import trained

    results = trained.run_checks()
    assert [r.id for r in results] == ["trained/lstm-entry-exit", "trained/conventional-eq2-rate"]
    assert all(r.passed for r in results)
    assert results[0].max_rel_error <= IDENTITY_TOLERANCE
    cells = {s["row"] for s in results[0].details["stages"]}
    assert cells == {"6a", "2a/lstm"}  # both 1997 cells (lstm1997 and lstm1997_2a)
    for r in results:
        json.dumps(r.to_json())


def test_measure_cells_of_the_2a_cell_has_unit_entry():
    from lstm_proofs.network import Topology, init_params

    top = Topology("lstm1997_2a", n_in=6, n_out=6, n_blocks=1, recurrent="none", output_from="below")
    params = init_params(top, np.random.default_rng(0), 0.2)
    opts = get_task("2a").options(p=5)
    batch = fresh_sequences("2a", opts, 2, 0)
    t, taus = informative_steps("2a", opts, batch, 0)
    (r,) = measure_cells(top, params, np.ascontiguousarray(batch.xs[: t + 1, :1]), t, taus)
    assert r["log10_entry"] == 0.0 and abs(r["identity_c"]) <= IDENTITY_TOLERANCE and r["cec_trunc"] == 1.0


def test_report_shows_the_trained_flow_figures_and_verdicts(runs, tmp_path, capsys):
    from lstm_proofs.commands.report import report_dir_test
    from lstm_proofs.report.build import build_report, trained_figure_file

    results = tmp_path / "results"
    results.mkdir()
    assert main(["flow", "--trained", str(runs / "6a.json"), str(runs / "rtrl.json"), "--sequences", "2",
                 "--final-only", "--json", str(results / "flow_trained.json")]) == 0
    out = build_report(results, tmp_path / "report", cells=["rnn"])
    assert sorted(p.name for p in out.glob(trained_figure_file("*"))) == ["flow-trained-2a.svg", "flow-trained-6a.svg"]
    page = (out / "index.html").read_text()
    assert "In the trained networks" in page and 'id="flow-trained-6a"' in page and "Verdict for task 6a" in page
    md = (out / "report.md").read_text()
    assert "](flow-trained-2a.svg)" in md and "trained/lstm-entry-exit" in md
    assert report_dir_test()(out)  # the report directory with these figures is still recognised as one


def test_docs_figures_and_tables_are_drawn_from_the_stored_json():
    """docs/flow.md's trained-network figures are the command's drawing of results/flow_trained.json."""
    from pathlib import Path

    from lstm_proofs.flow.plot import svg_text
    from lstm_proofs.flow.trained_plot import trained_figure

    repo = Path(__file__).resolve().parents[2]
    payload = json.loads((repo / "results" / "flow_trained.json").read_text())
    assert set(payload["plots"]) == {"6a", "3a", "1", "2a"}
    doc = (repo / "docs" / "flow.md").read_text()
    for task, path in payload["plots"].items():
        drawn = svg_text(trained_figure([d for d in payload["rows"] if d["task"] == task]))
        assert (repo / path).read_text() == drawn
        assert f"(../{path})" in doc
    assert all(c["passed"] for d in payload["rows"] for c in d["checks"])
    assert {v["task"]: v["verdict"] for v in payload["verdicts"]} == {"6a": "holds", "3a": "holds", "1": "holds",
                                                                     "2a": "holds"}
