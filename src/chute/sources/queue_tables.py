"""What a queue source looks up in the destination: the message ledger, the table's columns.

- :class:`MessageLedger`: which messages (by ``message_id``) of a queue were handled (their
  rows stored, or the message dead-lettered), recorded in the transaction of their batch.
- :class:`TableFields`: which fields of a message the table has columns for, so that a
  message with another field is dead-lettered alone instead of stopping the consumer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pyarrow as pa

from chute.engine.columns import TEXT
from chute.errors import ChuteError
from chute.sinks.contract import Mode, Sink

#: the bookkeeping table of messages handled in append mode
LEDGER_TABLE = "_chute_messages"
_LEDGER_COLUMNS = ("queue", "message_id", "stored_at")


class MessageLedger:
    """Which messages (by ``message_id``) of a queue were handled in the destination: their
    rows stored, or the message dead-lettered whole.

    Written in the transaction of their batch; read (on its own connection) before a batch
    is written, so that a message delivered again after a crash between the commit and the
    ack is neither stored nor dead-lettered twice."""

    def __init__(self, sink: Sink, queue: str) -> None:
        self.queue = queue
        self._reader = sink.another()
        self._sink = sink

    def open(self) -> None:
        sink = self._sink
        if sink.describe(LEDGER_TABLE) is None:
            columns = dict.fromkeys(_LEDGER_COLUMNS, TEXT)
            try:  # create_table commits on its own (SQLite refuses a BEGIN around it)
                sink.create_table(LEDGER_TABLE, columns, ["queue", "message_id"])
            except ChuteError:
                sink.forget_table(LEDGER_TABLE)
                if sink.describe(LEDGER_TABLE) is None:  # not another consumer's doing
                    raise
        self._reader.connect()

    def stored(self, ids: list[str]) -> set[str]:
        """Those of ``ids`` recorded as handled (one lookup, however many ids)."""
        keys = pa.RecordBatch.from_arrays(
            [pa.array([self.queue] * len(ids), pa.string()), pa.array(ids, pa.string())],
            names=["queue", "message_id"],
        )
        found = self._reader.existing_keys(LEDGER_TABLE, ["queue", "message_id"], keys)
        return {ids[i] for i in found}

    def record(self, sink: Sink, ids: list[str]) -> None:
        """In ``sink``'s open transaction: ``ids`` are handled."""
        if not ids:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        batch = pa.RecordBatch.from_arrays(
            [pa.array([self.queue] * len(ids)), pa.array(ids), pa.array([now] * len(ids))],
            names=list(_LEDGER_COLUMNS),
        )
        sink.write_rows(LEDGER_TABLE, batch, Mode.IGNORE, ["queue", "message_id"])

    def close(self) -> None:
        self._reader.close()


class TableFields:
    """The columns of an existing table, as the fields a message may have.

    Looked up once, when the consumer starts (:meth:`open`).  A field matches a column of
    the same name, or the one column whose name differs only in case (as ``chute load``
    matches a header).  When the table does not exist yet, every field is taken: the
    consumer creates the table from the first batch and adds columns for new fields.
    """

    def __init__(self, sink: Sink, table: str) -> None:
        self.sink = sink
        self.table = table
        #: the names a field may have (None: any)
        self.allowed: frozenset[str] | None = None
        self._folded: dict[str, int] = {}

    def open(self) -> None:
        columns = self.sink.describe(self.table)
        if columns is None:
            return
        self.allowed = frozenset(c.name for c in columns)
        for c in columns:
            lower = c.name.lower()
            self._folded[lower] = self._folded.get(lower, 0) + 1

    def unknown(self, record: Iterable[str]) -> list[str]:
        """The fields of ``record`` (a record, or a set of field names) that no column of
        the table takes."""
        allowed = self.allowed
        if allowed is None or allowed.issuperset(record):
            return []
        return [
            name for name in record if name not in allowed and self._folded.get(name.lower()) != 1
        ]
