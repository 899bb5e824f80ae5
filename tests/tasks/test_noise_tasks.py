"""Experiments 3a, 3b, 3c (2-sequence problem and noisy variants): generators against Section 5.3."""

import numpy as np
import pytest

from lstm_proofs.errors import UserError
from lstm_proofs.tasks import get_task

Z = 5.0
N_SEQ = 20_000


def _noise_ok(x, variance):
    """Sample mean 0 and sample variance ``variance`` within 5 standard errors (Gaussian: var of s^2 = 2 s^4/n)."""
    return abs(x.mean()) < Z * np.sqrt(variance / x.size) and \
        abs(x.var() - variance) < Z * np.sqrt(2 * variance ** 2 / x.size)


@pytest.mark.parametrize("name", ["3a", "3b", "3c"])
def test_classes_lengths_and_distractor_noise(name):
    b = get_task(name).generate(np.random.default_rng(1), N_SEQ, T=100, N=3)
    cls = b.info["cls"]
    assert abs(cls.mean() - 0.5) < Z * 0.5 / np.sqrt(N_SEQ)
    assert b.lengths.min() == 100 and b.lengths.max() == 110 and len(np.unique(b.lengths)) == 11
    x = b.xs[:, :, 0]
    valid = np.arange(b.steps)[:, None] < b.lengths[None, :]
    assert np.all(x[~valid] == 0.0)
    assert _noise_ok(x[3:100].ravel(), 0.2)  # elements t > N: mean 0, variance 0.2
    assert np.all(b.mask.sum(axis=(0, 2)) == 1) and np.all(b.mask[b.lengths - 1, np.arange(N_SEQ), 0] == 1)


def test_3a_information_and_targets():
    b = get_task("3a").generate(np.random.default_rng(2), N_SEQ, T=100, N=3)
    sign = np.where(b.info["cls"] == 0, 1.0, -1.0)
    assert np.all(b.xs[:3, :, 0] == sign[None, :])
    assert not np.any(np.abs(b.xs[3, :, 0]) == 1.0)
    end = b.targets[b.lengths - 1, np.arange(N_SEQ), 0]
    assert np.array_equal(end, np.where(b.info["cls"] == 0, 1.0, 0.0))
    one = get_task("3a").generate(np.random.default_rng(2), 100, N=1, T=1000)
    assert one.lengths.min() >= 1000 and one.lengths.max() <= 1100
    assert np.all(np.abs(one.xs[0, :, 0]) == 1.0) and not np.any(np.abs(one.xs[1, :, 0]) == 1.0)


def test_3b_noise_on_information():
    b = get_task("3b").generate(np.random.default_rng(3), N_SEQ, T=100, N=3)
    sign = np.where(b.info["cls"] == 0, 1.0, -1.0)
    assert _noise_ok((b.xs[:3, :, 0] - sign[None, :]).ravel(), 0.2)
    end = b.targets[b.lengths - 1, np.arange(N_SEQ), 0]
    assert np.array_equal(end, np.where(b.info["cls"] == 0, 1.0, 0.0))


def test_3c_noisy_targets_and_criterion():
    task = get_task("3c")
    b = task.generate(np.random.default_rng(4), N_SEQ, T=100, N=3)
    sign = np.where(b.info["cls"] == 0, 1.0, -1.0)
    assert np.all(b.xs[:3, :, 0] == sign[None, :])  # informative inputs noise-free by default
    clean = b.info["clean_target"]
    assert np.array_equal(clean, np.where(b.info["cls"] == 0, 0.2, 0.8))
    end = b.targets[b.lengths - 1, np.arange(N_SEQ), 0]
    assert _noise_ok(end - clean, 0.1)
    # correct / errors measure the distance to the noise-free target
    out = np.zeros_like(b.targets)
    cols = np.arange(N_SEQ)
    out[b.lengths - 1, cols, 0] = clean
    assert task.correct(out, b).all() and np.all(task.errors(out, b) == 0.0)
    assert not task.correct(b.targets, b).all()  # the noisy targets themselves are often > 0.1 away
    for delta, ok in ((0.09, True), (0.11, False)):
        out[b.lengths - 1, cols, 0] = clean + delta
        assert np.all(task.correct(out, b) == ok)
    noisy_info = task.generate(np.random.default_rng(4), 2000, info_noise=True)
    assert not np.any(np.abs(noisy_info.xs[:3, :, 0]) == 1.0)


def test_3a_correct_threshold_and_options():
    task = get_task("3a")
    b = task.generate(np.random.default_rng(5), 400)
    cols = np.arange(b.n)
    for delta, ok in ((0.19, True), (0.21, False)):
        out = b.targets.copy()
        out[b.lengths - 1, cols, 0] = np.abs(out[b.lengths - 1, cols, 0] - delta)
        assert np.all(task.correct(out, b) == ok)
    fixed = task.generate(np.random.default_rng(5), 50, lengths="fixed")
    assert np.all(fixed.lengths == 100)
    with pytest.raises(UserError):
        task.generate(np.random.default_rng(5), 5, N=101)
    with pytest.raises(UserError):
        task.generate(np.random.default_rng(5), 5, info_noise=1)
