"""Checkpoints: where a load got to, committed in the same transaction as the rows.

A load is identified by its source file and its target table.  Each committed batch updates
one row of the bookkeeping table ``_chute_checkpoints`` in the destination, in the batch's own
transaction, so after a crash at any instant the table and the checkpoint agree: the next run
with the same source and table goes on exactly after the last committed record.  The row is
marked completed at the end: running the same load again on the same, unchanged file does
nothing (``--restart`` loads it again); a changed file starts a new load.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from chute.engine.faults import fault
from chute.sinks.base import Sink
from chute.sources.base import Position

TABLE = "_chute_checkpoints"

_DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    load_key text PRIMARY KEY,
    source text NOT NULL,
    target_table text NOT NULL,
    fingerprint text NOT NULL,
    table_created integer NOT NULL,
    next_record bigint NOT NULL,
    next_line bigint,
    next_offset bigint NOT NULL,
    read_count bigint NOT NULL,
    created bigint NOT NULL,
    updated bigint NOT NULL,
    skipped bigint NOT NULL,
    rejected bigint NOT NULL,
    batches bigint NOT NULL,
    completed integer NOT NULL,
    table_token text,
    saved_at text NOT NULL
)"""


@dataclass
class Checkpoint:
    source: str
    target_table: str
    fingerprint: str
    table_created: int
    next_record: int
    next_line: int | None
    next_offset: int
    read_count: int
    created: int
    updated: int
    skipped: int
    rejected: int
    batches: int
    completed: int = 0
    #: the identity of the table the batches went to (the stage table of a staged load;
    #: the target once completed): the checkpoint holds for that very table only
    table_token: str | None = None

    @property
    def position(self) -> Position:
        return Position(self.source, self.next_record, self.next_line, self.next_offset)


_COLUMNS = [f.name for f in fields(Checkpoint)]


class Checkpoints:
    """The checkpoint of one load (source file + table) in the destination."""

    def __init__(self, sink: Sink, source: str, table: str, how: str = "") -> None:
        """``how`` (mode and key) is part of the load's identity with source and table."""
        self.sink = sink
        self.source = os.path.abspath(source)
        self.table = table
        identity = f"{self.source}\0{table}\0{how}"
        self.key = hashlib.sha256(identity.encode()).hexdigest()[:32]

    def load(self) -> Checkpoint | None:
        """The checkpoint of an interrupted earlier run, if any (creates the table)."""
        with self.sink.transaction():
            self.sink.execute(_DDL)
            rows = self.sink.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM {TABLE} WHERE load_key = ?", [self.key]
            )
        return Checkpoint(*rows[0]) if rows else None

    def save(self, checkpoint: Checkpoint, sink: Sink | None = None) -> None:
        """Record ``checkpoint`` in the open transaction (of ``sink``, by default the
        checkpoints' own)."""
        values = [getattr(checkpoint, c) for c in _COLUMNS]
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS)
        (sink or self.sink).execute(
            f"INSERT INTO {TABLE} (load_key, {', '.join(_COLUMNS)}, saved_at) "
            f"VALUES ({', '.join('?' * (len(_COLUMNS) + 2))}) "
            f"ON CONFLICT (load_key) DO UPDATE SET {updates}, saved_at = excluded.saved_at",
            [self.key, *values, datetime.now(UTC).isoformat()],
        )

    def mark_completed(self) -> None:
        """In the open transaction: the load is done; running it again on the same file
        does nothing, as long as the table is the same table (not dropped and made again)."""
        fault("completion-mark")
        self.sink.execute(
            f"UPDATE {TABLE} SET completed = 1, table_token = ?, saved_at = ? WHERE load_key = ?",
            [self.sink.mark_table(self.table), datetime.now(UTC).isoformat(), self.key],
        )

    def complete(self) -> None:
        """:meth:`mark_completed` in a transaction of its own."""
        with self.sink.transaction():
            self.mark_completed()

    def clear(self) -> None:
        """Forget the load (``--restart``, or its file changed), in its own transaction."""
        with self.sink.transaction():
            self.sink.execute(f"DELETE FROM {TABLE} WHERE load_key = ?", [self.key])
