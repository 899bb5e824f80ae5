"""`lstm-proofs flow`: JSON and plot output, one-line errors, exit status 1 on a failed claim; the flow checks."""

import functools
import json
import re
from pathlib import Path

import pytest

from lstm_proofs.cli import main
from lstm_proofs.flow.text import format_markdown
from lstm_proofs.network.model import load_kernels

REPO = Path(__file__).resolve().parents[2]
CHECK_IDS = {
    "flow/lstm1997-truncated-constant", "flow/lstm1997-entry-exit-independent-of-lag", "flow/lstm1997-full-deviation",
    "flow/forget-product-of-gates", "flow/rnn-logistic-vanishing-rate", "flow/rnn-logistic-w6-stable-rate",
    "flow/rnn-logistic-exploding-fixed-point", "flow/rnn-logistic-exploding-rate", "flow/rnn-linear-decay-rate",
    "flow/rnn-linear-growth-rate", "flow/rnn-norm-bound",
    *(f"flow/{v}-state-flow" for v in ("vanilla", "vanilla-fgr", "vanilla_nig", "vanilla_nfg", "vanilla_nog",
                                       "vanilla_niaf", "vanilla_noaf", "vanilla_np", "vanilla_cifg")),
}


def test_json_and_svg_written(tmp_path, capsys):
    out, svg = tmp_path / "r" / "flow.json", tmp_path / "flow.svg"
    assert main(["flow", "--max-lag", "60", "--seed", "3", "--json", str(out), "--plot", str(svg)]) == 0
    payload = json.loads(out.read_text())
    assert payload["settings"]["max_lag"] == 60 and payload["settings"]["seed"] == 3
    lags = payload["lags"]
    assert lags[0] == 1 and lags[-1] == 60 and lags == sorted(set(lags))
    assert {m["id"] for m in payload["measurements"]} == CHECK_IDS
    for m in payload["measurements"]:
        assert m["passed"], m["id"]
        assert m["description"] and m["series"]
        for s in m["series"]:
            assert len(s["flow"]) == len(lags) == len(s["flow_log10_abs"])
    truncated = next(m for m in payload["measurements"] if m["id"] == "flow/lstm1997-truncated-constant")
    assert all(v == 1.0 for s in truncated["series"] for v in s["flow"])
    growth = next(m for m in payload["measurements"] if m["id"] == "flow/rnn-linear-growth-rate")
    assert growth["series"][0]["flow"][-1] == pytest.approx(1.1 ** 60, rel=1e-12)
    assert growth["series"][0]["predicted"][-1] == pytest.approx(1.1 ** 60, rel=1e-12)
    text = svg.read_text()
    assert svg.stat().st_size > 10_000 and "<svg" in text
    printed = capsys.readouterr().out
    assert "flow/rnn-norm-bound" in printed and "20 of 20 claims hold" in printed


def test_png_written(tmp_path):
    png = tmp_path / "flow.png"
    assert main(["flow", "--max-lag", "20", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.parametrize("args", [
    ["--max-lag", "0"], ["--max-lag", "abc"], ["--max-lag", "1"], ["--max-lag", "1000000"], ["--seed", "-1"],
    ["--seed", "x"], ["--plot", "flow.pdf"],
])
def test_bad_arguments_give_one_line_and_exit_2(args, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["flow", *args, "--json", "out.json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lstm-proofs: error: ")
    assert not (tmp_path / "out.json").exists()


def test_unwritable_json_path_is_a_user_error(tmp_path, capsys):
    (tmp_path / "dir.json").mkdir()
    assert main(["flow", "--max-lag", "5", "--json", str(tmp_path / "dir.json")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_failed_claim_exits_1(monkeypatch, capsys):
    k = load_kernels("rnn_linear")
    original = k.cell_backward

    @functools.wraps(original)
    def scaled(*args):
        return tuple(x * 1.05 for x in original(*args))

    monkeypatch.setattr(k, "cell_backward", scaled)
    assert main(["flow", "--max-lag", "40"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"flow/rnn-linear-decay-rate .* FAIL", out)
    assert "FAIL flow/rnn-linear-growth-rate: measured rate" in out


def test_checks_have_flow_ids_and_fail_with_wrong_kernels(monkeypatch):
    from lstm_proofs.checks import flow as flow_checks

    monkeypatch.setattr(flow_checks, "MAX_LAG", 40)
    results = flow_checks.run_checks()
    assert {r.id for r in results} == CHECK_IDS
    assert all(r.passed for r in results)
    by_id = {r.id: r for r in results}
    assert by_id["flow/lstm1997-truncated-constant"].tolerance == 0.0
    assert by_id["flow/lstm1997-truncated-constant"].max_rel_error == 0.0
    assert by_id["flow/lstm1997-entry-exit-independent-of-lag"].tolerance == 1e-15
    assert by_id["flow/lstm1997-full-deviation"].details["informational"] is True
    for r in results:
        json.dumps(r.to_json())

    k = load_kernels("rnn")
    original = k.cell_backward

    @functools.wraps(original)
    def scaled(*args):
        return tuple(x * 1.03 for x in original(*args))

    monkeypatch.setattr(k, "cell_backward", scaled)
    failed = {r.id for r in flow_checks.run_checks() if not r.passed}
    assert {"flow/rnn-logistic-vanishing-rate", "flow/rnn-logistic-exploding-fixed-point",
            "flow/rnn-logistic-w6-stable-rate"} <= failed


def test_docs_table_is_the_rendering_of_results_json():
    """docs/flow.md quotes its figures from results/flow.json (written by the command in the docs)."""
    payload = json.loads((REPO / "results" / "flow.json").read_text())
    doc = (REPO / "docs" / "flow.md").read_text()
    block = doc.split("<!-- flow-table:begin -->\n", 1)[1].split("<!-- flow-table:end -->", 1)[0]
    assert block.strip() == format_markdown(payload).strip()
    assert payload["settings"]["max_lag"] == 1000 and payload["summary"]["passed"]
