"""Observers of a load: progress bars, logs and metrics watch the engine through these
hooks; nothing of theirs is threaded through the stages."""

from __future__ import annotations

from typing import Protocol

from chute.report import LoadReport


class Observer(Protocol):
    """Watches a load: progress bars, logs and metrics are observers."""

    def on_start(self, report: LoadReport, total_bytes: int | None) -> None: ...

    def on_batch(self, report: LoadReport, bytes_read: int) -> None: ...

    def on_finish(self, report: LoadReport) -> None: ...
