"""The MySQL/MariaDB sink on the real server: modes and their counts, types, warnings turned
into rejects, NULL and empty, staged loads, and the INSERT path when LOAD DATA LOCAL is off."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import chute
from chute.sinks import open_sink
from chute.sinks.mysql import MysqlSink
from tests.integration.readback import check_identity, load_text, rejects_in
from tests.mysql_server import mysql_execute, mysql_query, mysql_url

__all__ = ["mysql_url"]  # the fixture


def no_infile(url: str) -> str:
    return url + "?local_infile=0"


@pytest.fixture(params=["load_data", "insert"])
def url(request: pytest.FixtureRequest, mysql_url: str) -> str:
    """Each test runs on both paths: LOAD DATA LOCAL, and multi-row INSERT."""
    return mysql_url if request.param == "load_data" else no_infile(mysql_url)


def rows(url: str, sql: str = "SELECT * FROM t ORDER BY 1") -> list[tuple[object, ...]]:
    return mysql_query(url.split("?")[0], sql)


def counts(report: chute.LoadReport) -> tuple[int, int, int, int, int]:
    check_identity(report)
    return report.read, report.written, report.created, report.updated, report.skipped


def test_both_schemes_open_the_mysql_sink(mysql_url: str) -> None:
    assert isinstance(open_sink(mysql_url), MysqlSink)
    assert isinstance(open_sink(mysql_url.replace("mysql://", "mariadb://")), MysqlSink)


def test_append_then_upsert_then_ignore_count_exactly(url: str, tmp_path: Path) -> None:
    first = load_text(tmp_path, "id,name\n1,a\n2,b\n3,c\n", url, key=["id"])
    # 2 unchanged and 3 changed count as updated; 4 is new
    up = load_text(tmp_path, "id,name\n2,b\n3,C\n4,d\n", url, mode="upsert", key=["id"])
    ig = load_text(tmp_path, "id,name\n1,x\n5,e\n", url, mode="ignore", key=["id"])

    assert counts(first) == (3, 3, 3, 0, 0)
    assert counts(up) == (3, 3, 1, 2, 0)
    assert counts(ig) == (2, 1, 1, 0, 1)
    assert rows(url) == [(1, "a"), (2, "b"), (3, "C"), (4, "d"), (5, "e")]


def test_keys_of_a_created_table_compare_exactly_case_and_trailing_spaces(
    url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, 'k,v\na,1\nA,2\n"a ",3\n', url, mode="upsert", key=["k"])

    assert counts(report) == (3, 3, 3, 0, 0)
    assert rows(url, "SELECT k, v FROM t ORDER BY v") == [("a", 1), ("A", 2), ("a ", 3)]


def test_append_duplicate_key_is_rejected_and_the_rest_is_stored(url: str, tmp_path: Path) -> None:
    mysql_execute(url.split("?")[0], "CREATE TABLE t (id bigint PRIMARY KEY, name text)")
    mysql_execute(url.split("?")[0], "INSERT INTO t VALUES (2, 'old')")

    report = load_text(tmp_path, "id,name\n1,a\n2,b\n3,c\n", url)

    found = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert [r["line"] for r in found] == [3]
    assert rows(url) == [(1, "a"), (2, "old"), (3, "c")]


def test_values_the_server_would_coerce_are_rejects_at_their_lines(
    url: str, tmp_path: Path
) -> None:
    base = url.split("?")[0]
    mysql_execute(base, "CREATE TABLE t (id int PRIMARY KEY, n int, s varchar(3), d date)")
    lines = [f"{i},{i},ok,2024-01-01" for i in range(1, 21)]
    lines[11] = "12,12x,ok,2024-01-01"  # line 13: '12x' into int (LOAD DATA would store 12)
    lines[14] = "15,15,long,2024-01-01"  # line 16: too long for varchar(3) (it would cut)
    lines[16] = "17,17,ok,2024-02-30"  # line 18: no such date (it would store 0000-00-00)

    report = load_text(tmp_path, "id,n,s,d\n" + "\n".join(lines) + "\n", url)

    found = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert [r["line"] for r in found] == [13, 16, 18]
    assert counts(report)[:2] == (20, 17)
    stored = rows(base, "SELECT id FROM t ORDER BY id")
    assert [r[0] for r in stored] == [i for i in range(1, 21) if i not in (12, 15, 17)]


def test_null_and_empty_string_stay_apart(url: str, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"id": 1, "s": ""}\n{"id": 2, "s": null}\n{"id": 3, "s": "\\\\N"}\n'
        '{"id": 4, "s": "tab\\there\\nnewline \\\\ back"}\n'
    )
    report = chute.load(path, into=url, table="t")

    assert counts(report)[:2] == (4, 4)
    assert rows(url) == [(1, ""), (2, None), (3, "\\N"), (4, "tab\there\nnewline \\ back")]


def test_types_round_trip_and_zoned_timestamps_are_stored_in_utc(url: str, tmp_path: Path) -> None:
    text = (
        "i,n,f,b,d,ts,tz,j,t\n"
        "9007199254740993,12.50,0.1,true,2024-02-29,2024-01-31 10:00:00.5,"
        '2024-01-31T10:00:00+02:00,"{""a"": [1, 2.50]}",héllo\n'
        "-1,-0.01,1e300,false,0001-01-01,9999-12-31 23:59:59.999999,"
        '2024-06-01T00:00:00Z,[],"a,b"\n'
    )
    report = load_text(tmp_path, text, url)

    assert counts(report)[:2] == (2, 2)
    got = rows(url, "SELECT i, n, f, b, d, ts, tz, t FROM t ORDER BY i DESC")
    assert got == [
        (
            9007199254740993,
            Decimal("12.50"),
            0.1,
            1,
            dt.date(2024, 2, 29),
            dt.datetime(2024, 1, 31, 10, 0, 0, 500000),
            dt.datetime(2024, 1, 31, 8, 0),
            "héllo",
        ),
        (
            -1,
            Decimal("-0.01"),
            1e300,
            0,
            dt.date(1, 1, 1),
            dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
            dt.datetime(2024, 6, 1, 0, 0),
            "a,b",
        ),
    ]
    comment = rows(
        url,
        "SELECT COLUMN_COMMENT FROM information_schema.COLUMNS WHERE "
        "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND COLUMN_NAME = 'tz'",
    )
    assert comment == [("chute: timestamptz, UTC",)]
    # loading again into the table made: the zoned column is known as zoned
    again = load_text(tmp_path, text, url)
    assert counts(again)[:2] == (2, 2)


def test_replace_and_atomic_publish_all_or_nothing(url: str, tmp_path: Path) -> None:
    load_text(tmp_path, "id,name\n1,a\n2,b\n", url, key=["id"])
    replaced = load_text(tmp_path, "id,name\n7,x\n", url, mode="replace", key=["id"])
    assert counts(replaced)[:2] == (1, 1)
    assert rows(url) == [(7, "x")]
    atomic = load_text(tmp_path, "id,name\n7,y\n8,z\n", url, mode="upsert", key=["id"], atomic=True)
    assert counts(atomic) == (2, 2, 1, 1, 0)
    assert rows(url) == [(7, "y"), (8, "z")]
    left = rows(
        url,
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE "
        "TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '\\_chute\\_stage%'",
    )
    assert left == []


def test_local_infile_refused_falls_back_to_insert_with_a_note(mysql_url: str) -> None:
    sink = MysqlSink(mysql_url)
    sink.connect()
    try:
        sink.local_infile = True  # the client did not offer it: the server refuses (4166)
        sink._conn.close()
        import pymysql

        params = dict(sink._params)
        sink._conn = pymysql.connect(
            **params,
            autocommit=True,
            local_infile=False,
            init_command="SET SESSION sql_mode = 'STRICT_ALL_TABLES'",
        )
        import pyarrow as pa

        from chute.engine.columns import ColumnType, Kind
        from chute.sinks.contract import Mode
        from chute.sinks.mysql_write import SMALL_WRITE_ROWS

        n = SMALL_WRITE_ROWS + 1  # a smaller batch goes as INSERT without trying LOAD DATA
        sink.create_table("t", {"id": ColumnType(Kind.BIGINT)}, [])
        counts_ = sink.write("t", pa.record_batch({"id": list(range(1, n + 1))}), Mode.APPEND, [])
    finally:
        sink.close()
    assert counts_.created == n
    assert not sink.local_infile
    assert sink.notes and "LOAD DATA LOCAL" in sink.notes[0]
    assert rows(mysql_url, "SELECT count(*), min(id), max(id) FROM t") == [(n, 1, n)]


def test_what_load_data_would_store_changed_is_refused_by_the_server_at_its_line(
    url: str, tmp_path: Path
) -> None:
    """Values Arrow's casts take but the column cannot hold as they are: LOAD DATA LOCAL
    would store them changed with a warning; each is a database reject at its line."""
    base = url.split("?")[0]
    mysql_execute(
        base,
        "CREATE TABLE t (id int PRIMARY KEY, small tinyint, price decimal(5,2), "
        "name varchar(10) NOT NULL, qty int CHECK (qty >= 0))",
    )
    lines = [f"{i},1,1.50,n{i},{i}" for i in range(1, 31)]
    lines[4] = "5,300,1.50,n5,5"  # line 6: out of range for tinyint (stored as 127)
    lines[9] = "10,1,1234.50,n10,10"  # line 11: over decimal(5,2) (stored as 999.99)
    lines[19] = "20,1,1.50,,20"  # line 21: NULL into NOT NULL (stored as '')
    lines[24] = "25,1,1.50,n25,-1"  # line 26: CHECK fails

    report = load_text(tmp_path, "id,small,price,name,qty\n" + "\n".join(lines) + "\n", url)

    found = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert [(r["line"], r["error"]) for r in found] == [
        (6, "database"),
        (11, "database"),
        (21, "constraint"),  # chute knows NOT NULL columns: refused before the server
        (26, "database"),
    ]
    stored = rows(base, "SELECT id FROM t ORDER BY id")
    assert [r[0] for r in stored] == [i for i in range(1, 31) if i not in (5, 10, 20, 25)]
    assert rows(base, "SELECT small, price, name FROM t WHERE id = 4") == [
        (1, Decimal("1.50"), "n4")
    ]
