"""A progress bar on the terminal for long reads: stderr only, and only when it is a terminal.

`Progress` is advanced by the reader (rows of a CSV); `Waiting` is for one long step that reports
nothing itself, such as an engine's query: it is redrawn from a background thread with the time
taken, and a bar when the engine can say how far it is.

Nothing is written into a pipe or a file, so JSON on stdout and logs stay clean. The bar appears
once a read has taken `delay` seconds (a short read shows nothing) and is redrawn at most every
`interval` seconds. Hand-written rather than tqdm or rich: one line of text, a dozen lines of code,
and the CLI's other bar (`creditbook.workbook.batch.terminal_progress`) is written the same way.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
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
        self.stream.write(f"\r{self.label} {bar(self.done / self.total, now - self.start)}")
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


SPINNER = "|/-\\"


def bar(share: float, elapsed: float) -> str:
    """[#####.....]  50 %  3 s: a share from 0 to 1 (clamped) and the seconds taken."""
    share = min(max(share, 0.0), 1.0)
    filled = int(WIDTH * share)
    return f"[{'#' * filled}{'.' * (WIDTH - filled)}] {share:4.0%}  {elapsed:.0f} s"


class Waiting:
    """A line on a terminal while one long step runs: the time taken, and a bar when `share()`
    says how far the step is (0 to 1; None while unknown). Used as a `with` block."""

    def __init__(
        self,
        label: str,
        share: Callable[[], float | None] = lambda: None,
        *,
        stream: TextIO | None = None,
        delay: float = 0.5,
        interval: float = 0.2,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = self.stream.isatty()
        self.label, self.share = label, share
        self.delay, self.interval = delay, interval
        self.start = time.monotonic()
        self.drawn = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if self.stop.wait(self.delay):
            return
        while True:
            self._draw()
            if self.stop.wait(self.interval):
                return

    def _draw(self, done: bool = False) -> None:
        try:
            share = 1.0 if done else self.share()
        except Exception:  # an engine that cannot say while it works: the time alone
            share = None
        elapsed = time.monotonic() - self.start
        spinner = f"{SPINNER[self.drawn % len(SPINNER)]}  {elapsed:.0f} s"
        shown = spinner if share is None else bar(share, elapsed)
        self.stream.write(f"\r{self.label} {shown}")
        self.stream.flush()
        self.drawn += 1

    def __enter__(self) -> Waiting:
        self.start = time.monotonic()
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if not self.enabled:
            return
        self.stop.set()
        self.thread.join()
        if self.drawn:
            if error is None:  # the step is done: the full bar
                self._draw(done=True)
            self.stream.write("\n")
            self.stream.flush()
