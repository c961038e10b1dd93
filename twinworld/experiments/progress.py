"""A sweep's progress bar: runs done of total, failed, runs per second, time left (rich)."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["SweepProgress"]


class SweepProgress:
    """Context manager around a rich progress bar; does nothing when ``enabled`` is False.

    Parameters
    ----------
    total
        Runs in the sweep.
    already
        Runs found finished in the results folder (shown as done; not counted in the rate).
    """

    def __init__(self, *, total: int, already: int = 0, enabled: bool = True, label: str = "sweep") -> None:
        self.total, self.already, self.enabled, self.label = total, already, enabled, label
        self.done = 0
        self.failed = 0
        self._started = time.perf_counter()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> "SweepProgress":
        self._started = time.perf_counter()
        if self.enabled:
            import sys

            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            # In a log (not a terminal) rich assumes 80 columns and cuts the bar's figures.
            console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("[red]{task.fields[failed]} failed"),
                TextColumn("{task.fields[rate]} runs/s"), TimeElapsedColumn(),
                TextColumn("ETA"), TimeRemainingColumn(), console=console)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total, completed=self.already,
                                                 failed=0, rate="-")
        return self

    @property
    def rate(self) -> float:
        """Runs per second computed in this session."""
        elapsed = time.perf_counter() - self._started
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, runs: int, failed: int = 0) -> None:
        self.done += runs
        self.failed += failed
        self.refresh()

    def refresh(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=self.already + self.done, failed=self.failed,
                                  rate=f"{self.rate:,.1f}")

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self.refresh()
            self._progress.stop()
