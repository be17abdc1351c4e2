"""Edges a review found, each a test that failed before its fix: names shared between
datasets, stale stages, renamed and retyped columns, reserved names, keys by storage type,
keyless copies after a merge, views, Arrow conversions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import chute
from chute.datasets.store import DatasetError
from tests.datasets.conftest import import_rows, view
from tests.helpers import assert_error, query
from tests.helpers import chute as run_chute


def _rows(*pairs: tuple[int, object]) -> list[dict[str, object]]:
    return [{"id": i, "v": v} for i, v in pairs]


def test_a_merge_in_one_dataset_leaves_datasets_named_like_its_temp_tables_alone(
    db_url: str, tmp_path: Path
) -> None:
    for name in ("a", "cand", "old", "chg"):
        import_rows(db_url, tmp_path / f"{name}.csv", ["id", "v"], _rows((1, "x")), dataset=name)
    import_rows(db_url, tmp_path / "o.csv", ["id", "v"], _rows((1, "a"), (2, "b")))
    with chute.dataset(db_url, "orders") as ds:
        ds.branch("f")
    import_rows(db_url, tmp_path / "f.csv", ["id", "v"], _rows((1, "A"), (3, "c")), branch="f")
    with chute.dataset(db_url, "orders") as ds:
        ds.merge("f")
        assert ds.diff("main~1", "main").stat()["added"] == 1
    for name in ("a", "cand", "old", "chg"):
        assert view(db_url, name) == [(1, "x")], name


def test_a_long_dataset_name_works_and_a_double_underscore_is_refused(
    db_url: str, tmp_path: Path
) -> None:
    long = "d" * 54
    import_rows(db_url, tmp_path / "o.csv", ["id", "v"], _rows((1, "x")), dataset=long)
    import_rows(db_url, tmp_path / "o.csv", ["id", "v"], _rows((1, "y")), dataset=long)
    assert view(db_url, long) == [(1, "y")]
    with pytest.raises(chute.ConfigError, match="holds '__'"):
        import_rows(db_url, tmp_path / "o.csv", ["id", "v"], _rows((1, "x")), dataset="o__x")


def test_a_changed_file_after_a_failed_commit_is_staged_anew(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_text("v\na\nb\n")
    chute.load(str(path), into=db_url, dataset="kl")
    path.write_text("v\na\nb\nc\n")
    env = {**os.environ, "CHUTE_FAULT": "dataset-written:1:raise"}
    cmd = [sys.executable, "-m", "chute", "load", str(path), "--into", db_url, "--dataset", "kl"]
    assert subprocess.run(cmd, env=env, capture_output=True, timeout=120).returncode != 0
    path.write_text("v\na\nb\nd\n")
    report = chute.load(str(path), into=db_url, dataset="kl")
    assert report.dataset is not None
    assert (report.dataset["added"], report.dataset["removed"]) == (1, 0)
    assert sorted(query(db_url, "SELECT v FROM kl")) == [("a",), ("b",), ("d",)]


def test_a_renamed_column_is_a_change(db_url: str, tmp_path: Path) -> None:
    import_rows(db_url, tmp_path / "o.csv", ["id", "a"], [{"id": 1, "a": "x"}])
    report = import_rows(db_url, tmp_path / "o.csv", ["id", "b"], [{"id": 1, "b": "x"}])
    assert report.dataset is not None and report.dataset["changed"] == 1
    assert query(db_url, "SELECT id, b FROM orders") == [(1, "x")]


def test_columns_named_like_the_change_sets_own_are_refused(db_url: str, tmp_path: Path) -> None:
    for column in ("_old_h", "_n", "_h"):
        with pytest.raises(DatasetError, match="reserved"):
            import_rows(db_url, tmp_path / "o.csv", ["id", column], [{"id": 1, column: "x"}])


def test_a_key_is_the_same_key_whether_stored_as_a_number_or_text(
    sqlite_url: str, tmp_path: Path
) -> None:
    import_rows(sqlite_url, tmp_path / "o.csv", ["id", "v"], _rows((1, "a"), (2, "b")))
    report = import_rows(
        sqlite_url, tmp_path / "o.csv", ["id", "v"], _rows((1, "a"), (2, "b"), ("x3", "c"))
    )  # the id column is text now
    assert report.dataset is not None
    assert (report.dataset["added"], report.dataset["removed"]) == (1, 0)


def test_an_identical_keyless_file_after_a_merge_makes_no_commit(
    db_url: str, tmp_path: Path
) -> None:
    def rows(*vs: str) -> list[dict[str, object]]:
        return [{"v": v} for v in vs]

    import_rows(db_url, tmp_path / "m.csv", ["v"], rows("a", "a", "b"), key=None)
    with chute.dataset(db_url, "orders") as ds:
        ds.branch("f")
    import_rows(db_url, tmp_path / "f.csv", ["v"], rows("a", "b"), key=None, branch="f")
    import_rows(db_url, tmp_path / "m.csv", ["v"], rows("a", "a", "a", "b"), key=None)
    with chute.dataset(db_url, "orders") as ds:
        ds.merge("f", prefer="theirs")
    main = sorted(r[0] for r in query(db_url, "SELECT v FROM orders"))
    again = import_rows(db_url, tmp_path / "m.csv", ["v"], rows(*main), key=None)
    assert again.dataset is not None and again.dataset["commit"] is None


def test_a_retyped_column_keeps_every_commit_readable(db_url: str, tmp_path: Path) -> None:
    import_rows(
        db_url, tmp_path / "o.csv", ["id", "n", "flag"], [{"id": 1, "n": 10, "flag": "true"}]
    )
    with chute.dataset(db_url, "orders") as ds:
        ds.branch("b")
    report = import_rows(
        db_url, tmp_path / "o.csv", ["id", "n", "flag"], [{"id": 1, "n": "abc", "flag": "false"}]
    )
    assert report.dataset is not None and report.dataset["changed"] == 1
    assert [tuple(r)[:2] for r in view(db_url, "orders")] == [(1, "abc")]
    assert len(view(db_url, "orders__b")) == 1  # the branch's view was made again
    with chute.dataset(db_url, "orders") as ds:
        assert ds.checkout("main~1", table="old") == 1
        assert ds.checkout("main~1", to=str(tmp_path / "old.parquet")) == 1
        d = ds.diff("main~1", "main")
        assert d.table().num_rows == 1
        assert [r["column"] for r in d.stat()["columns_retyped"]] == ["n"]
    assert query(db_url, "SELECT n FROM old") == [(10,)]
    table = pq.read_table(tmp_path / "old.parquet")
    assert table.column("n").to_pylist() == [10]
    assert table.column("flag").to_pylist() == [True]


def test_a_revert_of_the_first_commit_and_a_merge_from_fewer_columns(
    db_url: str, tmp_path: Path
) -> None:
    import_rows(db_url, tmp_path / "o.csv", ["id", "v"], _rows((1, "a"), (2, "b")))
    with chute.dataset(db_url, "orders") as ds:
        ds.branch("old")
    import_rows(db_url, tmp_path / "o.csv", ["id", "v", "n"], [{"id": 1, "v": "a", "n": 5}])
    import_rows(db_url, tmp_path / "b.csv", ["id", "v"], _rows((1, "a"), (2, "B")), branch="old")
    with chute.dataset(db_url, "orders") as ds:
        ds.merge("old", prefer="theirs")
        assert query(db_url, "SELECT id, v, n FROM orders ORDER BY id") == [
            (1, "a", 5),
            (2, "B", None),
        ]
        ds.revert(ds.log()[-1]["id"], prefer="theirs")
    assert query(db_url, "SELECT count(*) FROM orders") == [(0,)]


def test_branches_whose_views_would_collide_are_refused(db_url: str, tmp_path: Path) -> None:
    import_rows(db_url, tmp_path / "o.csv", ["id", "v"], _rows((1, "a")))
    with chute.dataset(db_url, "orders") as ds:
        ds.branch("a-b")
        with pytest.raises(DatasetError, match="would share the view orders__a_b"):
            ds.branch("a_b")
        with pytest.raises(DatasetError, match="too long"):
            ds.branch("b" * 60)


def test_a_view_that_is_not_the_datasets_is_not_replaced(db_url: str, tmp_path: Path) -> None:
    import_rows(db_url, tmp_path / "t.csv", ["id", "v"], _rows((7, "mine")), dataset="base")
    from tests.helpers import execute

    execute(db_url, "CREATE VIEW orders AS SELECT * FROM base")
    with pytest.raises(DatasetError, match="in the way"):
        import_rows(db_url, tmp_path / "o.csv", ["id", "v"], _rows((1, "a")))
    assert query(db_url, "SELECT * FROM orders") == [(7, "mine")]


def test_a_diff_of_a_column_whose_values_changed_type_prints_as_csv(
    sqlite_url: str, tmp_path: Path
) -> None:
    import_rows(
        sqlite_url, tmp_path / "o.csv", ["id", "q"], [{"id": 1, "q": 10}, {"id": 2, "q": 20}]
    )
    import_rows(
        sqlite_url, tmp_path / "o.csv", ["id", "q"], [{"id": 1, "q": "ten"}, {"id": 2, "q": 20}]
    )
    result = run_chute("diff", "orders", "main~1", "main", "--into", sqlite_url, "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert '"changed",1,"ten"' in result.stdout
    assert_error(run_chute("diff", "orders", "main~9", "--into", sqlite_url), 2, "that far back")
