"""Every package of the source tree is listed in pyproject.toml (a non-editable install would miss it otherwise)."""

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_package_is_listed():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "lstm_proofs").rglob("__init__.py")}
    on_disk |= {"lstm_proofs.derivations", "lstm_proofs.checks"}
    assert on_disk <= listed, f"not listed in pyproject.toml: {sorted(on_disk - listed)}"
    assert config["package-dir"]["lstm_proofs.derivations"] == "derivations"
    assert (REPO / "derivations" / "__init__.py").exists() and (REPO / "checks" / "__init__.py").exists()
