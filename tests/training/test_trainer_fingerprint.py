"""A tripwire on the trainer fingerprint: a change to any source that decides a trial's outcome (the files of
``lstm_proofs.training.provenance.TRAINER_SOURCES`` and the generated kernels) marks every committed results file
"trainer changed since" until it is replayed (docs/statistics.md, 'Provenance'). An earlier session changed the
fingerprint by moving a row-id parsing convenience into presets.py, and every row lost its 'current' mark unnoticed;
this test makes such a change a decision: update the pin together with replaying or rerunning the results, and say
so in the commit."""

from lstm_proofs.training.provenance import trainer_fingerprint

#: The fingerprint the committed results were produced (or replayed) under.
PINNED = "b6042a8aebfc1b7b"


def test_the_trainer_is_the_one_the_committed_results_were_produced_under():
    assert trainer_fingerprint() == PINNED, (
        "a trainer source changed: every results file will be marked 'trainer changed since'. If the change is "
        "meant to alter training, update PINNED and replay (lstm-proofs replay) or rerun the results; if not, keep "
        "it out of the trainer sources")
