"""What every stage of one load shares: the source, the sink, the options, the table batches
go to, the key, the report, and what the load found out about itself on the way (its
checkpoints, the identity of its table).  The stages read it; only the loader and the
schema stage (which may rename the key to the table's spelling) change it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from chute.config import LoadOptions
from chute.engine.checkpoint import Checkpoints
from chute.engine.mapping import ColumnMap
from chute.engine.observers import Observer
from chute.engine.rejects import RejectStore
from chute.engine.scope import OWN, Scope
from chute.errors import Interrupted
from chute.report import LoadReport
from chute.sinks.contract import Mode, Sink
from chute.sources.base import Source


@dataclass
class LoadRun:
    source: Source
    sink: Sink
    options: LoadOptions
    #: the user's table
    target: str
    rejects: RejectStore
    report: LoadReport
    observers: Sequence[Observer] = ()
    #: set it (from a signal handler, another thread) to stop after the batch in hand
    cancel: threading.Event | None = None
    #: where batches go: the target, or its stage table
    table: str = ""
    #: the key columns, as the table spells them
    key: list[str] = field(default_factory=list)
    #: the load's checkpoints (None: the source or the sink cannot resume)
    checkpoints: Checkpoints | None = None
    fingerprint: str = ""
    #: the identity of the table batches go to, kept in checkpoints
    table_token: str | None = None
    #: every connection of the load (parallel writers add theirs)
    sinks: list[Sink] = field(default_factory=list)
    #: where each batch's transaction begins and ends (a session's writes may nest)
    scope: Scope = OWN

    def __post_init__(self) -> None:
        self.table = self.table or self.target
        self.key = self.key or list(self.options.key)
        self.sinks = self.sinks or [self.sink]

    @property
    def columns(self) -> ColumnMap:
        """How the input's columns map to the table's (--rename, --skip)."""
        return ColumnMap(self.options.rename, self.options.skip)

    @property
    def staged(self) -> bool:
        """Batches go to a stage table, published at the end (--atomic, --mode replace)."""
        return self.options.atomic or self.options.mode is Mode.REPLACE

    @property
    def write_mode(self) -> Mode:
        """The mode batches are written in (into the stage, for a replace)."""
        return Mode.APPEND if self.options.mode is Mode.REPLACE else self.options.mode

    @property
    def database(self) -> str:
        """The kind of database, for messages: ``postgresql``, ``sqlite``."""
        return self.sink.schemes[0]

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def interrupted(self) -> Interrupted:
        where = self.report.committed_through or "the start"
        if self.checkpoints is not None:
            how = "run the same command again to go on from there"
        else:
            how = f"{self.source.name} cannot be resumed"
        return Interrupted(f"stopped on request; committed through {where}; {how}")

    def statements(self) -> int:
        """Statements sent over every connection of the load so far."""
        return sum(s.statements for s in self.sinks)
