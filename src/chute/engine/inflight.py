"""A batch in flight between the reader and the database: the converted data
(:class:`Item`), what of it is committed (:class:`BatchProgress`), and the order in which
parallel writers commit (:class:`Turns`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from chute.engine import columns as ct
from chute.engine.convert import Widening
from chute.sinks.contract import Sink, WriteCounts
from chute.sources.base import Position, Reject, SourceBatch


@dataclass
class Item:
    """A batch as converted by the reader, ready to write."""

    source: SourceBatch
    data: pa.RecordBatch
    widenings: list[Widening] = field(default_factory=list)
    added: dict[str, tuple[ct.ColumnType, str]] = field(default_factory=dict)
    superseded: int = 0
    rows: np.ndarray | None = None  # source row of each written row, when deduped
    read_seconds: float = 0.0
    rejects: list[Reject] = field(default_factory=list)
    nbytes: int = 0  # input bytes of the batch
    committed: bool = False  # some of it is committed (so it cannot be tried again whole)
    seq: int = 0  # the batch's place in the input: parallel writers commit in this order

    @property
    def records(self) -> int:
        """Records of the input in this batch (rejected ones included)."""
        return self.source.num_rows + len(self.rejects)


class Aborted(Exception):
    """An earlier batch failed: a later one, written but not committed, rolls back."""


class Turns:
    """Parallel writers write at once but commit in input order: a batch commits only
    after every batch before it is committed and counted, so the checkpoint always marks
    a prefix of the input and the counts are exact."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._failed = False

    def wait(self, seq: int) -> None:
        with self._cond:
            while self._next != seq and not self._failed:
                self._cond.wait()
            if self._failed:
                raise Aborted()

    def done(self, seq: int) -> None:
        with self._cond:
            self._next = seq + 1
            self._cond.notify_all()

    def fail(self) -> None:
        with self._cond:
            self._failed = True
            self._cond.notify_all()


class BatchProgress:
    """What of one batch is committed: counts, and rejects found and written."""

    def __init__(
        self,
        item: Item,
        found: dict[int, Reject] | None = None,
        sink: Sink | None = None,
        turns: Turns | None = None,
    ) -> None:
        self.item = item
        self.sink = sink  # the connection writing the batch
        self.turns = turns  # parallel writers: wait for the batch's turn to commit
        self.total = WriteCounts()
        self.attempts = 0  # write statements tried
        self.waited = 0.0  # seconds spent waiting for earlier batches to commit
        self.refused = False  # the database refused records of the batch
        # all found, in any order: while reading, and before writing
        self.rejects: list[Reject] = [*item.rejects, *(found or {}).values()]
        self._skip = np.array(sorted(found or {}), dtype=np.int64)  # rows not to send
        self.flushed: list[Reject] = []  # written to the reject store
        self._flushed_ids: set[int] = set()

    def writable(self, lo: int, hi: int) -> np.ndarray | None:
        """The rows of ``[lo, hi)`` to send, or None when that is all of them."""
        if not len(self._skip):
            return None
        skip = self._skip[(self._skip >= lo) & (self._skip < hi)]
        if not len(skip):
            return None
        return np.setdiff1d(np.arange(lo, hi, dtype=np.int64), skip)

    def skip(self, rows: list[int]) -> None:
        """Send ``rows`` no more (they are rejects now)."""
        self._skip = np.union1d(self._skip, np.array(rows, dtype=np.int64))

    def add(self, counts: WriteCounts) -> None:
        self.total.created += counts.created
        self.total.updated += counts.updated
        self.total.skipped += counts.skipped

    def source_row(self, rows_done: int) -> int:
        """The source batch row after the first ``rows_done`` written rows."""
        rows = self.item.rows
        if rows_done <= 0:
            return 0
        if rows is None:
            return rows_done
        return int(rows[rows_done - 1]) + 1

    def resume_point(self, rows_done: int) -> Position | None:
        return self.item.source.resume_point(self.source_row(rows_done))

    def superseded_before(self, rows_done: int) -> int:
        """Earlier duplicates of a key (upsert) among the rows committed so far."""
        if self.item.rows is None:
            return 0
        return self.source_row(rows_done) - rows_done

    def pending_rejects(self) -> list[Reject]:
        return [r for r in self.rejects if id(r) not in self._flushed_ids]

    def unflush(self, rejects: list[Reject]) -> None:
        """Those rejects were rolled back with their transaction: write them again."""
        gone = {id(r) for r in rejects}
        self.flushed = [r for r in self.flushed if id(r) not in gone]
        self._flushed_ids -= gone

    def take_rejects(self, before_record: int | None) -> list[Reject]:
        """Rejects not yet written whose records lie before ``before_record`` (all: None)."""
        out = [
            r
            for r in self.pending_rejects()
            if before_record is None or r.position.record < before_record
        ]
        out.sort(key=lambda r: r.position.record)
        self.flushed.extend(out)
        self._flushed_ids.update(id(r) for r in out)
        return out
