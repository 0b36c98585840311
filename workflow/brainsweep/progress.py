"""Progress of long shards: plain lines in a log, a tqdm bar on a terminal.

In a log (a file, a pipe: what Snakemake gives a job) each update is one line, no carriage
returns, so ``tail -f`` and ``grep`` read it; on a terminal the same updates drive a tqdm bar.

Every target reports through :class:`Progress`: the GPU targets after each launch of a few
thousand steps, the Numba target from a watcher thread that reads the steps each simulation
has done while the compiled kernel (which releases the GIL) runs. Lines are rate-limited, so
a short run prints nothing but its last line and a long one a line every ``interval_s``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress", "watch"]


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """Report the fraction of ``total`` simulation-steps done, at most every ``interval_s``.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> report = Progress(4 * 1000, label="numba", stream=out, interval_s=0.0)
    >>> report.update(1000)
    >>> report.finish()
    >>> print(out.getvalue().splitlines()[-1].split(",")[0])
    numba: 100 % of 4 000 sim-steps
    """

    def __init__(self, total: int, *, label: str, stream: TextIO | None = None,
                 interval_s: float = 10.0, terminal: bool | None = None) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.interval_s = float(interval_s)
        self.started = time.perf_counter()
        self._last_line = -float("inf")
        self._done = 0
        if terminal is None:
            isatty = getattr(self.stream, "isatty", None)
            terminal = bool(isatty and isatty())
        self._bar = None
        if terminal:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=label, unit="sim-step", unit_scale=True,
                             file=self.stream, dynamic_ncols=True)

    def update(self, done: int, *, force: bool = False) -> None:
        done = min(max(int(done), 0), self.total)
        if self._bar is not None:
            self._bar.update(done - self._done)
            self._done = done
            if done == self.total and force:
                self._bar.close()
            return
        self._done = done
        now = time.perf_counter()
        if force or now - self._last_line >= self.interval_s:
            self._last_line = now
            self._write(now)

    def finish(self) -> None:
        self.update(self.total, force=True)

    def _write(self, now: float) -> None:
        elapsed = now - self.started
        fraction = self._done / self.total
        total = f"{self.total:_}".replace("_", " ")  # 4 000 000: thin-space style, no locale
        line = (f"{self.label}: {100 * fraction:.0f} % of {total} sim-steps, "
                f"{_duration(elapsed)} elapsed")
        if 0 < fraction < 1:
            line += f", about {_duration(elapsed * (1 - fraction) / fraction)} left"
        print(line, file=self.stream, flush=True)


def watch(report: Progress, done: Callable[[], int], *,
          poll_s: float = 1.0) -> Callable[[], None]:
    """Update ``report`` from ``done()`` in a daemon thread; returns the function that stops
    the thread and writes the last line."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(poll_s):
            report.update(done())

    thread = threading.Thread(target=loop, name="brainsweep-progress", daemon=True)
    thread.start()

    def finish() -> None:
        stop.set()
        thread.join()
        report.finish()

    return finish
