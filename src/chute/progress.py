"""A progress bar on the terminal: an observer of the load (rows, bytes %, rows/s, ETA)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from chute.report import LoadReport


class ProgressBar:
    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[rows]:>11,} rows {task.fields[rate]:>8,.0f}/s"),
            TextColumn("ETA"),
            TimeRemainingColumn(compact=True),
            console=console or Console(stderr=True),
            transient=True,
        )
        self._task: TaskID | None = None

    def on_start(self, report: LoadReport, total_bytes: int | None) -> None:
        self._progress.start()
        self._task = self._progress.add_task(report.table, total=total_bytes, rows=0, rate=0.0)

    def on_batch(self, report: LoadReport, bytes_read: int) -> None:
        if self._task is None:
            return
        elapsed = self._progress.tasks[0].elapsed or 0.0
        rate = report.read / elapsed if elapsed else 0.0
        self._progress.update(self._task, completed=bytes_read, rows=report.read, rate=rate)

    def on_finish(self, report: LoadReport) -> None:
        self._progress.stop()
