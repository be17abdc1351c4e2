"""A checkpoint holds for the very table it was written with, and a stopped load stays
stopped until its reject limit is met."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import chute
from tests.helpers import CancelAfter, chute_cmd, execute, query, tables

ROWS = 3_000


#: batches are sized by what the memory limit leaves above the process's memory: a roomy
#: limit keeps them at the rows asked for, however much the test process holds by now
ROOMY = "64GiB"


def _csv(path: Path, rows: int = ROWS, bad: dict[int, str] | None = None) -> Path:
    bad = bad or {}
    path.write_text("id,n\n" + "".join(f"{i},{bad.get(i, i * 3)}\n" for i in range(1, rows + 1)))
    return path


def _stop_after(path: Path, url: str, batches: int, **options: object) -> chute.LoadReport:
    """Load ``path`` into table t in batches of 500 and stop after ``batches`` of them."""
    cancel = CancelAfter(batches)
    with pytest.raises(chute.Interrupted) as info:
        chute.load(
            path,
            into=url,
            table="t",
            batch_rows=500,
            memory_limit=ROOMY,  # batches of 500, whatever the test process holds by now
            workers=1,  # so it stops right after the batch it is asked to
            observers=[cancel],
            cancel=cancel.event,
            **options,  # type: ignore[arg-type]
        )
    report = info.value.report
    assert report is not None and report.written == 500 * batches
    return report


def _load(path: Path, url: str, report: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        chute_cmd(
            "load", str(path), "--into", url, "--table", "t", "--batch-rows", "500", "--quiet",
            "--report", str(report), *extra,
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


def _checkpoint(url: str) -> tuple[int, int]:
    """(completed, read_count) of the only checkpoint."""
    rows = query(url, "SELECT completed, read_count FROM _chute_checkpoints")
    assert len(rows) == 1, rows
    return int(rows[0][0]), int(rows[0][1])


def _all_rows_once(url: str, table: str = "t", rows: int = ROWS) -> None:
    assert query(url, f"SELECT count(*), count(DISTINCT id), min(id), max(id) FROM {table}") == [
        (rows, rows, 1, rows)
    ]


@pytest.mark.parametrize("made_again", [False, True], ids=["dropped", "dropped-and-made-again"])
def test_a_stopped_load_whose_table_was_dropped_starts_over_and_says_why(
    db_url: str, tmp_path: Path, made_again: bool
) -> None:
    path = _csv(tmp_path / "t.csv")
    _stop_after(path, db_url, 2)
    execute(db_url, "DROP TABLE t")
    if made_again:
        execute(db_url, "CREATE TABLE t (id bigint, n bigint)")
    done = _load(path, db_url, tmp_path / "report.json")
    assert done.returncode == 0, done.stderr
    _all_rows_once(db_url)
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["read"], report["written"], report["resumed_at"]) == (ROWS, ROWS, None)
    why = [c for c in report["changes"] if c.startswith(f"loading {path} from the beginning")]
    assert len(why) == 1 and "1,000 rows it counted are not there" in why[0], report["changes"]
    assert ("made anew" in why[0]) is made_again
    assert "from the beginning" in done.stdout
    assert _checkpoint(db_url) == (1, ROWS)
    again = _load(path, db_url, tmp_path / "again.json")
    assert again.returncode == 0 and "nothing to do" in again.stdout
    _all_rows_once(db_url)


def test_a_checkpoint_is_not_shared_with_a_table_renamed_into_place(
    db_url: str, tmp_path: Path
) -> None:
    """The table the load wrote to moved away, another took its name: a new table."""
    path = _csv(tmp_path / "t.csv")
    _stop_after(path, db_url, 1)
    execute(db_url, "ALTER TABLE t RENAME TO t_old", "CREATE TABLE t (id bigint, n bigint)")
    report = chute.load(path, into=db_url, table="t", batch_rows=500, memory_limit=ROOMY)
    assert report.resumed_at is None and report.written == ROWS
    _all_rows_once(db_url)
    assert query(db_url, "SELECT count(*) FROM t_old") == [(500,)]


def test_maintenance_of_the_table_keeps_its_checkpoint(db_url: str, tmp_path: Path) -> None:
    """SQLite's VACUUM moves tables to other pages (so the root page is no identity) and
    PostgreSQL's VACUUM FULL rewrites the table: neither makes a stopped load start over, nor
    a completed one load again."""
    sqlite = db_url.startswith("sqlite:")
    if sqlite:  # tables before t, dropped one at a time: each VACUUM moves t's pages down
        for filler in ("f1", "f2"):
            execute(
                db_url,
                f"CREATE TABLE {filler} (x)",
                f"INSERT INTO {filler} VALUES (zeroblob(99999))",
            )
    path = _csv(tmp_path / "t.csv")
    _stop_after(path, db_url, 2)
    for filler in ("f1", "f2"):
        pages = "SELECT rootpage FROM sqlite_master WHERE name = 't'"
        if sqlite:
            before = query(db_url, pages)
            execute(db_url, f"DROP TABLE {filler}", "VACUUM")
            assert query(db_url, pages) != before  # the root page is no identity
        else:
            execute(db_url, "VACUUM FULL t")
        report = chute.load(path, into=db_url, table="t", batch_rows=500, memory_limit=ROOMY)
        if filler == "f1":  # stopped: goes on
            assert report.resumed_at is not None and (report.read, report.written) == (ROWS, ROWS)
        else:  # completed: nothing to do
            assert report.nothing_to_do
        _all_rows_once(db_url)


def test_a_widened_sqlite_table_is_still_the_table_of_its_checkpoint(
    sqlite_url: str, tmp_path: Path
) -> None:
    """SQLite widens a column by rebuilding the table; the load's identity of it stays."""
    path = _csv(tmp_path / "t.csv", bad={700: "seven hundred"})  # n widens to text there
    report = _stop_after(path, sqlite_url, 2)
    assert any("widened" in c for c in report.changes)
    resumed = chute.load(path, into=sqlite_url, table="t", batch_rows=500)
    assert resumed.resumed_at is not None and (resumed.read, resumed.written) == (ROWS, ROWS)
    _all_rows_once(sqlite_url)


