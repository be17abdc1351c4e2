"""The hand-written contenders, each run by ``run.py`` in a process of its own.

::

    python benchmarks/contenders.py NAME --file orders.csv --url postgresql://... --table t

Each contender reads the CSV file and writes it to the database the way a person would
without chute, then prints one JSON line: ``{"rows": ..., "seconds": ...}``, where
``seconds`` is the time spent inside the process after imports (``run.py`` also measures
the whole process from the outside, which is the number it reports).

Empty fields: the generated files never hold a quoted empty string, so an empty field is
NULL everywhere (as in ``psql \\copy ... (FORMAT csv)``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

BATCH_ROWS = 10_000
READ_CHUNK = 1 << 20

Row = dict[str, Any]


def _sqlalchemy_url(url: str) -> str:
    """``postgresql://...`` for SQLAlchemy with the psycopg 3 driver."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def _records(path: Path, limit: int | None) -> Iterator[list[str]]:
    """The file's records as lists of strings, without the header."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        yield from islice(reader, limit)


# -- PostgreSQL ------------------------------------------------------------------------


def pandas_to_sql(path: Path, url: str, table: str, limit: int | None) -> int:
    """``pd.read_csv``, then ``DataFrame.to_sql`` in chunks of 10k into the typed table.

    The conversions are the few a pandas user needs for this table: timestamps parsed (the
    zoned ones to UTC), the JSON text parsed, and ``dtype=`` for the uuid, numeric and
    jsonb columns (else SQLAlchemy binds them as VARCHAR, which the server refuses).
    """
    import pandas as pd
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import JSONB

    engine = sa.create_engine(_sqlalchemy_url(url))
    frame = pd.read_csv(path, nrows=limit)
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True, format="ISO8601")
    frame["shipped_at"] = pd.to_datetime(frame["shipped_at"], format="ISO8601")
    frame["tags"] = frame["tags"].map(json.loads)
    frame.to_sql(
        table,
        engine,
        if_exists="append",
        index=False,
        chunksize=BATCH_ROWS,
        dtype={"uuid": sa.Uuid(as_uuid=False), "price": sa.Numeric(12, 2), "tags": JSONB},
    )
    engine.dispose()
    return len(frame)


def _orm_row(r: list[str]) -> Row:
    """One CSV record as the ORM mapping's Python values."""
    return {
        "id": int(r[0]),
        "uuid": r[1],
        "customer": r[2] or None,
        "status": r[3] or None,
        "quantity": int(r[4]) if r[4] else None,
        "price": Decimal(r[5]) if r[5] else None,
        "ordered_at": datetime.fromisoformat(r[6]) if r[6] else None,
        "shipped_at": datetime.fromisoformat(r[7]) if r[7] else None,
        "notes": r[8] or None,
        "gift": r[9] == "true" if r[9] else None,
        "tags": json.loads(r[10]) if r[10] else None,
        "weight": float(r[11]) if r[11] else None,
    }


def _orm(path: Path, url: str, table: str, limit: int | None, *, render_nulls: bool) -> int:
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import JSONB
    from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class Order(Base):  # the typed table's columns
        __tablename__ = table
        id = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
        uuid = mapped_column(sa.Uuid(as_uuid=False), nullable=False)
        customer = mapped_column(sa.Text)
        status = mapped_column(sa.Text)
        quantity = mapped_column(sa.Integer)
        price = mapped_column(sa.Numeric(12, 2))
        ordered_at = mapped_column(sa.DateTime(timezone=True))
        shipped_at = mapped_column(sa.DateTime())
        notes = mapped_column(sa.Text)
        gift = mapped_column(sa.Boolean)
        tags = mapped_column(JSONB)
        weight = mapped_column(sa.Float)

    engine = sa.create_engine(_sqlalchemy_url(url))
    rows = 0
    with Session(engine) as session:
        records = _records(path, limit)
        while batch := [_orm_row(r) for r in islice(records, BATCH_ROWS)]:
            session.bulk_insert_mappings(Order, batch, render_nulls=render_nulls)
            session.commit()
            rows += len(batch)
    engine.dispose()
    return rows


def sqlalchemy_orm(path: Path, url: str, table: str, limit: int | None) -> int:
    """``Session.bulk_insert_mappings`` of 10k converted rows per batch, commit per batch."""
    return _orm(path, url, table, limit, render_nulls=False)


def sqlalchemy_orm_render_nulls(path: Path, url: str, table: str, limit: int | None) -> int:
    """The same with ``render_nulls=True`` (one statement shape, whatever is NULL)."""
    return _orm(path, url, table, limit, render_nulls=True)


def insert_per_row(path: Path, url: str, table: str, limit: int | None) -> int:
    """One parameterised INSERT and one COMMIT per record (psycopg 3)."""
    import psycopg

    placeholders = ", ".join(["%s"] * 12)
    sql = f"INSERT INTO {table} VALUES ({placeholders})"
    rows = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for record in _records(path, limit):
            cur.execute(sql, [v if v != "" else None for v in record])
            conn.commit()
            rows += 1
    return rows


