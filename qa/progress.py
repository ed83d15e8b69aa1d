"""Progress: how far a long job (embedding) is, for whoever waits: a bar on a terminal, a line every few
seconds anywhere else (a pipe, nohup, CI), and the same figures to a callback (the chat's upload bar)."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable

from tqdm import tqdm

EVERY = 5.0    # seconds between progress lines when stderr is not a terminal


class Progress:
    """Counts work done out of a total; use as a context manager and call update(n)."""

    def __init__(self, total: int, what: str, show: bool = True,
                 callback: Callable[[int, int], None] | None = None, unit: str = "chunks"):
        self.total, self.what, self.done, self.unit = total, what, 0, unit
        self.callback = callback
        self._start = self._said = time.monotonic()
        self._bar = tqdm(total=total, desc=what, unit=unit.rstrip("s")) if show and total and sys.stderr.isatty() else None
        self._lines = show and total and self._bar is None

    def update(self, n: int) -> None:
        """Count n more done; say so if a bar is shown or EVERY seconds have passed."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        now = time.monotonic()
        if self._lines and (now - self._said >= EVERY or self.done >= self.total):
            self._said = now
            print(f"{self.what}: {self.line()}", file=sys.stderr, flush=True)
        if self.callback:
            self.callback(self.done, self.total)

    def line(self) -> str:
        """“120/723 chunks (17%), 11.8/s, about 51 s left”."""
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.done / elapsed
        left = f", about {(self.total - self.done) / rate:.0f} s left" if rate and self.done < self.total else ""
        share = self.done / self.total if self.total else 1.0
        return f"{self.done}/{self.total} {self.unit} ({share:.0%}), {rate:.1f}/s{left}"

    def __enter__(self) -> "Progress":
        if self.callback and self.total:   # the total is known before the first batch is done
            self.callback(0, self.total)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
