"""Output paths of every command: checked before any work, never clobbering what is not the command's own, one-line
errors with exit status 2; one ``train`` per results file; progress as plain lines in a log."""

import io
import json

import pytest

from lstm_proofs.cli import main
from lstm_proofs.commands import outputs
from lstm_proofs.commands.progress import progress_bar
from lstm_proofs.errors import UserError


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A working directory with a plain file, a foreign JSON file, a foreign text file and a directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "foreign.json").write_text('{"mine": true}')
    (tmp_path / "notes.md").write_text("my notes\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "precious.txt").write_text("keep me")
    return tmp_path


def _fails(argv, fragment, capsys):
    """``argv`` exits 2 with one line of error holding ``fragment``."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


def _no_work(*args, **kwargs):
    raise AssertionError("the command started its work before checking the output path")


@pytest.mark.parametrize("argv, fragment", [
    (["check", "--json", "adir"], "--json adir is a directory"),
    (["check", "--json", "afile/x.json"], "afile is not a directory"),
    (["check", "--json", ""], "--json needs a path"),
    (["check", "--json", "foreign.json"], "exists and is not a results file of lstm-proofs check"),
])
def test_check_output_path_is_refused_before_any_check_runs(place, capsys, monkeypatch, argv, fragment):
    monkeypatch.setattr("lstm_proofs.verify.runner.run_all", _no_work)
    _fails(argv, fragment, capsys)
    assert (place / "foreign.json").read_text() == '{"mine": true}'


def test_check_replaces_its_own_file_and_a_foreign_one_with_force(place, capsys):
    argv = ["check", "--only", "gradient/rnn_tanh/autograd", "--quiet", "--json", "foreign.json"]
    assert main(argv + ["--force"]) == 0
    assert json.loads((place / "foreign.json").read_text())["passed"] is True
    assert main(argv) == 0  # now its own kind: replaced without --force
    assert capsys.readouterr().err == ""  # --quiet: no progress lines


def test_check_prints_one_progress_line_per_group(place, capsys):
    assert main(["check", "--only", "gradient/rnn_tanh/autograd"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err and all(line.startswith("check [1/1] gradients") for line in err)
    assert "1 checks, 1 passed" in err[-1] and "\r" not in "".join(err)


def test_tasks_and_sample_and_flow_refuse_foreign_files(place, capsys, monkeypatch):
    _fails(["tasks", "--json", "foreign.json"], "not a task list", capsys)
    (place / "foreign.npz").write_bytes(b"not an archive")
    _fails(["sample", "4", "--n", "2", "--out", "foreign.npz"], "not a sample", capsys)
    assert (place / "foreign.npz").read_bytes() == b"not an archive"
    assert main(["sample", "4", "--n", "2", "--out", "mine.npz"]) == 0
    assert main(["sample", "4", "--n", "3", "--out", "mine.npz"]) == 0  # its own: replaced
    monkeypatch.setattr("lstm_proofs.flow.measure.measure_all", _no_work)
    _fails(["flow", "--json", "foreign.json"], "not a results file of lstm-proofs flow", capsys)
    (place / "drawing.svg").write_text("<svg>mine</svg>")
    _fails(["flow", "--plot", "drawing.svg"], "not a plot made by matplotlib", capsys)
    assert main(["tasks", "--json", "foreign.json", "--force"]) == 0
    assert "tasks" in json.loads((place / "foreign.json").read_text())


def test_results_refuses_a_foreign_page_and_a_missing_dir(place, capsys):
    (place / "runs").mkdir()
    _fails(["results", "--dir", "runs", "--out", "notes.md"], "not a page written by lstm-proofs results", capsys)
    assert (place / "notes.md").read_text() == "my notes\n"
    _fails(["results", "--dir", "typo"], "--dir typo does not exist", capsys)
    assert main(["results", "--dir", "runs", "--out", "page.md"]) == 0
    assert main(["results", "--dir", "runs", "--out", "page.md"]) == 0  # its own page: replaced


def test_report_and_demo_refuse_bad_or_foreign_directories_before_any_work(place, capsys, monkeypatch):
    monkeypatch.setattr("lstm_proofs.commands.report.ensure_results", _no_work)
    monkeypatch.setattr("lstm_proofs.codegen.files.render_all", _no_work)
    _fails(["report", "--out", "afile/r"], "afile is not a directory", capsys)
    _fails(["report", "--out", "adir"], "does not hold a report", capsys)
    _fails(["report", "--out", "r", "--results", "typo"], "--results typo does not exist", capsys)
    _fails(["report", "--out", "afile"], "exists and is not a directory", capsys)
    _fails(["demo", "--out", "afile/r"], "afile is not a directory", capsys)
    _fails(["demo", "--out", "adir"], "does not hold an earlier demo's output", capsys)
    assert (place / "adir" / "precious.txt").read_text() == "keep me"
    assert not (place / "typo").exists() and not (place / "r").exists()


def test_output_dir_accepts_empty_and_own_directories(tmp_path):
    report = tmp_path / "rep"
    report.mkdir()
    own = outputs.entries_within(("index.html", "report.md"), ("study-*.svg",))
    assert outputs.output_dir("--out", report, owned=own, what="x") == report  # empty
    for name in ("index.html", "report.md", "study-3.svg"):
        (report / name).write_text("")
    assert outputs.output_dir("--out", report, owned=own, what="x") == report
    (report / "mine.txt").write_text("")
    with pytest.raises(UserError, match="does not hold x"):
        outputs.output_dir("--out", report, owned=own, what="x")
    assert outputs.output_dir("--out", report, owned=own, what="x", force=True) == report


def test_unwritable_parent_is_refused(tmp_path, monkeypatch):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == os.fspath(locked) else real(p, mode))
    with pytest.raises(UserError, match="directory .*locked is not writable"):
        outputs.output_file("--json", locked / "sub" / "x.json", owned=None)


def test_second_train_on_the_same_results_file_refuses(tmp_path, capsys):
    from filelock import FileLock

    path = tmp_path / "run.json"
    held = FileLock(tmp_path / ".run.json.lock")
    held.acquire()
    try:
        _fails(["train", "6a", "--trials", "1", "--max-sequences", "5", "--json", str(path)],
               "is being written by another lstm-proofs run", capsys)
        assert not path.exists()
    finally:
        held.release()
    assert main(["train", "6a", "--trials", "1", "--max-sequences", "5", "--json", str(path), "--quiet",
                 "--backend", "numpy"]) == 0
    assert json.loads(path.read_text())["trials"]


def test_progress_in_a_log_is_plain_lines():
    log = io.StringIO()  # not a terminal
    bar = progress_bar(stream=log, total=100, desc="row", log_interval=0.0)
    for _ in range(4):
        bar.update(25)
    bar.close()
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) >= 2 and all(line.startswith("row:") for line in lines) and "100/100" in lines[-1]
    quiet = io.StringIO()
    bar = progress_bar(disable=True, stream=quiet, total=10)
    bar.update(10)
    bar.close()
    assert quiet.getvalue() == ""
