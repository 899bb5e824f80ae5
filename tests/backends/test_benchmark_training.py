"""The training benchmark counts exactly the time steps the trainer presents."""

import pytest

from benchmarks import training
from lstm_proofs.training import trainer
from lstm_proofs.training.presets import get_preset


@pytest.mark.parametrize("row, cap", [("4/T=100", 70), ("2c/q=1000,p=1000", 3)])
def test_trial_steps_equal_the_steps_the_trainer_presents(monkeypatch, row, cap):
    presented = []
    gather = trainer.gather_sequences

    def recording(sources):
        batch = gather(sources)
        presented.append(int(batch.lengths.sum()))
        return batch

    monkeypatch.setattr(trainer, "gather_sequences", recording)
    assert row in training.ROWS
    preset = get_preset(row).with_(test_size=10)
    records = trainer.run_trials(preset, range(3), 5, cap)  # 4/T=100: 70 > one generation block of 64
    assert all(r["stop"] == "cap" for r in records)
    assert sum(presented) == training.trial_steps(preset, 3, 5, cap)
    assert training.trial_steps(preset, 3, 5, cap) != training.trial_steps(preset, 3, 6, cap)
