"""``chute bench`` end to end: every strategy side by side, a table, a JSON file and a PNG.

The bench is the ``chute_bench`` package (the bench extra); these tests need it installed
(``.[test]`` includes what it needs).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chute.cli import app
from chute.errors import ConfigError, SinkUnavailableError
from chute.sinks import open_sink
from chute_bench.records import records
from chute_bench.runner import JSON_NAME, PNG_NAME, _run_worker, run_bench
from chute_bench.strategies import plan
from chute_bench.targets import target_for
from tests.helpers import execute, query

ROWS = 2_000
SAMPLE = 500  # fewer than ROWS: the row-by-row figure is extrapolated
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tables(url: str) -> set[str]:
    if url.startswith("sqlite:"):
        rows = query(url, "SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r[0] for r in rows}


def strategies(url: str) -> list[str]:
    target = target_for(url)
    assert target is not None
    return list(plan(target))


def check_outputs(out: Path, url: str, *, copy_skipped: bool) -> dict[str, Any]:
    assert (out / PNG_NAME).read_bytes()[:8] == PNG_MAGIC
    data: dict[str, Any] = json.loads((out / JSON_NAME).read_text())
    assert data["rows"] == ROWS
    by_name = {s["strategy"]: s for s in data["strategies"]}
    assert list(by_name) == strategies(url)
    for name, s in by_name.items():
        if name == "copy" and copy_skipped:
            assert s["status"] == "skipped"
            assert s["note"] == "SQLite has no COPY"
            assert s["rows_per_second"] is None
            continue
        assert s["status"] == "ok", s
        assert s["rows_per_second"] > 0
        assert s["seconds"] > 0
        assert s["peak_rss_bytes"] >= s["baseline_rss_bytes"] > 0
        assert s["ratio_to_best"] >= 1.0
        # a plain driver writes over one connection; chute says how many wrote at once
        assert s["connections"] >= 1 if name.startswith("chute") else s["connections"] == 1
    # the like-for-like row: chute over one connection, as the plain drivers write
    assert by_name["chute_one_writer"]["connections"] == 1
    row_by_row = by_name["row_by_row"]
    assert row_by_row["extrapolated_from"] == SAMPLE
    assert row_by_row["label"] == "INSERT + COMMIT per row (extrapolated from 500 rows)"
    assert all(s["extrapolated_from"] is None for n, s in by_name.items() if n != "row_by_row")
    assert by_name[data["best"]]["ratio_to_best"] == 1.0
    return data


def test_bench_on_sqlite_runs_every_strategy_but_copy_and_leaves_no_table(
    sqlite_url: str, tmp_path: Path
) -> None:
    execute(sqlite_url, "CREATE TABLE mine (x integer)")
    lines: list[str] = []

    report = run_bench(
        sqlite_url, rows=ROWS, out=tmp_path / "out", sample_rows=SAMPLE, progress=lines.append
    )

    data = check_outputs(tmp_path / "out", sqlite_url, copy_skipped=True)
    assert data["database"] == "SQLite"
    assert report.json_path == tmp_path / "out" / JSON_NAME
    assert "[4/7] COPY: skipped, SQLite has no COPY" in lines
    assert "[1/7] INSERT + COMMIT per row, on a sample of up to 500 rows ..." in lines
    assert any("extrapolated from 500 rows" in line for line in lines)
    assert tables(sqlite_url) == {"mine"}


@pytest.mark.postgres
def test_bench_on_postgres_runs_every_strategy_and_leaves_no_table(
    pg_url: str, tmp_path: Path
) -> None:
    execute(pg_url, "CREATE TABLE mine (x integer)")

    run_bench(pg_url, rows=ROWS, out=tmp_path, sample_rows=SAMPLE)

    data = check_outputs(tmp_path, pg_url, copy_skipped=False)
    assert data["database"] == "PostgreSQL"
    assert tables(pg_url) == {"mine"}


def test_a_failing_strategy_is_a_failed_row_not_a_crash(sqlite_url: str) -> None:
    result = _run_worker("no_such_strategy", "nothing", sqlite_url, 10)

    assert result.status == "failed"
    assert result.note == "KeyError: 'no_such_strategy'"
    assert result.rows_per_second is None
    assert tables(sqlite_url) == set()


def test_every_strategy_gets_the_same_records() -> None:
    first, again = list(records(50)), list(records(50))

    assert first == again
    assert [r["id"] for r in first] == list(range(1, 51))
    assert {type(v).__name__ for v in first[0].values()} == {
        "int",
        "str",
        "Decimal",
        "datetime",
        "bool",
    }


@pytest.mark.parametrize(
    ("into", "rows", "error", "fragment"),
    [
        ("sqlite:///x.db", 0, ConfigError, "^rows must be at least 1, not 0"),
        ("sqlite:///x.db", -1, ConfigError, "^rows must be at least 1, not -1"),
        ("nonsense", 10, ConfigError, "malformed database URL 'nonsense'"),
        ("oracle://localhost/x", 10, ConfigError, "unknown database scheme 'oracle'"),
        ("memory://", 10, ConfigError, "chute bench measures SQLite, .* not memory"),
        ("postgresql://postgres@127.0.0.1:1/x", 10, SinkUnavailableError, "cannot connect"),
    ],
)
def test_bad_input_is_one_clear_error(
    into: str, rows: int, error: type[Exception], fragment: str, tmp_path: Path
) -> None:
    with pytest.raises(error, match=fragment):
        run_bench(into, rows=rows, out=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_output_folder_that_is_a_file_is_a_config_error(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")

    with pytest.raises(ConfigError, match="cannot make the output folder"):
        run_bench(sqlite_url, rows=10, out=tmp_path / "taken")


# -- the command line -------------------------------------------------------------------


def test_cli_bench_prints_the_table_and_writes_the_files(sqlite_url: str, tmp_path: Path) -> None:
    args = ["--into", sqlite_url, "--rows", str(ROWS), "--sample-rows", str(SAMPLE)]
    result = CliRunner().invoke(app, ["bench", *args, "--out", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert "[1/7] INSERT + COMMIT per row, on a sample of up to 500 rows ..." in result.stderr
    assert "chute bench: SQLite" in result.stdout
    assert "INSERT + COMMIT per row (extrapolated from 500 rows)" in result.stdout
    assert "COPY: skipped, SQLite has no COPY" in result.stdout
    assert f"{ROWS:,}" in result.stdout
    check_outputs(tmp_path, sqlite_url, copy_skipped=True)
    assert tables(sqlite_url) == set()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--into", "sqlite:///x.db", "--rows", "0"], 2, "error: rows must be at least 1, not 0"),
        (["--into", "nonsense"], 2, "error: malformed database URL 'nonsense'"),
        (["--into", "postgresql://postgres@127.0.0.1:1/x"], 5, "error: cannot connect to"),
    ],
)
def test_cli_bench_bad_input_exits_with_one_line(
    args: list[str], code: int, message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["bench", *args, "--out", str(tmp_path)])

    assert result.exit_code == code, result.output
    assert result.stderr.splitlines()[0].startswith(message)
    assert "Traceback" not in result.output


# -- MySQL/MariaDB and DuckDB: their own bulk paths through their drivers ----------------

MYSQL_SERVER = os.environ.get("CHUTE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/")
REQUIRE_SERVICES = os.environ.get("CHUTE_REQUIRE_SERVICES") == "1"


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    pytest.importorskip("duckdb")
    return f"duckdb:///{tmp_path}/bench.duckdb"


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A throwaway database on the MariaDB (or MySQL) server, dropped after the test."""
    pymysql = pytest.importorskip("pymysql")
    from chute_bench.targets.mysql import connect_args

    database = f"chute_bench_{uuid.uuid4().hex[:12]}"
    try:
        conn = pymysql.connect(**{**connect_args(MYSQL_SERVER), "database": None})
    except pymysql.err.OperationalError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"CHUTE_REQUIRE_SERVICES=1 but MariaDB is not reachable: {exc}")
        pytest.skip(f"MariaDB is not reachable: {exc}")
    try:
        conn.cursor().execute(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
        yield MYSQL_SERVER.rstrip("/") + "/" + database
    finally:
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
        conn.close()


@pytest.fixture(params=["mariadb", "duckdb"])
def other_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def test_every_way_but_chute_stores_every_record_on_mariadb_and_duckdb(other_url: str) -> None:
    target = target_for(other_url)
    assert target is not None
    ways = {n: s for n, s in plan(target).items() if not n.startswith("chute")}
    assert set(ways) >= {"executemany", *target.own}  # the hand-written baselines

    for name, strategy in ways.items():
        result = _run_worker(name, strategy.label, other_url, ROWS, SAMPLE)

        assert result.status == "ok", (name, result.note)
        assert result.connections == 1
        assert result.rows_per_second and result.rows_per_second > 0
        sampled = name in target.sampled
        assert result.extrapolated_from == (SAMPLE if sampled else None), name
    assert target.admin(["SELECT 1"]) == [(1,)]


def test_bench_on_mariadb_and_duckdb_runs_every_strategy(other_url: str, tmp_path: Path) -> None:
    try:
        open_sink(other_url)
    except ConfigError as exc:  # chute's sink for it is on another branch
        pytest.skip(str(exc))

    report = run_bench(other_url, rows=ROWS, out=tmp_path, sample_rows=SAMPLE)

    assert report.database in ("MariaDB", "MySQL", "DuckDB")
    assert (tmp_path / PNG_NAME).read_bytes()[:8] == PNG_MAGIC
    assert [r.strategy for r in report.results] == strategies(other_url)
    assert all(r.status == "ok" for r in report.results), [r.note for r in report.results]
