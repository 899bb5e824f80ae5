"""Experiments 6a and 6b (temporal order): generators against Section 5.6."""

import numpy as np
import pytest

from lstm_proofs.tasks import get_task

Z = 5.0
ALPHABET = "EBabcdXY"
WINDOWS = {"6a": [(10, 20), (50, 60)], "6b": [(10, 20), (33, 43), (66, 76)]}
CLASSES = {"6a": {"XX": "Q", "XY": "R", "YX": "S", "YY": "U"},
           "6b": {"XXX": "Q", "XXY": "R", "XYX": "S", "XYY": "U", "YXX": "V", "YXY": "A", "YYX": "B", "YYY": "C"}}
NAMES = {"6a": "QRSU", "6b": "QRSUVABC"}


@pytest.mark.parametrize("name", ["6a", "6b"])
def test_sequences_classes_and_positions(name):
    task, n = get_task(name), 8000
    b = task.generate(np.random.default_rng(7), n)
    k = len(NAMES[name])
    assert b.xs.shape[2] == 8 and b.targets.shape[2] == k == task.n_out
    assert b.lengths.min() == 100 and b.lengths.max() == 110
    labels = []
    for i in range(n):
        text = "".join(ALPHABET[s] for s in b.info["symbols"][i, :b.lengths[i]])
        assert text[0] == "E" and text[-1] == "B" and set(text[1:-1]) <= set("abcdXY")
        rel = [(pos, ch) for pos, ch in enumerate(text, start=1) if ch in "XY"]  # 1-based, E at position 1
        assert len(rel) == len(WINDOWS[name])
        for (pos, _), (lo, hi) in zip(rel, WINDOWS[name]):
            assert lo <= pos <= hi
        order = "".join(ch for _, ch in rel)
        label = NAMES[name][b.targets[b.lengths[i] - 1, i].argmax()]
        assert label == CLASSES[name][order]
        labels.append(label)
        if i < 200:
            assert np.array_equal(b.xs[:b.lengths[i], i].argmax(axis=1), b.info["symbols"][i, :b.lengths[i]])
    counts = np.array([labels.count(c) for c in NAMES[name]])
    assert all(abs(c / n - 1 / k) < Z * np.sqrt((1 / k) * (1 - 1 / k) / n) for c in counts)
    positions = b.info["positions"] + 1
    for j, (lo, hi) in enumerate(WINDOWS[name]):
        assert positions[:, j].min() == lo and positions[:, j].max() == hi
    noise = np.concatenate([b.info["symbols"][i, 1:b.lengths[i] - 1] for i in range(0, n, 20)])
    noise = noise[noise < 6]
    share = np.bincount(noise, minlength=6)[2:6] / noise.size
    assert np.all(np.abs(share - 0.25) < Z * np.sqrt(0.1875 / noise.size))
    assert np.all(b.mask.sum(axis=(0, 2)) == k) and np.all(b.targets.sum(axis=(0, 2)) == 1)


def test_origin_option_shifts_positions():
    b = get_task("order2").generate(np.random.default_rng(1), 3000, origin=0)
    assert b.info["positions"][:, 0].min() == 10 and b.info["positions"][:, 1].max() == 60


@pytest.mark.parametrize("name", ["6a", "6b"])
def test_correct_all_units_below_0_3(name):
    task = get_task(name)
    b = task.generate(np.random.default_rng(2), 300)
    cols = np.arange(b.n)
    assert task.correct(b.targets, b).all()
    for delta, ok in ((0.29, True), (0.31, False)):
        out = b.targets.copy()
        out[b.lengths - 1, cols, -1] = np.abs(out[b.lengths - 1, cols, -1] - delta)  # one unit off
        assert np.all(task.correct(out, b) == ok)
