"""Write modes (append, upsert, ignore), the report's counts, and loading into existing tables.

The report's identity holds for every completed load::

    read == written + skipped + rejected        written == created + updated
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import chute
from chute import ConfigError
from chute.cli import app
from tests.helpers import execute, query
from tests.integration.readback import (
    check_identity,
    column_types,
    is_pg,
    load_text,
    rejects_in,
    table_exists,
)


def rows_of(url: str, table: str = "t") -> list[tuple[object, ...]]:
    return sorted(query(url, f"SELECT * FROM {table}"))


def counts(report: chute.LoadReport) -> tuple[int, int, int, int, int]:
    """(read, written, created, updated, skipped), after checking the identity."""
    check_identity(report)
    return report.read, report.written, report.created, report.updated, report.skipped


# -- append -----------------------------------------------------------------------------


def test_append_writes_every_record_on_every_load(db_url: str, tmp_path: Path) -> None:
    first = load_text(tmp_path, "id,name\n1,a\n2,b\n", db_url)
    second = load_text(tmp_path, "id,name\n1,a\n2,b\n", db_url)

    assert counts(first) == (2, 2, 2, 0, 0)
    assert counts(second) == (2, 2, 2, 0, 0)
    assert first.table_created and not second.table_created
    assert rows_of(db_url) == [(1, "a"), (1, "a"), (2, "b"), (2, "b")]


def test_append_duplicate_primary_key_is_rejected_and_the_rest_of_its_batch_is_stored(
    db_url: str, tmp_path: Path
) -> None:
    execute(db_url, "CREATE TABLE t (id bigint PRIMARY KEY, name text)")
    execute(db_url, "INSERT INTO t VALUES (2, 'old')")

    report = load_text(tmp_path, "id,name\n1,a\n2,b\n3,c\n", db_url)

    [reject] = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert counts(report) == (3, 2, 2, 0, 0)
    assert report.rejected == 1
    assert (reject["line"], reject["record_number"], reject["error"]) == (3, 2, "database")
    if is_pg(db_url):
        assert reject["sqlstate"] == "23505"
        assert 'duplicate key value violates unique constraint "t_pkey"' in reject["message"]
    else:
        assert reject["sqlstate"] == "SQLITE_CONSTRAINT_PRIMARYKEY"
        assert reject["message"] == "UNIQUE constraint failed: t.id"
    assert (reject["raw"], reject["record"]) == ("2,b", {"id": 2, "name": "b"})
    # the records before and after it in the same batch are committed; the old row is kept
    assert rows_of(db_url) == [(1, "a"), (2, "old"), (3, "c")]


# -- upsert -----------------------------------------------------------------------------


def test_upsert_creates_new_keys_and_updates_existing_ones(db_url: str, tmp_path: Path) -> None:
    first = load_text(tmp_path, "id,name\n1,a\n2,b\n3,c\n", db_url, mode="upsert", key="id")
    second = load_text(tmp_path, "id,name\n2,B\n3,\n4,D\n", db_url, mode="upsert", key="id")

    assert counts(first) == (3, 3, 3, 0, 0)
    assert counts(second) == (3, 3, 1, 2, 0)
    assert second.mode == "upsert" and second.key == ["id"]
    assert rows_of(db_url) == [(1, "a"), (2, "B"), (3, None), (4, "D")]


def test_upsert_key_twice_in_one_input_last_occurrence_wins_and_counts_created_then_updated(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, "id,name\n1,a\n2,b\n1,c\n", db_url, mode="upsert", key="id")

    assert counts(report) == (3, 3, 2, 1, 0)
    assert report.batches == 1
    assert rows_of(db_url) == [(1, "c"), (2, "b")]


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 4, 100])
def test_upsert_duplicate_keys_in_different_batches_last_occurrence_wins(
    db_url: str, tmp_path: Path, batch_rows: int
) -> None:
    text = "id,name\n1,a\n2,b\n1,c\n3,d\n2,e\n1,f\n"
    report = load_text(tmp_path, text, db_url, mode="upsert", key="id", batch_rows=batch_rows)

    assert counts(report) == (6, 6, 3, 3, 0)
    assert rows_of(db_url) == [(1, "f"), (2, "e"), (3, "d")]


def test_upsert_key_repeated_within_a_batch_of_an_already_existing_row(
    db_url: str, tmp_path: Path
) -> None:
    load_text(tmp_path, "id,name\n1,a\n", db_url, mode="upsert", key="id")
    report = load_text(tmp_path, "id,name\n1,x\n1,y\n1,z\n", db_url, mode="upsert", key="id")

    assert counts(report) == (3, 3, 0, 3, 0)
    assert rows_of(db_url) == [(1, "z")]


@pytest.mark.parametrize("batch_rows", [2, 100])
def test_upsert_with_a_composite_key(db_url: str, tmp_path: Path, batch_rows: int) -> None:
    text = "region,sku,qty\neu,A,1\nus,A,2\neu,B,3\neu,A,4\nus,A,5\n"
    report = load_text(
        tmp_path, text, db_url, mode="upsert", key="region,sku", batch_rows=batch_rows
    )

    assert counts(report) == (5, 5, 3, 2, 0)
    assert report.key == ["region", "sku"]
    assert rows_of(db_url) == [("eu", "A", 4), ("eu", "B", 3), ("us", "A", 5)]


def test_upsert_where_every_column_is_part_of_the_key(db_url: str, tmp_path: Path) -> None:
    first = load_text(tmp_path, "a,b\n1,2\n1,2\n3,4\n", db_url, mode="upsert", key="a,b")
    second = load_text(tmp_path, "a,b\n1,2\n5,6\n", db_url, mode="upsert", key=["a", "b"])

    assert counts(first) == (3, 3, 2, 1, 0)
    assert counts(second) == (2, 2, 1, 1, 0)
    assert rows_of(db_url) == [(1, 2), (3, 4), (5, 6)]


def test_upsert_from_an_iterable_with_decimals_and_timestamps(db_url: str) -> None:
    at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    records = [
        {"id": 1, "price": Decimal("9.99"), "at": at},
        {"id": 2, "price": Decimal("20.00"), "at": at},
        {"id": 1, "price": Decimal("8.49"), "at": at},
    ]
    report = chute.load(records, into=db_url, table="t", mode="upsert", key="id", batch_rows=2)

    assert counts(report) == (3, 3, 2, 1, 0)
    assert query(db_url, "SELECT id, CAST(price AS TEXT) FROM t ORDER BY id") == [
        (1, "8.49"),
        (2, "20.00"),
    ]


@pytest.mark.parametrize("mode", ["upsert", "ignore"])
def test_record_with_an_empty_key_is_rejected_and_not_given_a_made_up_key(
    db_url: str, tmp_path: Path, mode: str
) -> None:
    # The created table's key columns are NOT NULL: a record without a key cannot be stored.
    report = load_text(tmp_path, "id,name\n1,a\n,b\n3,c\n", db_url, mode=mode, key="id")

    [reject] = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert counts(report) == (3, 2, 2, 0, 0)
    assert report.rejected == 1
    assert (reject["line"], reject["record_number"]) == (3, 2)
    # checked before the database is asked, with the SQLSTATE PostgreSQL would give
    assert (reject["error"], reject["sqlstate"], reject["column"]) == ("constraint", "23502", "id")
    assert 'null value in column "id"' in reject["message"]
    assert "not-null constraint" in reject["message"]
    assert (reject["raw"], reject["record"]) == (",b", {"id": None, "name": "b"})
    assert rows_of(db_url) == [(1, "a"), (3, "c")]
    assert query(db_url, "SELECT count(*) FROM t WHERE name = 'b'") == [(0,)]


# -- ignore -----------------------------------------------------------------------------


def test_ignore_skips_existing_keys_and_counts_them_as_skipped(db_url: str, tmp_path: Path) -> None:
    first = load_text(tmp_path, "id,name\n1,a\n2,b\n", db_url, mode="ignore", key="id")
    second = load_text(tmp_path, "id,name\n2,B\n3,C\n1,A\n", db_url, mode="ignore", key="id")

    assert counts(first) == (2, 2, 2, 0, 0)
    assert counts(second) == (3, 1, 1, 0, 2)
    assert rows_of(db_url) == [(1, "a"), (2, "b"), (3, "C")]


@pytest.mark.parametrize("batch_rows", [1, 2, 100])
def test_ignore_key_twice_in_one_input_keeps_the_first_occurrence(
    db_url: str, tmp_path: Path, batch_rows: int
) -> None:
    text = "id,name\n1,a\n1,b\n2,c\n1,d\n"
    report = load_text(tmp_path, text, db_url, mode="ignore", key="id", batch_rows=batch_rows)

    assert counts(report) == (4, 2, 2, 0, 2)
    assert rows_of(db_url) == [(1, "a"), (2, "c")]


# -- options that cannot work -----------------------------------------------------------


@pytest.mark.parametrize("mode", ["upsert", "ignore"])
def test_upsert_and_ignore_without_a_key_are_config_errors(
    db_url: str, tmp_path: Path, mode: str
) -> None:
    with pytest.raises(ConfigError, match=f"mode {mode} needs key columns"):
        load_text(tmp_path, "id\n1\n", db_url, mode=mode)

    assert not table_exists(db_url, "t")


def test_unknown_mode_is_a_config_error(db_url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown mode 'merge'") as info:
        load_text(tmp_path, "id\n1\n", db_url, mode="merge", key="id")

    assert info.value.hint is not None and "append, upsert, ignore" in info.value.hint


def test_key_column_missing_from_the_input_is_a_config_error_naming_it(
    db_url: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"key column.*not in the input: ident"):
        load_text(tmp_path, "id,name\n1,a\n", db_url, mode="upsert", key="ident")

    assert not table_exists(db_url, "t")


# -- existing tables --------------------------------------------------------------------


def test_existing_table_column_types_are_used(db_url: str, tmp_path: Path) -> None:
    if is_pg(db_url):
        execute(
            db_url,
            "CREATE TABLE t (id integer PRIMARY KEY, code text, amount numeric(10,2), "
            "seen timestamptz, flag boolean)",
        )
    else:
        execute(
            db_url,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, amount TEXT, "
            "seen TIMESTAMPTZ, flag BOOLEAN)",
        )
    text = "id,code,amount,seen,flag\n007,1,12.5,2024-01-01T10:00:00+02:00,true\n2,2,3,,false\n"

    report = load_text(tmp_path, text, db_url)

    assert counts(report) == (2, 2, 2, 0, 0)
    assert not report.table_created
    assert report.changes == []
    assert list(report.columns) == ["id", "code", "amount", "seen", "flag"]
    rows = query(db_url, "SELECT id, code, amount, seen, flag FROM t ORDER BY id")
    # "007" goes into the integer column as 7; "1" goes into the text column as "1"
    assert [(r[0], r[1]) for r in rows] == [(2, "2"), (7, "1")]
    if is_pg(db_url):
        assert column_types(db_url, "t")["amount"] == "numeric(10,2)"
        assert [str(r[2]) for r in rows] == ["3.00", "12.50"]
        assert rows[1][3] == datetime(2024, 1, 1, 8, tzinfo=UTC)
        assert [r[4] for r in rows] == [False, True]
    else:
        assert query(db_url, "SELECT DISTINCT typeof(code) FROM t") == [("text",)]
        assert [r[2] for r in rows] == ["3", "12.5"]
        # an existing table stores what SQLite's affinity stores: the source's text
        assert rows[1][3] == "2024-01-01T10:00:00+02:00"
        assert [r[4] for r in rows] == [0, 1]


def test_existing_table_value_that_does_not_fit_is_rejected_with_its_line_and_column(
    db_url: str, tmp_path: Path
) -> None:
    execute(db_url, "CREATE TABLE t (id bigint, name text)")

    report = load_text(tmp_path, "id,name\n1,a\n2,b\nabc,c\n4,d\n", db_url)

    [reject] = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert counts(report) == (4, 3, 3, 0, 0)
    assert report.rejected == 1
    assert (reject["line"], reject["record_number"], reject["column"]) == (4, 3, "id")
    assert reject["error"] == "conversion"
    if is_pg(db_url):  # the database's own words
        assert (reject["sqlstate"], reject["message"]) == (
            "22P02",
            'invalid input syntax for type bigint: "abc"',
        )
    else:
        assert (reject["sqlstate"], reject["message"]) == (
            None,
            "cannot store 'abc' in bigint column id: SQLite would store it as text",
        )
    assert (reject["raw"], reject["record"]) == ("abc,c", {"id": "abc", "name": "c"})
    # the table is not changed to fit the value: it keeps its types, the value is refused
    assert list(column_types(db_url, "t")) == ["id", "name"]
    assert report.changes == []
    assert rows_of(db_url) == [(1, "a"), (2, "b"), (4, "d")]


@pytest.mark.postgres
def test_value_refused_by_postgresql_is_rejected_with_its_line_and_column_once(
    pg_url: str, tmp_path: Path
) -> None:
    execute(pg_url, "CREATE TABLE t (id bigint NOT NULL, name varchar(3))")

    report = load_text(tmp_path, "id,name\n1,abc\n2,toolong\n3,c\n", pg_url)

    [reject] = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert counts(report) == (3, 2, 2, 0, 0)
    assert report.rejected == 1
    assert (reject["line"], reject["record_number"], reject["column"]) == (3, 2, "name")
    # varchar(3) is checked before sending, in PostgreSQL's own words and SQLSTATE; the line
    # and the column are fields of their own, not repeated in the message
    assert (reject["error"], reject["sqlstate"]) == ("constraint", "22001")
    assert reject["message"] == "value too long for type character varying(3)"
    assert (reject["raw"], reject["record"]) == ("2,toolong", {"id": "2", "name": "toolong"})
    assert rows_of(pg_url) == [(1, "abc"), (3, "c")]


def test_existing_table_without_an_input_column_is_a_config_error_naming_it(
    db_url: str, tmp_path: Path
) -> None:
    execute(db_url, "CREATE TABLE t (id bigint, name text)")

    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, "id,name,nickname\n1,a,x\n", db_url)

    assert "table t has no column(s) nickname" in str(info.value)
    assert info.value.hint is not None and "--add-columns" in info.value.hint
    assert rows_of(db_url) == []
    assert list(column_types(db_url, "t")) == ["id", "name"]


def test_existing_table_gains_the_input_column_with_add_columns(
    db_url: str, tmp_path: Path
) -> None:
    execute(db_url, "CREATE TABLE t (id bigint, name text)")
    execute(db_url, "INSERT INTO t VALUES (1, 'old')")

    report = load_text(tmp_path, "id,name,score\n2,b,10\n3,c,\n", db_url, add_columns=True)

    assert counts(report) == (2, 2, 2, 0, 0)
    assert report.changes == ["added column score bigint to table t"]
    assert list(column_types(db_url, "t")) == ["id", "name", "score"]
    assert rows_of(db_url) == [(1, "old", None), (2, "b", 10), (3, "c", None)]


def test_existing_table_and_jsonl_key_appearing_later_without_add_columns(
    db_url: str, tmp_path: Path
) -> None:
    execute(db_url, "CREATE TABLE t (id bigint, name text)")
    text = '{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n{"id": 3, "email": "c@x"}\n'

    with pytest.raises(ConfigError, match="has no column 'email'"):
        load_text(tmp_path, text, db_url, name="in.jsonl", batch_rows=2)

    # the batch before the unknown key was committed
    assert rows_of(db_url) == [(1, "a"), (2, "b")]


def test_input_columns_match_existing_columns_ignoring_case(db_url: str, tmp_path: Path) -> None:
    execute(db_url, "CREATE TABLE t (id bigint PRIMARY KEY, name text)")
    execute(db_url, "INSERT INTO t VALUES (1, 'old')")

    report = load_text(tmp_path, "ID,Name\n1,new\n2,b\n", db_url, mode="upsert", key="ID")

    assert counts(report) == (2, 2, 1, 1, 0)
    assert list(column_types(db_url, "t")) == ["id", "name"]
    assert rows_of(db_url) == [(1, "new"), (2, "b")]


@pytest.mark.parametrize("mode", ["upsert", "ignore"])
def test_upsert_or_ignore_into_existing_table_without_a_unique_index_is_a_config_error(
    db_url: str, tmp_path: Path, mode: str
) -> None:
    execute(db_url, "CREATE TABLE t (id bigint, name text)")

    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, "id,name\n1,a\n", db_url, mode=mode, key="id")

    message = str(info.value)
    assert "table t has no primary key or unique index on (id)" in message
    assert mode in message
    assert info.value.hint is not None and "CREATE UNIQUE INDEX" in info.value.hint
    assert rows_of(db_url) == []


def test_unique_index_on_other_columns_than_the_key_is_not_enough(
    db_url: str, tmp_path: Path
) -> None:
    execute(
        db_url,
        "CREATE TABLE t (id bigint, name text)",
        "CREATE UNIQUE INDEX t_id_name ON t (id, name)",
    )

    with pytest.raises(ConfigError, match=r"no primary key or unique index on \(id\)"):
        load_text(tmp_path, "id,name\n1,a\n", db_url, mode="upsert", key="id")


def test_upsert_into_existing_table_with_a_unique_index(db_url: str, tmp_path: Path) -> None:
    execute(
        db_url,
        "CREATE TABLE t (id bigint NOT NULL, name text, note text)",
        "CREATE UNIQUE INDEX t_id ON t (id)",
        "INSERT INTO t VALUES (1, 'old', 'keep')",
    )

    report = load_text(tmp_path, "id,name\n1,new\n2,b\n2,c\n", db_url, mode="upsert", key="id")

    assert counts(report) == (3, 3, 1, 2, 0)
    # columns the input does not have are left alone
    assert rows_of(db_url) == [(1, "new", "keep"), (2, "c", None)]


def test_ignore_into_existing_table_with_a_primary_key(db_url: str, tmp_path: Path) -> None:
    execute(
        db_url,
        "CREATE TABLE t (id bigint PRIMARY KEY, name text)",
        "INSERT INTO t VALUES (1, 'old')",
    )

    report = load_text(tmp_path, "id,name\n1,new\n2,b\n", db_url, mode="ignore", key="id")

    assert counts(report) == (2, 1, 1, 0, 1)
    assert rows_of(db_url) == [(1, "old"), (2, "b")]


# -- the command line -------------------------------------------------------------------


def test_cli_upsert_prints_the_counts(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,a\n2,b\n1,c\n")

    result = CliRunner().invoke(
        app, ["load", str(path), "--into", db_url, "--mode", "upsert", "--key", "id", "-q"]
    )

    assert result.exit_code == 0, result.output
    assert "read 3  written 3 (created 2, updated 1)  skipped 0  rejected 0" in result.output
    assert rows_of(db_url, "people") == [(1, "c"), (2, "b")]


def test_cli_config_error_exits_2_with_the_message(db_url: str, tmp_path: Path) -> None:
    execute(db_url, "CREATE TABLE people (id bigint, name text)")
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,a\n")

    result = CliRunner().invoke(
        app, ["load", str(path), "--into", db_url, "--mode", "upsert", "--key", "id", "-q"]
    )

    assert result.exit_code == 2
    assert "error: table people has no primary key or unique index on (id)" in result.output
    assert "hint: create one" in result.output
