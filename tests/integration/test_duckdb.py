"""The DuckDB sink: every mode with exact counts, types both ways, rejects with their lines,
atomic and replace loads.  Each test has a database file of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

import chute
from chute.cli import app
from chute.errors import ConfigError

duckdb = pytest.importorskip("duckdb")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'test.duckdb'}"


def path_of(url: str) -> str:
    return url.split(":///", 1)[1]


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = duckdb.connect(path_of(url))
    try:
        return list(conn.execute(sql).fetchall())
    finally:
        conn.close()


def execute(url: str, *statements: str) -> None:
    conn = duckdb.connect(path_of(url))
    try:
        for sql in statements:
            conn.execute(sql)
    finally:
        conn.close()


def load_text(tmp_path: Path, text: str, url: str, **kw: Any) -> chute.LoadReport:
    path = tmp_path / f"{kw.pop('name', 't')}.csv"
    path.write_text(text)
    kw.setdefault("table", "t")
    report = chute.load(path, into=url, **kw)
    assert report.read == report.written + report.skipped + report.rejected
    assert report.written == report.created + report.updated
    return report


def counts(report: chute.LoadReport) -> tuple[int, int, int, int]:
    return report.created, report.updated, report.skipped, report.rejected


def rejects_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- modes ------------------------------------------------------------------------------


def test_append_stores_every_record_each_time(url: str, tmp_path: Path) -> None:
    first = load_text(tmp_path, "id,name\n1,a\n2,b\n", url)
    second = load_text(tmp_path, "id,name\n1,a\n2,b\n", url)
    assert counts(first) == counts(second) == (2, 0, 0, 0)
    assert first.table_created and not second.table_created
    assert query(url, "SELECT * FROM t ORDER BY ALL") == [(1, "a"), (1, "a"), (2, "b"), (2, "b")]


def test_upsert_counts_created_and_updated_and_the_last_record_wins(
    url: str, tmp_path: Path
) -> None:
    first = load_text(tmp_path, "id,name\n1,a\n2,b\n", url, mode="upsert", key="id")
    second = load_text(
        tmp_path, "id,name\n2,B\n3,c\n3,C\n4,d\n", url, mode="upsert", key="id", batch_rows=2
    )
    assert counts(first) == (2, 0, 0, 0)
    # 3 appears twice: created once, then updated by its later record
    assert counts(second) == (2, 2, 0, 0)
    assert query(url, "SELECT * FROM t ORDER BY id") == [(1, "a"), (2, "B"), (3, "C"), (4, "d")]


def test_upsert_of_a_table_with_only_key_columns_counts_existing_ones_as_updated(
    url: str, tmp_path: Path
) -> None:
    load_text(tmp_path, "id\n1\n2\n", url, mode="upsert", key="id")
    report = load_text(tmp_path, "id\n2\n3\n", url, mode="upsert", key="id")
    assert counts(report) == (1, 1, 0, 0)


def test_ignore_skips_existing_keys(url: str, tmp_path: Path) -> None:
    load_text(tmp_path, "id,name\n1,a\n2,b\n", url, mode="ignore", key="id")
    report = load_text(tmp_path, "id,name\n2,B\n3,c\n", url, mode="ignore", key="id")
    assert counts(report) == (1, 0, 1, 0)
    assert query(url, "SELECT * FROM t ORDER BY id") == [(1, "a"), (2, "b"), (3, "c")]


def test_upsert_with_a_two_column_key(url: str, tmp_path: Path) -> None:
    load_text(tmp_path, "a,b,v\n1,x,1\n1,y,2\n", url, mode="upsert", key="a,b")
    report = load_text(tmp_path, "a,b,v\n1,y,20\n2,x,3\n", url, mode="upsert", key="a,b")
    assert counts(report) == (1, 1, 0, 0)
    assert query(url, "SELECT * FROM t ORDER BY ALL") == [(1, "x", 1), (1, "y", 20), (2, "x", 3)]


# -- types ------------------------------------------------------------------------------

TYPED = (
    "i,n,d,b,day,ts,tz,u,s\n"
    "1,12.50,34.02505165179919,true,2024-02-29,2024-01-31 10:00:00.5,"
    "2024-01-31T10:00:00+02:00,6ba7b810-9dad-11d1-80b4-00c04fd430c8,hello\n"
    "-9223372036854775,0.01,-1e300,false,1999-12-31,2024-12-31 23:59:59,"
    "2024-06-01 00:00:00Z,00000000-0000-0000-0000-000000000000,\n"
)


def test_types_are_created_as_duckdb_types_and_values_come_back(url: str, tmp_path: Path) -> None:
    report = load_text(tmp_path, TYPED, url)
    assert report.columns == {
        "i": "bigint",
        "n": "numeric(38,2)",
        "d": "double",
        "b": "boolean",
        "day": "date",
        "ts": "timestamp",
        "tz": "timestamptz",
        "u": "uuid",
        "s": "text",
    }
    declared = query(
        url, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 't'"
    )
    assert dict(declared) == {
        "i": "BIGINT",
        "n": "DECIMAL(38,2)",
        "d": "DOUBLE",
        "b": "BOOLEAN",
        "day": "DATE",
        "ts": "TIMESTAMP",
        "tz": "TIMESTAMP WITH TIME ZONE",
        "u": "UUID",
        "s": "VARCHAR",
    }
    rows = query(url, "SET TimeZone = 'UTC'; SELECT * FROM t ORDER BY i DESC")
    assert rows[0][:5] == (1, Decimal("12.50"), 34.02505165179919, True, date(2024, 2, 29))
    assert rows[0][5] == datetime(2024, 1, 31, 10, 0, 0, 500000)
    assert rows[0][6] == datetime(2024, 1, 31, 8, 0, tzinfo=UTC)
    assert rows[0][7] == UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
    assert rows[1][8] is None
    # described back as the same types: a second load appends without a change
    again = load_text(tmp_path, TYPED, url)
    assert (again.table_created, again.changes, again.rejected) == (False, [], 0)


def test_json_column_from_json_lines(url: str, tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text('{"id": 1, "doc": {"a": [1, 2]}}\n{"id": 2, "doc": null}\n')
    report = chute.load(path, into=url, table="docs")
    assert report.columns["doc"] == "json"
    assert query(url, "SELECT typeof(doc), doc->>'$.a[1]' FROM docs WHERE id = 1") == [
        ("JSON", "2")
    ]


def test_a_column_widens_from_bigint_to_text_in_a_later_batch(url: str, tmp_path: Path) -> None:
    rows = "".join(f"{i},{i}\n" for i in range(1, 50)) + "50,n/a\n"
    report = load_text(tmp_path, "id,v\n" + rows, url, batch_rows=10, mode="upsert", key="id")
    assert (report.written, report.rejected) == (50, 0)
    assert query(url, "SELECT v FROM t WHERE id IN (1, 50) ORDER BY id") == [("1",), ("n/a",)]


def test_the_key_column_widens_too(url: str, tmp_path: Path) -> None:
    # DuckDB cannot change a key column's type in place: the table is made again
    rows = "".join(f"{i},x\n" for i in range(1, 30)) + "A7,y\n"
    report = load_text(tmp_path, "id,v\n" + rows, url, batch_rows=10, mode="upsert", key="id")
    assert (report.written, report.rejected) == (30, 0)
    assert query(url, "SELECT data_type FROM duckdb_columns() WHERE column_name = 'id'") == [
        ("VARCHAR",)
    ]
    assert query(
        url,
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 't' "
        "AND constraint_type = 'PRIMARY KEY'",
    ) == [(1,)]


def test_existing_table_types_are_described_and_kept(url: str, tmp_path: Path) -> None:
    execute(
        url,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, price DECIMAL(10,2), f FLOAT, "
        '"at" TIMESTAMPTZ, tags VARCHAR[], j JSON)',
    )
    text = 'id,price,f,at,tags,j\n1,9.99,1.5,2024-01-01 00:00:00+00:00,"[a, b]","{""k"": 1}"\n'
    report = load_text(tmp_path, text, url, mode="upsert", key="id")
    assert counts(report) == (1, 0, 0, 0)
    assert query(url, "SELECT id, price, f, tags, j FROM t") == [
        (1, Decimal("9.99"), 1.5, ["a", "b"], '{"k": 1}')
    ]


# -- rejects ----------------------------------------------------------------------------


def test_values_duckdb_refuses_are_rejected_with_their_lines(url: str, tmp_path: Path) -> None:
    execute(url, "CREATE TABLE t (id INTEGER, u UUID, j JSON NOT NULL)")
    text = (
        "id,u,j\n1,6ba7b810-9dad-11d1-80b4-00c04fd430c8,{}\n2,not-a-uuid,{}\n"
        "99999999999,6ba7b810-9dad-11d1-80b4-00c04fd430c8,{}\n"
        "4,6ba7b810-9dad-11d1-80b4-00c04fd430c8,{x\n5,6ba7b810-9dad-11d1-80b4-00c04fd430c8,\n"
        "6,6ba7b810-9dad-11d1-80b4-00c04fd430c8,[1]\n"
    )
    report = load_text(tmp_path, text, url)
    assert (report.written, report.rejected) == (2, 4)
    rejects = rejects_of(tmp_path / "t.rejects.jsonl")
    assert [r["line"] for r in rejects] == [3, 4, 5, 6]
    # the NULL into a NOT NULL column is found before the database (23502)
    assert [r["sqlstate"] for r in rejects] == ["22018", "22018", "22018", "23502"]
    assert query(url, "SELECT id FROM t ORDER BY id") == [(1,), (6,)]


def test_duplicate_key_in_append_is_rejected_as_a_duplicate(url: str, tmp_path: Path) -> None:
    execute(
        url,
        "CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR)",
        "INSERT INTO t VALUES (2, 'old')",
    )
    rows = "".join(f"{i},n{i}\n" for i in range(1, 200))
    report = load_text(tmp_path, "id,name\n" + rows + "5,again\n", url, batch_rows=50)
    assert (report.created, report.rejected) == (198, 2)
    rejects = rejects_of(tmp_path / "t.rejects.jsonl")
    assert [(r["line"], r["sqlstate"]) for r in rejects] == [(3, "23505"), (201, "23505")]
    assert query(url, "SELECT name FROM t WHERE id IN (2, 5) ORDER BY id") == [("old",), ("n5",)]


def test_rejects_can_go_to_a_table_in_the_same_transaction(url: str, tmp_path: Path) -> None:
    execute(url, "CREATE TABLE t (id INTEGER)")
    report = load_text(tmp_path, "id\n1\nx\n3\n", url, rejects="table:t_rejects")
    assert (report.written, report.rejected) == (2, 1)
    assert query(url, "SELECT line, record_number, error, raw FROM t_rejects") == [
        (3, 2, "conversion", "x")
    ]


# -- atomic and replace -----------------------------------------------------------------


def test_atomic_load_publishes_everything_at_once(url: str, tmp_path: Path) -> None:
    load_text(tmp_path, "id,name\n1,a\n", url, mode="upsert", key="id")
    report = load_text(
        tmp_path,
        "id,name\n1,A\n2,b\n3,c\n",
        url,
        mode="upsert",
        key="id",
        atomic=True,
        batch_rows=1,
    )
    assert counts(report) == (2, 1, 0, 0)
    assert query(url, "SELECT * FROM t ORDER BY id") == [(1, "A"), (2, "b"), (3, "c")]
    assert query(
        url, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_chute_stage%'"
    ) == [(0,)]


def test_replace_swaps_the_table_and_keeps_its_key(url: str, tmp_path: Path) -> None:
    load_text(tmp_path, "id,name\n1,a\n2,b\n", url, mode="upsert", key="id")
    report = load_text(tmp_path, "id,name\n7,x\n", url, mode="replace")
    assert report.created == 1
    assert query(url, "SELECT * FROM t") == [(7, "x")]
    assert query(
        url,
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = 't' "
        "AND constraint_type = 'PRIMARY KEY'",
    ) == [(["id"],)]


def test_replace_that_fails_leaves_the_old_table(url: str, tmp_path: Path) -> None:
    load_text(tmp_path, "id,name\n1,a\n", url)
    with pytest.raises(chute.ChuteError):
        load_text(tmp_path, "id,name\n1,a\n2,b,c\n", url, mode="replace", max_errors=0)
    assert query(url, "SELECT * FROM t") == [(1, "a")]


# -- URLs -------------------------------------------------------------------------------


def test_an_in_memory_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n")
    with pytest.raises(ConfigError, match="in memory"):
        chute.load(tmp_path / "a.csv", into="duckdb:///:memory:")
    result = CliRunner().invoke(app, ["load", str(tmp_path / "a.csv"), "--into", "duckdb://x"])
    assert result.exit_code == 2
    assert "malformed DuckDB URL" in result.output


def test_a_missing_folder_is_exit_5(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n")
    result = CliRunner().invoke(
        app, ["load", str(tmp_path / "a.csv"), "--into", f"duckdb:///{tmp_path}/no/x.duckdb"]
    )
    assert result.exit_code == 5


def test_without_the_duckdb_package_the_cli_names_the_extra(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id\n1\n")
    code = (
        "import sys; sys.modules['duckdb'] = None\n"  # as if it were not installed
        "from chute.cli import main\n"
        f"sys.argv = ['chute', 'load', {str(tmp_path / 'a.csv')!r}, '--into', "
        f"'duckdb:///{tmp_path}/x.duckdb']\n"
        "main()\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert run.stderr.splitlines() == [
        "error: the DuckDB sink needs the duckdb package",
        "hint: pip install 'chute[duckdb]'",
    ]


@pytest.mark.parametrize(
    ("exception", "duplicate", "expected", "refusal", "sqlstate"),
    [
        ("ConstraintException", True, "RecordError", "duplicate_key", "23505"),
        ("ConstraintException", False, "RecordError", "value", "23000"),
        ("ConversionException", False, "RecordError", "value", "22018"),
        ("OutOfRangeException", False, "RecordError", "value", "22003"),
        ("TransactionException", False, "RecordError", "retry", "40001"),
        ("PermissionException", False, "ConfigError", None, None),
        ("IOException", False, "SinkUnavailableError", None, "58030"),
        ("CatalogException", False, "SinkError", None, None),
    ],
)
def test_errors_are_classified_by_their_class(
    exception: str, duplicate: bool, expected: str, refusal: str | None, sqlstate: str | None
) -> None:
    from chute.sinks.duckdb_types import wrap

    err = wrap(getattr(duckdb, exception)("whatever the words"), duplicate=duplicate)
    assert type(err).__name__ == expected
    assert getattr(err, "sqlstate", None) == sqlstate
    if refusal is not None:
        assert err.refusal.value == refusal  # type: ignore[attr-defined]
