"""Into an existing table, a text is stored as the database's own text input stores it, or
its record is rejected with the database's reason: the examples of issue 10, one by one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chute import load
from tests.helpers import execute, query


def _rejects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().split("\n") if line]


def _load(tmp_path: Path, url: str, table: str, text: str, **options: Any) -> list[dict[str, Any]]:
    source = tmp_path / f"{table}.csv"
    source.write_text(text)
    rejects = tmp_path / f"{table}.rejects.jsonl"
    load(str(source), into=url, table=table, rejects=str(rejects), **options)
    return _rejects(rejects)


@pytest.mark.postgres
def test_postgres_refuses_hex_and_out_of_range_with_its_own_words(
    pg_url: str, tmp_path: Path
) -> None:
    execute(pg_url, "CREATE TABLE t (id int, n bigint, d double precision)")
    text = "id,n,d\n1,0x10,1\n2,0xFFFFFFFFFFFFFFFF,1\n3,1,1e400\n4,1,1e-400\n5,16,-0.0\n"
    rejects = _load(tmp_path, pg_url, "t", text)
    assert [(r["record"]["id"], r["column"], r["sqlstate"], r["message"]) for r in rejects] == [
        ("1", "n", "22P02", 'invalid input syntax for type bigint: "0x10"'),
        ("2", "n", "22P02", 'invalid input syntax for type bigint: "0xFFFFFFFFFFFFFFFF"'),
        ("3", "d", "22003", '"1e400" is out of range for type double precision'),
        ("4", "d", "22003", '"1e-400" is out of range for type double precision'),
    ]
    assert query(pg_url, "SELECT id, n, d::text FROM t") == [(5, 16, "-0")]


@pytest.mark.postgres
def test_postgres_takes_every_boolean_spelling_it_accepts(pg_url: str, tmp_path: Path) -> None:
    execute(pg_url, "CREATE TABLE t (id int, b boolean)")
    words = ["t", "f", "yes", "no", "on", "off", " TRUE ", "Y", "n", "1", "0", "tr", "of"]
    text = "id,b\n" + "".join(f'{i},"{w}"\n' for i, w in enumerate(words)) + "99,maybe\n"
    rejects = _load(tmp_path, pg_url, "t", text)
    assert [(r["record"]["id"], r["sqlstate"]) for r in rejects] == [("99", "22P02")]
    stored = dict(query(pg_url, "SELECT id, b FROM t"))
    assert [stored[i] for i in range(len(words))] == [
        True, False, True, False, True, False, True, True, False, True, False, True, False
    ]  # fmt: skip


@pytest.mark.postgres
def test_postgres_values_arrow_cannot_hold_travel_as_text(pg_url: str, tmp_path: Path) -> None:
    execute(pg_url, "CREATE TABLE t (id int, day date, at timestamptz, n numeric(6,2))")
    text = "id,day,at,n\n1,infinity,-infinity,NaN\n2,2024-01-01,2024-01-01 10:00:00Z,1.005\n"
    assert _load(tmp_path, pg_url, "t", text) == []
    assert query(pg_url, "SELECT id, day::text, at::text, n::text FROM t ORDER BY id") == [
        (1, "infinity", "-infinity", "NaN"),
        (2, "2024-01-01", "2024-01-01 10:00:00+00", "1.01"),  # rounded as PostgreSQL rounds
    ]


@pytest.mark.postgres
def test_postgres_varchar_cuts_only_spaces(pg_url: str, tmp_path: Path) -> None:
    execute(pg_url, "CREATE TABLE t (id int, code varchar(3))")
    rejects = _load(tmp_path, pg_url, "t", 'id,code\n1,"ab    "\n2,"abcd"\n3,"abc "\n')
    assert [(r["record"]["id"], r["sqlstate"]) for r in rejects] == [("2", "22001")]
    assert query(pg_url, "SELECT id, code FROM t ORDER BY id") == [(1, "ab "), (3, "abc")]


@pytest.mark.postgres
def test_postgres_bad_values_cost_no_extra_statements(pg_url: str, tmp_path: Path) -> None:
    """A refused text is found before the write (one question per batch and column), so a
    dirty file takes as many statements as a clean one: no batch is split."""
    execute(
        pg_url,
        "CREATE TABLE clean (id int, qty integer)",
        "CREATE TABLE dirty (id int, qty integer)",
    )
    rows = 2000
    clean = "id,qty\n" + "".join(f"{i},{i % 50}\n" for i in range(rows))
    dirty = "id,qty\n" + "".join(f"{i},{'n/a' if i % 97 == 5 else i % 50}\n" for i in range(rows))
    for table, text in (("clean", clean), ("dirty", dirty)):
        (tmp_path / f"{table}.csv").write_text(text)
    # batches of 500 whatever the test process holds by now (batches are sized by what the
    # memory limit leaves above the process's memory)
    roomy = "64GiB"
    a = load(
        str(tmp_path / "clean.csv"),
        into=pg_url,
        table="clean",
        batch_rows=500,
        workers=1,
        memory_limit=roomy,
    )
    b = load(
        str(tmp_path / "dirty.csv"),
        into=pg_url,
        table="dirty",
        batch_rows=500,
        workers=1,
        memory_limit=roomy,
        rejects=str(tmp_path / "dirty.rejects.jsonl"),
    )
    assert b.rejected == len([i for i in range(rows) if i % 97 == 5])
    assert b.written == rows - b.rejected
    assert b.statements == a.statements


def test_sqlite_integer_column_takes_what_affinity_makes_an_integer(
    sqlite_url: str, tmp_path: Path
) -> None:
    execute(sqlite_url, "CREATE TABLE t (id INTEGER, n BIGINT, r REAL, b BOOLEAN)")
    text = (
        "id,n,r,b\n1, 12 ,-0.0,yes\n2,1e3,1e400,F\n3,n/a,1,1\n4,0x10,1,1\n5,1.5,1,1\n"
        "6,1,inf,1\n7,1,1,maybe\n"
    )
    rejects = _load(tmp_path, sqlite_url, "t", text)
    assert [(r["record"]["id"], r["column"]) for r in rejects] == [
        ("3", "n"), ("4", "n"), ("5", "n"), ("6", "r"), ("7", "b")
    ]  # fmt: skip
    assert query(sqlite_url, "SELECT id, n, typeof(n), r, b FROM t ORDER BY id") == [
        (1, 12, "integer", 0.0, 1),
        (2, 1000, "integer", float("inf"), 0),
    ]


def test_sqlite_strict_table_refuses_what_sqlite_refuses(sqlite_url: str, tmp_path: Path) -> None:
    execute(sqlite_url, "CREATE TABLE t (id INTEGER, n INTEGER, x ANY) STRICT")
    rejects = _load(tmp_path, sqlite_url, "t", "id,n,x\n1,7,a\n2,7.5,b\n3,x,c\n")
    assert [(r["record"]["id"], r["sqlstate"], r["message"]) for r in rejects] == [
        ("2", "SQLITE_CONSTRAINT_DATATYPE", "cannot store REAL value in INTEGER column t.n"),
        ("3", "SQLITE_CONSTRAINT_DATATYPE", "cannot store TEXT value in INTEGER column t.n"),
    ]
    assert query(sqlite_url, "SELECT id, n, x FROM t") == [(1, 7, "a")]
