"""A revision's rows, into a table of the same database or into a file.

A table is made by the database itself (``CREATE TABLE`` with the commit's column types,
then one ``INSERT … SELECT``); a file (``.csv``, ``.jsonl``, ``.parquet``) is written page by
page as the rows stream from the database, in constant memory.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from chute.datasets.revs import Position
from chute.datasets.state import StateSql
from chute.datasets.store import DatasetError
from chute.errors import ConfigError
from chute.sinks.names import check_table_name
from chute.sinks.sql.sql_sink import StreamsRows

FORMATS = (".csv", ".jsonl", ".parquet")


def to_table(state: StateSql, pos: Position, columns: list[tuple[str, str]], table: str) -> int:
    """Make ``table`` hold the rows at ``pos``; returns how many."""
    check_table_name(table)
    sink, q = state.sink, state.sink.q
    with sink.transaction():
        if sink.describe(table) is not None:
            raise DatasetError(
                f"table {table} already exists in {sink.display_url}",
                hint="drop it first, or check out into another --table",
            )
        cols = ", ".join(f"{q(c)} {decl}" for c, decl in columns)
        sink.execute(f"CREATE TABLE {q(table)} ({cols})")
        names = ", ".join(q(c) for c, _ in columns)
        # a column retyped since is text in the versions table: back to the commit's type
        values = ", ".join(
            f"CAST(s.{q(c)} AS {decl})" if state.postgres else f"s.{q(c)}" for c, decl in columns
        )
        select = state.rows(pos, [c for c, _ in columns])
        sink.execute(f"INSERT INTO {q(table)} ({names}) SELECT {values} FROM ({select}) s")
        (n,) = sink.execute(f"SELECT count(*) FROM {q(table)}")[0]
    sink.forget_table(table)
    return int(n)


def to_file(state: StateSql, pos: Position, columns: list[tuple[str, str]], path: str) -> int:
    """Write the rows at ``pos`` to ``path`` (format by its extension); returns how many.
    The file appears whole or not at all (written beside it, then renamed)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(
            f"cannot check out into {path!r}: the file must end in {', '.join(FORMATS)}"
        )
    sink = state.sink
    assert isinstance(sink, StreamsRows)
    names = [c for c, _ in columns]
    inner = state.rows(pos, names)
    part = f"{path}.part"
    n = 0
    pages: Generator[Any, None, None] | None = None
    try:
        if suffix == ".csv":  # the database writes each value as text; Arrow the CSV
            pages = sink.stream_texts(inner, names)
            schema = pa.schema([(c, pa.string()) for c in names])
            with pacsv.CSVWriter(part, schema) as out:  # text quoted; NULL an empty field
                for batch in pages:
                    out.write_batch(_as_text(batch))
                    n += batch.num_rows
        elif suffix == ".parquet":
            cols = ", ".join(f"s.{sink.q(c)}" for c in names)
            pages = sink.stream(f"SELECT {cols} FROM ({inner}) s", size=65_536)
            schema = pa.schema([(c, _arrow_type(decl)) for c, decl in columns])
            with pq.ParquetWriter(part, schema) as writer:
                for _, page in pages:
                    by_column = zip(*page, strict=True)
                    arrays = [_array(col, f) for col, f in zip(by_column, schema, strict=True)]
                    writer.write_batch(pa.record_batch(arrays, schema=schema))
                    n += len(page)
        else:
            cols = ", ".join(f"s.{sink.q(c)}" for c in names)
            pages = sink.stream(f"SELECT {cols} FROM ({inner}) s", size=65_536)
            with open(part, "w", encoding="utf-8", newline="") as out:
                for _, page in pages:
                    out.writelines(
                        json.dumps(dict(zip(names, row, strict=True)), default=_json) + "\n"
                        for row in page
                    )
                    n += len(page)
        os.replace(part, path)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    finally:
        if pages is not None:
            pages.close()  # the cursor, while its connection is open
    return n


def _as_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Every column of ``batch`` as plain strings (SQLite's all-NULL page is of type null)."""
    arrays = [
        col if pa.types.is_string(col.type) else col.cast(pa.string()) for col in batch.columns
    ]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _arrow_type(declared: str) -> pa.DataType:
    d = declared.lower()
    if "int" in d:
        return pa.int64()
    if any(t in d for t in ("real", "double", "float")):
        return pa.float64()
    if "bool" in d:
        return pa.bool_()
    return pa.string()


def _array(values: tuple[Any, ...], field: pa.Field) -> pa.Array:
    """``values`` as an array of ``field``'s type: SQLite's 0/1 for booleans, a column
    retyped to text since holding the digits of integers, and so on, are converted."""
    if pa.types.is_string(field.type):
        return pa.array([None if v is None else _text(v) for v in values], type=pa.string())
    try:
        return pa.array(values, type=field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    try:
        return pa.array(values).cast(field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        texts = pa.array([None if v is None else str(v) for v in values], type=pa.string())
        try:
            return texts.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DatasetError(
                f"column {field.name} holds values that are not {field.type}: {exc}"
            ) from None


def _text(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _json(value: Any) -> Any:
    out = _text(value)
    return out if out is not value else str(value)
