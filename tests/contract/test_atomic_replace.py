"""Contract: ``atomic=True`` and ``mode="replace"`` change the table all at once or not at
all, on every sink: readers see the old table until the swap, and a load that fails leaves
it as it was.  (Killed staged loads: ``test_crash_resume.py``.)"""

from __future__ import annotations

from pathlib import Path

import pytest

import chute
from tests.contract.loading import load, write
from tests.contract.targets import SinkTarget


def _csv(target: SinkTarget, ids: range, name: str = "n") -> Path:
    return write(target, "t.csv", "id,name\n" + "".join(f"{i},{name}{i}\n" for i in ids))


class Watch:
    """An observer that counts the table's rows from another connection after each
    committed batch (what a reader sees while the load runs)."""

    def __init__(self, target: SinkTarget, table: str = "t") -> None:
        self.target, self.table = target, table
        self.seen: list[int] = []

    def on_start(self, report: chute.LoadReport, total_bytes: int | None) -> None:
        pass

    def on_batch(self, report: chute.LoadReport, bytes_read: int) -> None:
        self.seen.append(self.target.db.count(self.table))

    def on_finish(self, report: chute.LoadReport) -> None:
        pass


def _old_table(target: SinkTarget, *rows: str) -> None:
    target.db.execute(
        "CREATE TABLE t (id bigint NOT NULL PRIMARY KEY, name varchar(20) NOT NULL)",
        *(f"INSERT INTO t VALUES {row}" for row in rows),
    )


def _watchers(target: SinkTarget) -> list[Watch]:
    if not target.spec.concurrent_readers:
        pytest.skip(f"{target.name}: no second connection while a load runs in this process")
    return [Watch(target)]


def _staging_tables(target: SinkTarget) -> set[str]:
    return {t for t in target.db.tables() if t.startswith("_chute_stage")}


def test_an_atomic_upsert_is_invisible_until_it_is_all_in(target: SinkTarget) -> None:
    _old_table(target, "(1, 'old')")
    [watch] = _watchers(target)
    path = _csv(target, range(1, 301))

    report = load(
        target, path, mode="upsert", key="id", atomic=True, batch_rows=50, observers=[watch]
    )

    assert watch.seen == [1] * 6
    assert (report.created, report.updated, report.written) == (299, 1, 300)
    assert target.db.count("t") == 300
    assert target.db.query("SELECT name FROM t WHERE id = 1") == [("n1",)]
    assert not _staging_tables(target)


def test_an_atomic_load_refused_at_the_end_leaves_the_table_as_it_was(
    target: SinkTarget,
) -> None:
    _old_table(target, "(150, 'old')")
    path = _csv(target, range(1, 301))

    with pytest.raises(chute.RecordError, match="t is unchanged"):
        chute.load(path, into=target.url, table="t", atomic=True, batch_rows=50)

    # (its stage table may stay for a rerun to resume from; the target is unchanged)
    assert target.db.rows("t") == [(150, "old")]


def test_replace_keeps_the_old_table_until_the_swap(target: SinkTarget) -> None:
    _old_table(target, "(1, 'old')", "(2, 'old')")
    [watch] = _watchers(target)
    path = _csv(target, range(10, 260), name="new")

    report = load(target, path, mode="replace", batch_rows=50, observers=[watch])

    assert watch.seen == [2] * 5
    assert report.written == 250
    assert target.db.query("SELECT min(id), max(id), count(*) FROM t") == [(10, 259, 250)]
    assert not _staging_tables(target)


def test_replace_keeps_the_shape_of_the_table_its_key_and_not_null(target: SinkTarget) -> None:
    _old_table(target, "(1, 'old')")
    load(target, _csv(target, range(5, 10)), mode="replace")

    assert list(target.db.column_types("t")) == ["id", "name"]
    with pytest.raises(Exception, match=r"(?i)unique|primary|duplicate|constraint"):
        target.db.execute("INSERT INTO t VALUES (5, 'again')")
    with pytest.raises(Exception, match=r"(?i)null"):
        target.db.execute("INSERT INTO t VALUES (100, NULL)")
    assert target.db.count("t") == 5


def test_replace_that_fails_leaves_the_old_table_untouched(target: SinkTarget) -> None:
    _old_table(target, "(1, 'old')")
    path = write(target, "t.csv", "id,name\n1,a\n2,b\n3,c,EXTRA\n4,d\n")

    with pytest.raises(chute.TooManyRejectsError):
        chute.load(
            path,
            into=target.url,
            table="t",
            mode="replace",
            max_errors=0,
            rejects=str(target.tmp / "r.jsonl"),
        )

    assert target.db.rows("t") == [(1, "old")]


def test_replace_creates_a_missing_table(target: SinkTarget) -> None:
    report = load(target, _csv(target, range(1, 11)), table="brand_new", mode="replace")

    assert report.written == 10 and report.table_created
    assert target.db.count("brand_new") == 10
