"""Experiments 4 and 5 (adding, multiplication): the generators against the definition in Sections 5.4 and 5.5.

Statistical checks use a fixed seed and allow 5 standard errors of the sample (a wrong generator fails them; a right
one fails with probability below 1e-6).
"""

import numpy as np
import pytest

from lstm_proofs.errors import UserError
from lstm_proofs.tasks import get_task

Z = 5.0


def _near(observed, expected, sd, n):
    return abs(observed - expected) <= Z * sd / np.sqrt(n)


def _decode(batch):
    """Marked positions, values and markers read back from the inputs (not from ``info``)."""
    values, markers = batch.xs[:, :, 0], batch.xs[:, :, 1]
    return values, markers


@pytest.fixture(scope="module")
def adding():
    return get_task("adding").generate(np.random.default_rng(11), 20_000, T=100)


def test_shapes_lengths_and_padding(adding):
    b, n = adding, 20_000
    assert b.xs.shape == (110, n, 2) and b.targets.shape == (110, n, 1) and b.mask.shape == (110, n, 1)
    assert b.lengths.dtype == np.int64 and b.lengths.min() == 100 and b.lengths.max() == 110
    counts = np.bincount(b.lengths - 100, minlength=11)
    assert all(_near(c / n, 1 / 11, np.sqrt(1 / 11 * 10 / 11), n) for c in counts)  # uniform over [T, T + T/10]
    valid = np.arange(110)[:, None] < b.lengths[None, :]
    assert np.all(b.xs[~valid] == 0.0)
    # The only error signal: the last step of each sequence.
    assert b.mask.sum() == n and np.all(b.mask[b.lengths - 1, np.arange(n), 0] == 1.0)
    assert np.all(b.targets[b.mask == 0.0] == 0.0)


def test_exactly_two_marked_pairs_in_the_paper_windows(adding):
    b, n = adding, 20_000
    values, markers = _decode(b)
    marked = markers == 1.0
    assert np.all(marked.sum(axis=0) == 2)
    first = marked.argmax(axis=0)
    last = 109 - marked[::-1].argmax(axis=0)
    pos1, pos2 = b.info["pos1"], b.info["pos2"]
    assert np.array_equal(np.minimum(pos1, pos2), first) and np.array_equal(np.maximum(pos1, pos2), last)
    # X1: one of the first ten pairs, uniformly.
    assert pos1.min() == 0 and pos1.max() == 9
    assert all(_near(c / n, 0.1, 0.3, n) for c in np.bincount(pos1, minlength=10))
    # X2: one of the first T/2 - 1 still unmarked pairs: 0-based 0 .. 49 without pos1, uniformly (49 choices).
    assert np.all(pos2 != pos1) and pos2.min() == 0 and pos2.max() == 49
    counts = np.bincount(pos2, minlength=50)
    p = 1 / 49
    assert all(_near(c / n, p, np.sqrt(p * (1 - p)), n) for c in counts[10:])  # never X1's position
    for j in range(10):  # position j < 10 is a candidate unless X1 is there
        expected = np.mean(pos1 != j) * p
        assert _near(counts[j] / n, expected, np.sqrt(expected), n)


def test_markers_of_first_final_and_other_pairs(adding):
    b, n = adding, 20_000
    _, markers = _decode(b)
    cols = np.arange(n)
    marked = markers == 1.0
    assert np.all(markers[0][~marked[0]] == -1.0)
    last = markers[b.lengths - 1, cols]
    assert np.all(last == -1.0)  # the final pair is never marked (positions <= 49)
    inner = markers.copy()
    inner[0] = 0.0
    inner[b.lengths - 1, cols] = 0.0
    assert set(np.unique(inner[~marked])) <= {0.0}


def test_values_uniform_and_target_formula(adding):
    b, n = adding, 20_000
    values, markers = _decode(b)
    valid = (np.arange(110)[:, None] < b.lengths[None, :])
    v = values[1:100][valid[1:100]]
    assert v.min() >= -1.0 and v.max() <= 1.0
    assert _near(v.mean(), 0.0, np.sqrt(1 / 3), v.size) and _near(v.var(), 1 / 3, np.sqrt(4 / 45), v.size)
    marked = markers == 1.0
    total = (values * marked).sum(axis=0)  # X1 + X2 read from the inputs
    end_target = b.targets[b.lengths - 1, np.arange(n), 0]
    assert np.allclose(end_target, 0.5 + total / 4.0, rtol=0, atol=1e-15)
    assert np.allclose(b.info["target"], end_target, rtol=0, atol=0)
    assert end_target.min() >= 0.0 and end_target.max() <= 1.0


