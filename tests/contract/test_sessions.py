"""Contract: writer sessions (``chute.connect``) on every sink.  Several tables in one
transaction commit together or not at all; counts are exact; a refused record is set aside
(or, with ``on_error="raise"``, stores nothing and is named); a session keeps what it learnt
of a table and makes an unknown one as ``chute load`` would."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

import chute
from tests.contract.loading import load, load_text, rejects_of
from tests.contract.targets import SinkTarget


def _events(n: int, start: int = 0, value: int = 0) -> list[dict[str, object]]:
    return [{"tx_hash": f"h{i}", "amount": i + value, "meta": {"i": i}} for i in range(start, n)]


def _has_savepoints(target: SinkTarget) -> bool:
    with chute.connect(target.url) as db:
        return isinstance(db.sink, chute.Savepoints)


def test_a_transaction_of_three_tables_commits_them_together(target: SinkTarget) -> None:
    with chute.connect(target.url) as db:
        with db.transaction():
            c1 = db.write("transfers", _events(5), mode="upsert", key="tx_hash")
            c2 = db.write(
                "approvals",
                [("h1", 0, True), ("h2", 1, False)],
                columns=["tx_hash", "log_index", "ok"],
                mode="ignore",
                key=["tx_hash", "log_index"],
            )
            c3 = db.write("logs", [{"block": 1, "text": "a"}])
            assert not c1.committed
        assert (c1.created, c1.updated, c2.created, c2.skipped, c3.created) == (5, 0, 2, 0, 1)
        assert c1.committed and c2.committed and c3.committed
        with db.transaction():  # the next block: the session knows the tables now
            d1 = db.write("transfers", _events(7, start=3, value=100), mode="upsert", key="tx_hash")
            d2 = db.write(
                "approvals",
                [("h1", 0, True), ("h3", 0, None)],
                columns=["tx_hash", "log_index", "ok"],
                mode="ignore",
                key=["tx_hash", "log_index"],
            )
        assert not d1.changes and d1.received == 4
        assert (d1.created, d1.updated, d2.created, d2.skipped) == (2, 2, 1, 1)
    assert target.db.rows("transfers", "tx_hash, amount") == [
        ("h0", 0),
        ("h1", 1),
        ("h2", 2),
        ("h3", 103),
        ("h4", 104),
        ("h5", 105),
        ("h6", 106),
    ]
    assert target.db.count("approvals") == 3
    assert target.db.rows("logs", "block") == [(1,)]


def test_a_block_that_raises_stores_nothing_of_any_table(target: SinkTarget) -> None:
    with chute.connect(target.url) as db:
        db.write("transfers", _events(2), mode="upsert", key="tx_hash")
        with pytest.raises(RuntimeError, match="the indexer failed"), db.transaction():
            written = db.write("transfers", _events(4, value=50), mode="upsert", key="tx_hash")
            db.write("logs", [{"block": 9}])
            raise RuntimeError("the indexer failed")
        assert not written.committed
        db.write("logs", [{"block": 10}])  # the session goes on after a rollback
    assert target.db.rows("transfers", "tx_hash, amount") == [("h0", 0), ("h1", 1)]
    assert target.db.rows("logs", "block") == [(10,)]


def test_a_refused_record_is_set_aside_and_the_transaction_goes_on(target: SinkTarget) -> None:
    with chute.connect(target.url) as db:
        db.write("transfers", _events(3), mode="upsert", key="tx_hash")
        if not _has_savepoints(target):
            # no savepoint to undo one record with: the refusal fails the transaction
            with pytest.raises(chute.RecordError), db.transaction():
                db.write("logs", [{"block": 1}])
                db.write("transfers", [{"tx_hash": "h1", "amount": 1, "meta": None}])
            assert target.db.count("transfers") == 3
            return
        with db.transaction():
            logs = db.write("logs", [{"block": 1}])
            # an append of a key already there: the database refuses that record only
            result = db.write("transfers", [*_events(5, start=3), *_events(2, start=1)])
    assert (result.received, result.created, result.rejected) == (3, 2, 1)
    assert [r.position.record for r in result.rejects] == [3]
    assert result.rejects[0].error == "database"
    assert result.rejects[0].record is not None
    assert result.rejects[0].record["tx_hash"] == "h1"
    assert logs.committed and result.committed
    assert target.db.count("transfers") == 5
    assert target.db.count("logs") == 1


def test_on_error_raise_names_the_record_and_stores_nothing(target: SinkTarget) -> None:
    with chute.connect(target.url) as db:
        db.write("transfers", _events(2), mode="upsert", key="tx_hash")
        with pytest.raises(chute.RecordError) as info:
            db.write("transfers", [*_events(4, start=2), *_events(1)], on_error="raise")
        if _has_savepoints(target):  # the sink found which record it was
            assert info.value.position is not None and info.value.position.record == 3
            assert info.value.record is not None and info.value.record["tx_hash"] == "h0"
        # a value that cannot be stored in an existing table's column: named before writing
        with pytest.raises(chute.RecordError) as value_error, db.transaction():
            db.write("logs", [{"block": 1}])
            db.write(
                "transfers",
                [{"tx_hash": "h7", "amount": 5}, {"tx_hash": "h8", "amount": "many"}],
                mode="upsert",
                key="tx_hash",
                on_error="raise",
            )
        assert value_error.value.position is not None
        assert value_error.value.position.record == 2
        assert value_error.value.column == "amount"
    assert target.db.rows("transfers", "tx_hash") == [("h0",), ("h1",)]
    assert not target.db.exists("logs") or target.db.count("logs") == 0


def test_tuples_arrow_and_data_frames_are_written_alike(target: SinkTarget) -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    with chute.connect(target.url) as db:
        db.write("t", [(1, "a", 1.5)], columns=["id", "name", "score"], mode="upsert", key="id")
        db.write(
            "t",
            pa.table({"id": pa.array([2], pa.int32()), "name": ["b"], "score": [2.5]}),
            mode="upsert",
            key="id",
        )
        db.write("t", pa.record_batch({"id": [3], "name": ["c"], "score": [3.5]}), key="id")
        db.write("t", pd.DataFrame({"id": [4], "name": ["d"], "score": [4.5]}))
        result = db.write(
            "t",
            pl.DataFrame({"id": [5, 1], "name": ["e", "A"], "score": [5.5, None]}),
            mode="upsert",
            key="id",
        )
    assert (result.created, result.updated) == (1, 1)
    assert target.db.rows("t") == [
        (1, "A", None),
        (2, "b", 2.5),
        (3, "c", 3.5),
        (4, "d", 4.5),
        (5, "e", 5.5),
    ]


def test_records_that_are_not_records_are_rejected_with_their_place(target: SinkTarget) -> None:
    @dataclass
    class Row:
        id: int
        name: str

    with chute.connect(target.url) as db:
        result = db.write("t", [Row(1, "a"), "not a record", {}, {"id": 2, "name": "b"}])
        tuples = db.write("t", [(3, "c"), (4,)], columns=["id", "name"])
    assert (result.received, result.created, result.rejected) == (4, 2, 2)
    assert [(r.position.record, r.error) for r in result.rejects] == [(2, "shape"), (3, "shape")]
    assert [r.position.record for r in tuples.rejects] == [2]
    assert "1 values for 2 columns" in tuples.rejects[0].message
    assert target.db.count("t") == 3


def test_a_table_that_lacks_the_key_or_a_column_is_a_clear_error(target: SinkTarget) -> None:
    with chute.connect(target.url) as db:
        db.write("t", [{"id": 1, "name": "a"}])  # no key: append makes no primary key
        with pytest.raises(chute.ConfigError, match="no primary key or unique index"):
            db.write("t", [{"id": 2, "name": "b"}], mode="upsert", key="id")
        with pytest.raises(chute.ConfigError, match="key column"):
            db.write("t", [{"id": 2, "name": "b"}], mode="upsert", key="nope")
        with pytest.raises(chute.ConfigError, match="has no column"):
            db.write("t", [{"id": 2, "colour": "red"}])
        added = db.write("t", [{"id": 2, "colour": "red"}], add_columns=True)
        assert any("colour" in change for change in added.changes)
        with pytest.raises(chute.ConfigError, match="mode ignore needs a key") as no_key:
            db.write("t", [{"id": 3}], mode="ignore")
        assert no_key.value.hint is not None and "key=" in no_key.value.hint
        with pytest.raises(chute.ConfigError, match="append, upsert or ignore"):
            db.write("t", [{"id": 3}], mode="replace")
    assert target.db.rows("t", "id") == [(1,), (2,)]


def test_a_closed_session_and_a_transaction_of_another_thread_refuse(
    target: SinkTarget,
) -> None:
    db = chute.connect(target.url)
    errors: list[BaseException] = []
    with db.transaction():
        db.write("t", [{"id": 1}])

        def elsewhere() -> None:
            try:
                db.write("t", [{"id": 2}])
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        with pytest.raises(chute.SessionError, match="do not nest"), db.transaction():
            pass
    assert len(errors) == 1 and isinstance(errors[0], chute.SessionError)
    assert "another thread" in str(errors[0])
    db.close()
    db.close()  # twice is harmless
    with pytest.raises(chute.SessionError, match="closed"):
        db.write("t", [{"id": 3}])
    assert target.db.rows("t") == [(1,)]


def test_the_async_session_shares_the_sync_one(target: SinkTarget) -> None:
    async def main() -> tuple[chute.WriteResult, chute.WriteResult]:
        async with chute.connect_async(target.url) as db:
            async with db.transaction():
                first = await db.write("transfers", _events(3), mode="upsert", key="tx_hash")
                second = await db.write("logs", [{"block": 1}])
            with pytest.raises(RuntimeError):
                async with db.transaction():
                    await db.write("logs", [{"block": 2}])
                    raise RuntimeError("rolled back")
            return first, second

    first, second = asyncio.run(main())
    assert (first.created, second.created, first.committed) == (3, 1, True)
    assert target.db.count("transfers") == 3
    assert target.db.rows("logs", "block") == [(1,)]


_TYPED: list[dict[str, object]] = [
    {
        "id": 1,
        "big": 2**62,
        "f": 0.1,
        "tiny": 5e-324,
        "ok": True,
        "price": Decimal("12.50"),
        "day": date(2026, 12, 3),
        "at": datetime(2026, 12, 3, 10, 11, 12, 123456, tzinfo=UTC),
        "local": datetime(1999, 12, 31, 23, 59, 59, 999999),
        "doc": {"a": [1, 2, {"b": None}], "q": 'say "hi" \\ {x,y}'},
        "text": 'quotes " and \\ and {braces}, NULL',
    },
    {
        "id": 2,
        "big": -(2**63),
        "f": -0.0,
        "tiny": 1e300,
        "ok": False,
        "price": Decimal("-0.05"),
        "day": date(1, 1, 1),
        "at": datetime(1970, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        "local": datetime(2026, 1, 1),
        "doc": [],
        "text": "NULL",
    },
    {"id": 3, "text": "", "doc": {"unicode": "żółw ☃"}, "f": float("inf")},
    {"id": 4},
]

# texts into an existing table's typed columns: the database's own text input decides
_TEXTS = [
    {"id": "1", "n": " 12 ", "x": "1e3", "ok": "t", "at": "2026-12-03T10:00:00+02:00"},
    {"id": "2", "n": "12.5", "x": "NaN", "ok": "yes", "at": "2026-12-03 10:00"},
    {"id": "3", "n": "0x1A", "x": "1,5", "ok": "maybe", "at": "yesterday-ish"},
    {"id": "4", "n": "-0", "x": "-inf", "ok": "FALSE", "at": "2026-02-30"},
    {"id": "5", "n": "7", "x": "2.5", "ok": "true", "at": "2026-12-03T10:00:00Z"},
]


def test_a_session_stores_what_a_load_of_the_same_records_stores(target: SinkTarget) -> None:
    with chute.connect(target.url) as db:
        written = db.write("s", _TYPED, mode="upsert", key="id")
    loaded = load(target, _TYPED, table="l", mode="upsert", key="id")
    # (MariaDB refuses the infinite double of record 3 either way)
    assert (written.created, written.rejected) == (loaded.created, loaded.rejected)
    assert written.created >= 3
    assert target.db.column_types("s") == target.db.column_types("l")
    assert target.db.rows("s") == target.db.rows("l")


def test_texts_into_existing_columns_are_judged_as_a_load_judges_them(
    target: SinkTarget,
) -> None:
    table = "id,n,x,ok,at\n0,1,1.5,true,2026-01-01T00:00:00Z\n"
    load_text(target, table, table="s", mode="upsert", key="id")
    load_text(target, table, table="l", mode="upsert", key="id")
    with chute.connect(target.url) as db:
        written = db.write("s", _TEXTS, mode="upsert", key="id")
    loaded = load(target, _TEXTS, table="l", mode="upsert", key="id", rejects=str(target.tmp / "r"))
    assert (written.created, written.rejected) == (loaded.created, loaded.rejected)
    assert target.db.rows("s") == target.db.rows("l")
    assert [r.position.record for r in written.rejects] == [
        r["record_number"] for r in rejects_of(target.tmp / "r")
    ]
