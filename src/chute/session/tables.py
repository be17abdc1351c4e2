"""One table as a writer session knows it, and one write into it.

A :class:`TableWriter` is the engine's stages without the reader thread and the
checkpoints: the schema stage makes or matches the table at the first write (the same
inference, widening and checks as ``chute load``), the converter it returns is kept for
the next writes (so a write sends no catalog query), :func:`~chute.engine.itemize.to_item`
converts each write, and the isolator writes it, setting refused records aside.  Each of
its transactions is the write's own, or a savepoint in the caller's (:mod:`chute.engine.scope`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from chute.config import LoadOptions
from chute.engine.accounting import Accounts
from chute.engine.batch_control import BatchController
from chute.engine.convert import Converter
from chute.engine.inflight import BatchProgress, Item
from chute.engine.isolate import Isolator
from chute.engine.itemize import to_item
from chute.engine.run import LoadRun
from chute.engine.schema import TableSchema
from chute.engine.scope import NESTED, OWN
from chute.errors import RecordError, SessionError
from chute.report import BatchStats, LoadReport
from chute.sinks.contract import Mode, Savepoints, Sink, WriteCounts
from chute.sources.base import BatchSize, Reject, SourceBatch


@dataclass
class WriteResult:
    """What one :meth:`Session.write <chute.session.Session.write>` did.

    ``received == created + updated + skipped + rejected``.  ``updated`` counts the records
    that replaced a row (an upsert's later record of a key counts as updating the earlier).
    Inside ``db.transaction()`` the counts are of the open transaction: ``committed``
    turns true when it commits (a rolled-back transaction leaves it false).
    """

    table: str
    received: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    #: the records set aside, each with its place in the write (1-based) and the reason
    rejects: list[Reject] = field(default_factory=list)
    #: what the write changed besides rows: the table created, columns added or widened
    changes: list[str] = field(default_factory=list)
    committed: bool = False
    seconds: float = 0.0
    #: statements sent to the database (a pipelined round trip may carry several)
    statements: int = 0

    @property
    def written(self) -> int:
        return self.created + self.updated


class _Returned:
    """Rejects are handed back on the :class:`WriteResult`, not stored."""

    location = "the write's result"
    transactional = False

    def prepare(self) -> None:
        pass

    def write(self, rejects: list[Reject], sink: Sink | None = None) -> None:
        pass

    def forget_from(self, record: int) -> None:
        pass

    def close(self) -> None:
        pass


class _Written:
    """The source of a session's writes, for messages: ``write to transfers``."""

    numbers_from_text = False

    def __init__(self, table: str) -> None:
        self.name = f"write to {table}"

    def batches(self, sizes: object = None) -> Iterator[SourceBatch]:
        return iter(())

    def total_bytes(self) -> int | None:
        return None

    def bytes_read(self) -> int:
        return 0

    def close(self) -> None:
        pass


class TableWriter:
    """Writes into one table in one mode and key, keeping what it learnt of the table."""

    def __init__(
        self, sink: Sink, table: str, mode: Mode, key: Sequence[str], *, add_columns: bool
    ) -> None:
        options = LoadOptions(
            into=sink.url, table=table, mode=mode, key=tuple(key), add_columns=add_columns
        )
        self.source = _Written(table)
        self.target = sink.display_url
        report = LoadReport(self.source.name, sink.display_url, table, mode.value)
        self.run = LoadRun(self.source, sink, options, table, _Returned(), report)
        self.schema = TableSchema(self.run)
        controller = BatchController(BatchSize(0, 0), adaptive=False, memory_limit=0)
        self.isolator = Isolator(self.run, Accounts(self.run, controller, BatchStats()))
        self.converter: Converter | None = None
        #: the table was changed (made, columns added or widened) by the last write
        self.changed_table = False
        self.savepoints = isinstance(sink, Savepoints)

    def close(self) -> None:
        if self.converter is not None:
            self.converter.close()
            self.converter = None

    def write(self, batch: SourceBatch, *, nested: bool) -> WriteResult:
        """Write ``batch``: in a transaction of its own, or (``nested``) in the open one.
        A refused record is set aside, unless the sink has no savepoints and ``nested``:
        then the :class:`~chute.errors.RecordError` ends the write (and the caller rolls
        the transaction back)."""
        run = self.run
        sink = run.sink
        t0 = time.perf_counter()
        statements = sink.statements
        run.report = report = LoadReport(
            source=self.source.name,
            target=self.target,
            table=run.target,
            mode=run.options.mode.value,
            key=list(run.key),
        )
        run.scope = NESTED if nested else OWN
        result = WriteResult(run.target, received=batch.num_rows + len(batch.rejects))
        self.changed_table = False
        # DDL that would commit the caller's transaction (MySQL) goes over another connection
        aside = nested and not sink.capabilities.transactional_ddl
        if self.converter is None:
            first = batch if batch.data.num_columns else None
            self.converter = self._prepare_aside(first) if aside else self.schema.prepare(first)
            self.changed_table = report.table_created
        if self.converter is None or not batch.num_rows:
            rejects = list(batch.rejects)
        else:
            item = to_item(run, batch, self.converter)
            if item.added or item.widenings:
                if aside:
                    self.close()  # the converter holds the new types: describe again
                    raise SessionError(_no_alter(run.database, run.target, item))
                self.schema.apply(item)
                self.changed_table = True
            rejects, counts = self._write_item(item, nested=nested)
            result.created = counts.created
            result.updated = counts.updated + item.superseded
            result.skipped = counts.skipped
        result.rejects = sorted(rejects, key=lambda r: r.position.record)
        result.rejected = len(rejects)
        result.changes = list(report.changes)
        if report.table_created:
            columns = ", ".join(f"{n} {t}" for n, t in report.columns.items())
            result.changes.insert(0, f"created table {run.target} ({columns})")
        result.seconds = time.perf_counter() - t0
        result.statements = sink.statements - statements
        return result

    def _prepare_aside(self, first: SourceBatch | None) -> Converter | None:
        """Make or match the table over a connection of its own, outside the caller's
        transaction (which a CREATE TABLE would commit on this database)."""
        run = self.run
        side = run.sink.another()
        side.connect()
        try:
            aside = replace(run, sink=side, sinks=[side])
            converter = TableSchema(aside).prepare(first)
            run.key = aside.key  # as the table spells it
        finally:
            side.close()
        run.sink.forget_table(run.table)
        return converter

    def _write_item(self, item: Item, *, nested: bool) -> tuple[list[Reject], WriteCounts]:
        run = self.run
        sink = run.sink
        if nested and not self.savepoints:
            # no savepoint to undo a refused record with: it fails the caller's transaction
            counts = WriteCounts()
            if item.data.num_rows:
                try:
                    counts = sink.write_rows(run.table, item.data, run.write_mode, run.key)
                except RecordError as exc:
                    exc.hint = exc.hint or (
                        f"{run.database} has no savepoints: inside a transaction a record it "
                        "refuses fails the transaction (outside one, it is set aside)"
                    )
                    raise
            return list(item.rejects), counts
        progress: BatchProgress
        progress, _ = self.isolator.write(item, sink)
        return list(progress.rejects), progress.total


def _no_alter(database: str, table: str, item: Item) -> str:
    changes = [f"add column {name} {t}" for name, (t, _) in item.added.items()]
    changes += [f"widen column {w.column} to {w.new} (value {w.example!r})" for w in item.widenings]
    return (
        f"table {table} would need to {'; '.join(changes)}, and {database} commits the open "
        "transaction on ALTER TABLE: write this outside db.transaction(), or make the "
        "column wide enough first"
    )
