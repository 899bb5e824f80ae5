"""The README's main job, end to end."""

import json

from lstm_proofs.cli import main


def test_demo_end_to_end(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "checked-in derivations/ are up to date" in out
    checks = json.loads((tmp_path / "demo" / "results" / "checks.json").read_text())
    assert checks["passed"] and checks["checks"]
    assert (tmp_path / "demo" / "report" / "index.html").exists()
    assert (tmp_path / "demo" / "report" / "report.md").exists()
