"""Argument checks shared by the sub-commands (a bad value is a :class:`~lstm_proofs.errors.UserError`)."""

from __future__ import annotations

from lstm_proofs.errors import UserError


def int_arg(name: str, text: str | None, low: int, high: int) -> int:
    """``text`` as an integer in ``[low, high]``, or a one-line error naming the option ``name``."""
    try:
        value = int(str(text))
    except ValueError:
        raise UserError(f"{name} must be an integer, got {text!r}") from None
    if not low <= value <= high:
        raise UserError(f"{name} must be between {low} and {high}, got {value}")
    return value


def float_arg(name: str, text: str | None, low: float, high: float) -> float:
    """``text`` as a finite number in ``[low, high]``, or a one-line error naming the option ``name``."""
    try:
        value = float(str(text))
    except ValueError:
        raise UserError(f"{name} must be a number, got {text!r}") from None
    if not low <= value <= high:  # also rejects nan
        raise UserError(f"{name} must be between {low:g} and {high:g}, got {text}")
    return value