def _stage_tables(url: str) -> list[str]:
    return [t for t in tables(url) if t.startswith("_chute_stage_")]


def test_a_staged_load_whose_stage_table_was_dropped_starts_over(
    db_url: str, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "t.csv")
    _stop_after(path, db_url, 3, atomic=True)
    (stage,) = _stage_tables(db_url)
    execute(db_url, f"DROP TABLE {stage}")
    report = chute.load(path, into=db_url, table="t", batch_rows=500, atomic=True)
    assert report.resumed_at is None and (report.read, report.written) == (ROWS, ROWS)
    assert any(f"its stage table {stage} was dropped since" in c for c in report.changes)
    _all_rows_once(db_url)
    assert not _stage_tables(db_url)


def test_a_stopped_atomic_load_stays_stopped_until_its_reject_limit_is_met(
    db_url: str, tmp_path: Path
) -> None:
    execute(
        db_url, "CREATE TABLE t (id bigint PRIMARY KEY, n bigint)", "INSERT INTO t VALUES (0, 0)"
    )
    path = _csv(tmp_path / "t.csv", bad={1_234: "oops"})
    rejects = tmp_path / "t.rejects.jsonl"
    atomic = ("--atomic", "--max-errors", "0")
    for _ in range(2):  # the same command again stays stopped
        stopped = _load(path, db_url, tmp_path / "stopped.json", *atomic)
        assert stopped.returncode == 4, stopped.stderr
        assert "1 records rejected, more than --max-errors 0" in stopped.stderr
        assert query(db_url, "SELECT id, n FROM t") == [(0, 0)]
        report = json.loads((tmp_path / "stopped.json").read_text())
        assert (report["status"], report["rejected"], report["rejects_to"]) == (
            "failed",
            1,
            str(rejects),
        )
    assert len(rejects.read_text().splitlines()) == 1
    met = _load(path, db_url, tmp_path / "met.json", "--atomic", "--max-errors", "1")
    assert met.returncode == 6, met.stderr
    assert f"rejected 1 (to {rejects})" in met.stdout and "(to None)" not in met.stdout
    assert query(db_url, "SELECT count(*), count(DISTINCT id) FROM t") == [(ROWS, ROWS)]
    assert query(db_url, "SELECT count(*) FROM t WHERE id = 1234") == [(0,)]
    assert [json.loads(line)["line"] for line in rejects.read_text().splitlines()] == [1_235]
    report = json.loads((tmp_path / "met.json").read_text())
    assert (report["read"], report["written"], report["rejected"]) == (ROWS, ROWS - 1, 1)


def test_a_stopped_atomic_load_of_a_fixed_file_publishes_with_restart(
    db_url: str, tmp_path: Path
) -> None:
    execute(db_url, "CREATE TABLE t (id bigint PRIMARY KEY, n bigint)")
    path = _csv(tmp_path / "t.csv", bad={10: "oops"})
    atomic = ("--atomic", "--max-errors", "0")
    stopped = _load(path, db_url, tmp_path / "r.json", *atomic)
    assert stopped.returncode == 4, stopped.stderr
    _csv(path)  # fixed
    changed = _load(path, db_url, tmp_path / "r.json", *atomic)
    assert changed.returncode == 2 and "changed since" in changed.stderr
    assert query(db_url, "SELECT count(*) FROM t") == [(0,)]
    fresh = _load(path, db_url, tmp_path / "r.json", *atomic, "--restart")
    assert fresh.returncode == 0, fresh.stderr
    _all_rows_once(db_url)
    assert not _stage_tables(db_url)


def test_a_sqlite_load_completed_before_tables_were_marked_is_not_loaded_again(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A checkpoint completed by an earlier chute kept the table's rootpage as its token:
    running the same load again still does nothing (an append would store it twice)."""
    path = _csv(tmp_path / "t.csv", rows=50)
    chute.load(path, into=sqlite_url, table="t")
    (rootpage,) = query(sqlite_url, "SELECT rootpage FROM sqlite_master WHERE name = 't'")[0]
    (trigger,) = query(sqlite_url, "SELECT name FROM sqlite_master WHERE type = 'trigger'")[0]
    execute(
        sqlite_url,
        f'DROP TRIGGER "{trigger}"',
        f"UPDATE _chute_checkpoints SET table_token = '{rootpage}'",
    )
    again = chute.load(path, into=sqlite_url, table="t")
    assert again.nothing_to_do
    assert query(sqlite_url, "SELECT count(*) FROM t") == [(50,)]
