"""Isolating bad records: a batch is written whole; what the database refuses is set aside
record by record, and the rest is stored.

The batch goes as one piece (or, once the database has refused records in this load, as
smaller pieces), each behind a savepoint in one transaction (or, where the sink has no
savepoints, each in a transaction of its own).  A refused piece is undone and split: at the
record the database named, or in halves, until the bad records are alone.  b bad records
among n cost O(b log n) statements.  A refusal at commit (a deferred constraint) undoes the
whole batch, which is then written with a transaction per piece instead.  A batch the
database refused for now (a deadlock: :attr:`~chute.errors.Refusal.RETRY`) is tried again
whole, as long as none of it was committed.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pyarrow as pa

from chute.engine.accounting import Accounts
from chute.engine.inflight import BatchProgress, Item, Turns
from chute.engine.run import LoadRun
from chute.errors import RecordError, Refusal, SinkError
from chute.sinks.contract import Mode, Savepoints, Sink
from chute.sources.base import Reject

#: the smallest piece a batch is cut into after the database has refused records
MIN_PIECE_ROWS = 256
#: a batch refused for now (a deadlock) is tried again whole at most this many times
MAX_RETRIES = 3


class Isolator:
    """Writes batches, setting aside the records the database refuses."""

    def __init__(self, run: LoadRun, accounts: Accounts) -> None:
        self.run = run
        self.accounts = accounts
        self._refusals = 0  # statements the database refused in this load
        self._probe_key: list[str] | None = None  # see _probe_duplicates
        #: the database's code for a duplicate key, given to the duplicates looked up
        self._duplicate_sqlstate: str | None = None
        self._retry_lock = threading.Lock()

    def write(
        self, item: Item, sink: Sink, turns: Turns | None = None
    ) -> tuple[BatchProgress, float]:
        """Write a batch; returns its progress and the seconds the database took (not
        counting waits for earlier batches to commit, which say nothing of this batch)."""
        t0 = time.perf_counter()
        progress = self._write_retrying(item, sink, turns)
        return progress, time.perf_counter() - t0 - progress.waited

    def _write_retrying(self, item: Item, sink: Sink, turns: Turns | None) -> BatchProgress:
        """Write the batch; set aside what the database refuses; commit the checkpoint and
        the rejects with it."""
        duplicates = self._probe_duplicates(item, sink)
        for attempt in range(MAX_RETRIES + 1):
            try:
                return self._write_once(item, duplicates, sink, turns)
            except RecordError as exc:
                if exc.refusal is not Refusal.RETRY:
                    raise
                if item.committed or attempt == MAX_RETRIES:
                    raise SinkError(exc.reason, sqlstate=exc.sqlstate) from exc
                with self._retry_lock:
                    self.run.report.retries += 1
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def _write_once(
        self, item: Item, duplicates: dict[int, Reject], sink: Sink, turns: Turns | None
    ) -> BatchProgress:
        progress = BatchProgress(item, duplicates, sink, turns)
        pieces = self._pieces(item.data.num_rows)
        scope = self.run.scope
        if scope.nested or not isinstance(sink, Savepoints):  # nested: a savepoint per piece
            self._write_pieces(progress, pieces, savepoints=False)
            return progress
        try:
            with scope.open(sink):
                self._write_pieces(progress, pieces, savepoints=True)
                self.accounts.commit(progress, item.data.num_rows)
        except RecordError as exc:  # refused at commit: nothing of the batch is stored
            if exc.refusal is Refusal.RETRY:
                raise
            progress = BatchProgress(item, duplicates, sink, turns)
            self._write_pieces(progress, pieces, savepoints=False)
        return progress

    def _probe_duplicates(self, item: Item, sink: Sink) -> dict[int, Reject]:
        """Once the database has refused a duplicate key in this append, look the batch's
        keys up first (one query), so that duplicates are set aside without a failed COPY."""
        key = self._probe_key
        data = item.data
        if not key or data.num_rows == 0 or not all(k in data.schema.names for k in key):
            return {}
        keys = data.select(key)
        rows = pa.Table.from_batches([keys]).append_column(
            "__row", pa.array(np.arange(data.num_rows), pa.int64())
        )
        first = rows.group_by(key, use_threads=False).aggregate([("__row", "min")])
        later = set(range(data.num_rows)) - set(first["__row_min"].to_pylist())
        existing = set(sink.existing_keys(self.run.table, key, data))
        found = {}
        for row in sorted(later | existing):
            values = ", ".join(str(v) for v in keys.slice(row, 1).to_pylist()[0].values())
            why = "already exists" if row in existing else "appears earlier in the input"
            found[row] = _database_reject(
                item,
                row,
                RecordError(
                    f"duplicate key value: ({', '.join(key)})=({values}) {why}",
                    sqlstate=self._duplicate_sqlstate,
                    refusal=Refusal.DUPLICATE_KEY,
                ),
            )
        return found

    def _note_refusal(self, exc: RecordError, sink: Sink) -> None:
        self._refusals += 1
        if (
            self._probe_key is None
            and exc.refusal is Refusal.DUPLICATE_KEY
            and self.run.write_mode is Mode.APPEND
        ):
            self._probe_key = sink.primary_key(self.run.table) or []
            self._duplicate_sqlstate = exc.sqlstate

    def _pieces(self, n: int) -> list[tuple[int, int]]:
        """The whole batch, or pieces sized to the refusal rate seen so far."""
        if n == 0:
            return []
        if not self._refusals or self._probe_key:  # duplicates are looked up first
            return [(0, n)]
        report = self.run.report
        rows_per_refusal = max(report.written + report.skipped, 1) / self._refusals
        size = int(min(max(rows_per_refusal / 4, MIN_PIECE_ROWS), n))
        return [(lo, min(lo + size, n)) for lo in range(0, n, size)]

    def _write_pieces(
        self, progress: BatchProgress, pieces: list[tuple[int, int]], *, savepoints: bool
    ) -> None:
        """Write ``pieces`` in order, splitting refused ones; with ``savepoints`` inside the
        open transaction, else each committed with its checkpoint."""
        run = self.run
        commit = self.accounts.commit
        sink = progress.sink
        assert sink is not None
        item = progress.item
        pending = list(reversed(pieces))
        while pending:
            lo, hi = pending.pop()
            rows = progress.writable(lo, hi)  # None: all of them
            if rows is not None and len(rows) == 0:
                if not savepoints:
                    with run.scope.open(sink):
                        commit(progress, hi)
                continue
            progress.attempts += 1
            if rows is None and lo == 0 and hi == item.data.num_rows:
                piece = item.data  # the batch itself: what a sink prepared for it holds
            else:
                piece = item.data.slice(lo, hi - lo) if rows is None else item.data.take(rows)
            try:
                if savepoints:
                    assert isinstance(sink, Savepoints)
                    sink.savepoint()
                    try:
                        counts = sink.write_rows(run.table, piece, run.write_mode, run.key)
                    except RecordError:
                        sink.rollback_to_savepoint()
                        raise
                    sink.release_savepoint()
                else:
                    with run.scope.open(sink):
                        counts = sink.write_rows(run.table, piece, run.write_mode, run.key)
                        commit(progress, hi, counts)
                    progress.add(counts)
                    continue
            except RecordError as exc:
                if exc.refusal is Refusal.RETRY:  # not a record's fault: the batch again
                    raise
                if exc.others is not None and exc.row is not None:
                    # the sink named every record of the piece it refuses, and wrote none:
                    # set them aside and write the piece again without them
                    named = {exc.row: exc, **exc.others}
                    at = [lo + r if rows is None else int(rows[r]) for r in named]
                    for row, refusal in zip(at, named.values(), strict=True):
                        progress.rejects.append(_database_reject(item, row, refusal))
                    progress.skip(at)
                    progress.refused = True
                    pending.append((lo, hi))
                    continue
                self._note_refusal(exc, sink)
                progress.refused = True
                if len(piece) == 1:
                    only = lo if rows is None else int(rows[0])
                    progress.rejects.append(_database_reject(item, only, exc))
                    continue
                if exc.row is not None and 0 <= exc.row < len(piece):
                    # the database named the record: try it alone
                    bad = lo + exc.row if rows is None else int(rows[exc.row])
                    parts = [(lo, bad), (bad, bad + 1), (bad + 1, hi)]
                else:
                    mid = (lo + hi) // 2
                    parts = [(lo, mid), (mid, hi)]
                pending.extend(reversed([(a, b) for a, b in parts if b > a]))
                continue
            progress.add(counts)
        if not savepoints and (progress.pending_rejects() or not pieces):
            # what is left: rejects and the checkpoint after the batch
            with run.scope.open(sink):
                commit(progress, item.data.num_rows)


def _database_reject(item: Item, row: int, exc: RecordError) -> Reject:
    source_row = int(item.rows[row]) if item.rows is not None else row
    record = item.data.slice(row, 1).to_pylist()[0]
    return item.source.reject(
        source_row,
        "database",
        exc.reason,
        record=record,
        column=exc.column,
        sqlstate=exc.sqlstate,
    )
