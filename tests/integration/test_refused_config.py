"""A refused load changes nothing: every check runs before the first table is created or
altered, chute's own tables cannot be loaded into, and no stage table is left behind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import chute_cmd, columns, execute, query, tables


def _chute(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(chute_cmd(*args), capture_output=True, text=True, timeout=120)


def _refused(run: subprocess.CompletedProcess[str], *words: str) -> str:
    """The one line of a configuration error (exit 2), which holds ``words``."""
    assert run.returncode == 2, (run.stdout, run.stderr)
    error = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and "Traceback" not in run.stderr, run.stderr
    for word in words:
        assert word in error[0], error[0]
    return error[0]


def _stages(url: str) -> list[str]:
    return [t for t in tables(url) if t.startswith("_chute_stage_")]


# -- chute's own tables --------------------------------------------------------------------


@pytest.mark.parametrize(
    "table", ["_chute_checkpoints", "_CHUTE_Checkpoints", "_chute_messages", "_chute_stage_1"]
)
def test_a_table_name_of_chute_s_own_is_refused(db_url: str, tmp_path: Path, table: str) -> None:
    people = tmp_path / "people.csv"
    people.write_text("id,name\n1,ann\n")
    first = _chute("load", str(people), "--into", db_url, "-q")  # makes _chute_checkpoints
    assert first.returncode == 0, first.stderr
    before = columns(db_url, "_chute_checkpoints")
    bookkeeping = query(db_url, "SELECT load_key, completed, read_count FROM _chute_checkpoints")
    hostile = tmp_path / "hostile.csv"
    hostile.write_text("load_key,evil\nx,1\n")
    run = _chute("load", str(hostile), "--into", db_url, "--table", table, "--add-columns")
    _refused(run, repr(table), "reserved")
    assert columns(db_url, "_chute_checkpoints") == before
    assert query(db_url, "SELECT load_key, completed, read_count FROM _chute_checkpoints") == (
        bookkeeping
    )
    assert not {t.lower() for t in tables(db_url)} & {"_chute_messages", "_chute_stage_1"}


def test_a_table_name_of_chute_s_own_from_a_file_name_or_for_rejects_is_refused(
    db_url: str, tmp_path: Path
) -> None:
    hostile = tmp_path / "_chute_checkpoints.csv"
    hostile.write_text("load_key,evil\nx,1\n")
    _refused(_chute("load", str(hostile), "--into", db_url), "_chute_checkpoints", "reserved")
    people = tmp_path / "people.csv"
    people.write_text("id\n1\n")
    run = _chute("load", str(people), "--into", db_url, "--rejects", "table:_chute_rejects")
    _refused(run, "_chute_rejects", "reserved")
    assert tables(db_url) == []


# -- names PostgreSQL would cut short ------------------------------------------------------

LONG = "a_really_long_column_name_that_goes_on_and_on_for_sixty_four_by"  # 63 bytes: fits
assert len(LONG.encode()) == 63


@pytest.mark.postgres
@pytest.mark.parametrize(
    "name",
    [LONG + "x", "é" * 32, "名" * 22],  # 64 bytes; 32 characters, 64 bytes; 22, 66 bytes
    ids=["64-ascii", "32-chars-64-bytes", "22-chars-66-bytes"],
)
def test_a_column_name_postgresql_would_cut_short_is_refused_before_anything_is_made(
    pg_url: str, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f"id,{LONG},{name}\n1,2,3\n", encoding="utf-8")
    run = _chute("load", str(path), "--into", pg_url, "--table", "t")
    line = _refused(run, f"{len(name.encode())} bytes long", "at most 63 bytes")
    assert name[:20] in line
    assert "t" not in tables(pg_url)
    execute(pg_url, f'CREATE TABLE t (id bigint, "{LONG}" bigint)')
    run = _chute("load", str(path), "--into", pg_url, "--table", "t", "--add-columns")
    _refused(run, f"{len(name.encode())} bytes long")
    assert columns(pg_url, "t") == ["id", LONG]
    assert query(pg_url, "SELECT count(*) FROM t") == [(0,)]


@pytest.mark.postgres
def test_a_column_name_of_63_bytes_loads_into_postgresql(pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    name = "é" * 31 + "x"  # 63 bytes
    path.write_text(f"id,{name}\n1,2\n", encoding="utf-8")
    run = _chute("load", str(path), "--into", pg_url, "--table", "t")
    assert run.returncode == 0, run.stderr
    assert columns(pg_url, "t") == ["id", name]
    assert query(pg_url, f'SELECT id, "{name}" FROM t') == [(1, 2)]


def test_sqlite_keeps_a_long_column_name_whole(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    name = "é" * 100
    path.write_text(f"id,{name}\n1,2\n", encoding="utf-8")
    run = _chute("load", str(path), "--into", sqlite_url, "--table", "t")
    assert run.returncode == 0, run.stderr
    assert columns(sqlite_url, "t") == ["id", name]


# -- --add-columns: every check first ------------------------------------------------------


@pytest.mark.parametrize("atomic", [False, True], ids=["direct", "atomic"])
def test_add_columns_into_a_table_whose_upsert_key_is_not_unique_changes_nothing(
    db_url: str, tmp_path: Path, atomic: bool
) -> None:
    execute(db_url, "CREATE TABLE t (id bigint, name text)", "INSERT INTO t VALUES (1, 'old')")
    path = tmp_path / "t.csv"
    path.write_text("id,name,extra\n1,new,x\n2,two,y\n")
    extra = ["--atomic"] if atomic else []
    run = _chute(
        "load", str(path), "--into", db_url, "--mode", "upsert", "--key", "id", "--add-columns",
        "--report", str(tmp_path / "r.json"), *extra,
    )  # fmt: skip
    _refused(run, "no primary key or unique index on (id)")
    assert columns(db_url, "t") == ["id", "name"]
    assert query(db_url, "SELECT id, name FROM t") == [(1, "old")]
    assert not _stages(db_url)
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["status"], report["written"], report["changes"]) == ("failed", 0, [])


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_add_columns_into_a_table_needing_a_column_the_input_lacks_changes_nothing(
    db_url: str, tmp_path: Path, mode: str
) -> None:
    execute(
        db_url,
        "CREATE TABLE t (id bigint, must text NOT NULL, name text)",
        "INSERT INTO t VALUES (1, 'm', 'old')",
    )
    path = tmp_path / "t.csv"
    path.write_text("id,name,extra\n2,two,y\n")
    run = _chute("load", str(path), "--into", db_url, "--add-columns", "--mode", mode)
    _refused(run, "needs column(s) must")
    assert columns(db_url, "t") == ["id", "must", "name"]
    assert query(db_url, "SELECT id, must, name FROM t") == [(1, "m", "old")]
    assert not _stages(db_url)


@pytest.mark.parametrize("mode", ["replace", "upsert"])
def test_a_staged_load_refused_by_its_checks_leaves_no_stage_table(
    db_url: str, tmp_path: Path, mode: str
) -> None:
    execute(db_url, "CREATE TABLE t (id bigint PRIMARY KEY, name text)")
    path = tmp_path / "t.csv"
    path.write_text("id,name\n1,a\n")
    run = _chute("load", str(path), "--into", db_url, "--mode", mode, "--key", "nope", "--atomic")
    _refused(run, "nope")
    assert not _stages(db_url)
    assert columns(db_url, "t") == ["id", "name"]


def test_an_atomic_load_adds_its_new_columns_with_its_rows(db_url: str, tmp_path: Path) -> None:
    """--atomic --add-columns into an existing table: the columns appear in the publish
    transaction, with the rows (they used to wait in the stage, exit 5)."""
    execute(
        db_url, "CREATE TABLE t (id bigint PRIMARY KEY, name text)", "INSERT INTO t VALUES (1, 'a')"
    )
    path = tmp_path / "t.csv"
    path.write_text("id,name,extra\n2,b,x\n3,c,\n")
    run = _chute("load", str(path), "--into", db_url, "--atomic", "--add-columns", "-q")
    assert run.returncode == 0, run.stderr
    assert columns(db_url, "t") == ["id", "name", "extra"]
    assert query(db_url, "SELECT id, name, extra FROM t ORDER BY id") == [
        (1, "a", None),
        (2, "b", "x"),
        (3, "c", None),
    ]
    assert not _stages(db_url)
