"""Imports into a dataset: identity by key or by content, rejects, schema changes, the head
view, and the bad inputs of an import."""

from __future__ import annotations

from pathlib import Path

import pytest

import chute
from chute.errors import ConfigError, NothingStoredError
from tests.datasets.conftest import import_rows, view, write_csv
from tests.helpers import assert_error, execute, query
from tests.helpers import chute as run_chute

COLS = ["id", "name", "qty"]
ROWS = [{"id": i, "name": f"n{i}", "qty": i * 10} for i in range(1, 6)]


def test_an_identical_file_makes_no_commit_and_says_so(db_url: str, tmp_path: Path) -> None:
    first = import_rows(db_url, tmp_path / "o.csv", COLS, ROWS)
    assert first.dataset is not None
    assert (first.dataset["added"], first.dataset["commit"] is not None) == (5, True)
    again = import_rows(db_url, tmp_path / "o.csv", COLS, ROWS)
    assert again.dataset is not None and again.dataset["commit"] is None
    assert again.dataset["head"] == first.dataset["commit"]
    assert again.dataset["unchanged"] == again.read == 5
    assert "no changes: orders/main stays at" in again.summary()
    with chute.dataset(db_url, "orders") as ds:
        assert len(ds.log()) == 1
    assert view(db_url, "orders") == [(r["id"], r["name"], r["qty"]) for r in ROWS]


def test_rows_without_a_key_are_identified_by_content_never_by_row_number(
    db_url: str, tmp_path: Path
) -> None:
    rows = [{"id": 1, "name": "a", "qty": 1}, {"id": 1, "name": "a", "qty": 1}, *ROWS]
    import_rows(db_url, tmp_path / "o.csv", COLS, rows, key=None)
    top = [{"id": 99, "name": "new", "qty": 0}, *rows]  # one row inserted at the top
    report = import_rows(db_url, tmp_path / "o.csv", COLS, top, key=None)
    assert report.dataset is not None
    assert (report.dataset["added"], report.dataset["changed"], report.dataset["removed"]) == (
        1, 0, 0,
    )  # fmt: skip
    fewer = top[:1] + top[2:]  # one of the two copies of a duplicated row goes
    report = import_rows(db_url, tmp_path / "o.csv", COLS, fewer, key=None)
    assert report.dataset is not None
    assert (report.dataset["added"], report.dataset["removed"]) == (0, 1)
    assert query(db_url, "SELECT count(*) FROM orders WHERE id = 1 AND name = 'a'") == [(1,)]


def test_a_key_twice_in_the_file_rejects_the_second_record(db_url: str, tmp_path: Path) -> None:
    rows = [*ROWS, {"id": 3, "name": "again", "qty": 0}]
    report = import_rows(db_url, tmp_path / "o.csv", COLS, rows)
    assert report.rejected == 1 and report.read == 6
    assert report.dataset is not None and report.dataset["added"] == 5
    # every line read is counted: added, changed, unchanged or rejected
    d = report.dataset
    assert d["added"] + d["changed"] + d["unchanged"] + report.rejected == report.read
    assert query(db_url, "SELECT name FROM orders WHERE id = 3") == [("n3",)]
    assert "again" in (tmp_path / "o.csv.rejects.jsonl").read_text()


def test_schema_changes_make_commits_and_show_in_the_diff_stat(db_url: str, tmp_path: Path) -> None:
    import_rows(db_url, tmp_path / "o.csv", COLS, ROWS)
    wide = [{**r, "note": "x"} for r in ROWS]
    report = import_rows(db_url, tmp_path / "o.csv", [*COLS, "note"], wide)
    assert report.dataset is not None and report.dataset["changed"] == 5
    assert query(db_url, "SELECT note FROM orders WHERE id = 1") == [("x",)]
    narrow = [{"id": r["id"], "note": "x"} for r in ROWS]
    import_rows(db_url, tmp_path / "o.csv", ["id", "note"], narrow)
    retyped = [{"id": r["id"], "note": 7} for r in ROWS]
    import_rows(db_url, tmp_path / "o.csv", ["id", "note"], retyped)
    with chute.dataset(db_url, "orders") as ds:
        assert ds.diff("main~3", "main~2").stat()["columns_added"] == ["note"]
        removed = ds.diff("main~2", "main~1").stat()
        assert removed["columns_removed"] == ["name", "qty"]
        assert removed["changed"] == 5
        retype = ds.diff("main~1", "main").stat()["columns_retyped"]
        assert [r["column"] for r in retype] == ["note"]
        # nothing is dropped: the old columns are there at the old commits
        old = tmp_path / "old.csv"
        assert ds.checkout("main~3", to=str(old)) == 5
        assert old.read_text().splitlines()[0] == '"id","name","qty"'
    assert [c for c in query(db_url, "SELECT * FROM orders ORDER BY id")[0]] == [1, "7"] or [
        c for c in query(db_url, "SELECT * FROM orders ORDER BY id")[0]
    ] == [1, 7]


