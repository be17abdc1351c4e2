"""Observers of a load: a progress bar on the terminal (rows, bytes %, rows/s, ETA) and a
JSON log line per batch for people who ship logs."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import orjson
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


class JsonLog:
    """One JSON object per line: ``start``, one ``batch`` per committed batch (its rows,
    bytes, milliseconds in the database, rows/s, the rows of the next batches, and the
    running totals), and ``finish`` with the whole report."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr

    def _emit(self, event: str, fields: dict[str, object]) -> None:
        line = orjson.dumps({"event": event, "time": round(time.time(), 3), **fields})
        self._stream.write(line.decode() + "\n")
        self._stream.flush()

    def on_start(self, report: LoadReport, total_bytes: int | None) -> None:
        self._emit(
            "start",
            {
                "source": report.source,
                "target": report.target,
                "table": report.table,
                "total_bytes": total_bytes,
            },
        )

    def on_batch(self, report: LoadReport, bytes_read: int) -> None:
        self._emit(
            "batch",
            {
                **report.last_batch,
                "read": report.read,
                "written": report.written,
                "rejected": report.rejected,
                "bytes_read": bytes_read,
            },
        )

    def on_finish(self, report: LoadReport) -> None:
        self._emit("finish", report.to_dict())


class QueueStatus:
    """A live status line for a consumer: messages/s, the batch size, rows written."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            TextColumn(
                "{task.fields[read]:>11,} records {task.fields[rate]:>8,.0f}/s · "
                "batch {task.fields[batch]:,} · written {task.fields[written]:,} · "
                "dead-lettered {task.fields[rejected]:,} · lag {task.fields[lag]}"
            ),
            console=console or Console(stderr=True),
            transient=True,
        )
        self._task: TaskID | None = None
        self._started = time.perf_counter()

    def on_start(self, report: LoadReport, total_bytes: int | None) -> None:
        self._progress.start()
        self._task = self._progress.add_task(
            report.table, total=None, read=0, rate=0.0, batch=0, written=0, rejected=0, lag="?"
        )

    def on_batch(self, report: LoadReport, bytes_read: int) -> None:
        if self._task is None:
            return
        elapsed = time.perf_counter() - self._started
        self._progress.update(
            self._task,
            read=report.read,
            rate=report.read / elapsed if elapsed else 0.0,
            batch=report.last_batch.get("rows", 0),
            written=report.written,
            rejected=report.rejected,
            lag=_lag(report.last_batch),
        )

    def on_finish(self, report: LoadReport) -> None:
        self._progress.stop()


def _lag(batch: dict[str, object]) -> str:
    """Messages waiting: in the queue, and in this consumer's prefetch buffer."""
    depth, buffered = batch.get("queue_depth"), batch.get("buffered")
    if not isinstance(depth, int):
        return "?"
    return f"{depth + (buffered if isinstance(buffered, int) else 0):,} messages"
