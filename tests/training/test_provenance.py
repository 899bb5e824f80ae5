"""The code stamp of results files: a checkout is dirty when its tracked sources change, not its results."""

import shutil
import subprocess

import pytest

from lstm_proofs.training import provenance

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A git checkout with a tracked source file under pkg/ and a tracked results file, the package pointed at pkg/."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "train").mkdir(parents=True)
    (tmp_path / "results" / "train" / "row.json").write_text("{}\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "start")
    monkeypatch.setattr(provenance, "_PACKAGE", tmp_path / "pkg")
    provenance.git_state.cache_clear()
    yield tmp_path
    provenance.git_state.cache_clear()


def test_results_being_written_do_not_make_the_code_dirty(checkout):
    (checkout / "results" / "train" / "row.json").write_text('{"trials": []}\n')  # tracked, advanced by a resumed run
    (checkout / "results" / "train" / "new.json").write_text("{}\n")  # untracked
    commit, dirty = provenance.git_state()
    assert len(commit) == 40 and dirty is False


def test_a_changed_source_file_makes_the_code_dirty(checkout):
    (checkout / "pkg" / "code.py").write_text("x = 2\n")
    assert provenance.git_state()[1] is True


def test_the_table_marks_only_the_commits_whose_checkout_was_dirty():
    """A row advanced by a dirty checkout and then by a clean one: the mark goes with the dirty commit alone."""
    from lstm_proofs.training.presets import get_preset
    from lstm_proofs.training.results import commit_text
    from lstm_proofs.training.study import row_report

    stamps = [[{"commit": "a" * 40, "dirty": True, "trainer": "f" * 16}],
              [{"commit": "a" * 40, "dirty": True, "trainer": "f" * 16},
               {"commit": "b" * 40, "dirty": False, "trainer": "f" * 16}],
              [{"commit": "b" * 40, "dirty": False, "trainer": "f" * 16}]]
    run = {"row": "6a", "settings": {"row": "6a", "max_sequences": 100, "seed": 0, "backend": "numba"},
           "trials": [{"trial": i, "solved": False, "stop": "cap", "sequences": 100, "code": c}
                      for i, c in enumerate(stamps)]}
    text = commit_text(row_report(get_preset("6a"), run, "f" * 16))
    assert text == "`aaaaaaa` (dirty tree), `bbbbbbb`"
