"""Progress bars that read well in a terminal and in a log file.

On a terminal, :func:`progress_bar` is an ordinary tqdm bar redrawn in place. When standard error is not a terminal
(a log file, a pipe, CI), tqdm's carriage-return redraws would pile up on one line, so the bar is written as plain
lines instead, one every ``log_interval`` seconds.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

#: Seconds between progress lines when standard error is not a terminal.
LOG_INTERVAL = 30.0


class _Lines:
    """A text stream for tqdm that turns each redraw (``\\r...``) into one line of ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()
        if line:
            self.stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(disable: bool = False, stream: TextIO | None = None, log_interval: float = LOG_INTERVAL,
                 **kwargs: Any) -> Any:
    """A tqdm bar on ``stream`` (default standard error): redrawn in place on a terminal, plain lines otherwise.

    Args:
        disable: no output at all (``--quiet``).
        stream: where to write.
        log_interval: seconds between lines when ``stream`` is not a terminal.
        kwargs: passed to ``tqdm`` (``total``, ``unit``, ``desc``, ...).
    """
    from tqdm import tqdm

    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", lambda: False)
    if isatty():
        return tqdm(file=stream, disable=disable, dynamic_ncols=True, **kwargs)
    return tqdm(file=_Lines(stream), disable=disable, ncols=100, ascii=True, mininterval=log_interval,
                maxinterval=log_interval, **kwargs)
