"""`lstm-proofs derive`: deterministic regeneration, --check passes on the checked-in tree and fails on stale files."""

import time

from lstm_proofs.cli import main
from lstm_proofs.codegen.files import DERIVATIONS_DIR, render_all, stale_files


def test_checked_in_derivations_are_up_to_date(capsys):
    assert main(["derive", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_regeneration_is_deterministic_and_fast():
    start = time.perf_counter()
    a = render_all()
    elapsed = time.perf_counter() - start
    assert a == render_all()
    assert elapsed < 30  # issue 2: derivation plus code generation for all cells under 30 s


def test_stale_file_gives_unified_diff(tmp_path):
    files = render_all(["lstm1997"])
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert stale_files(files, tmp_path) == {}
    path = tmp_path / "lstm1997.py"
    lines = path.read_text().splitlines(True)
    i = next(i for i, ln in enumerate(lines) if ln.startswith("    s = s_prev + "))
    original = lines[i]
    lines[i] = original.replace("s_prev + ", "s_prev - ", 1)
    path.write_text("".join(lines))
    diffs = stale_files(files, tmp_path)
    assert list(diffs) == ["lstm1997.py"]
    assert "-" + lines[i] in diffs["lstm1997.py"] and "+" + original in diffs["lstm1997.py"]


def test_generated_files_have_header_and_citations():
    text = (DERIVATIONS_DIR / "lstm1997.py").read_text()
    assert "GENERATED FILE - DO NOT EDIT" in text.splitlines()[2]
    assert "lstm-proofs derive" in text
    assert "# eq. (9) internal state: the CEC" in text
    assert "Total ops:" in text
    assert "t0 = " in text  # common-subexpression temporaries


def test_derive_check_cli_fails_with_diff_then_derive_repairs(tmp_path, monkeypatch, capsys):
    from lstm_proofs.codegen import files as gen

    for name, text in render_all().items():
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(gen, "DERIVATIONS_DIR", tmp_path)
    assert main(["derive", "--check"]) == 0
    target = tmp_path / "forget.py"
    target.write_text(target.read_text().replace("s = s_prev*y_forget + ", "s = s_prev + ", 1))
    capsys.readouterr()
    assert main(["derive", "--check"]) == 1
    captured = capsys.readouterr()
    assert "--- checked-in/forget.py" in captured.out and "forget.py" in captured.err
    assert main(["derive"]) == 0
    assert main(["derive", "--check"]) == 0
