"""PostgreSQL: which keys of a batch a table already has, in one round trip."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import adbc_driver_manager
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from chute.sinks.postgres_wire import PgColumn, typed_lists_text, wire_batch, wrap
from chute.sinks.sql.dialect import quote_identifier as q

if TYPE_CHECKING:
    from chute.sinks.postgres import PostgresSink


def probe_keys(
    sink: PostgresSink,
    conn: Any,
    pg_cols: dict[str, PgColumn],
    table: str,
    key: list[str],
    batch: pa.RecordBatch,
) -> list[int]:
    """The rows of ``batch`` whose ``key`` is in ``table`` (committed: no transaction is
    open when the engine asks)."""
    if len(key) == 1:  # one round trip: the keys as one JSON array parameter
        (name,) = key
        column = batch.column(name)
        candidates = np.arange(len(column))
        if pa.types.is_integer(column.type):
            # only keys between the table's smallest and largest can be in it (an
            # append of new, growing ids asks about none)
            low, high = sink.execute(f"SELECT min({q(name)}), max({q(name)}) FROM {q(table)}")[0]
            if low is None:
                conn.commit()
                return []
            inside = pc.and_(pc.greater_equal(column, low), pc.less_equal(column, high))
            candidates = np.flatnonzero(pc.fill_null(inside, False).to_numpy(zero_copy_only=False))
            if not len(candidates):
                conn.commit()
                return []
            column = column.take(pa.array(candidates))
        column = typed_lists_text(batch.schema.field(name), column, pg_cols[name])
        values = pc.cast(column, pa.string()).to_pylist()
        rows = sink.execute(
            f"SELECT k.ord - 1 FROM jsonb_array_elements_text(?::jsonb) WITH ORDINALITY "
            f"AS k(v, ord) WHERE k.v IS NOT NULL AND EXISTS (SELECT 1 FROM {q(table)} t "
            f"WHERE t.{q(name)} = k.v::{pg_cols[name].declared})",
            [orjson.dumps(values).decode()],
        )
        conn.commit()
        return [int(candidates[int(r[0])]) for r in rows]
    keys = batch.select(key)
    wire, casts = wire_batch(keys, pg_cols)
    wire = wire.append_column("__chute_row", pa.array(np.arange(len(wire)), pa.int64()))
    layout = [(n, "text" if n in casts else pg_cols[n].declared) for n in key]
    name = "_chute_probe_" + hashlib.sha1(repr((table, layout)).encode()).hexdigest()[:16]
    cols = ", ".join(f"{q(n)} {t}" for n, t in layout)
    match = " AND ".join(
        f"t.{q(n)} = p.{q(n)}" + (f"::{casts[n]}" if n in casts else "") for n in key
    )
    cur = conn.cursor()
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
        conn.commit()
        return found
    except adbc_driver_manager.Error as exc:
        sink.rollback()
        raise wrap(exc) from exc
    finally:
        cur.close()
