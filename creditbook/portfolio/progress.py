"""A progress bar on the terminal for long reads: stderr only, and only when it is a terminal.

Nothing is written into a pipe or a file, so JSON on stdout and logs stay clean. The bar appears
once a read has taken `delay` seconds (a short read shows nothing) and is redrawn at most every
`interval` seconds. Hand-written rather than tqdm or rich: one line of text, a dozen lines of code,
and the CLI's other bar (`creditbook.workbook.batch.terminal_progress`) is written the same way.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

WIDTH = 30


class Progress:
    """`advance(n)` after each piece of `total` is read; `close()` (or the `with` block) ends the
    line."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: TextIO | None = None,
        delay: float = 0.5,
        interval: float = 0.1,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = total > 0 and self.stream.isatty()
        self.label, self.total, self.done = label, total, 0
        self.start = time.monotonic()
        self.delay, self.interval = delay, interval
        self.drawn_at: float | None = None

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < self.delay:
            return
        if self.drawn_at is None or now - self.drawn_at >= self.interval:
            self._draw(now)

    def _draw(self, now: float) -> None:
        share = min(self.done / self.total, 1.0)
        filled = int(WIDTH * share)
        elapsed = now - self.start
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {share:4.0%}  {elapsed:.0f} s"
        )
        self.stream.flush()
        self.drawn_at = now

    def close(self) -> None:
        if self.enabled and self.drawn_at is not None:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
