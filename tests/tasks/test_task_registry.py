"""The task registry, options, determinism, Batch helpers and the generic correct() sanity for every task."""

import numpy as np
import pytest

from lstm_proofs.errors import UserError
from lstm_proofs.tasks import TASKS, Batch, get_task

SMALL = {"2a": {"p": 12}, "2b": {"p": 12}, "2c": {"q": 15, "p": 6}, "3a": {"T": 30}, "3b": {"T": 30},
         "3c": {"T": 30}, "4": {"T": 30}, "5": {"T": 30}}


def test_registry_names_aliases_and_sizes():
    assert list(TASKS) == ["1", "2a", "2b", "2c", "3a", "3b", "3c", "4", "5", "6a", "6b"]
    for alias, name in (("reber", "1"), ("ADDING", "4"), ("multiplication", "5"), ("order2", "6a"),
                        ("order3", "6b"), (" 2c ", "2c")):
        assert get_task(alias).name == name
    sizes = {name: (t.n_in, t.n_out) for name, t in TASKS.items()}
    # Table 10's in/out columns with the paper's default options
    assert sizes == {"1": (7, 7), "2a": (101, 101), "2b": (101, 101), "2c": (104, 2), "3a": (1, 1), "3b": (1, 1),
                     "3c": (1, 1), "4": (2, 1), "5": (2, 1), "6a": (8, 4), "6b": (8, 8)}
    with pytest.raises(UserError, match="valid tasks: 1 "):
        get_task("7")
    for task in TASKS.values():
        assert task.title and task.experiment and task.tables and task.description
        assert task.options() == task.defaults
        for row in task.paper_rows:
            task.options(**row)


@pytest.mark.parametrize("name", list(TASKS))
def test_same_seed_same_batch_other_seed_differs(name):
    task, opts = get_task(name), SMALL.get(name, {})
    a = task.generate(np.random.default_rng(42), 40, **opts)
    b = task.generate(np.random.default_rng(42), 40, **opts)
    c = task.generate(np.random.default_rng(43), 40, **opts)
    for field in ("xs", "targets", "mask", "lengths"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
        assert getattr(a, field).dtype == (np.int64 if field == "lengths" else np.float64)
    assert a.info.keys() == b.info.keys() and all(np.array_equal(a.info[k], b.info[k]) for k in a.info)
    assert a.xs.shape != c.xs.shape or not np.array_equal(a.xs, c.xs)
    T = int(a.lengths.max())
    assert a.xs.shape[:2] == a.targets.shape[:2] == a.mask.shape[:2] == (T, 40)
    assert a.xs.shape[2] == task.n_inputs(**opts) and a.targets.shape[2] == task.n_outputs(**opts)
    assert set(np.unique(a.mask)) <= {0.0, 1.0}
    valid = np.arange(T)[:, None] < a.lengths[None, :]
    assert np.all(a.xs[~valid] == 0.0) and np.all(a.mask[~valid] == 0.0)
    assert all(v.shape[0] == 40 for v in a.info.values())
    if task.target_at_end:
        assert np.all(a.mask.sum(axis=(0, 2)) == task.n_outputs(**opts))
    assert a.lengths.max() <= task.max_steps(**opts)


@pytest.mark.parametrize("name", [n for n in TASKS if n not in ("1", "3c")])
def test_perfect_outputs_correct_and_far_outputs_wrong(name):
    task, opts = get_task(name), SMALL.get(name, {})
    b = task.generate(np.random.default_rng(8), 60, **opts)
    assert task.correct(b.targets, b).all() and np.allclose(task.errors(b.targets, b), 0.0)
    flipped = 1.0 - b.targets  # every target is 0 or 1 here except 4 and 5, which are handled below
    if name in ("4", "5"):
        flipped = b.targets + np.where(b.targets > 0.5, -0.2, 0.2)
    assert not task.correct(flipped, b).any()
    assert task.errors(flipped, b).min() > task.tolerance


def test_option_parsing_and_validation():
    task = get_task("2c")
    assert task.parse_options(["q=50", "p=50", "continue_prob=0.1"]) == \
        {"q": 50, "p": 50, "continue_prob": 0.1, "distractor_range": "p"}
    assert get_task("3a").parse_options(["info_noise=yes"])["info_noise"] is True
    for bad in (["q=5.5"], ["q="], ["q"], ["continue_prob=nan"], ["continue_prob=1.0"], ["zz=1"], ["q=0"],
                ["distractor_range=r"]):
        with pytest.raises(UserError):
            task.parse_options(bad)
    with pytest.raises(UserError, match="number of sequences"):
        task.generate(np.random.default_rng(0), 0)
    with pytest.raises(UserError):
        task.generate(np.random.default_rng(0), 2.0)


def test_remembered_options_are_fresh_and_still_validated():
    task = get_task("2c")
    first = task.options(q=50, p=50)
    first["q"] = 7  # the caller's dict is its own: changing it changes nothing remembered
    assert task.options(q=50, p=50)["q"] == 50
    assert task.options(q=50.0, p=50)["q"] == 50 and type(task.options(q=50.0, p=50)["q"]) is int
    noise = get_task("3a")
    assert noise.options(info_noise=True)["info_noise"] is True
    with pytest.raises(UserError):  # equal to the remembered valid value True, but of a type the option refuses
        noise.options(info_noise=1)
    with pytest.raises(UserError):
        task.options(q=0, p=50)
    with pytest.raises(UserError):  # an invalid set is not remembered as valid
        task.options(q=0, p=50)


def test_batch_take_and_concatenate():
    task = get_task("reber")
    b = task.generate(np.random.default_rng(3), 30)
    sub = b.take([5, 2, 2])
    assert sub.n == 3 and sub.steps == b.lengths[[5, 2]].max()
    assert np.array_equal(sub.xs[:, 1], sub.xs[:, 2]) and np.array_equal(sub.xs[:, 0], b.xs[:sub.steps, 5])
    assert task.correct(sub.info["legal"][:, :sub.steps].transpose(1, 0, 2) * 1.0, sub).all()
    c = task.generate(np.random.default_rng(4), 10)
    both = Batch.concatenate([b, c])
    assert both.n == 40 and both.steps == max(b.steps, c.steps)
    assert np.array_equal(both.take(range(30, 40)).xs, c.take(range(10)).xs)
    assert np.array_equal(both.at_end(both.xs), np.concatenate([b.at_end(b.xs), c.at_end(c.xs)]))
    assert both.info["symbols"].shape[0] == 40
