"""`lstm-proofs tasks` and `lstm-proofs sample`: the table, the JSON, the .npz file, and one-line errors."""

import json

import numpy as np
import pytest

from lstm_proofs.cli import main
from lstm_proofs.tasks import TASKS, get_task


def test_tasks_table_and_json(tmp_path, capsys):
    out = tmp_path / "sub" / "tasks.json"
    assert main(["tasks", "--json", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[:5] == ["task", "aliases", "experiment", "paper", "in/out"]
    rows = {line.split()[0]: line for line in printed[1:-1]}
    assert list(rows) == list(TASKS)
    assert "adding" in rows["4"] and "Table 7" in rows["4"] and "T=100" in rows["4"] and "2/1" in rows["4"]
    assert "targets=next*" in rows["1"] and "p+4 = 104/2" in rows["2c"]
    payload = json.loads(out.read_text())
    assert [t["name"] for t in payload["tasks"]] == list(TASKS)
    adding = payload["tasks"][7]
    assert adding["defaults"]["T"] == 100 and adding["tolerance"] == 0.04
    assert {o["name"]: o["unconfirmed"] for o in adding["options"]}["x2_range"] == "6.8 (i)"


def test_sample_writes_the_batch(tmp_path, capsys):
    out = tmp_path / "new" / "dir" / "adding.npz"
    assert main(["sample", "adding", "--opt", "T=40", "--opt", "x2_range=positions", "--n", "25", "--seed", "9",
                 "--out", str(out)]) == 0
    assert "25 sequences of task 4" in capsys.readouterr().out
    expected = get_task("4").generate(np.random.default_rng(9), 25, T=40, x2_range="positions")
    with np.load(out, allow_pickle=False) as data:
        for key in ("xs", "targets", "mask", "lengths"):
            assert np.array_equal(data[key], getattr(expected, key))
        for key, value in expected.info.items():
            assert np.array_equal(data[f"info_{key}"], value)
        meta = json.loads(str(data["meta"]))
    assert meta["task"] == "4" and meta["seed"] == 9 and meta["n"] == 25
    assert meta["options"] == {"T": 40, "x2_range": "positions", "first_marker": "marked", "first_pair_rule": "any"}
    assert [p.name for p in out.parent.iterdir()] == ["adding.npz"]  # no temporary file left behind


def test_sample_bool_and_float_options(tmp_path):
    out = tmp_path / "s.npz"
    assert main(["sample", "3c", "--opt", "info_noise=true", "--n", "3", "--out", str(out)]) == 0
    assert main(["sample", "2c", "--opt", "continue_prob=0.5", "--opt", "q=5", "--opt", "p=3", "--n", "3",
                 "--out", str(out)]) == 0
    with np.load(out) as data:
        assert json.loads(str(data["meta"]))["options"]["continue_prob"] == 0.5 and data["xs"].shape[2] == 7


@pytest.mark.parametrize("args", [
    ["nosuchtask", "--n", "3"], ["adding", "--n", "0"], ["adding", "--n", "x"], ["adding", "--n", "3", "--seed", "-1"],
    ["adding", "--n", "3", "--opt", "T=abc"], ["adding", "--n", "3", "--opt", "T=5"],
    ["adding", "--n", "3", "--opt", "nope=1"], ["adding", "--n", "3", "--opt", "T"],
    ["1", "--n", "3", "--opt", "targets=maybe"], ["3a", "--n", "3", "--opt", "info_noise=2"],
    ["2c", "--n", "100000", "--opt", "q=1000", "--opt", "p=1000"],
])
def test_sample_bad_input_one_line_exit_2_no_file(args, tmp_path, capsys):
    out = tmp_path / "d" / "out.npz"
    assert main(["sample", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lstm-proofs: error: ") and err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "d").exists()


def test_sample_bad_out_path(tmp_path, capsys):
    assert main(["sample", "4", "--n", "2", "--out", str(tmp_path / "x.txt")]) == 2
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["sample", "4", "--n", "2", "--out", str(blocker / "x.npz")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(e.startswith("lstm-proofs: error: ") for e in err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
