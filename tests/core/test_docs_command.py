"""``lstm-proofs docs``: the tables in docs/ are the rendering of the results files."""

import json
import shutil
from pathlib import Path

from lstm_proofs.cli import main
from lstm_proofs.commands import docs

REPO = Path(__file__).resolve().parents[2]


def test_checked_in_docs_are_current(capsys):
    assert main(["docs", "--check"]) == 0, capsys.readouterr().out


def _copy_tree(tmp_path: Path) -> Path:
    for doc, _, source, _ in docs.BLOCKS:
        for rel in (doc, source):
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / rel, tmp_path / rel)
    return tmp_path


def test_a_changed_results_file_makes_the_docs_stale_and_docs_refreshes_them(tmp_path, capsys):
    root = _copy_tree(tmp_path)
    payload = json.loads((root / "results/checks.json").read_text())
    payload["checks"][0]["max_rel_error"] = 0.123456
    (root / "results/checks.json").write_text(json.dumps(payload))
    args = ["docs", "--root", str(root)]
    assert main([*args, "--check"]) == 1
    assert "+| `" in capsys.readouterr().out  # a unified diff of the table
    assert main(args) == 0
    assert "| 0.123 |" in (root / "docs/verification.md").read_text()
    assert main([*args, "--check"]) == 0


def test_missing_or_corrupt_results_file_is_a_one_line_error(tmp_path, capsys):
    root = _copy_tree(tmp_path)
    (root / "results/checks.json").write_text("{not json")
    assert main(["docs", "--root", str(root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "results/checks.json is not valid JSON" in err[0]