def upsert_psycopg(path: Path, url: str, table: str, limit: int | None) -> int:
    """COPY the raw file into a temp table, then one ``INSERT ... ON CONFLICT DO UPDATE``."""
    import psycopg

    if limit is not None:
        raise SystemExit("upsert_psycopg reads the whole file; it takes no --limit")
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE stage (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
        with (
            open(path, "rb") as f,
            cur.copy("COPY stage FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            while data := f.read(READ_CHUNK):
                copy.write(data)
        cur.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (table,),
        )
        columns = [r[0] for r in cur.fetchall()]
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "id")
        cur.execute(
            f"INSERT INTO {table} SELECT * FROM stage ON CONFLICT (id) DO UPDATE SET {updates}"
        )
        rows = cur.rowcount
        conn.commit()
    return rows


def adbc_ingest_raw(path: Path, url: str, table: str, limit: int | None) -> int:
    """Arrow's CSV reader with the table's types, then ADBC's binary COPY, one connection,
    one transaction: the bare pipeline chute is built on, with no value checks, no rejects,
    no checkpoints.  The uuids go as 16 bytes and the jsonb with its version byte (decoded
    with numpy, as a person after speed would); everything else as Arrow reads it."""
    import adbc_driver_postgresql.dbapi as dbapi
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if limit is not None:
        raise SystemExit("adbc_ingest_raw reads the whole file; it takes no --limit")
    # the typed table's columns (numeric(12,2) as a decimal, which ADBC writes as numeric;
    # uuid and jsonb read as text, put in their binary forms below)
    types = {
        "id": pa.int64(), "uuid": pa.string(), "customer": pa.string(),
        "status": pa.string(), "quantity": pa.int32(), "price": pa.decimal128(12, 2),
        "ordered_at": pa.timestamp("us", tz="UTC"), "shipped_at": pa.timestamp("us"),
        "notes": pa.string(), "gift": pa.bool_(), "tags": pa.string(), "weight": pa.float64(),
    }  # fmt: skip
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=False, block_size=8 << 20),
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
    )
    hexval = np.full(256, 255, dtype=np.uint8)
    for i, c in enumerate(b"0123456789abcdef"):
        hexval[c] = i
        hexval[ord(chr(c).upper())] = i
    digits = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
    version = pa.scalar(b"\x01", pa.binary())

    def binary_forms(batch: pa.RecordBatch) -> pa.RecordBatch:
        cols = dict(zip(batch.schema.names, batch.columns, strict=True))
        text = cols["uuid"]  # 36 characters each, none null in this file
        chars = np.frombuffer(text.buffers()[2], np.uint8)[: 36 * len(text)].reshape(-1, 36)
        nibbles = hexval[chars[:, digits]]
        raw = (nibbles[:, 0::2] << 4 | nibbles[:, 1::2]).astype(np.uint8)
        cols["uuid"] = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(16), len(text), [None, pa.py_buffer(raw.tobytes())]
        )
        cols["tags"] = pc.binary_join_element_wise(
            version, pc.cast(cols["tags"], pa.binary()), pa.scalar(b"", pa.binary())
        )
        return pa.RecordBatch.from_pydict(cols)

    first = binary_forms(reader.read_next_batch())
    batches = pa.RecordBatchReader.from_batches(
        first.schema, (b for part in ([first], map(binary_forms, reader)) for b in part)
    )
    with dbapi.connect(url) as conn, conn.cursor() as cur:
        rows = cur.adbc_ingest(table, batches, mode="append")
        conn.commit()
    return int(rows)


# -- SQLite ----------------------------------------------------------------------------

SQLITE_DDL = (
    "CREATE TABLE {table} (id INTEGER, uuid TEXT, customer TEXT, status TEXT, "
    "quantity INTEGER, price TEXT, ordered_at TIMESTAMPTZ, shipped_at TIMESTAMP, notes TEXT, "
    "gift BOOLEAN, tags JSON, weight REAL)"
)


def _sqlite_row(r: list[str]) -> tuple[Any, ...]:
    """Integers and floats as numbers, booleans as 0/1, empty as NULL, the rest as text."""
    return (
        int(r[0]),
        r[1],
        r[2] or None,
        r[3] or None,
        int(r[4]) if r[4] else None,
        r[5] or None,  # exact decimal kept as its text, like chute does
        r[6] or None,
        r[7] or None,
        r[8] or None,
        (r[9] == "true") if r[9] else None,
        r[10] or None,
        float(r[11]) if r[11] else None,
    )


def sqlite_executemany(path: Path, url: str, table: str, limit: int | None) -> int:
    """Python's ``sqlite3``: csv module, per-value conversion, one ``executemany``, one commit."""
    if not url.startswith("sqlite:///"):
        raise SystemExit("sqlite_executemany needs --url sqlite:///path.db")
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    rows = 0

    def counted() -> Iterator[tuple[Any, ...]]:
        nonlocal rows
        for record in _records(path, limit):
            rows += 1
            yield _sqlite_row(record)

    with conn:  # one transaction
        conn.execute(SQLITE_DDL.format(table=table))
        conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * 12)})", counted())
    conn.close()
    return rows


CONTENDERS: dict[str, Callable[[Path, str, str, int | None], int]] = {
    "pandas_to_sql": pandas_to_sql,
    "sqlalchemy_orm": sqlalchemy_orm,
    "sqlalchemy_orm_render_nulls": sqlalchemy_orm_render_nulls,
    "insert_per_row": insert_per_row,
    "upsert_psycopg": upsert_psycopg,
    "adbc_ingest_raw": adbc_ingest_raw,
    "sqlite_executemany": sqlite_executemany,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one hand-written contender.")
    parser.add_argument("name", choices=sorted(CONTENDERS))
    parser.add_argument("--file", type=Path, required=True, help="the CSV to load")
    parser.add_argument("--url", required=True, help="postgresql://... or sqlite:///path.db")
    parser.add_argument("--table", required=True)
    parser.add_argument("--limit", type=int, default=None, help="load only the first N records")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = CONTENDERS[args.name](args.file, args.url, args.table, args.limit)
    seconds = time.perf_counter() - started
    json.dump({"rows": rows, "seconds": round(seconds, 3)}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
