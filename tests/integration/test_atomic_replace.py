"""--atomic and --mode replace: the table changes all at once, or not at all."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import chute
from tests.helpers import execute, query


def _csv(path: Path, ids: range, name: str = "n") -> Path:
    path.write_text("id,name\n" + "".join(f"{i},{name}{i}\n" for i in ids))
    return path


class _Watch:
    """An observer that checks, after each committed batch, what readers of the table see."""

    def __init__(self, url: str, table: str, stop_after: int | None = None) -> None:
        self.url, self.table, self.stop_after = url, table, stop_after
        self.seen: list[int] = []
        self.cancel = threading.Event()

    def on_start(self, report: chute.LoadReport, total_bytes: int | None) -> None:
        pass

    def on_batch(self, report: chute.LoadReport, bytes_read: int) -> None:
        self.seen.append(query(self.url, f"SELECT count(*) FROM {self.table}")[0][0])
        if self.stop_after is not None and report.batches >= self.stop_after:
            self.cancel.set()

    def on_finish(self, report: chute.LoadReport) -> None:
        pass


def test_atomic_load_is_invisible_until_it_is_all_in(db_url: str, tmp_path: Path) -> None:
    execute(
        db_url,
        "CREATE TABLE t (id bigint PRIMARY KEY, name text)",
        "INSERT INTO t VALUES (1, 'old')",
    )
    watch = _Watch(db_url, "t")
    path = _csv(tmp_path / "t.csv", range(1, 1001))
    report = chute.load(
        path, into=db_url, mode="upsert", key="id", atomic=True, batch_rows=100, observers=[watch]
    )
    assert watch.seen == [1] * 10  # readers saw the old table until the end
    assert (report.created, report.updated, report.written) == (999, 1, 1000)
    assert query(db_url, "SELECT count(*) FROM t") == [(1000,)]
    assert query(db_url, "SELECT name FROM t WHERE id = 1") == [("n1",)]
    assert not _stage_tables(db_url)


def test_atomic_load_refused_at_the_end_leaves_the_table_as_it_was(
    db_url: str, tmp_path: Path
) -> None:
    execute(
        db_url,
        "CREATE TABLE t (id bigint PRIMARY KEY, name text)",
        "INSERT INTO t VALUES (500, 'old')",
    )
    path = _csv(tmp_path / "t.csv", range(1, 1001))
    with pytest.raises(chute.RecordError, match="t is unchanged"):
        chute.load(path, into=db_url, atomic=True, batch_rows=100)  # append: 500 clashes
    assert query(db_url, "SELECT id, name FROM t") == [(500, "old")]


def test_interrupted_atomic_load_resumes_and_publishes_once(db_url: str, tmp_path: Path) -> None:
    path = _csv(tmp_path / "new.csv", range(1, 1001))
    watch = _Watch(db_url, "_chute_checkpoints", stop_after=3)
    with pytest.raises(chute.Interrupted):
        chute.load(
            path,
            into=db_url,
            table="fresh",
            atomic=True,
            batch_rows=100,
            observers=[watch],
            cancel=watch.cancel,
        )
    assert "fresh" not in _tables(db_url)  # nothing visible yet
    report = chute.load(path, into=db_url, table="fresh", atomic=True, batch_rows=100)
    assert report.resumed_at is not None
    assert (report.read, report.written) == (1000, 1000)
    assert query(db_url, "SELECT count(*), count(DISTINCT id) FROM fresh") == [(1000, 1000)]
    assert not _stage_tables(db_url)


def test_replace_swaps_the_table_at_the_end(db_url: str, tmp_path: Path) -> None:
    execute(
        db_url,
        "CREATE TABLE t (id bigint PRIMARY KEY, name text NOT NULL)",
        "INSERT INTO t VALUES (1, 'old'), (2, 'old')",
    )
    watch = _Watch(db_url, "t")
    path = _csv(tmp_path / "t.csv", range(10, 510), name="new")
    report = chute.load(path, into=db_url, mode="replace", batch_rows=100, observers=[watch])
    assert watch.seen == [2] * 5
    assert report.written == 500
    assert query(db_url, "SELECT min(id), max(id), count(*) FROM t") == [(10, 509, 500)]
    assert any("replaced t in one transaction" in c for c in report.changes)
    # the table keeps its shape: key and NOT NULL still hold
    with pytest.raises(Exception, match=r"(?i)unique|primary|not null|constraint"):
        execute(db_url, "INSERT INTO t VALUES (10, 'dup')")
    assert not _stage_tables(db_url)


def test_replace_that_fails_leaves_the_old_table_untouched(db_url: str, tmp_path: Path) -> None:
    execute(
        db_url,
        "CREATE TABLE t (id bigint PRIMARY KEY, name text)",
        "INSERT INTO t VALUES (1, 'old')",
    )
    path = tmp_path / "t.csv"
    path.write_text("id,name\n1,a\n2,b\n3,c,EXTRA\n4,d\n")
    with pytest.raises(chute.TooManyRejectsError):
        chute.load(
            path, into=db_url, mode="replace", max_errors=0, rejects=str(tmp_path / "r.jsonl")
        )
    assert query(db_url, "SELECT id, name FROM t") == [(1, "old")]


def test_replace_creates_a_missing_table(db_url: str, tmp_path: Path) -> None:
    path = _csv(tmp_path / "brand_new.csv", range(1, 11))
    report = chute.load(path, into=db_url, mode="replace")
    assert report.written == 10
    assert query(db_url, "SELECT count(*) FROM brand_new") == [(10,)]


def _tables(url: str) -> set[str]:
    if url.startswith("sqlite"):
        return {r[0] for r in query(url, "SELECT name FROM sqlite_master WHERE type='table'")}
    return {r[0] for r in query(url, "SELECT tablename FROM pg_tables WHERE schemaname='public'")}


def _stage_tables(url: str) -> set[str]:
    return {t for t in _tables(url) if t.startswith("_chute_stage")}


@pytest.mark.postgres
def test_replace_of_a_table_a_view_depends_on_is_refused_and_changes_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    execute(
        pg_url,
        "CREATE TABLE t (id bigint PRIMARY KEY, name text)",
        "INSERT INTO t VALUES (1, 'old')",
        "CREATE VIEW v AS SELECT * FROM t",
    )
    path = _csv(tmp_path / "t.csv", range(1, 4))
    # a dependent view is the user's setup, not a failing database: exit 2, by SQLSTATE
    with pytest.raises(chute.ConfigError, match="depend") as refused:
        chute.load(path, into=pg_url, mode="replace")
    assert refused.value.sqlstate == "2BP01"
    assert query(pg_url, "SELECT id, name FROM v") == [(1, "old")]
