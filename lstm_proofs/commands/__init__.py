"""Sub-commands of the ``lstm-proofs`` command line (see :mod:`lstm_proofs.cli`)."""
