"""Exceptions that the command line reports as one-line errors (no traceback)."""


class UserError(Exception):
    """A mistake in what the user asked for: bad arguments, task parameters, declarations or files.

    The CLI prints ``lstm-proofs: error: <message>`` and exits with status 2.
    """


class DeclarationError(UserError):
    """A cell declaration that cannot be derived (unknown symbol, missing output, cyclic equations, ...)."""
