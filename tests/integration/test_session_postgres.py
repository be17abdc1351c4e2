"""PostgreSQL writer sessions: the psycopg path (one unnest INSERT per write, pipelined
BEGIN/savepoints/COMMIT) stores what the load path (ADBC, binary COPY) stores, for types
that travel as text and for writes large enough to go through COPY; a transaction of
three writes is four round trips; duplicates in appends are looked up once refused."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

import chute
from chute.sinks.postgres_session import COPY_ABOVE_ROWS, PostgresSessionSink

pytestmark = pytest.mark.postgres

_DDL = (
    "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); "
    "CREATE TABLE {t} (id bigint PRIMARY KEY, u uuid, j jsonb, ip inet, m mood, "
    "tags text[], n numeric, small int4, real4 float4, v varchar(5), c char(3), "
    "at timestamptz, d date)"
)


def _rows(url: str, table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


def _records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "u": str(uuid.UUID(int=i * 7919)),
            "j": {"i": i, "s": 'a "quoted" \\ text'},
            "ip": f"10.0.{i % 256}.{i % 7}",
            "m": ("sad", "ok", "happy")[i % 3],
            "tags": "{a,b}" if i % 2 else None,
            "n": f"{i}.{i % 1000:03d}1",
            "small": i % 30000,
            "real4": i / 8,
            "v": f"v{i % 1000}",
            "c": "ab",
            "at": f"2026-12-03T10:00:00.{i % 1000000:06d}+01:00",
            "d": "2026-02-28",
        }
        for i in range(n)
    ]


@pytest.fixture
def typed_tables(pg_url: str) -> str:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(_DDL.format(t="s"))
        conn.execute(_DDL.split("; ")[1].format(t="l"))
    return pg_url


@pytest.mark.parametrize("n", [50, COPY_ABOVE_ROWS + 1000])
def test_types_sent_as_text_and_large_writes_store_what_a_load_stores(
    typed_tables: str, n: int
) -> None:
    records = _records(n)
    records.append({**records[0], "id": n, "v": "toolong", "m": "angry"})  # two refusals
    with chute.connect(typed_tables) as db:
        written = db.write("s", records, mode="upsert", key="id")
    loaded = chute.load(records, into=typed_tables, table="l", mode="upsert", key="id")
    assert (written.created, written.rejected) == (loaded.created, loaded.rejected) == (n, 1)
    assert _rows(typed_tables, "s") == _rows(typed_tables, "l")


def test_a_transaction_of_three_writes_is_four_round_trips(pg_url: str) -> None:
    with chute.connect(pg_url) as db:
        sink = db.sink
        assert isinstance(sink, PostgresSessionSink)
        for block in range(3):
            before = sink.round_trips
            with db.transaction():
                db.write("a", [{"k": block, "v": "x"}], mode="upsert", key="k")
                db.write("b", [{"k": block}], mode="ignore", key="k")
                db.write("c", [{"k": block}])
            if block:  # the first block also looked the tables up and made them
                assert sink.round_trips - before == 4
        before = sink.round_trips
        db.write("a", [{"k": 9, "v": "y"}], mode="upsert", key="k")  # its own transaction
        assert sink.round_trips - before == 2


def test_an_append_looks_duplicates_up_once_one_was_refused(pg_url: str) -> None:
    with chute.connect(pg_url) as db:
        db.write("t", [{"id": i} for i in range(5)], mode="upsert", key="id")
        first = db.write("t", [{"id": 7}, {"id": 2}])
        later = db.write("t", [{"id": 3}, {"id": 8}, {"id": 8}])
    assert [(r.position.record, r.error) for r in first.rejects] == [(2, "database")]
    assert [r.position.record for r in later.rejects] == [1, 3]
    assert "already exists" in later.rejects[0].message
    assert "appears earlier" in later.rejects[1].message
    assert [r[0] for r in _rows(pg_url, "t")] == [0, 1, 2, 3, 4, 7, 8]


def test_a_database_that_does_not_answer_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(chute.SinkUnavailableError) as info:
        chute.connect("postgresql://someone:s3cret@127.0.0.1:1/nowhere", connect_timeout=2)
    assert "cannot connect to postgresql://someone:***@127.0.0.1:1/nowhere" in str(info.value)
    assert "s3cret" not in str(info.value)
