"""Training the paper's table rows: presets (Tables 1-11), the trial runner (``trainer``), results files and
``docs/results.md`` (``results``)."""

from lstm_proofs.training.presets import PAPER_ONLY_ROWS, PRESETS, PaperFigures, Preset, Stopping, get_preset

__all__ = ["PAPER_ONLY_ROWS", "PRESETS", "PaperFigures", "Preset", "Stopping", "get_preset"]
