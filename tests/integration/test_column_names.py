"""Input columns that would land in one table column are refused before anything is
written: exit 2, one line naming them, no table made, nothing stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import chute
from chute import ConfigError
from tests.helpers import execute, query, write
from tests.integration.readback import column_types, table_exists


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chute", *args], capture_output=True, text=True, timeout=120
    )


CLASHING = {
    "csv-case": ("in.csv", "id,Name,NAME\n1,a,b\n", "Name, NAME"),
    "csv-exact": ("in.csv", "id,name,name\n1,a,b\n", "name"),
    "jsonl-case": ("in.jsonl", '{"id": 1, "Name": "a", "NAME": "b"}\n', "Name, NAME"),
    "jsonl-case-across-records": (
        "in.jsonl",
        '{"id": 1, "name": "a"}\n{"id": 2, "NAME": "b"}\n',
        "name, NAME",
    ),
    "json-case": ("in.json", '[{"id": 1, "name": "a", "Name": "b"}]', "name, Name"),
}


@pytest.mark.parametrize("case", CLASHING, ids=list(CLASHING))
def test_input_columns_equal_but_for_case_are_refused_before_a_sqlite_table_is_made(
    sqlite_url: str, tmp_path: Path, case: str
) -> None:
    # SQLite takes names equal but for case as one column (PostgreSQL makes two: see below)
    db_url = sqlite_url
    name, text, names = CLASHING[case]
    path = write(tmp_path / name, text)

    done = cli("load", str(path), "--into", db_url, "--table", "t")

    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: ") and names in lines[0], lines
    assert "Traceback" not in done.stderr
    assert not table_exists(db_url, "t")


@pytest.mark.parametrize("case", CLASHING, ids=list(CLASHING))
@pytest.mark.parametrize("add_columns", [False, True])
def test_input_columns_going_to_one_column_of_an_existing_table_are_refused(
    db_url: str, tmp_path: Path, case: str, add_columns: bool
) -> None:
    execute(db_url, "CREATE TABLE t (id BIGINT, name TEXT)", "INSERT INTO t VALUES (0, 'kept')")
    name, text, names = CLASHING[case]
    path = write(tmp_path / name, text)

    args = ["load", str(path), "--into", db_url, "--table", "t"]
    done = cli(*args, *(["--add-columns"] if add_columns else []))

    assert done.returncode == 2, done.stderr
    assert names in done.stderr.splitlines()[0]
    assert query(db_url, "SELECT id, name FROM t") == [(0, "kept")]
    assert list(column_types(db_url, "t")) == ["id", "name"]


def test_repeated_csv_header_is_refused_before_a_postgres_table_is_made(
    pg_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "in.csv", "id,name,name\n1,a,b\n")

    done = cli("load", str(path), "--into", pg_url, "--table", "t")

    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == (
        f"error: {path}, line 1: the header repeats column names: name"
    )
    assert not table_exists(pg_url, "t")


def test_new_postgres_columns_equal_but_for_case_are_two_columns(
    pg_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "in.csv", "id,Name,NAME\n1,a,b\n")

    report = chute.load(path, into=pg_url, table="t")

    assert report.written == 1
    assert query(pg_url, 'SELECT id, "Name", "NAME" FROM t') == [(1, "a", "b")]


def test_a_key_equal_but_for_case_to_an_earlier_key_in_a_later_batch_is_refused(
    sqlite_url: str, tmp_path: Path
) -> None:
    db_url = sqlite_url
    path = write(tmp_path / "in.jsonl", '{"id": 1, "name": "a"}\n{"id": 2, "NAME": "b"}\n')

    with pytest.raises(ConfigError, match="input column NAME and column name of t") as info:
        chute.load(path, into=db_url, table="t", batch_rows=1)

    assert "line 2" in str(info.value)
    # the batch before it is committed, as for any error after the first batch
    assert query(db_url, "SELECT id, name FROM t") == [(1, "a")]
    assert list(column_types(db_url, "t")) == ["id", "name"]


def test_input_name_in_another_case_than_the_table_column_still_loads(
    db_url: str, tmp_path: Path
) -> None:
    execute(db_url, "CREATE TABLE t (id BIGINT, name TEXT)")
    path = write(tmp_path / "in.csv", "ID,Name\n1,a\n")

    report = chute.load(path, into=db_url, table="t")

    assert report.written == 1
    assert query(db_url, "SELECT id, name FROM t") == [(1, "a")]
