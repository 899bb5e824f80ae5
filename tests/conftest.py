"""Hypothesis profiles for the property-based tests.

``ci`` (the default): derandomized (the same examples on every run, so CI is deterministic), 25 examples per
property, no deadline. ``thorough``: 300 random examples per property, for a local or nightly run. Choose with the
environment variable ``LSTM_PROOFS_HYPOTHESIS``, e.g. ``LSTM_PROOFS_HYPOTHESIS=thorough python -m pytest tests``.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("LSTM_PROOFS_HYPOTHESIS", "ci"))
