"""The command stops quietly when the reader of its output goes away (``lstm-proofs ... | head``)."""

import sys

from lstm_proofs.cli import main


class _ClosedPipe:
    """A stdout whose reader has gone: every write fails as on a closed pipe."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_the_command_with_sigpipe_status_and_no_traceback(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["ablate", "6b", "--list"]) == 141
    assert "Traceback" not in capsys.readouterr().err

