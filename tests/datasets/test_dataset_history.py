"""A dataset's history: revisions, branches, merges, reverts, checkouts, the CLI's output
and its errors."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import chute
from chute.datasets.store import DatasetError
from tests.datasets.conftest import import_rows, view
from tests.helpers import assert_error, execute, query
from tests.helpers import chute as run_chute

COLS = ["id", "name", "qty"]
BASE = [{"id": i, "name": f"n{i}", "qty": i} for i in range(1, 6)]


def _set(rows: list[dict[str, object]], id_: int, **values: object) -> list[dict[str, object]]:
    return [{**r, **values} if r["id"] == id_ else r for r in rows]


@pytest.fixture
def two_branches(db_url: str, tmp_path: Path) -> str:
    """main: BASE, then id 1 changed; side (from BASE): id 2 changed, id 6 added."""
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE, message="base")
    with chute.dataset(db_url, "orders") as ds:
        ds.branch("side")
    import_rows(db_url, tmp_path / "o.csv", COLS, _set(BASE, 1, qty=100), message="main 1")
    side = [*_set(BASE, 2, qty=200), {"id": 6, "name": "n6", "qty": 6}]
    import_rows(db_url, tmp_path / "s.csv", COLS, side, branch="side", message="side 1")
    return db_url


def test_a_branch_reads_through_to_its_parent_and_main_does_not_see_it(two_branches: str) -> None:
    url = two_branches
    assert view(url, "orders") == [(1, "n1", 100), (2, "n2", 2), (3, "n3", 3), (4, "n4", 4),
                                   (5, "n5", 5)]  # fmt: skip
    assert view(url, "orders__side") == [(1, "n1", 1), (2, "n2", 200), (3, "n3", 3),
                                         (4, "n4", 4), (5, "n5", 5), (6, "n6", 6)]  # fmt: skip


def test_a_merge_takes_the_other_sides_changes_and_keeps_ours(two_branches: str) -> None:
    url = two_branches
    with chute.dataset(url, "orders") as ds:
        done = ds.merge("side")
        assert (done["added"], done["changed"], done["removed"]) == (1, 1, 0)
        assert len(done["parents"]) == 2
        assert ds.merge("side")["commit"] is None  # already merged
    assert view(url, "orders") == [(1, "n1", 100), (2, "n2", 200), (3, "n3", 3), (4, "n4", 4),
                                   (5, "n5", 5), (6, "n6", 6)]  # fmt: skip


def test_a_second_merge_uses_the_first_as_its_base(two_branches: str, tmp_path: Path) -> None:
    url = two_branches
    with chute.dataset(url, "orders") as ds:
        ds.merge("side")
    main_now = [r for r in json.loads(json.dumps(view(url, "orders")))]
    rows = [{"id": r[0], "name": r[1], "qty": r[2]} for r in main_now]
    # main changes id 2 again; side changes only id 3: no conflict on id 2 any more
    import_rows(url, tmp_path / "o.csv", COLS, _set(rows, 2, qty=222))
    side_rows = [{"id": r[0], "name": r[1], "qty": r[2]} for r in view(url, "orders__side")]
    import_rows(url, tmp_path / "s.csv", COLS, _set(side_rows, 3, qty=333), branch="side")
    with chute.dataset(url, "orders") as ds:
        done = ds.merge("side")
        assert (done["added"], done["changed"], done["removed"]) == (0, 1, 0)
    assert query(url, "SELECT qty FROM orders WHERE id IN (2, 3) ORDER BY id") == [(222,), (333,)]


def test_conflicts_refuse_a_merge_unless_a_side_is_chosen(
    two_branches: str, tmp_path: Path
) -> None:
    url = two_branches
    side = [r for r in view(url, "orders__side")]
    rows = [{"id": r[0], "name": r[1], "qty": r[2]} for r in side]
    import_rows(url, tmp_path / "s.csv", COLS, _set(rows, 1, qty=-1), branch="side")
    head = query(url, "SELECT * FROM orders ORDER BY id")
    result = run_chute("merge", "orders", "side", "--into", url)
    assert_error(result, 2, "merge refused: 1 row(s) changed on both sides", "id=1")
    assert "--ours or --theirs" in result.stderr
    assert query(url, "SELECT * FROM orders ORDER BY id") == head  # nothing half-merged
    with chute.dataset(url, "orders") as ds:
        ds.merge("side", prefer="ours")
    assert query(url, "SELECT qty FROM orders WHERE id IN (1, 2) ORDER BY id") == [(100,), (200,)]
    import_rows(url, tmp_path / "s.csv", COLS, _set(_set(rows, 1, qty=-2), 2, qty=200),
                branch="side")  # fmt: skip
    with chute.dataset(url, "orders") as ds:
        ds.merge("side", prefer="theirs")
    assert query(url, "SELECT qty FROM orders WHERE id = 1") == [(-2,)]


def test_a_revert_undoes_one_commit_and_refuses_over_later_changes(
    db_url: str, tmp_path: Path
) -> None:
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE)
    v2 = _set(BASE, 1, qty=10)[:4]  # id 1 changed, id 5 removed
    import_rows(db_url, tmp_path / "o.csv", COLS, v2)
    import_rows(db_url, tmp_path / "o.csv", COLS, _set(v2, 2, qty=20))
    with chute.dataset(db_url, "orders") as ds:
        done = ds.revert("main~1")
        assert (done["added"], done["changed"], done["removed"]) == (1, 1, 0)
    assert view(db_url, "orders") == [(1, "n1", 1), (2, "n2", 20), (3, "n3", 3), (4, "n4", 4),
                                      (5, "n5", 5)]  # fmt: skip
    import_rows(db_url, tmp_path / "o.csv", COLS, _set(BASE, 2, qty=21))
    with chute.dataset(db_url, "orders") as ds, pytest.raises(DatasetError, match="revert refused"):
        ds.revert("main~2")  # it changed id 2, which the newest commit changed again


def test_revisions_by_tag_prefix_ancestry_and_time(db_url: str, tmp_path: Path) -> None:
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE)
    time.sleep(0.05)
    middle = time.time()
    time.sleep(0.05)
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE[:3])
    with chute.dataset(db_url, "orders") as ds:
        first = ds.log()[-1]["id"]
        ds.tag("v1", first[:6])
        at = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(middle))
            + f".{int(middle % 1 * 1e6):06d}"
        )
        for rev in ("v1", first, first[:4], "main~1", f"@{at}", f"main@{at}"):
            assert ds.diff(rev, "main").stat()["removed"] == 2, rev
        for bad, said in [
            ("nope", "no revision 'nope'"),
            ("main~5", "no commit that far back"),
            ("@2000-01-01T00:00", "had no commit at"),
            ("@yesterday", "is not a time"),
            ("other@2026-01-01", "no branch 'other'"),
        ]:
            with pytest.raises(DatasetError, match=said):
                ds.diff(bad, "main")
        with pytest.raises(DatasetError, match="already has a tag named 'v1'"):
            ds.tag("v1")
        with pytest.raises(DatasetError, match="not a valid branch or tag name"):
            ds.branch("-x")


def test_checkouts_to_a_table_and_files_hold_the_revisions_rows(
    db_url: str, tmp_path: Path
) -> None:
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE)
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE[:2])
    with chute.dataset(db_url, "orders") as ds:
        assert ds.checkout("main~1", table="orders_v1") == 5
        assert ds.checkout("main~1", to=str(tmp_path / "v1.parquet")) == 5
        assert ds.checkout("main", to=str(tmp_path / "v2.csv")) == 2
        with pytest.raises(DatasetError, match="already exists"):
            ds.checkout("main", table="orders_v1")
        with pytest.raises(chute.ConfigError, match="must end in"):
            ds.checkout("main", to=str(tmp_path / "v.txt"))
    assert query(db_url, "SELECT * FROM orders_v1 ORDER BY id") == [
        (r["id"], r["name"], r["qty"]) for r in BASE
    ]
    table = pq.read_table(tmp_path / "v1.parquet")
    assert sorted(table.column("id").to_pylist()) == [1, 2, 3, 4, 5]
    assert str(table.schema.field("qty").type) == "int64"
    with open(tmp_path / "v2.csv", newline="") as f:
        assert sorted(csv.reader(f)) == [["1", "n1", "1"], ["2", "n2", "2"], ["id", "name", "qty"]]


def test_the_cli_prints_json_and_its_errors_are_one_line(db_url: str, tmp_path: Path) -> None:
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE, message="first")
    import_rows(db_url, tmp_path / "o.csv", COLS, _set(BASE, 3, qty=30))
    into = ["--into", db_url]
    log = json.loads(run_chute("log", "orders", *into, "--json").stdout)
    assert [c["message"] for c in log] == ["import o.csv", "first"]
    diff = json.loads(run_chute("diff", "orders", "main~1", "main", *into, "--json").stdout)
    assert diff["stat"]["changed"] == 1
    assert diff["changes"] == [{"change": "changed", "row": {"id": 3, "name": "n3", "qty": 30},
                                "before": {"qty": 3}}]  # fmt: skip
    lines = run_chute("diff", "orders", "main~1", "main", *into, "--format", "jsonl").stdout
    assert len(lines.splitlines()) == 1
    csv_out = run_chute("diff", "orders", "main~1", "main", *into, "--format", "csv").stdout
    assert csv_out.splitlines()[1].startswith('"changed",3,"n3",30')
    made = json.loads(run_chute("branch", "orders", "dev", *into, "--json").stdout)
    assert made["view"] == "orders__dev"
    assert_error(run_chute("log", "nope", *into), 2, "no dataset 'nope'")
    assert_error(run_chute("diff", "orders", "main", "x", *into), 2, "no revision 'x'")
    assert_error(run_chute("merge", "orders", "dev", "--branch", "x", *into), 2, "no branch 'x'")
    assert_error(run_chute("checkout", "orders", "main", *into), 2, "a table or into a file")


def test_a_corrupted_ref_is_detected_in_one_line(db_url: str, tmp_path: Path) -> None:
    import_rows(db_url, tmp_path / "o.csv", COLS, BASE)
    execute(db_url, "UPDATE _chute_ds_refs SET head_seq = 999 WHERE name = 'main'")
    result = run_chute("log", "orders", "--into", db_url)
    assert_error(result, 2, "branch main of orders points at commit #999", "corrupted ref")
    assert_error(
        run_chute("load", str(tmp_path / "o.csv"), "--into", db_url, "--dataset", "orders", "-q"),
        2, "corrupted ref",
    )  # fmt: skip


def test_the_search_table_follows_each_commit_on_main(db_url: str, tmp_path: Path) -> None:
    rows = [{"id": i, "name": f"red apple {i}", "qty": i} for i in range(1, 6)]
    import_rows(db_url, tmp_path / "o.csv", COLS, rows)
    assert_error(run_chute("search", "orders", "apple", "--into", db_url), 2, "no search table")
    with chute.dataset(db_url, "orders") as ds:
        made = ds.enable_search()
        assert (made["columns"], made["rows"]) == (["name"], 5)
        assert len(ds.search("apple red")) == 5
    v2 = [*_set(rows, 2, name="green pear")[:4], {"id": 9, "name": "Red Plum", "qty": 9}]
    import_rows(db_url, tmp_path / "o.csv", COLS, v2)  # id 5 removed, 2 changed, 9 added
    with chute.dataset(db_url, "orders") as ds:
        assert sorted(r["id"] for r in ds.search("red")) == [1, 3, 4, 9]
        assert [r["id"] for r in ds.search("pear")] == [2]
        assert ds.search("apple 5") == []
    side = [{"id": 1, "name": "side only", "qty": 0}]
    with chute.dataset(db_url, "orders") as ds:
        ds.branch("b")
    import_rows(db_url, tmp_path / "b.csv", COLS, side, branch="b")
    found = json.loads(run_chute("search", "orders", "side", "--into", db_url, "--json").stdout)
    assert found == []  # the search table is main's
    assert query(db_url, "SELECT count(*) FROM _chute_s_orders") == [(5,)]
