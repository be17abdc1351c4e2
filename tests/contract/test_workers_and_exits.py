"""Contract: ``--workers 2`` on a sink with parallel writers stores every row once and the
same rows and rejects as one writer (a sink without them says it uses one); and the exit
codes of the command line: a header-only file is 3, a load that stores nothing is 4."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.contract.loading import cli, rejects_of, report_of, write
from tests.contract.targets import SinkTarget


def _workers(target: SinkTarget, table: str, path: Path, *args: str) -> dict[str, Any]:
    report_path = target.tmp / f"{table}.report.json"
    done = cli(target, path, "--workers", "2", "--report", str(report_path), *args, table=table)
    assert done.returncode in (0, 6), done.stderr
    report = report_of(report_path)
    assert report["workers"] == (2 if target.spec.parallel_writers else 1)
    if not target.spec.parallel_writers:
        assert any("one writer" in c for c in report["changes"]), report["changes"]
    return report


def test_two_writers_store_every_row_exactly_once(target: SinkTarget) -> None:
    lines = ["id,name,amount"] + [f"{i},n{i % 7},{i}.{i % 100:02d}" for i in range(3_000)]
    path = write(target, "orders.csv", "\n".join(lines) + "\n")

    report = _workers(target, "orders", path, "--batch-rows", "100")

    assert (report["read"], report["written"], report["batches"]) == (3_000, 3_000, 30)
    assert target.db.query("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM orders") == [
        (3_000, 3_000, 0, 2_999)
    ]
    again = _workers(target, "orders", path, "--batch-rows", "100")
    assert again["nothing_to_do"] is True
    assert target.db.count("orders") == 3_000


def test_two_writers_upsert_the_later_record_in_the_input_wins(target: SinkTarget) -> None:
    rng = random.Random(11)
    lines, last = ["id,version"], {}
    for version in range(2_000):
        key = rng.randrange(60)
        lines.append(f"{key},{version}")
        last[key] = version
    path = write(target, "events.csv", "\n".join(lines) + "\n")

    report = _workers(
        target, "events", path, "--mode", "upsert", "--key", "id", "--batch-rows", "50"
    )

    assert (report["created"], report["updated"]) == (len(last), 2_000 - len(last))
    assert dict(target.db.rows("events")) == last


def test_two_writers_reject_the_same_later_duplicates_as_one_writer(target: SinkTarget) -> None:
    lines = ["id,name"] + [f"{i},n{i}" for i in range(2_000)]
    lines += [f"{i},again{i}" for i in range(0, 2_000, 97)]
    path = write(target, "people.csv", "\n".join(lines) + "\n")
    found = {}
    for workers in ("1", "2"):
        table = f"people_{workers}"
        target.db.execute(
            f"CREATE TABLE {table} (id bigint NOT NULL PRIMARY KEY, name varchar(20))"
        )
        rejects = target.tmp / f"{table}.rejects.jsonl"
        done = cli(
            target, path, "--workers", workers, "--batch-rows", "100", "--rejects", str(rejects),
            table=table,
        )  # fmt: skip
        assert done.returncode == 6, done.stderr  # completed, with rejects
        found[workers] = [r["line"] for r in rejects_of(rejects)]
        assert target.db.count(table) == 2_000
    assert found["2"] == found["1"] == [2_002 + n for n in range(len(range(0, 2_000, 97)))]


def test_a_header_only_file_exits_3_and_creates_no_table(target: SinkTarget) -> None:
    path = write(target, "empty.csv", "id,name\n")

    done = cli(target, path, table="empty")

    assert done.returncode == 3, (done.stdout, done.stderr)
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert not target.db.exists("empty")


@pytest.mark.parametrize("batch_rows", ["1", "100"])
def test_a_load_that_stores_nothing_exits_4(target: SinkTarget, batch_rows: str) -> None:
    target.db.execute("CREATE TABLE nums (id bigint NOT NULL, n integer)")
    path = write(target, "nums.csv", "id,n\nx,1\ny,2\nz,3\n")

    done = cli(target, path, "--batch-rows", batch_rows, table="nums")

    assert done.returncode == 4, (done.stdout, done.stderr)
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert target.db.count("nums") == 0
    assert [r["line"] for r in rejects_of(target.tmp / "nums.rejects.jsonl")] == [2, 3, 4]
