"""An in-memory sink: tables of Python dicts, for unit tests and examples."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

import pyarrow as pa

from chute.coltypes import ColumnType, Kind
from chute.errors import RecordError, Refusal
from chute.sinks.contract import (
    REJECT_COLUMNS,
    Capabilities,
    Checkpoint,
    Mode,
    Savepoints,
    Sink,
    Staging,
    TableColumn,
    WriteCounts,
)

_CONVERT: dict[Kind, Callable[[Any], Any]] = {
    Kind.NUMERIC: lambda v: Decimal(str(v)),
    Kind.DOUBLE: float,
    Kind.JSON: lambda v: v,
}


_Snapshot = dict[str, tuple[list[dict[str, Any]], dict[tuple[Any, ...], int]]]


class MemorySink(Sink, Savepoints, Staging):
    """``memory://NAME``: tables live in :attr:`databases` for the life of the process."""

    schemes = ("memory",)
    # its checkpoints last as long as the process: a load into it does not resume
    capabilities = Capabilities(checkpoints=False)
    databases: ClassVar[dict[str, dict[str, MemoryTable]]] = {}
    checkpoints: ClassVar[dict[str, dict[str, Checkpoint]]] = {}

    def __init__(self, url: str) -> None:
        super().__init__(url)
        name = url.split("://", 1)[-1]
        self.tables = self.databases.setdefault(name, {})
        self._checkpoints = self.checkpoints.setdefault(name, {})
        self._begun: _Snapshot | None = None
        self._saved: _Snapshot = {}

    @property
    def display_url(self) -> str:
        return self.url

    def connect(self) -> None:
        pass

    def describe(self, table: str) -> list[TableColumn] | None:
        t = self.tables.get(table)
        if t is None:
            return None
        return [TableColumn(n, ct, str(ct), nullable=n not in t.key) for n, ct in t.columns.items()]

    def create_table(self, table: str, columns: dict[str, ColumnType], key: list[str]) -> None:
        self.tables[table] = MemoryTable(dict(columns), list(key))

    def alter_column(
        self,
        table: str,
        column: str,
        new_type: ColumnType,
        columns: dict[str, ColumnType],
        key: list[str],
    ) -> None:
        t = self.tables[table]
        t.columns[column] = new_type
        convert = _CONVERT.get(new_type.kind, str)
        for row in t.rows:
            if row.get(column) is not None:
                row[column] = convert(row[column])

    def add_column(self, table: str, column: str, new_type: ColumnType) -> None:
        self.tables[table].columns[column] = new_type

    def create_like(self, table: str, like: str, key: list[str]) -> None:
        self.tables[table] = MemoryTable(dict(self.tables[like].columns), list(key))

    def merge_from(
        self, table: str, stage: str, columns: list[str], mode: Mode, key: list[str]
    ) -> WriteCounts:
        rows = self.tables[stage].rows
        return self.write_rows(table, pa.RecordBatch.from_pylist(rows), mode, key)

    def swap_in(self, table: str, stage: str) -> None:
        self.tables[table] = self.tables.pop(stage)

    def add_missing_columns(self, target: str, stage: str) -> list[str]:
        have = self.tables[target].columns
        added = [n for n in self.tables[stage].columns if n not in have]
        for name in added:
            have[name] = self.tables[stage].columns[name]
        return added

    def drop_table(self, table: str) -> None:
        self.tables.pop(table, None)

    def primary_key(self, table: str) -> list[str]:
        return list(self.tables[table].key)

    def existing_keys(self, table: str, key: list[str], batch: pa.RecordBatch) -> list[int]:
        have = self.tables[table].by_key
        return [
            i
            for i, r in enumerate(batch.select(key).to_pylist())
            if tuple(r[k] for k in key) in have
        ]

    def table_token(self, table: str) -> str | None:
        found = self.tables.get(table)
        return None if found is None else str(id(found))

    def unique_keys(self, table: str) -> list[list[str]]:
        key = self.tables[table].key
        return [list(key)] if key else []

    # A transaction is a snapshot of every table to go back to.
    def _snapshot(self) -> _Snapshot:
        return {n: ([dict(r) for r in t.rows], dict(t.by_key)) for n, t in self.tables.items()}

    def _restore(self, snap: _Snapshot) -> None:
        for name, (rows, by_key) in snap.items():
            self.tables[name].rows, self.tables[name].by_key = rows, by_key

    def begin(self) -> None:
        self._begun = self._snapshot()

    def commit(self) -> None:
        self._begun = None

    def rollback(self) -> None:
        if self._begun is not None:
            self._restore(self._begun)
        self._begun = None

    def savepoint(self) -> None:
        self._saved = self._snapshot()

    def rollback_to_savepoint(self) -> None:
        self._restore(self._saved)

    def release_savepoint(self) -> None:
        self._saved = {}

    def write_rows(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        t = self.tables[table]
        counts = WriteCounts()
        staged = dict(t.by_key)
        rows = list(t.rows)
        for i, record in enumerate(batch.to_pylist()):
            k = tuple(record.get(c) for c in t.key) if t.key else None
            if k is not None and any(v is None for v in k):
                err = RecordError(f"NULL in key column of {table}")
                err.row = i
                raise err
            if k is not None and k in staged:
                if mode is Mode.APPEND:
                    err = RecordError(
                        f"duplicate key {k} in {table}", refusal=Refusal.DUPLICATE_KEY
                    )
                    err.row = i
                    raise err
                if mode is Mode.IGNORE:
                    counts.skipped += 1
                    continue
                rows[staged[k]] = {**rows[staged[k]], **record}
                counts.updated += 1
                continue
            if k is not None:
                staged[k] = len(rows)
            rows.append(record)
            counts.created += 1
        t.rows, t.by_key = rows, staged
        return counts

    def close(self) -> None:
        pass

    def checkpoint_store(self) -> MemoryCheckpoints:
        return MemoryCheckpoints(self._checkpoints)

    def reject_store(self, table: str) -> MemoryRejects:
        return MemoryRejects(self, table)


class MemoryTable:
    def __init__(self, columns: dict[str, ColumnType], key: list[str]) -> None:
        self.columns = columns
        self.key = key
        self.rows: list[dict[str, Any]] = []
        self.by_key: dict[tuple[Any, ...], int] = {}


class MemoryCheckpoints:
    """Checkpoints in a dict of the process (not undone by a rollback)."""

    def __init__(self, saved: dict[str, Checkpoint]) -> None:
        self.saved = saved

    def load(self, load_key: str) -> Checkpoint | None:
        return self.saved.get(load_key)

    def save(self, load_key: str, checkpoint: Checkpoint) -> None:
        self.saved[load_key] = checkpoint

    def mark_completed(self, load_key: str, table_token: str | None) -> None:
        found = self.saved.get(load_key)
        if found is not None:
            found.completed, found.table_token = 1, table_token

    def clear(self, load_key: str) -> None:
        self.saved.pop(load_key, None)


class MemoryRejects:
    """Rejects as rows of a memory table."""

    def __init__(self, sink: MemorySink, table: str) -> None:
        self.sink = sink
        self.table = table

    def prepare(self) -> None:
        if self.table not in self.sink.tables:
            self.sink.create_table(self.table, REJECT_COLUMNS, [])

    def append(self, batch: pa.RecordBatch) -> None:
        self.sink.write_rows(self.table, batch, Mode.APPEND, [])

    def forget_from(self, record_number: int) -> None:
        table = self.sink.tables.get(self.table)
        if table is not None:
            table.rows = [r for r in table.rows if (r["record_number"] or 0) < record_number]
