"""The training benchmark counts exactly the time steps the trainer presents."""

from benchmarks import training
from lstm_proofs.training import trainer
from lstm_proofs.training.presets import get_preset


def test_trial_steps_equal_the_steps_the_trainer_presents(monkeypatch):
    presented = []
    gather = trainer.gather_sequences

    def recording(sources):
        batch = gather(sources)
        presented.append(int(batch.lengths.sum()))
        return batch

    monkeypatch.setattr(trainer, "gather_sequences", recording)
    preset = get_preset(training.ROW).with_(test_size=10)
    records = trainer.run_trials(preset, range(3), 5, 70)  # 70 > one generation block of 64: a second block
    assert all(r["stop"] == "cap" for r in records)
    assert sum(presented) == training.trial_steps(preset, 3, 5, 70)
    assert training.trial_steps(preset, 3, 5, 70) != training.trial_steps(preset, 3, 6, 70)
