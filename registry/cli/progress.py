"""A one-line progress display for long commands, shown only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30
_INTERVAL = 0.1  # seconds between redraws


class Progress:
    """``label [#####-----] n/total (p%)``, or ``label: n records`` without a total, redrawn in
    place at most ten times a second; nothing at all when ``stream`` is not a terminal."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self.label, self.total = label, total
        self.stream = stream or sys.stderr
        self.active = self.stream.isatty()
        self.count = 0
        self._drawn = 0.0

    def advance(self, n: int = 1) -> None:
        self.count += n
        if self.active and time.monotonic() - self._drawn >= _INTERVAL:
            self._draw()

    def _draw(self) -> None:
        self._drawn = time.monotonic()
        if self.total:
            done = min(self.count, self.total)
            filled = _WIDTH * done // self.total
            line = f"{self.label} [{'#' * filled}{'-' * (_WIDTH - filled)}] {done}/{self.total} " \
                   f"({100 * done // self.total}%)"
        else:
            line = f"{self.label}: {self.count} records"
        self.stream.write("\r" + line)
        self.stream.flush()

    def close(self) -> None:
        """Clear the line, so that the command's last message stands alone."""
        if self.active and self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
