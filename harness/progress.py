"""Jobs finished out of jobs planned: a bar on a terminal, counted lines in a log (CI, nohup)."""

from __future__ import annotations

import time
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Silent without a stream. The total grows as work is discovered (a submission's runs are only
    planned once its smoke test passed)."""

    def __init__(self, stream: TextIO | None = None, *, bar: bool | None = None) -> None:
        self.stream, self.done, self.total = stream, 0, 0
        self._started = time.perf_counter()
        self._show_bar = stream is not None and (stream.isatty() if bar is None else bar)
        self._bar: tqdm | None = None  # drawn once there is something planned

    def plan(self, jobs: int) -> None:
        self.total += jobs
        if self._show_bar and self._bar is None:
            self._bar = tqdm(total=self.total, file=self.stream, unit="job", dynamic_ncols=True)
        elif self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def finish(self, line: str) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)
        self.note(f"[{self.done}/{self.total}] {line}")

    def note(self, line: str) -> None:
        if self.stream is None:
            return
        text = f"[{time.perf_counter() - self._started:5.0f}s] {line}"
        if self._bar is not None:
            self._bar.write(text, file=self.stream)  # above the bar, which is redrawn below
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
