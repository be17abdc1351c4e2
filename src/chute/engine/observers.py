"""Observers of a load: progress bars, logs and metrics watch the engine through these
hooks; nothing of theirs is threaded through the stages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from chute.report import LoadReport
from chute.sinks.contract import Sink


class Observer(Protocol):
    """Watches a load: progress bars, logs and metrics are observers."""

    def on_start(self, report: LoadReport, total_bytes: int | None) -> None: ...

    def on_batch(self, report: LoadReport, bytes_read: int) -> None: ...

    def on_finish(self, report: LoadReport) -> None: ...


@runtime_checkable
class CommitGuard(Protocol):
    """An observer with a say in every commit of the load's data (each batch, and the
    publish of a staged load): called in the open transaction, on the connection that wrote
    the data, just before the commit.  Raising rolls the transaction back and stops the
    load, so a guard fences a load off (a service job's lease, :mod:`chute.service`)."""

    def in_commit(self, sink: Sink) -> None: ...


def guard_commit(observers: Iterable[Observer], sink: Sink) -> None:
    """Ask each :class:`CommitGuard` among ``observers`` whether ``sink`` may commit."""
    for obs in observers:
        if isinstance(obs, CommitGuard):
            obs.in_commit(sink)
