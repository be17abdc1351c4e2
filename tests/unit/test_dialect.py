"""Dialects: errors are told apart by the database's code, never its words; statements are
built for the database; the SQL stores round-trip through a real (in-memory) SQLite."""

from __future__ import annotations

import pyarrow as pa
import pytest

from chute.errors import ConfigError, RecordError, Refusal, SinkError, SinkUnavailableError
from chute.sinks.contract import REJECT_COLUMNS, Checkpoint, Mode
from chute.sinks.sql.dialect import Dialect, PostgresDialect, SqliteDialect
from chute.sinks.sqlite import SqliteSink


@pytest.mark.parametrize(
    ("code", "kind", "refusal"),
    [
        ("23505", RecordError, Refusal.DUPLICATE_KEY),
        ("23502", RecordError, Refusal.VALUE),
        ("22P02", RecordError, Refusal.VALUE),
        ("40P01", RecordError, Refusal.RETRY),
        ("40001", RecordError, Refusal.RETRY),
        ("08006", SinkUnavailableError, None),
        (None, SinkUnavailableError, None),
        ("428C9", ConfigError, None),
        ("XX000", SinkError, None),
    ],
)
def test_postgres_errors_are_classified_by_sqlstate(
    code: str | None, kind: type[Exception], refusal: Refusal | None
) -> None:
    err = PostgresDialect().classify(code, "the same words whatever the code")
    assert type(err) is kind
    if refusal is not None:
        assert isinstance(err, RecordError) and err.refusal is refusal


@pytest.mark.parametrize(
    ("code", "kind", "refusal"),
    [
        ("SQLITE_CONSTRAINT_PRIMARYKEY", RecordError, Refusal.DUPLICATE_KEY),
        ("SQLITE_CONSTRAINT_UNIQUE", RecordError, Refusal.DUPLICATE_KEY),
        ("SQLITE_CONSTRAINT_NOTNULL", RecordError, Refusal.VALUE),
        ("SQLITE_BUSY", SinkUnavailableError, None),
        ("SQLITE_READONLY", ConfigError, None),
        ("SQLITE_ERROR", SinkError, None),
    ],
)
def test_sqlite_errors_are_classified_by_result_code(
    code: str, kind: type[Exception], refusal: Refusal | None
) -> None:
    err = SqliteDialect().classify(code, "the same words whatever the code")
    assert type(err) is kind
    if refusal is not None:
        assert isinstance(err, RecordError) and err.refusal is refusal


def test_placeholders_follow_the_driver() -> None:
    sql = "SELECT * FROM t WHERE a = ? AND b LIKE '5%' AND c = ?"
    assert Dialect().params(sql) == sql
    assert (
        PostgresDialect().params(sql) == "SELECT * FROM t WHERE a = $1 AND b LIKE '5%' AND c = $2"
    )


def test_upsert_updates_every_column_but_the_key() -> None:
    sql = Dialect().upsert("t", ["id", "name"], ["id"], "VALUES (?, ?)")
    assert sql == (
        'INSERT INTO "t" ("id", "name") VALUES (?, ?) ON CONFLICT ("id") '
        'DO UPDATE SET "name" = excluded."name"'
    )
    assert Dialect().insert_ignore("t", ["id"], ["id"], "VALUES (?)").endswith("DO NOTHING")


def _checkpoint(**changes: object) -> Checkpoint:
    fields: dict[str, object] = {
        "source": "/data/orders.csv",
        "target_table": "orders",
        "fingerprint": "f",
        "table_created": 1,
        "next_record": 10,
        "next_line": 11,
        "next_offset": 300,
        "read_count": 10,
        "created": 9,
        "updated": 0,
        "skipped": 0,
        "rejected": 1,
        "batches": 1,
    }
    return Checkpoint(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_sql_checkpoint_store_commits_with_the_transaction() -> None:
    sink = SqliteSink("sqlite:///:memory:")
    sink.connect()
    store = sink.checkpoint_store()
    assert store.load("k") is None  # makes _chute_checkpoints
    with sink.transaction():
        store.save("k", _checkpoint())
    sink.begin()
    store.save("k", _checkpoint(next_record=20))
    sink.rollback()
    assert store.load("k") == _checkpoint()
    with sink.transaction():
        store.mark_completed("k", "token")
    assert store.load("k") == _checkpoint(completed=1, table_token="token")
    store.clear("k")
    assert store.load("k") is None
    sink.close()


def test_the_sql_reject_store_forgets_from_a_record_on() -> None:
    sink = SqliteSink("sqlite:///:memory:")
    sink.connect()
    store = sink.reject_store("bad")
    store.prepare()
    rows = [{name: None for name in REJECT_COLUMNS} | {"record_number": n} for n in (3, 7)]
    batch = pa.RecordBatch.from_pylist(
        rows, schema=pa.schema([(n, t.arrow) for n, t in REJECT_COLUMNS.items()])
    )
    with sink.transaction():
        store.append(batch)
    store.forget_from(5)
    assert sink.execute("SELECT record_number FROM bad") == [(3,)]
    with sink.transaction():
        counts = sink.write_rows("bad", batch.slice(1), Mode.APPEND, [])
    assert counts.created == 1
    sink.close()
