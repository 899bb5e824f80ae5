"""docs/results.md's "What completing the table still takes": trials left, trial-sequences at most, and the row's
own rate, from the results file and its checkpoints."""

import json

import numpy as np
import pytest

from lstm_proofs.training.presets import get_preset
from lstm_proofs.training.results import checkpointed, completion, completion_lines
from lstm_proofs.training.study import row_report

ROW = "6a"  # 20 trials in the paper, default cap 313,900 (ten times the paper's mean)


def _run(tmp_path, cap, trials, wall=100.0):
    preset = get_preset(ROW)
    path = tmp_path / "6a.json"
    run = {"row": ROW, "path": str(path), "wall_seconds": wall,
           "settings": {"row": ROW, "max_sequences": cap, "seed": 0, "backend": "numba", "task_options": {}},
           "trials": [{"trial": i, "solved": s, "stop": "solved" if s else "cap", "sequences": q}
                      for i, (s, q) in enumerate(trials)]}
    return preset, path, run


def _checkpoint(d, trial, sequences, seconds):
    """A checkpoint of ``trial`` in directory ``d`` (beside results file x.json: x.ckpt/)."""
    d.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"format": 1, "settings": {}, "state": {"sequences": sequences, "seconds": seconds}})
    np.savez(d / f"trial_{trial:04d}.npz", meta=np.array(meta))


def test_a_row_at_its_default_cap_runs_only_its_missing_trials(tmp_path):
    preset, path, run = _run(tmp_path, 313_900, [(True, 1000), (False, 313_900), (True, 3000)])
    _checkpoint(path.with_suffix(".ckpt"), 3, 5000, 7.0)
    _checkpoint(path.with_suffix(".ckpt"), 0, 999, 1.0)  # a finished trial's leftover checkpoint counts for nothing
    assert checkpointed(path) == {0: (999, 1.0), 3: (5000, 7.0)}
    c = completion(row_report(preset, run))
    assert c["left"] == 17 and c["rerun"] == 0
    assert c["sequences"] == 17 * 313_900 - 5000
    # the finished trials' and trial 3's checkpointed sequences over the file's wall time (longer than 7 s)
    assert c["rate"] == pytest.approx((1000 + 313_900 + 3000 + 5000) / 100.0)


def test_a_row_below_its_default_cap_is_extended_its_solved_trials_staying(tmp_path):
    preset, path, run = _run(tmp_path, 10_000, [(True, 1000), (False, 10_000), (False, 10_000)])
    c = completion(row_report(preset, run))
    assert c["left"] == 19 and c["rerun"] == 2
    assert c["sequences"] == 2 * 313_900 + 17 * 313_900
    _checkpoint(path.with_suffix(".ckpt") / "at-cap", 2, 9000, 5.0)  # kept at the cap: trial 2 runs on from there
    assert completion(row_report(preset, run))["sequences"] == 19 * 313_900 - 9000
    assert "| 19 (2 stopped at the lower cap) |" in "\n".join(completion_lines([row_report(preset, run)]))


def test_checkpoints_alone_give_the_rate_over_their_recorded_time(tmp_path):
    preset, path, run = _run(tmp_path, 313_900, [], wall=0.0)
    _checkpoint(path.with_suffix(".ckpt"), 0, 4000, 20.0)
    _checkpoint(path.with_suffix(".ckpt"), 1, 4000, 20.0)  # lockstep: the same wall time
    c = completion(row_report(preset, run))
    assert c["rate"] == pytest.approx(8000 / 20.0)
    assert c["sequences"] == 20 * 313_900 - 8000


def test_complete_rows_are_left_out_and_rows_not_run_have_no_rate(tmp_path):
    preset, _, run = _run(tmp_path, 313_900, [(True, 100)] * 20)
    assert completion(row_report(preset, run)) is None
    missing = completion(row_report(preset, None))
    assert missing["sequences"] == 20 * 313_900 and missing["rate"] is None
    text = "\n".join(completion_lines([row_report(preset, None)]))
    assert "| `6a` | *not run* | 313,900 | 20 | 6,278,000 | - | - |" in text


def test_the_row_table_counts_checkpointed_trials_as_in_progress(tmp_path):
    from lstm_proofs.training.results import _in_progress

    preset, path, run = _run(tmp_path, 313_900, [(True, 1000)])
    assert _in_progress(row_report(preset, run)) == ""
    _checkpoint(path.with_suffix(".ckpt"), 0, 999, 1.0)  # finished: not in progress
    _checkpoint(path.with_suffix(".ckpt"), 4, 5000, 7.0)
    assert _in_progress(row_report(preset, run)) == "; 1 in progress, unsolved at 5,000 sequences"
    _checkpoint(path.with_suffix(".ckpt"), 2, 7000, 9.0)
    assert _in_progress(row_report(preset, run)) == "; 2 in progress, unsolved at 5,000 to 7,000 sequences"


def test_the_rate_counts_the_time_before_checkpoints_a_trial_resumed_from(tmp_path):
    """A row finished by a resumed run: the file's wall time covers that run only; the trials' own seconds cover
    all of it."""
    from lstm_proofs.training.results import row_seconds

    preset, _, run = _run(tmp_path, 10_000, [(False, 10_000), (False, 10_000)], wall=5.0)
    for t, seconds in zip(run["trials"], (400.0, 390.0)):
        t["seconds"] = seconds
    assert row_seconds(run) == 400.0
    assert completion(row_report(preset, run))["rate"] == pytest.approx(20_000 / 400.0)
    run["wall_seconds"] = 1000.0
    assert row_seconds(run) == 1000.0


def test_rows_differing_only_in_the_learning_rate_are_set_side_by_side(tmp_path):
    """docs/results.md's "Learning rate" section: Table 2's RTRL rows on p = 4, lowest rate first, the paper's
    rates and ours with k/n, an incomplete row starred; rows without a sibling are left out."""
    from lstm_proofs.training.results import learning_rate_lines

    reports = []
    for row, solved, n in (("2a/rtrl/p=4/lr=10", 12, 18), ("2a/rtrl/p=4/lr=1", 0, 7), ("2a/rtrl/p=4/lr=4", 1, 18),
                           ("6a", 20, 20)):
        preset = get_preset(row)
        run = {"row": row, "path": str(tmp_path / "x.json"), "wall_seconds": 1.0,
               "settings": {"row": row, "max_sequences": 1000, "seed": 0}, "trials": [
                   {"trial": i, "solved": i < solved, "stop": "criterion" if i < solved else "cap",
                    "sequences": 500 if i < solved else 1000} for i in range(n)]}
        reports.append(row_report(preset, run))
    lines = learning_rate_lines(reports)
    assert lines[1] == "## Learning rate"
    assert lines[-1] == ("| `2a/rtrl/p=4/lr=...` | 1 → 4 → 10 | 78% → 56% → 22% | 0% (0/7*) → 6% (1/18) → "
                         "67% (12/18) |")
    assert not any("6a" in ln for ln in lines)
    assert learning_rate_lines(reports[3:]) == []
