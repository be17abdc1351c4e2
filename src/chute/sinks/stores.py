"""The two stores the engine keeps its bookkeeping in, in the destination itself (part of
the sink contract, :mod:`chute.sinks.contract`, which names them too):
:class:`CheckpointStore` (where a load got to, saved in the batch's own transaction) and
:class:`RejectStore` (a ``--rejects table:NAME`` table)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa

from chute.coltypes import ColumnType, Kind

if TYPE_CHECKING:
    from chute.sources.base import Position


@dataclass
class Checkpoint:
    """Where a load got to: committed with the rows it counts."""

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
        from chute.sources.base import Position  # sources sit above the contract

        return Position(self.source, self.next_record, self.next_line, self.next_offset)


class CheckpointStore(Protocol):
    """The checkpoints of loads into one destination, keyed by the engine's load key.

    A store is bound to the connection of the sink that made it: a parallel writer saves
    through its own sink's store, inside its own transaction."""

    def load(self, load_key: str) -> Checkpoint | None:
        """The checkpoint of ``load_key``, if any (makes the store's table if needed), in a
        transaction of its own."""
        ...

    def save(self, load_key: str, checkpoint: Checkpoint) -> None:
        """In the sink's open transaction: ``checkpoint`` is where ``load_key`` got to."""
        ...

    def mark_completed(self, load_key: str, table_token: str | None) -> None:
        """In the open transaction: the load is done, into the table ``table_token``."""
        ...

    def clear(self, load_key: str) -> None:
        """Forget ``load_key``, in a transaction of its own."""
        ...


#: the columns of a rejects table, in the order of a batch given to :meth:`RejectStore.append`
REJECT_COLUMNS: dict[str, ColumnType] = {
    "source": ColumnType(Kind.TEXT),
    "line": ColumnType(Kind.BIGINT),
    "offset": ColumnType(Kind.BIGINT),
    "record_number": ColumnType(Kind.BIGINT),
    "column": ColumnType(Kind.TEXT),
    "error": ColumnType(Kind.TEXT),
    "sqlstate": ColumnType(Kind.TEXT),
    "message": ColumnType(Kind.TEXT),
    "raw": ColumnType(Kind.TEXT),
    "record": ColumnType(Kind.JSON),
}


class RejectStore(Protocol):
    """Rejected records kept in the destination (``--rejects table:NAME``)."""

    def prepare(self) -> None:
        """Make the store's table if it is missing (before the load writes anything)."""
        ...

    def append(self, batch: pa.RecordBatch) -> None:
        """Keep ``batch`` (columns :data:`REJECT_COLUMNS`), in the open transaction."""
        ...

    def forget_from(self, record_number: int) -> None:
        """Drop the rejects of records from ``record_number`` on, in a transaction of its
        own (a resumed load finds them again)."""
        ...