def test_a_file_whose_records_are_all_rejected_makes_no_commit(db_url: str, tmp_path: Path) -> None:
    import_rows(db_url, tmp_path / "o.csv", COLS, ROWS)
    bad = tmp_path / "bad.csv"
    write_csv(bad, COLS, [{"id": "", "name": "x", "qty": 1}])  # a key that is empty
    with pytest.raises(NothingStoredError):
        chute.load(str(bad), into=db_url, dataset="orders", rejects=str(tmp_path / "r.jsonl"))
    with chute.dataset(db_url, "orders") as ds:
        assert len(ds.log()) == 1


def test_bad_inputs_of_an_import_each_get_one_clear_error(db_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", COLS, ROWS)
    base = ["load", str(path), "--into", db_url, "--quiet"]
    assert_error(
        run_chute(*base, "--dataset", "orders", "--key", "id", "--branch", "dev"),
        2, "first import goes to main",
    )  # fmt: skip
    assert run_chute(*base, "--dataset", "orders", "--key", "id").returncode == 0
    assert_error(run_chute(*base, "--dataset", "orders", "--key", "name"), 2, "keyed on (id)")
    assert_error(
        run_chute(*base, "--dataset", "orders", "--key", "id", "--mode", "upsert"),
        2,
        "--mode upsert",
    )
    assert_error(run_chute(*base, "--dataset", "orders", "--table", "t"), 2, "--table")
    assert_error(run_chute(*base, "--dataset", "_chute_x"), 2, "reserved")
    assert_error(run_chute(*base, "--dataset", "orders", "--branch", "nope"), 2, "no branch 'nope'")
    with chute.dataset(db_url, "orders") as ds:
        assert len(ds.log()) == 1


def test_a_table_in_the_way_of_the_head_view_is_refused_and_left_alone(
    db_url: str, tmp_path: Path
) -> None:
    chute.load(str(write_csv(tmp_path / "t.csv", ["a"], [{"a": 1}])), into=db_url, table="orders")
    with pytest.raises(ConfigError, match="a table named orders is in the way"):
        import_rows(db_url, tmp_path / "o.csv", COLS, ROWS)
    assert query(db_url, "SELECT * FROM orders") == [(1,)]


def test_a_database_without_dataset_support_says_so(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    path = write_csv(tmp_path / "o.csv", COLS, ROWS)
    result = run_chute(
        "load", str(path), "--into", f"duckdb:///{tmp_path / 'd.duckdb'}", "--dataset", "o"
    )
    assert_error(result, 2, "versioned datasets are kept in PostgreSQL or SQLite")


def test_the_servers_text_settings_do_not_make_rows_look_changed(
    pg_url: str, tmp_path: Path
) -> None:
    """PostgreSQL digests are of values as text; a new session time zone or date style must
    not change them (the commit fixes both)."""
    rows = [{"id": 1, "at": "2026-01-01T10:00:00+02:00", "day": "2026-01-02", "x": 0.1}]
    import_rows(pg_url, tmp_path / "o.csv", ["id", "at", "day", "x"], rows)
    (database,) = query(pg_url, "SELECT current_database()")[0]
    execute(
        pg_url,
        f"ALTER DATABASE \"{database}\" SET timezone = 'America/New_York'",
        f"ALTER DATABASE \"{database}\" SET datestyle = 'SQL, DMY'",
    )
    try:
        again = import_rows(pg_url, tmp_path / "o.csv", ["id", "at", "day", "x"], rows)
    finally:
        execute(
            pg_url,
            f'ALTER DATABASE "{database}" RESET timezone',
            f'ALTER DATABASE "{database}" RESET datestyle',
        )
    assert again.dataset is not None and again.dataset["commit"] is None
