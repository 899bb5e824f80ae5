"""Experiment 1 (embedded Reber grammar): generated strings against an automaton written independently here."""

import numpy as np
import pytest

from lstm_proofs.tasks import get_task

LETTERS = "BTPSXVE"  # order of the input/output units
# The Reber graph as letter transitions (Cleeremans et al. 1989): state -> {letter: next state}; "end" accepts E.
REBER = {"0": {"T": "1", "P": "2"}, "1": {"S": "1", "X": "3"}, "2": {"T": "2", "V": "4"},
         "3": {"X": "2", "S": "end"}, "4": {"P": "3", "V": "end"}, "end": {"E": "done"}}


def embedded_transitions(state):
    """The embedded grammar B O <B Reber E> O E as a deterministic automaton over (phase, O, inner state)."""
    phase, outer, inner = state
    if phase == "start":
        return {"B": ("outer", None, None)}
    if phase == "outer":
        return {o: ("inner_b", o, None) for o in "TP"}
    if phase == "inner_b":
        return {"B": ("inner", outer, "0")}
    if phase == "inner":
        moves = REBER[inner]
        return {c: (("close", outer, None) if nxt == "done" else ("inner", outer, nxt)) for c, nxt in moves.items()}
    if phase == "close":
        return {outer: ("final", outer, None)}
    if phase == "final":
        return {"E": ("accept", outer, None)}
    return {}


def walk(string):
    """Accept or reject ``string``; also return the legal next letters after every prefix."""
    state, legal = ("start", None, None), []
    for ch in string:
        moves = embedded_transitions(state)
        if ch not in moves:
            return False, legal
        state = moves[ch]
        legal.append(set(embedded_transitions(state)))
    return state[0] == "accept", legal


def to_text(row):
    return "".join(LETTERS[i] for i in row if i >= 0)


@pytest.fixture(scope="module")
def batch():
    return get_task("reber").generate(np.random.default_rng(4), 4000)


def test_every_string_is_accepted_and_legal_sets_match(batch):
    b = batch
    for i in range(b.n):
        text = to_text(b.info["symbols"][i])
        accepted, legal = walk(text)
        assert accepted, text
        assert len(text) == b.lengths[i] + 1  # every symbol but the final E is an input
        for t in range(b.lengths[i]):
            assert {LETTERS[j] for j in np.flatnonzero(b.info["legal"][i, t])} == legal[t], (text, t)
    assert "BTBTXSETE" in {to_text(r) for r in b.info["symbols"]}  # the shortest string (9 symbols)
    assert b.lengths.min() == 8


def test_inputs_targets_and_mask(batch):
    b = batch
    valid = np.arange(b.steps)[:, None] < b.lengths[None, :]
    assert np.all(b.xs.sum(axis=2) == valid) and np.all(b.targets.sum(axis=2) == valid)
    sym = b.info["symbols"]
    for i in range(0, b.n, 97):
        L = b.lengths[i]
        assert np.array_equal(b.xs[:L, i].argmax(axis=1), sym[i, :L])
        assert np.array_equal(b.targets[:L, i].argmax(axis=1), sym[i, 1:L + 1])  # the actual next symbol
    assert np.array_equal(b.mask, np.repeat(valid[:, :, None], 7, axis=2).astype(float))
    legal = get_task("reber").generate(np.random.default_rng(4), 4000, targets="legal")
    assert np.array_equal(legal.xs, b.xs)
    assert np.array_equal(legal.targets, b.info["legal"][:, :b.steps].transpose(1, 0, 2).astype(float))


def test_branch_probabilities_and_mean_length(batch):
    b = batch
    texts = [to_text(r) for r in b.info["symbols"]]
    second = np.array([t[1] == "T" for t in texts])
    assert abs(second.mean() - 0.5) < 5 * 0.5 / np.sqrt(b.n)
    assert all(t[-2] == t[1] for t in texts)  # the same O both times
    # Every inner choice: each of the two edges with probability 0.5.
    taken = {s: {c: 0 for c in REBER[s]} for s in "01234"}
    for t in texts:
        state = "0"
        for ch in t[3:-3]:
            taken[state][ch] += 1
            state = REBER[state][ch]
    for s, counts in taken.items():
        total = sum(counts.values())
        first = next(iter(counts.values()))
        assert abs(first / total - 0.5) < 5 * 0.5 / np.sqrt(total), (s, counts)
    # Expected number of inner symbols from state 0 (absorbing Markov chain): E = 1 + 0.5 (E_a + E_b).
    states = "01234"
    A, rhs = np.eye(5), np.ones(5)
    for r, s in enumerate(states):
        for nxt in REBER[s].values():
            if nxt != "end":
                A[r, states.index(nxt)] -= 0.5
    expected_inner = np.linalg.solve(A, rhs)[0]
    steps = b.lengths.astype(float)
    assert abs(steps.mean() - (expected_inner + 5)) < 5 * steps.std() / np.sqrt(b.n)


def test_correct_criterion(batch):
    task, b = get_task("reber"), batch
    legal = b.info["legal"][:, :b.steps].transpose(1, 0, 2).astype(float)
    ideal = legal / np.maximum(legal.sum(axis=2, keepdims=True), 1)  # the next-symbol probabilities
    assert task.correct(ideal, b).all()
    assert task.correct(legal * 0.6 + 0.1, b).all()
    # One-hot next-symbol outputs are wrong wherever two symbols may follow (the other legal one is not on top).
    assert not task.correct(b.targets, b).any()
    # An illegal symbol as active as a legal one at a single step makes only that sequence wrong.
    out = ideal.copy()
    i = 7
    t = b.lengths[i] - 2  # after the inner E: only the remembered O is legal (the long-lag prediction)
    wrong = "P" if LETTERS[b.info["second"][i]] == "T" else "T"
    out[t, i, LETTERS.index(wrong)] = out[t, i].max()
    ok = task.correct(out, b)
    assert not ok[i] and ok.sum() == b.n - 1
    assert np.allclose(task.errors(b.targets, b), 0.0)
    assert np.all(task.errors(ideal, b) > 0)


def test_training_and_test_sets_are_disjoint():
    train, test = get_task("reber").make_sets(np.random.default_rng(1), 256, 256)
    assert train.n == 256 and test.n == 256
    train_strings = {to_text(r) for r in train.info["symbols"]}
    test_strings = [to_text(r) for r in test.info["symbols"]]
    assert not train_strings & set(test_strings)
    assert all(walk(t)[0] for t in test_strings)
    assert test.steps == test.lengths.max() and test.xs.shape == (test.steps, 256, 7)
    again = get_task("reber").make_sets(np.random.default_rng(1), 256, 256)
    assert np.array_equal(again[1].xs, test.xs)
