"""Verification: comparison rules, references and the check runner."""