def test_first_pair_rule(adding):
    b = adding
    values = b.xs[:, :, 0]
    first_marked = (b.info["pos1"] == 0) | (b.info["pos2"] == 0)
    assert 1000 < first_marked.sum() < 3000  # about 1/10 + 9/10 * 1/49 of 20000
    assert np.all(values[0, first_marked] == 0.0) and np.all(b.xs[0, first_marked, 1] == 1.0)
    assert np.all(values[0, ~first_marked] != 0.0)
    assert np.all(b.info["x1"][b.info["pos1"] == 0] == 0.0) and np.all(b.info["x2"][b.info["pos2"] == 0] == 0.0)


def test_switchable_readings():
    task = get_task("4")
    lit = task.generate(np.random.default_rng(2), 20_000, T=100, x2_range="positions")
    assert lit.info["pos2"].max() == 48 and np.all(lit.info["pos2"] != lit.info["pos1"])
    end = task.generate(np.random.default_rng(2), 20_000, first_marker="end")
    on_first = end.info["pos1"] == 0
    assert on_first.any() and np.all(end.xs[0, :, 1] == -1.0) and np.all(end.xs[0, on_first, 0] == 0.0)
    keep = task.generate(np.random.default_rng(3), 20_000, first_pair_rule="x1_only")
    x2_first = (keep.info["pos2"] == 0)
    assert x2_first.sum() > 50 and np.all(keep.xs[0, x2_first, 0] != 0.0)
    assert np.all(keep.xs[0, keep.info["pos1"] == 0, 0] == 0.0)


def test_small_T_keeps_windows():
    b = get_task("4").generate(np.random.default_rng(0), 5000, T=20)
    assert b.lengths.min() == 20 and b.lengths.max() == 22
    assert np.all((b.xs[:, :, 1] == 1.0).sum(axis=0) == 2)
    # first T/2 - 1 = 9 unmarked pairs: the 9 smallest positions other than pos1
    assert b.info["pos2"].max() == 9
    assert np.all(b.info["pos2"][b.info["pos1"] == 9] <= 8)


def test_multiplication_target_and_first_pair():
    b = get_task("multiplication").generate(np.random.default_rng(5), 20_000, T=100)
    n = b.n
    values, markers = b.xs[:, :, 0], b.xs[:, :, 1]
    valid = np.arange(b.steps)[:, None] < b.lengths[None, :]
    v = values[1:100][valid[1:100]]
    assert v.min() >= 0.0 and v.max() <= 1.0 and _near(v.mean(), 0.5, np.sqrt(1 / 12), v.size)
    marked = markers == 1.0
    assert np.all(marked.sum(axis=0) == 2)
    product = np.where(marked, values, 1.0).prod(axis=0)
    assert np.allclose(b.targets[b.lengths - 1, np.arange(n), 0], product, rtol=0, atol=1e-15)
    first = marked[0]
    assert first.any() and np.all(values[0, first] == 1.0)


def test_correct_and_errors_threshold():
    task = get_task("adding")
    b = task.generate(np.random.default_rng(9), 500)
    assert task.correct(b.targets, b).all() and np.all(task.errors(b.targets, b) == 0.0)
    cols = np.arange(b.n)
    for delta, ok in ((0.039, True), (0.041, False)):
        out = b.targets.copy()
        end = out[b.lengths - 1, cols, 0]
        out[b.lengths - 1, cols, 0] = np.where(end > 0.5, end - delta, end + delta)
        assert np.all(task.correct(out, b) == ok)
        assert np.allclose(task.errors(out, b), delta)
    wrong_elsewhere = b.targets.copy()
    wrong_elsewhere[0] += 0.5  # outputs before the end do not count
    assert task.correct(wrong_elsewhere, b).all()
    with pytest.raises(ValueError):
        task.correct(b.targets[:-1], b)


def test_generation_speed():
    import time

    task = get_task("adding")
    task.generate(np.random.default_rng(0), 10_000, T=100)
    start = time.perf_counter()
    task.generate(np.random.default_rng(1), 10_000, T=100)
    assert time.perf_counter() - start < 0.5


def test_bad_options():
    task = get_task("adding")
    for bad in ({"T": 5}, {"T": 100.5}, {"T": "100"}, {"x2_range": "all"}, {"tee": 3}, {"T": True}):
        with pytest.raises(UserError):
            task.generate(np.random.default_rng(0), 3, **bad)
