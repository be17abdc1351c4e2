"""A SQL database as a sink: ``execute``, and everything the contract asks that plain SQL
can do through a :class:`~chute.sinks.sql.dialect.Dialect` (the checkpoint and reject
stores, staging, dropping a table).  A database's sink subclasses :class:`SqlSink`, names
its dialect and writes what its driver does best (COPY, ``executemany``, LOAD DATA).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Generator, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

import pyarrow as pa

from chute.sinks.contract import (
    REJECT_COLUMNS,
    Checkpoint,
    Mode,
    Sink,
    Staging,
    WriteCounts,
)
from chute.sinks.sql.dialect import Dialect

CHECKPOINTS_TABLE = "_chute_checkpoints"
#: a query's rows, page by page: the column names and a list of rows each time
RowPages = Generator[tuple[list[str], list[tuple[Any, ...]]], None, None]
ArrowPages = Generator[pa.RecordBatch, None, None]
_CHECKPOINT_COLUMNS = [f.name for f in fields(Checkpoint)]


@runtime_checkable
class StreamsRows(Protocol):
    """A SQL sink that can hand over a large result a page at a time (versioned datasets
    need it for checkouts)."""

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 10_000) -> RowPages:
        """Run one query (``?`` placeholders) and yield its rows ``size`` at a time."""
        ...

    def stream_arrow(self, sql: str, params: Sequence[Any] = ()) -> ArrowPages:
        """The same, as Arrow record batches."""
        ...

    def stream_texts(self, select: str, columns: list[str]) -> ArrowPages:
        """``columns`` of the rows of ``select`` as the database's own text of each value
        (NULL stays NULL), as Arrow batches of strings.  SQLite reads them through a
        connection of its own (what is committed): call it outside a transaction."""
        ...


@runtime_checkable
class ScratchTables(Protocol):
    """A SQL sink that can make a table cheaper to write by keeping no log of it
    (PostgreSQL's UNLOGGED: no WAL).  Such a table's rows survive the loader's crash, not
    the database server's (it comes back empty): whoever uses one counts its rows before
    trusting them."""

    def make_scratch(self, table: str) -> None:
        """Create ``table`` without a log, when it is created."""
        ...


def rows_to_batch(names: list[str], rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    """A page of rows as a record batch; a column of mixed types as its values' text."""
    arrays = []
    for values in zip(*rows, strict=True) if rows else [() for _ in names]:
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays.append(pa.array([None if v is None else str(v) for v in values], pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=names)


class SqlSink(Sink, Staging):
    """A sink that speaks SQL; ``dialect`` says how."""

    dialect: ClassVar[Dialect]

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) in the open transaction, or in one of its
        own when none is open; return its rows."""

    def q(self, name: str) -> str:
        return self.dialect.quote(name)

    # -- tables

    def drop_table(self, table: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {self.q(table)}")
        self.forget_table(table)

    # -- Staging

    @abstractmethod
    def create_like(self, table: str, like: str, key: list[str]) -> None: ...

    def swap_in(self, table: str, stage: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {self.q(table)}")
        self.execute(self.dialect.rename_table(stage, table))
        self.forget_table(table)
        self.forget_table(stage)

    def merge_from(
        self, table: str, stage: str, columns: list[str], mode: Mode, key: list[str]
    ) -> WriteCounts:
        return self.merge_relation(table, self.q(stage), columns, mode, key)

    def merge_relation(
        self, table: str, relation: str, names: list[str], mode: Mode, key: list[str]
    ) -> WriteCounts:
        """In the open transaction: insert the rows of ``relation`` (SQL text: a quoted
        table name) into ``table`` in ``mode``, counting what was created and updated."""
        q = self.q
        cols = ", ".join(q(c) for c in names)
        (n,) = self.execute(f"SELECT count(*) FROM {relation}")[0]
        rows = f"SELECT {cols} FROM {relation} WHERE true"  # WHERE: SQLite's parser wants it
        if mode is Mode.APPEND:
            self.execute(f"INSERT INTO {q(table)} ({cols}) {rows}")
            return WriteCounts(created=int(n))
        match = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in key)
        (existing,) = self.execute(
            f"SELECT count(*) FROM {relation} s WHERE EXISTS "
            f"(SELECT 1 FROM {q(table)} t WHERE {match})"
        )[0]
        n, existing = int(n), int(existing)
        if mode is Mode.IGNORE:
            self.execute(self.dialect.insert_ignore(table, names, key, rows))
            return WriteCounts(created=n - existing, skipped=existing)
        self.execute(self.dialect.upsert(table, names, key, rows))
        return WriteCounts(created=n - existing, updated=existing)

    def add_missing_columns(self, target: str, stage: str) -> list[str]:
        have = {c.name for c in self.describe(target) or []}
        added = []
        for column in self.describe(stage) or []:
            if column.name not in have:
                self.execute(self.dialect.add_column(target, column.name, column.declared))
                added.append(column.name)
        if added:
            self.forget_table(target)
        return added

    # -- the stores

    def checkpoint_store(self) -> SqlCheckpointStore:
        return SqlCheckpointStore(self)

    def reject_store(self, table: str) -> SqlRejectStore:
        return SqlRejectStore(self, table)


class SqlCheckpointStore:
    """Checkpoints as rows of ``_chute_checkpoints``, one per load key."""

    def __init__(self, sink: SqlSink) -> None:
        self.sink = sink

    def _ddl(self) -> str:
        types = {
            "load_key": f"{self.sink.dialect.key_text} PRIMARY KEY",
            "source": "text NOT NULL",
            "target_table": "text NOT NULL",
            "fingerprint": "text NOT NULL",
            "table_created": "integer NOT NULL",
            "next_line": "bigint",
            "completed": "integer NOT NULL",
            "table_token": "text",
            "saved_at": "text NOT NULL",
        }
        names = ["load_key", *_CHECKPOINT_COLUMNS, "saved_at"]
        cols = ",\n    ".join(f"{n} {types.get(n, 'bigint NOT NULL')}" for n in names)
        return f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS_TABLE} (\n    {cols}\n)"

    def load(self, load_key: str) -> Checkpoint | None:
        with self.sink.transaction():
            self.sink.execute(self._ddl())
            rows = self.sink.execute(
                f"SELECT {', '.join(_CHECKPOINT_COLUMNS)} FROM {CHECKPOINTS_TABLE} "
                "WHERE load_key = ?",
                [load_key],
            )
        return Checkpoint(*rows[0]) if rows else None

    def save(self, load_key: str, checkpoint: Checkpoint) -> None:
        names = ["load_key", *_CHECKPOINT_COLUMNS, "saved_at"]
        values = [getattr(checkpoint, c) for c in _CHECKPOINT_COLUMNS]
        marks = ", ".join("?" * len(names))
        self.sink.execute(
            self.sink.dialect.upsert(CHECKPOINTS_TABLE, names, ["load_key"], f"VALUES ({marks})"),
            [load_key, *values, _now()],
        )

    def mark_completed(self, load_key: str, table_token: str | None) -> None:
        self.sink.execute(
            f"UPDATE {CHECKPOINTS_TABLE} SET completed = 1, table_token = ?, saved_at = ? "
            "WHERE load_key = ?",
            [table_token, _now(), load_key],
        )

    def clear(self, load_key: str) -> None:
        with self.sink.transaction():
            self.sink.execute(f"DELETE FROM {CHECKPOINTS_TABLE} WHERE load_key = ?", [load_key])


class SqlRejectStore:
    """Rejects as rows of a table in the target database."""

    def __init__(self, sink: SqlSink, table: str) -> None:
        self.sink = sink
        self.table = table

    def prepare(self) -> None:
        if self.sink.describe(self.table) is None:
            self.sink.create_table(self.table, REJECT_COLUMNS, [])

    def append(self, batch: pa.RecordBatch) -> None:
        self.sink.write_rows(self.table, batch, Mode.APPEND, [])

    def forget_from(self, record_number: int) -> None:
        if self.sink.describe(self.table) is None:
            return
        with self.sink.transaction():
            self.sink.execute(
                f"DELETE FROM {self.sink.q(self.table)} WHERE record_number >= ?", [record_number]
            )


def _now() -> str:
    return datetime.now(UTC).isoformat()
