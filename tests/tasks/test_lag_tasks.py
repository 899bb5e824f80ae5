"""Experiments 2a, 2b, 2c (long time lags, local coding): generators against Section 5.2."""

import numpy as np
import pytest

from lstm_proofs.errors import UserError
from lstm_proofs.tasks import get_task

Z = 5.0


def test_2a_two_fixed_sequences_next_symbol_targets():
    task = get_task("2a")
    b = task.generate(np.random.default_rng(0), 2000, p=20)
    assert task.n_inputs(p=20) == task.n_outputs(p=20) == 21 and task.n_in == 101
    assert b.xs.shape == (20, 2000, 21) and np.all(b.lengths == 20)
    sym = b.info["symbols"]  # (n, p + 1)
    x, y = 19, 20  # a_p and a_{p+1}
    for row, cls in zip(sym, b.info["cls"]):
        first = y if cls == 1 else x
        assert list(row) == [first, *range(19), first]  # (y, a_1 .. a_{p-1}, y) or (x, ..., x)
    assert abs(b.info["cls"].mean() - 0.5) < Z * 0.5 / np.sqrt(2000)
    assert np.array_equal(b.xs.argmax(axis=2).T, sym[:, :-1]) and np.array_equal(b.targets.argmax(axis=2).T, sym[:, 1:])
    assert np.all(b.xs.sum(axis=2) == 1) and np.all(b.targets.sum(axis=2) == 1) and np.all(b.mask == 1.0)


def test_2a_criterion_every_step_or_end():
    task = get_task("2a")
    b = task.generate(np.random.default_rng(1), 50, p=10)
    assert task.correct(b.targets, b).all()
    out = b.targets.copy()
    out[3, :, 0] = 0.26  # a wrong middle step
    assert not task.correct(out, b).any() and task.correct(out, b, criterion="end").all()
    assert np.allclose(task.errors(out, b), 0.26)
    out[3, :, 0] = 0.24
    assert task.correct(out, b).all()
    end = b.targets.copy()
    end[-1] = np.abs(end[-1] - 0.3)
    assert not task.correct(end, b, criterion="end").any()


def test_2b_random_middle_uniform_and_end_criterion():
    task = get_task("2b")
    p, n = 10, 5000
    b = task.generate(np.random.default_rng(2), n, p=p)
    sym = b.info["symbols"]
    assert np.array_equal(sym[:, 0], sym[:, -1]) and set(np.unique(sym[:, 0])) == {p - 1, p}
    middle = sym[:, 1:-1]
    counts = np.bincount(middle.ravel(), minlength=p + 1)
    assert counts[p - 1] == counts[p] == 0  # x and y never in the middle
    share = 1 / (p - 1)
    assert all(abs(c / middle.size - share) < Z * np.sqrt(share * (1 - share) / middle.size) for c in counts[:p - 1])
    assert np.array_equal(b.targets.argmax(axis=2).T, sym[:, 1:]) and np.all(b.mask == 1.0)
    out = np.full_like(b.targets, 1 / (p - 1))  # the best guess in the middle is wrong by far more than 0.25
    out[-1] = b.targets[-1]
    assert task.correct(out, b).all() and not task.correct(out, b, criterion="all_steps").any()


def test_2c_structure_and_mean_length():
    task = get_task("2c")
    q, p, n = 50, 20, 3000
    b = task.generate(np.random.default_rng(3), n, q=q, p=p)
    assert b.xs.shape[2] == p + 4 and b.targets.shape[2] == 2
    sym, L = b.info["symbols"], b.lengths
    e, bsym, x, y = p, p + 1, p + 2, p + 3
    cols = np.arange(n)
    assert np.all(sym[:, 0] == bsym) and np.all(np.isin(sym[:, 1], [x, y]))
    assert np.all(sym[cols, L - 1] == e) and np.array_equal(sym[cols, L], sym[:, 1])
    for i in range(0, n, 211):
        mid = sym[i, 2:L[i] - 1]
        assert mid.size == q + b.info["k"][i] and mid.min() >= 0 and mid.max() < p
    assert b.info["symbol_length"].min() == q + 4 and np.array_equal(b.info["symbol_length"], L + 1)
    # one-hot inputs, target at the e step: x -> unit 0, y -> unit 1; class balance
    assert np.array_equal(b.xs.argmax(axis=2).T[cols[:, None], np.arange(5)], sym[:, :5])
    assert np.all(b.mask.sum(axis=(0, 2)) == 2) and np.all(b.mask[L - 1, cols] == 1.0)
    assert np.array_equal(b.targets[L - 1, cols].argmax(axis=1), sym[:, 1] - x)
    assert abs(b.info["cls"].mean() - 0.5) < Z * 0.5 / np.sqrt(n)
    counts = np.bincount(np.concatenate([sym[i, 2:L[i] - 1] for i in range(0, n, 10)]), minlength=p)
    assert counts[:p].min() > 0.9 * counts[:p].mean()


def test_2c_mean_length_is_q_plus_13():
    # Symbol length q + k + 4, k >= 0 geometric with continue probability 9/10: mean q + 13 (the paper prints
    # q + 14, over 10 standard errors away at this sample size), standard deviation sqrt(0.9) / 0.1.
    task, q = get_task("2c"), 30
    rng = np.random.default_rng(6)
    batches = [task.generate(rng, 2000, q=q, p=2) for _ in range(12)]
    length = np.concatenate([b.info["symbol_length"] for b in batches])
    k = np.concatenate([b.info["k"] for b in batches])
    assert np.array_equal(length, q + k + 4)
    n = length.size
    assert abs(length.mean() - (q + 13)) < Z * (np.sqrt(0.9) / 0.1) / np.sqrt(n)
    assert abs(np.mean(k == 0) - 0.1) < Z * 0.3 / np.sqrt(n)
    assert abs(np.mean(k == 1) - 0.09) < Z * np.sqrt(0.09 * 0.91 / n)


def test_2c_options():
    task = get_task("2c")
    b = task.generate(np.random.default_rng(4), 20_000, q=10, p=20, continue_prob=0.1)
    mean = 10 + 4 + 0.1 / 0.9  # E[k] = c / (1 - c)
    assert abs(b.info["symbol_length"].mean() - mean) < Z * (np.sqrt(0.1) / 0.9) / np.sqrt(20_000)
    r = task.generate(np.random.default_rng(4), 500, q=10, p=20, distractor_range="q")
    assert max(r.info["symbols"][i, 2:r.lengths[i] - 1].max() for i in range(500)) == 9
    with pytest.raises(UserError, match="q <= p"):
        task.generate(np.random.default_rng(4), 5, q=30, p=20, distractor_range="q")
    assert task.n_inputs(p=1000) == 1004 and task.io_text() == "p+4 = 104/2"


def test_2c_correct_threshold():
    task = get_task("2c")
    b = task.generate(np.random.default_rng(5), 300, q=20, p=10)
    cols = np.arange(b.n)
    assert task.correct(b.targets, b).all()
    for delta, ok in ((0.19, True), (0.21, False)):
        out = b.targets.copy()
        out[b.lengths - 1, cols] = np.abs(out[b.lengths - 1, cols] - delta)
        assert np.all(task.correct(out, b) == ok)
