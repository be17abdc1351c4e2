"""Deleting branches and tags: an unmerged branch takes its commits and versions with it; a
merged (or tagged) one keeps them without a name, so history reads as before; main and a
branch with branches made from it are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

import chute
from chute.datasets.store import DatasetError
from tests.datasets.conftest import import_rows, view
from tests.datasets.test_dataset_history import BASE, COLS, _set
from tests.helpers import assert_error, query
from tests.helpers import chute as run_chute


def _views(url: str) -> set[str]:
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'view'"
        if url.startswith("sqlite")
        else "SELECT table_name FROM information_schema.views WHERE table_schema = current_schema()"
    )
    return {r[0] for r in query(url, sql)}


def _side(url: str, tmp_path: Path, name: str = "side") -> None:
    with chute.dataset(url, "orders") as ds:
        ds.branch(name)
    rows = [*_set(BASE, 2, qty=200), {"id": 6, "name": "n6", "qty": 6}]
    import_rows(url, tmp_path / f"{name}.csv", COLS, rows, branch=name, message=name)


def test_an_unmerged_branch_goes_with_its_commits_and_versions(db_url: str, tmp_path: Path) -> None:
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE, message="base")
    _side(db_url, tmp_path)
    (side_id,) = query(db_url, "SELECT branch_id FROM _chute_ds_refs WHERE name = 'side'")[0]
    before = query(db_url, f"SELECT count(*) FROM _chute_v_orders WHERE _b = {side_id}")
    assert before == [(2,)]
    result = run_chute("branch", "orders", "side", "--delete", "--into", db_url)
    assert result.returncode == 0, result.stderr
    assert "its 1 commit(s) and 2 versions are gone" in result.stdout
    assert query(db_url, f"SELECT count(*) FROM _chute_v_orders WHERE _b = {side_id}") == [(0,)]
    assert query(db_url, "SELECT count(*) FROM _chute_ds_commits WHERE message = 'side'") == [(0,)]
    assert "orders__side" not in _views(db_url)
    with chute.dataset(db_url, "orders") as ds:
        assert [b["branch"] for b in ds.branches()] == ["main"]
        assert len(ds.log()) == 1
    # the name can be used again, for a branch of its own
    _side(db_url, tmp_path)
    assert view(db_url, "orders__side")[-1] == (6, "n6", 6)


def test_a_merged_branch_keeps_its_commits_so_history_reads_as_before(
    db_url: str, tmp_path: Path
) -> None:
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE, message="base")
    _side(db_url, tmp_path)
    with chute.dataset(db_url, "orders") as ds:
        side_commit = ds.log("side")[0]["id"]
        ds.merge("side")
        before = ds.diff(ds.log()[-1]["id"], side_commit).stat()
        gone = ds.delete_branch("side")
        assert gone["commits_kept"] == 1
        assert [b["branch"] for b in ds.branches()] == ["main"]
        # the side commit still reads as it was, by its id, and diffs as before
        assert ds.diff(ds.log()[-1]["id"], side_commit).stat() == before
        out = tmp_path / "side.csv"
        ds.checkout(side_commit[:8], to=str(out))
        assert out.read_text().count("\n") == 1 + 6
        # a new branch of the same name is a new branch: it reads main, not the old one
        ds.branch("side", "main~1")
    assert view(db_url, "orders__side") == [tuple(r.values()) for r in BASE]
    assert "orders__side" in _views(db_url)


def test_a_tagged_commit_keeps_its_branch_and_a_tag_can_be_deleted(
    db_url: str, tmp_path: Path
) -> None:
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE, message="base")
    _side(db_url, tmp_path)
    with chute.dataset(db_url, "orders") as ds:
        ds.tag("kept", "side")
        assert ds.delete_branch("side")["commits_kept"] == 1
        rows = tmp_path / "kept.csv"
        ds.checkout("kept", to=str(rows))
        assert "n6" in rows.read_text()
        assert ds.delete_tag("kept")["deleted"]
        assert ds.tags() == []
        with pytest.raises(DatasetError, match="has no tag 'kept'"):
            ds.delete_tag("kept")


def test_main_a_parent_branch_and_unknown_names_are_refused(db_url: str, tmp_path: Path) -> None:
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE, message="base")
    _side(db_url, tmp_path)
    with chute.dataset(db_url, "orders") as ds:
        ds.branch("child", "side")
    assert_error(run_chute("branch", "orders", "main", "--delete", "--into", db_url), 2, "main")
    result = run_chute("branch", "orders", "side", "--delete", "--into", db_url)
    assert_error(result, 2, "has branches made from it: child")
    assert_error(
        run_chute("branch", "orders", "nope", "--delete", "--into", db_url), 2, "no branch 'nope'"
    )
    assert_error(run_chute("tag", "orders", "nope", "--delete", "--into", db_url), 2, "no tag")
    assert_error(run_chute("branch", "orders", "--delete", "--into", db_url), 2, "needs the branch")
    assert_error(run_chute("tag", "orders", "--delete", "--into", db_url), 2, "needs the tag")
    # the child goes, then its parent (nothing reaches the side commit: all gone)
    with chute.dataset(db_url, "orders") as ds:
        assert ds.delete_branch("child")["deleted"]
        assert ds.delete_branch("side")["commits_kept"] == 0
        assert [b["branch"] for b in ds.branches()] == ["main"]
