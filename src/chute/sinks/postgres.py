"""PostgreSQL: binary COPY of Arrow batches through ADBC, one transaction per batch.

The server receives binary values, so it does not parse text: this is what lets chute run
faster than ``psql \\copy`` of the same CSV.  Columns whose type has no binary form in Arrow
(uuid, inet, arrays, an unconstrained numeric, ...) travel as text into a temporary staging
table and are cast by the server; upsert and ignore go through the same staging table and
one ``INSERT ... SELECT ... ON CONFLICT`` that also counts created and updated rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as pgdbapi
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from chute.engine.columns import TEXT, ColumnType, Kind, Stores
from chute.engine.lock import Exclusive, Held, Holder
from chute.errors import ConfigError, RecordError, SinkUnavailableError
from chute.sinks.base import Capabilities, Counted, Mode, Sink, TableColumn, WriteCounts
from chute.sinks.base import quote_identifier as q
from chute.sinks.pg_lock import AdvisoryLock
from chute.sinks.postgres_values import PostgresValueOracle, zone_is_utc
from chute.sinks.sqlstate import classify
from chute.urls import redact, scrub, with_param

_CREATE = {
    Kind.BIGINT: "bigint",
    Kind.DOUBLE: "double precision",
    Kind.BOOLEAN: "boolean",
    Kind.DATE: "date",
    Kind.TIMESTAMP: "timestamp",
    Kind.TIMESTAMPTZ: "timestamptz",
    Kind.JSON: "jsonb",
    Kind.UUID: "uuid",
    Kind.TEXT: "text",
}

# PostgreSQL type name -> (kind values are converted to, Arrow type sent in binary COPY)
_NATIVE: dict[str, tuple[Kind, pa.DataType]] = {
    "int8": (Kind.BIGINT, pa.int64()),
    "int4": (Kind.BIGINT, pa.int32()),
    "int2": (Kind.BIGINT, pa.int16()),
    "float8": (Kind.DOUBLE, pa.float64()),
    "float4": (Kind.DOUBLE, pa.float32()),
    "bool": (Kind.BOOLEAN, pa.bool_()),
    "date": (Kind.DATE, pa.date32()),
    "timestamp": (Kind.TIMESTAMP, pa.timestamp("us")),
    "timestamptz": (Kind.TIMESTAMPTZ, pa.timestamp("us", tz="UTC")),
    "text": (Kind.TEXT, pa.string()),
    "varchar": (Kind.TEXT, pa.string()),
    "bpchar": (Kind.TEXT, pa.string()),
    "name": (Kind.TEXT, pa.string()),
    "json": (Kind.JSON, pa.string()),
    "jsonb": (Kind.JSON, pa.binary()),
}

_COPY_LINE = re.compile(r"COPY [^,]+, line (\d+)")
_JSONB_VERSION = pa.scalar(b"\x01", pa.binary())


def create_type(t: ColumnType) -> str:
    if t.kind is Kind.NUMERIC:
        return str(t)
    return _CREATE[t.kind]


@dataclass(frozen=True)
class _PgColumn:
    name: str
    typname: str
    declared: str  # format_type(), e.g. numeric(12,2), character varying(20)
    typmod: int
    not_null: bool = False
    has_default: bool = False
    generated: bool = False  # GENERATED ALWAYS: a generated column, or identity


class PostgresSink(Sink, Exclusive):
    schemes = ("postgresql", "postgres")
    # ADBC refuses every statement after a failed one until a full rollback
    capabilities = Capabilities(
        upsert=True,
        transactions=True,
        bulk_copy=True,
        alter_column_type=True,
        savepoints=False,
        parallel_writes=True,
        stores=Stores(exact_decimals=True, uuid=True),
        max_name_bytes=63,  # NAMEDATALEN - 1: a longer name is cut short
    )

    def __init__(self, url: str) -> None:
        super().__init__(url)
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as exc:  # also an unclosed [ of an IPv6 address
            raise ConfigError(
                f"malformed PostgreSQL URL {self.display_url!r}: {exc}",
                hint="use postgresql://user:password@host:port/database",
            ) from None
        if not parts.hostname and not parts.path.strip("/"):
            raise ConfigError(
                f"malformed PostgreSQL URL {self.display_url!r}",
                hint="use postgresql://user:password@host:port/database",
            )
        self._uri = urlunsplit(("postgresql", *parts[1:]))
        self._conn: Any = None
        self._columns: dict[str, dict[str, _PgColumn]] = {}
        self._in_transaction = False  # between begin() and commit()/rollback()

    @property
    def display_url(self) -> str:
        return redact(self.url)

    def connect(self) -> None:
        uri = self._uri
        timeout = None
        if self.connect_timeout is not None:
            # libpq counts whole seconds, at least 2, for each of the host's addresses
            timeout = max(2, math.ceil(self.connect_timeout))
            uri = with_param(uri, "connect_timeout", str(timeout))
        started = time.monotonic()
        try:
            self._conn = Counted(pgdbapi.connect(uri), self)
        except adbc_driver_manager.Error as exc:
            waited = time.monotonic() - started
            hint = "is the server running, and are the user and database right?"
            if timeout is not None and waited >= timeout:
                hint = (
                    f"no answer within {timeout} s: is it a PostgreSQL server, and reachable? "
                    "(--connect-timeout sets the wait)"
                )
            raise SinkUnavailableError(
                f"cannot connect to {self.display_url}: {scrub(_first_line(exc), self.url)}",
                hint=hint,
            ) from exc

    # -- helpers -----------------------------------------------------------------------

    def _execute(self, sql: str, params: tuple[Any, ...] | None = None) -> Any:
        cur = self._conn.cursor()
        try:
            cur.execute(sql, parameters=params)
            return cur.fetchall() if cur.description else None
        finally:
            cur.close()

    def _commit(self, statements: list[str]) -> None:
        try:
            for sql in statements:
                self._execute(sql)
            self._conn.commit()
        except adbc_driver_manager.Error as exc:
            self._rollback()
            raise _wrap(exc) from exc

    def _rollback(self) -> None:
        self._in_transaction = False
        with contextlib.suppress(adbc_driver_manager.Error):
            self._conn.rollback()

    def _pg_columns(self, table: str) -> dict[str, _PgColumn]:
        if table not in self._columns:
            rows = self._execute(
                "SELECT a.attname, t.typname, format_type(a.atttypid, a.atttypmod), a.atttypmod, "
                "a.attnotnull, a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', "
                "a.attidentity = 'a' OR a.attgenerated <> '' "
                "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
                "ORDER BY a.attnum",
                (q(table),),
            )
            if not self._in_transaction:  # inside one, this would commit it half-written
                self._conn.commit()
            self._columns[table] = {r[0]: _PgColumn(*r) for r in rows}
        return self._columns[table]

    # -- Sink ---------------------------------------------------------------------------

    def describe(self, table: str) -> list[TableColumn] | None:
        try:
            cols = self._pg_columns(table)
        except adbc_driver_manager.Error as exc:
            self._rollback()
            raise _wrap(exc) from exc
        if not cols:
            del self._columns[table]
            return None
        return [
            TableColumn(
                c.name,
                _column_type(c),
                c.declared,
                nullable=not c.not_null,
                has_default=c.has_default,
                generated=c.generated,
                max_length=c.typmod - 4
                if c.typname in ("varchar", "bpchar") and c.typmod > 4
                else None,
            )
            for c in cols.values()
        ]

    def create_table(self, table: str, columns: dict[str, ColumnType], key: list[str]) -> None:
        cols = [
            f"{q(n)} {create_type(t)}" + (" NOT NULL" if n in key else "")
            for n, t in columns.items()
        ]
        if key:
            cols.append(f"PRIMARY KEY ({', '.join(q(k) for k in key)})")
        self._commit([f"CREATE TABLE {q(table)} ({', '.join(cols)})"])
        self._columns.pop(table, None)

    def alter_column(
        self,
        table: str,
        column: str,
        new_type: ColumnType,
        columns: dict[str, ColumnType],
        key: list[str],
    ) -> None:
        # Every stored value keeps its value: a double becomes text (or numeric) through its
        # shortest exact spelling, never through float8 -> numeric, which keeps 15 digits.
        pg = create_type(new_type)
        old = columns.get(column)
        if new_type.kind is Kind.JSON:
            using = f"to_jsonb({q(column)})"
        elif new_type.kind is Kind.TEXT:
            using = f"{q(column)}::text"
        elif old is not None and old.kind is Kind.DOUBLE:
            using = f"{q(column)}::text::{pg}"
        else:
            using = f"{q(column)}::{pg}"
        self._commit(
            [
                "SET LOCAL extra_float_digits = 1",  # shortest exact, whatever the server's
                f"ALTER TABLE {q(table)} ALTER COLUMN {q(column)} TYPE {pg} USING {using}",
            ]
        )
        self._columns.pop(table, None)

    def add_column(self, table: str, column: str, new_type: ColumnType) -> None:
        self._commit([f"ALTER TABLE {q(table)} ADD COLUMN {q(column)} {create_type(new_type)}"])
        self._columns.pop(table, None)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        parts = sql.split("?")
        numbered = parts[0] + "".join(f"${i}{p}" for i, p in enumerate(parts[1:], 1))
        try:
            rows = self._execute(numbered, tuple(params) or None)
        except adbc_driver_manager.Error as exc:
            raise _wrap(exc) from exc
        return list(rows or [])

    def primary_key(self, table: str) -> list[str]:
        rows = self.execute(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
            "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(?) "
            "AND i.indisprimary ORDER BY a.attnum",
            [q(table)],
        )
        self._conn.commit()
        return [r[0] for r in rows]

    def existing_keys(self, table: str, key: list[str], batch: pa.RecordBatch) -> list[int]:
        pg_cols = self._pg_columns(table)
        if len(key) == 1:  # one round trip: the keys as one JSON array parameter
            (name,) = key
            column = batch.column(name)
            candidates = np.arange(len(column))
            if pa.types.is_integer(column.type):
                # only keys between the table's smallest and largest can be in it (an
                # append of new, growing ids asks about none)
                low, high = self.execute(f"SELECT min({q(name)}), max({q(name)}) FROM {q(table)}")[
                    0
                ]
                if low is None:
                    self._conn.commit()
                    return []
                inside = pc.and_(pc.greater_equal(column, low), pc.less_equal(column, high))
                candidates = np.flatnonzero(
                    pc.fill_null(inside, False).to_numpy(zero_copy_only=False)
                )
                if not len(candidates):
                    self._conn.commit()
                    return []
                column = column.take(pa.array(candidates))
            values = pc.cast(column, pa.string()).to_pylist()
            rows = self.execute(
                f"SELECT k.ord - 1 FROM jsonb_array_elements_text(?::jsonb) WITH ORDINALITY "
                f"AS k(v, ord) WHERE k.v IS NOT NULL AND EXISTS (SELECT 1 FROM {q(table)} t "
                f"WHERE t.{q(name)} = k.v::{pg_cols[name].declared})",
                [orjson.dumps(values).decode()],
            )
            self._conn.commit()
            return [int(candidates[int(r[0])]) for r in rows]
        keys = batch.select(key)
        wire, casts = _wire_batch(keys, pg_cols)
        wire = wire.append_column("__chute_row", pa.array(np.arange(len(wire)), pa.int64()))
        layout = [(n, "text" if n in casts else pg_cols[n].declared) for n in key]
        name = "_chute_probe_" + hashlib.sha1(repr((table, layout)).encode()).hexdigest()[:16]
        cols = ", ".join(f"{q(n)} {t}" for n, t in layout)
        match = " AND ".join(
            f"t.{q(n)} = p.{q(n)}" + (f"::{casts[n]}" if n in casts else "") for n in key
        )
        cur = self._conn.cursor()
        try:
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {q(name)} ({cols}, __chute_row bigint) "
                "ON COMMIT DELETE ROWS"
            )
            cur.adbc_ingest(name, wire, mode="append", temporary=True)
            # a few thousand index lookups, not a scan of the whole table per batch
            cur.execute("SET LOCAL enable_hashjoin = off")
            cur.execute("SET LOCAL enable_mergejoin = off")
            cur.execute(
                f"SELECT p.__chute_row FROM pg_temp.{q(name)} p "
                f"WHERE EXISTS (SELECT 1 FROM {q(table)} t WHERE {match})"
            )
            found = [int(r[0]) for r in cur.fetchall()]
            self._conn.commit()
            return found
        except adbc_driver_manager.Error as exc:
            self._rollback()
            raise _wrap(exc) from exc
        finally:
            cur.close()

    def table_token(self, table: str) -> str | None:
        # the oid: kept by ALTER TABLE, RENAME and VACUUM FULL, new for a table made anew
        rows = self.execute("SELECT to_regclass(?)::oid::text", [q(table)])
        return rows[0][0] if rows else None

    def lock_load(self, name: str, holder: Holder) -> Held:
        return AdvisoryLock.take(self.another(), name, holder)

    def unique_keys(self, table: str) -> list[list[str]]:
        rows = self._execute(
            "SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL "
            "GROUP BY i.indexrelid",
            (q(table),),
        )
        self._conn.commit()
        return [list(r[0]) for r in rows or []]

    def forget_table(self, table: str) -> None:
        self._columns.pop(table, None)

    def value_oracle(self, table: str) -> PostgresValueOracle:
        columns = self._pg_columns(table)
        utc = True
        if any(c.typname == "timestamptz" for c in columns.values()):
            # a zone-less timestamp is read in the session's zone: the server's default
            (zone,) = self.execute("SELECT current_setting('TimeZone')")[0]
            self._conn.commit()
            utc = zone_is_utc(str(zone))
        return PostgresValueOracle(self.another, columns, utc)

    def begin(self) -> None:
        self._in_transaction = True  # the driver opens it at the first statement

    def commit(self) -> None:
        self._in_transaction = False
        try:
            self._conn.commit()
        except adbc_driver_manager.Error as exc:
            self._rollback()
            raise _wrap(exc) from exc

    def rollback(self) -> None:
        self._rollback()

    def savepoint(self) -> None:
        raise NotImplementedError("ADBC cannot roll back to a savepoint after an error")

    def rollback_to_savepoint(self) -> None:
        raise NotImplementedError("ADBC cannot roll back to a savepoint after an error")

    def release_savepoint(self) -> None:
        raise NotImplementedError("ADBC cannot roll back to a savepoint after an error")

    def write_rows(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        pg_cols = self._pg_columns(table)
        wire, casts = _wire_batch(batch, pg_cols)
        n = batch.num_rows
        cur = self._conn.cursor()
        try:
            if mode is Mode.APPEND and not casts:
                cur.adbc_ingest(table, wire, mode="append")
                return WriteCounts(created=n)
            stage = self._stage(cur, table, wire, casts)
            cur.adbc_ingest(stage, wire, mode="append", temporary=True)
            counts = self._insert_from(
                cur, table, f"pg_temp.{q(stage)}", wire.schema.names, casts, mode, key, n
            )
            cur.execute(f"TRUNCATE pg_temp.{q(stage)}")
            return counts
        except adbc_driver_manager.Error as exc:
            raise _wrap(exc) from exc
        finally:
            cur.close()

    def _stage(self, cur: Any, table: str, wire: pa.RecordBatch, casts: dict[str, str]) -> str:
        """A temporary table shaped like the batch (text where the server casts)."""
        pg_cols = self._pg_columns(table)
        layout = tuple(
            (n, "text" if n in casts else pg_cols[n].declared) for n in wire.schema.names
        )
        name = "_chute_stage_" + hashlib.sha1(repr((table, layout)).encode()).hexdigest()[:16]
        cols = ", ".join(f"{q(n)} {t}" for n, t in layout)
        # made anew after a rollback; cheap when it exists
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {q(name)} ({cols}) ON COMMIT DELETE ROWS")
        return name

    def _insert_from(
        self,
        cur: Any,
        table: str,
        stage: str,
        names: list[str],
        casts: dict[str, str],
        mode: Mode,
        key: list[str],
        n: int,
    ) -> WriteCounts:
        cols = ", ".join(q(c) for c in names)
        select = ", ".join(f"{q(c)}::{casts[c]}" if c in casts else q(c) for c in names)
        insert = f"INSERT INTO {q(table)} ({cols}) SELECT {select} FROM {stage}"
        if mode is Mode.APPEND:
            cur.execute(insert)
            return WriteCounts(created=n if n >= 0 else _rowcount(cur))
        conflict = f" ON CONFLICT ({', '.join(q(k) for k in key)}) "
        others = [c for c in names if c not in key]
        if mode is Mode.IGNORE or not others:
            cur.execute(
                f"WITH ins AS ({insert}{conflict}DO NOTHING RETURNING 1) SELECT count(*) FROM ins"
            )
            created = int(cur.fetchone()[0])
            total = n if n >= 0 else self._count(cur, stage)
            if mode is Mode.IGNORE:
                return WriteCounts(created=created, skipped=total - created)
            return WriteCounts(created=created, updated=total - created)
        sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in others)
        cur.execute(
            f"WITH ins AS ({insert}{conflict}DO UPDATE SET {sets} "
            "RETURNING (xmax = 0) AS created) "
            "SELECT count(*) FILTER (WHERE created), count(*) FROM ins"
        )
        created, total = cur.fetchone()
        return WriteCounts(created=int(created), updated=int(total) - int(created))

    @staticmethod
    def _count(cur: Any, relation: str) -> int:
        cur.execute(f"SELECT count(*) FROM {relation}")
        return int(cur.fetchone()[0])

    def merge_from(
        self, table: str, stage: str, columns: list[str], mode: Mode, key: list[str]
    ) -> WriteCounts:
        cur = self._conn.cursor()
        try:
            return self._insert_from(cur, table, q(stage), columns, {}, mode, key, -1)
        except adbc_driver_manager.Error as exc:
            raise _wrap(exc) from exc
        finally:
            cur.close()

    def create_like(self, table: str, like: str, key: list[str]) -> None:
        self._commit([f"CREATE TABLE {q(table)} (LIKE {q(like)} INCLUDING ALL)"])
        self._columns.pop(table, None)

    def swap_in(self, table: str, stage: str) -> None:
        try:
            self._execute(f"DROP TABLE IF EXISTS {q(table)}")
            self._execute(f"ALTER TABLE {q(stage)} RENAME TO {q(table)}")
        except adbc_driver_manager.Error as exc:
            raise _wrap(exc) from exc
        self._columns.pop(table, None)
        self._columns.pop(stage, None)

    def drop_table(self, table: str) -> None:
        try:
            self._execute(f"DROP TABLE IF EXISTS {q(table)}")
        except adbc_driver_manager.Error as exc:
            raise _wrap(exc) from exc
        self._columns.pop(table, None)

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(adbc_driver_manager.Error):
                self._conn.close()
            self._conn = None


def _rowcount(cur: Any) -> int:
    return int(cur.rowcount)


def _column_type(c: _PgColumn) -> ColumnType:
    if c.typname == "numeric":
        if c.typmod < 0:
            return TEXT  # unconstrained: sent as text, the server keeps every digit
        return ColumnType(Kind.NUMERIC, (c.typmod - 4) & 0xFFFF)
    if c.typname == "uuid":  # travels as text; canonical text goes in binary
        return ColumnType(Kind.UUID)
    native = _NATIVE.get(c.typname)
    return ColumnType(native[0]) if native else TEXT


def _wire_batch(
    batch: pa.RecordBatch, pg_cols: dict[str, _PgColumn]
) -> tuple[pa.RecordBatch, dict[str, str]]:
    """The batch as sent: Arrow types the server reads in binary, or text to be cast."""
    arrays = []
    casts: dict[str, str] = {}
    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        pg = pg_cols[name]
        arrays.append(_wire_column(col, pg, casts))
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names), casts


def _wire_column(col: pa.Array, pg: _PgColumn, casts: dict[str, str]) -> pa.Array:
    native = _NATIVE.get(pg.typname)
    t = col.type
    if pg.typname == "numeric" and pa.types.is_decimal(t) and pg.typmod >= 0:
        return col
    if pg.typname == "uuid" and pa.types.is_string(t):
        as_uuid = _uuid_array(col)
        if as_uuid is not None:
            return as_uuid
    if native is not None:
        kind, wire_type = native
        if t == wire_type or (kind is Kind.JSON and pa.types.is_string(t)):
            if pg.typname == "jsonb":
                return pc.binary_join_element_wise(
                    _JSONB_VERSION, pc.cast(col, pa.binary()), pa.scalar(b"", pa.binary())
                )
            return col
        if t == ColumnType(kind).arrow and kind in (Kind.BIGINT, Kind.DOUBLE):
            try:
                return pc.cast(col, wire_type, safe=kind is Kind.BIGINT)
            except pa.ArrowInvalid:
                pass  # out of range for the column: let the server say which value
    casts[pg.name] = pg.declared
    return col if pa.types.is_string(t) else pc.cast(col, pa.string())


_HEX = np.full(256, 255, dtype=np.uint8)
_HEX[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)
_HEX[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16, dtype=np.uint8)
_UUID_HYPHENS = [8, 13, 18, 23]
_NIL_UUID = "00000000-0000-0000-0000-000000000000"


def _uuid_array(col: pa.Array) -> pa.Array | None:
    """Canonical uuid strings as Arrow's 16-byte uuid type, decoded with numpy; ``None``
    when any value is in another spelling (the server then parses the text)."""
    filled = pc.fill_null(col, _NIL_UUID)
    if len(filled) == 0:
        return None
    offsets = np.frombuffer(filled.buffers()[1], dtype=np.int32)[
        filled.offset : filled.offset + len(filled) + 1
    ]
    if not (np.diff(offsets) == 36).all():
        return None
    chars = np.frombuffer(filled.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    chars = chars.reshape(-1, 36)
    if not (chars[:, _UUID_HYPHENS] == ord("-")).all():
        return None
    nibbles = _HEX[np.delete(chars, _UUID_HYPHENS, axis=1)]
    if (nibbles == 255).any():
        return None
    raw = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(filled), [None, pa.py_buffer(raw.tobytes())]
    )
    if col.null_count:
        storage = pc.if_else(col.is_valid(), storage, pa.scalar(None, pa.binary(16)))
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def _first_line(exc: Exception) -> str:
    text = str(exc)
    for prefix in ("IO: ", "INTEGRITY: ", "INVALID_DATA: ", "INVALID_ARGUMENT: ", "NOT_FOUND: "):
        text = text.removeprefix(prefix)
    text = text.replace("[libpq] ", "")
    return " ".join(text.split("\n")[0].split())


def _details(exc: adbc_driver_manager.Error) -> dict[str, str]:
    out = {}
    for k, v in getattr(exc, "details", None) or []:
        key = k.decode() if isinstance(k, bytes) else str(k)
        out[key] = v.decode(errors="replace") if isinstance(v, bytes) else str(v)
    return out


def _wrap(exc: adbc_driver_manager.Error) -> Exception:
    d = _details(exc)
    sqlstate = d.get("PG_DIAG_SQLSTATE") or getattr(exc, "sqlstate", None)
    message = d.get("PG_DIAG_MESSAGE_PRIMARY") or _first_line(exc)
    if d.get("PG_DIAG_MESSAGE_DETAIL"):
        message = f"{message} ({d['PG_DIAG_MESSAGE_DETAIL']})"
    err = classify(
        sqlstate,
        message,
        column=d.get("PG_DIAG_COLUMN_NAME") or _copy_column(d.get("PG_DIAG_CONTEXT", "")),
        lost="lost the database: ",
    )
    if isinstance(err, RecordError):
        match = _COPY_LINE.search(d.get("PG_DIAG_CONTEXT", ""))
        err.row = int(match.group(1)) - 1 if match else None
    return err


def _copy_column(context: str) -> str | None:
    match = re.search(r"COPY [^,]+, line \d+, column ([^:\n]+)", context)
    return match.group(1) if match else None
