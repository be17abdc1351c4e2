"""Hostile targets: a view where a table is expected, a hostile column added to an existing
table, and staged loads (replace, --atomic) stopped by a broken file: the table keeps its old
content until a run completes, and the completed run leaves no stage table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import execute, query
from tests.hostile.harness import (
    Case,
    assert_accounts,
    assert_no_stage_table,
    assert_one_line_error,
    check,
    chute_load,
    database,
    params,
    user_tables,
)

CASES = [
    Case(
        "append_into_a_view",
        "good.csv",
        setup=(
            "CREATE TABLE base (id bigint, name text)",
            "CREATE VIEW data AS SELECT * FROM base",
        ),
        code=2,
        error=("view",),
        xfail={
            "sqlite": "SQLite refuses a write into a view with its generic error code: "
            "nothing to classify by (exit 5)"
        },
    ),
    Case(
        "add_column_named_like_injection",
        "add_column_injection.csv",
        args=("--add-columns",),
        setup=("CREATE TABLE data (id bigint)",),
        rows=[(1, "a")],
        sql='SELECT id, "x""); DROP TABLE data; --" FROM data',
    ),
]


@pytest.mark.parametrize(("case", "db"), params(CASES))
def test_hostile_target(
    case: Case, db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    check(case, database(db, request, tmp_path), tmp_path)


BROKEN_TAIL = b"".join(b"%d,n%d\n" % (i, i) for i in range(1, 51)) + b'51,"never closed\n'


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("how", [("--mode", "replace"), ("--atomic",)], ids=["replace", "atomic"])
def test_staged_load_stopped_by_a_broken_file_keeps_the_old_table_until_fixed(
    db: str, how: tuple[str, ...], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = database(db, request, tmp_path)
    execute(url, "CREATE TABLE data (id bigint, name text)", "INSERT INTO data VALUES (100, 'old')")
    source = tmp_path / "data.csv"
    source.write_bytes(b"id,name\n" + BROKEN_TAIL)

    stopped = chute_load(source, url, *how, "--batch-rows", "10", workdir=tmp_path)

    assert_one_line_error(stopped, 3, "line 52", "never closed")
    assert_accounts(stopped)
    assert query(url, "SELECT id, name FROM data") == [(100, "old")]

    source.write_bytes(b"id,name\n" + BROKEN_TAIL.replace(b'"never closed', b"fixed"))
    fixed = chute_load(source, url, *how, "--batch-rows", "10", "--restart", workdir=tmp_path)

    assert fixed.code == 0, fixed.stderr
    assert_accounts(fixed)
    want = [(i, f"n{i}") for i in range(1, 51)] + [(51, "fixed")]
    if how == ("--atomic",):
        want = [*want, (100, "old")]
    assert query(url, "SELECT id, name FROM data ORDER BY id") == want
    assert_no_stage_table(url)
    assert user_tables(url) == {"data"}
