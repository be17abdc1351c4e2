"""Every record read is stored, skipped or rejected, and a run that stored nothing says so.

``read == written + skipped + rejected`` after every load, whatever the first batch held; a
load that read records and rejected all of them fails (exit 4) and leaves the table as it
was; a NULL key in upsert or ignore is a rejected record, never a match.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import chute
from chute import NothingStoredError
from tests.helpers import execute, query, write
from tests.integration.readback import check_identity, is_pg, load_text, rejects_in, table_exists


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chute", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def reject_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def counts(report: chute.LoadReport) -> tuple[int, int, int, int]:
    return (report.read, report.written, report.skipped, report.rejected)


# -- a first batch without one valid object --------------------------------------------


def test_jsonl_whose_first_batch_holds_no_object_counts_rejects_and_stores_the_rest(
    db_url: str, tmp_path: Path
) -> None:
    text = 'not json\n[{"id": 1}, {"id": 2}]\n{"id": 3, "name": "c"}\n{"id": 4, "name": "d"}\n'
    report = load_text(tmp_path, text, db_url, name="in.jsonl", batch_rows=2)

    found = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert counts(report) == (4, 2, 0, 2)
    assert [(r["line"], r["record_number"], r["offset"], r["error"]) for r in found] == [
        (1, 1, 0, "parse"),
        (2, 2, len("not json\n"), "shape"),
    ]
    assert found[1]["raw"] == '[{"id": 1}, {"id": 2}]'
    assert "an array is not split into records" in found[1]["message"]
    assert query(db_url, "SELECT id, name FROM t ORDER BY id") == [(3, "c"), (4, "d")]


def test_array_on_one_jsonl_line_is_one_rejected_record(db_url: str, tmp_path: Path) -> None:
    report = load_text(tmp_path, '{"id": 1}\n[{"id": 2},{"id": 3}]\n', db_url, name="in.jsonl")

    [reject] = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert counts(report) == (2, 1, 0, 1)
    assert (reject["line"], reject["error"], reject["raw"]) == (2, "shape", '[{"id": 2},{"id": 3}]')
    assert "--format json" in reject["message"]
    assert query(db_url, "SELECT id FROM t") == [(1,)]


def test_empty_objects_are_rejected_records_not_lost_ones(db_url: str, tmp_path: Path) -> None:
    report = load_text(tmp_path, '{}\n{"id": 1}\n{}\n', db_url, name="in.jsonl", batch_rows=1)

    found = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert counts(report) == (3, 1, 0, 2)
    assert [(r["line"], r["message"]) for r in found] == [
        (1, "an empty object: no field to store"),
        (3, "an empty object: no field to store"),
    ]
    assert query(db_url, "SELECT id FROM t") == [(1,)]


# -- a run that stored nothing -----------------------------------------------------------


def test_jsonl_where_every_line_is_rejected_exits_4_and_writes_every_reject(
    db_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "bad.jsonl", 'not json\n[{"id":1},{"id":2}]\n"text"\n')

    done = cli("load", str(path), "--into", db_url, "--table", "t", "--batch-rows", "2")

    assert done.returncode == 4, done.stderr
    assert done.stderr.splitlines()[0] == (
        "error: nothing was stored: all 3 records read were rejected; "
        f"see {tmp_path / 't.rejects.jsonl'}"
    )
    assert "Traceback" not in done.stderr
    assert "read 3  written 0  skipped 0  rejected 3" in done.stdout
    found = reject_lines(tmp_path / "t.rejects.jsonl")
    assert [(r["line"], r["error"]) for r in found] == [(1, "parse"), (2, "shape"), (3, "shape")]
    assert not table_exists(db_url, "t")


def test_iterable_where_every_record_is_rejected_raises_with_the_counts(db_url: str) -> None:
    with pytest.raises(NothingStoredError, match="all 2 records read were rejected") as info:
        chute.load([1, {}], into=db_url, table="t")

    report = info.value.report
    assert report is not None
    assert counts(report) == (2, 0, 0, 2)
    assert [r.message for r in report.rejects] == [
        "expected a dict, found int",
        "an empty dict: no field to store",
    ]
    assert not table_exists(db_url, "t")


def test_csv_whose_every_row_is_refused_by_the_table_exits_4_and_leaves_it_unchanged(
    db_url: str, tmp_path: Path
) -> None:
    execute(db_url, "CREATE TABLE t (id BIGINT NOT NULL, n BIGINT)", "INSERT INTO t VALUES (7, 7)")
    path = write(tmp_path / "in.csv", "id,n\n1,x\n,2\n")

    done = cli("load", str(path), "--into", db_url, "--table", "t")

    assert done.returncode == 4, done.stderr
    assert "nothing was stored: all 2 records read were rejected" in done.stderr
    found = reject_lines(tmp_path / "t.rejects.jsonl")
    assert [(r["line"], r["column"]) for r in found] == [(2, "n"), (3, "id")]
    assert query(db_url, "SELECT id, n FROM t") == [(7, 7)]


@pytest.mark.parametrize("how", [{"mode": "replace"}, {"atomic": True}])
def test_replace_or_atomic_load_whose_every_record_is_rejected_keeps_the_table(
    db_url: str, tmp_path: Path, how: dict[str, Any]
) -> None:
    load_text(tmp_path, "id,n\n1,10\n2,20\n", db_url)
    path = write(tmp_path / "in.csv", "id,n\n3,x\n4,y\n")

    with pytest.raises(NothingStoredError) as info:
        chute.load(path, into=db_url, table="t", **how)

    report = info.value.report
    assert report is not None
    assert counts(report) == (2, 0, 0, 2)
    assert len(reject_lines(tmp_path / "t.rejects.jsonl")) == 2
    assert query(db_url, "SELECT id, n FROM t ORDER BY id") == [(1, 10), (2, 20)]
    stages = (
        "SELECT tablename FROM pg_tables WHERE tablename LIKE '\\_chute\\_stage%'"
        if is_pg(db_url)
        else "SELECT name FROM sqlite_master WHERE name LIKE '\\_chute\\_stage%' ESCAPE '\\'"
    )
    assert query(db_url, stages) == []


def test_ignore_where_every_record_is_already_there_exits_0_and_says_nothing_new(
    db_url: str, tmp_path: Path
) -> None:
    load_text(tmp_path, "id,name\n1,a\n2,b\n", db_url, mode="ignore", key="id")
    path = write(tmp_path / "again.csv", "id,name\n2,B\n1,A\n")

    done = cli(
        "load", str(path), "--into", db_url, "--table", "t", "--mode", "ignore", "--key", "id"
    )

    assert done.returncode == 0, done.stderr
    assert "read 2  written 0  skipped 2  rejected 0" in done.stdout
    assert "note: nothing new was stored: of 2 records read, 2 already in the table" in done.stdout
    assert query(db_url, "SELECT id, name FROM t ORDER BY id") == [(1, "a"), (2, "b")]


def test_ignore_storing_nothing_with_some_rejected_exits_6_and_says_so(
    db_url: str, tmp_path: Path
) -> None:
    load_text(tmp_path, "id,n\n1,10\n", db_url, mode="ignore", key="id")
    path = write(tmp_path / "again.csv", "id,n\n1,11\n2,x\n")

    done = cli(
        "load", str(path), "--into", db_url, "--table", "t", "--mode", "ignore", "--key", "id"
    )

    assert done.returncode == 6, done.stderr
    assert "note: nothing new was stored: of 2 records read, 1 rejected, 1 already" in done.stdout
    assert [r["line"] for r in reject_lines(tmp_path / "t.rejects.jsonl")] == [3]
    assert query(db_url, "SELECT id, n FROM t") == [(1, 10)]


@pytest.mark.parametrize("name", ["empty.jsonl", "empty.json"])
@pytest.mark.parametrize("text", ["", "\n\n"])
def test_json_input_with_no_records_at_all_is_exit_3(
    sqlite_url: str, tmp_path: Path, name: str, text: str
) -> None:
    path = write(tmp_path / name, text)

    done = cli("load", str(path), "--into", sqlite_url, "--table", "t")

    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith(f"error: {path}: no records")
    assert not table_exists(sqlite_url, "t")


# -- NULL keys ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["upsert", "ignore"])
@pytest.mark.parametrize("batch_rows", [1, 2, 100])
def test_null_key_in_upsert_or_ignore_is_a_rejected_record_never_a_match(
    db_url: str, tmp_path: Path, mode: str, batch_rows: int
) -> None:
    execute(
        db_url,
        "CREATE TABLE t (id BIGINT, name TEXT)",
        "CREATE UNIQUE INDEX t_id ON t (id)",
        "INSERT INTO t VALUES (1, 'old')",
    )
    text = "id,name\n,a\n1,b\n,c\n2,d\n,e\n2,f\n"
    report = load_text(tmp_path, text, db_url, mode=mode, key="id", batch_rows=batch_rows)

    found = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert [(r["line"], r["error"], r["column"]) for r in found] == [
        (2, "key", "id"),
        (4, "key", "id"),
        (6, "key", "id"),
    ]
    assert all(f"mode {mode} matches records by their key" in r["message"] for r in found)
    assert [r["record"]["name"] for r in found] == ["a", "c", "e"]
    assert query(db_url, "SELECT count(*) FROM t WHERE id IS NULL") == [(0,)]
    if mode == "upsert":
        assert counts(report) == (6, 3, 0, 3)
        assert (report.created, report.updated) == (1, 2)
        assert query(db_url, "SELECT id, name FROM t ORDER BY id") == [(1, "b"), (2, "f")]
    else:
        assert counts(report) == (6, 1, 2, 3)
        assert query(db_url, "SELECT id, name FROM t ORDER BY id") == [(1, "old"), (2, "d")]


def test_null_in_one_column_of_a_composite_key_is_rejected(db_url: str, tmp_path: Path) -> None:
    execute(
        db_url, "CREATE TABLE t (a BIGINT, b TEXT, v TEXT)", "CREATE UNIQUE INDEX t_ab ON t (a, b)"
    )
    text = "a,b,v\n1,x,one\n1,,two\n1,,three\n,x,four\n"
    report = load_text(tmp_path, text, db_url, mode="upsert", key="a,b")

    found = rejects_in(report, tmp_path / "t.rejects.jsonl")
    assert [(r["line"], r["column"]) for r in found] == [(3, "b"), (4, "b"), (5, "a")]
    assert counts(report) == (4, 1, 0, 3)
    assert query(db_url, "SELECT a, b, v FROM t") == [(1, "x", "one")]


# -- integers wider than 64 bits among other kinds ----------------------------------------

BIG = 123456789012345678901234567890


def _stored_json(url: str, value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@pytest.mark.parametrize(
    "values",
    [[BIG, "x"], [BIG, 1.5], [1.5, BIG, None], [{"deep": BIG}, 2]],
    ids=["with-text", "with-float", "float-first", "nested"],
)
def test_jsonl_integer_wider_than_64_bits_beside_other_kinds_is_stored_as_json(
    pg_url: str, tmp_path: Path, values: list[Any]
) -> None:
    text = "".join(json.dumps({"id": i, "v": v}) + "\n" for i, v in enumerate(values))
    report = load_text(tmp_path, text, pg_url, name="in.jsonl")

    check_identity(report)
    assert (report.read, report.written) == (len(values), len(values))
    assert report.columns["v"] == "json"
    # jsonb keeps every digit: compare the JSON text PostgreSQL gives back
    rows = query(pg_url, "SELECT v::text FROM t ORDER BY id")
    assert [None if t is None else json.loads(t) for (t,) in rows] == values


def test_iterable_integer_wider_than_64_bits_beside_text_is_stored_as_json(pg_url: str) -> None:
    report = chute.load([{"v": BIG}, {"v": "x"}, {"v": -BIG}], into=pg_url, table="t")

    check_identity(report)
    assert report.written == 3
    assert query(pg_url, "SELECT v::text FROM t") == [(str(BIG),), ('"x"',), (str(-BIG),)]


def test_sqlite_integer_wider_than_64_bits_beside_text_loads_without_a_crash(
    sqlite_url: str, tmp_path: Path
) -> None:
    # SQLite declares JSON columns JSON, which has NUMERIC affinity: SQLite itself turns the
    # big integer's JSON text into a REAL. The load stores every record, without a crash.
    report = load_text(tmp_path, f'{{"v": {BIG}}}\n{{"v": "x"}}\n', sqlite_url, name="in.jsonl")

    check_identity(report)
    assert report.written == 2
    assert query(sqlite_url, "SELECT v FROM t WHERE v = '\"x\"'") == [('"x"',)]
