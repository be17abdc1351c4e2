"""Every crash window, on purpose: ``chute load`` run with a fault point armed
(``CHUTE_FAULT=<point>:<nth>:<action>``, see ``chute.engine.faults``), then the same command
again unarmed, ends exactly as a clean run does: the same table, the same reject file, the
same counts in the report.

Each test first runs the load cleanly, keeps what it left, puts the database back as it was,
and then runs it with the fault.  Batches are small (``--batch-rows 10``) so the faults land
mid-file, and the file holds records that are rejected, some by chute (a value that is not a
number, an empty NOT NULL column) and some by the database (a key already in the input), at
the first and last rows of batches.

Bugs planted by hand, one at a time, that today's other tests do not catch, and the tests
here (or in ``test_consume_faults.py``) that fail on each:

- acking a queue batch before its commit: ``test_a_crash_before_a_batch_commits_loses_no_message``
- ignoring the message ledger (a redelivered append stored twice):
  ``test_a_crash_between_commit_and_ack_stores_no_message_twice``
- a resume that keeps a stale reject (the reject of the record it resumes at, or all of
  them): ``test_a_resume_between_batches_keeps_each_boundary_reject_once``,
  ``test_a_crash_in_a_window_then_a_rerun_equals_a_clean_load[*-before-commit:3:kill]``
- an upsert checkpoint one row short when a key repeats inside a batch:
  ``test_an_upsert_with_keys_repeated_in_a_batch_resumes_with_the_clean_counts``
  (``after-commit:1``, ``before-commit:3``)
- the completion mark of --atomic / --mode replace written outside the publish
  transaction: ``test_a_staged_load_crashed_in_a_window_leaves_the_table_then_publishes_once``
  (``completion-mark:1``)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import execute, query

pytestmark = pytest.mark.slow

BATCH = 10
#: the columns of the report that must equal a clean run's
COUNTS = ("status", "read", "written", "created", "updated", "skipped", "rejected")
KILLED = -signal.SIGKILL
EXIT_DATABASE = 5


_CLEAN: dict[tuple[Any, ...], Outcome] = {}


@dataclass
class Outcome:
    """What a run of a load left behind."""

    code: int
    table: list[tuple[Any, ...]]
    rejects: list[dict[str, Any]]
    report: dict[str, Any]
    stderr: str

    def counts(self) -> dict[str, Any]:
        return {name: self.report.get(name) for name in COUNTS}


class Load:
    """One load command (``chute load`` of ``path`` into ``table``) and its surroundings."""

    def __init__(
        self,
        url: str,
        tmp: Path,
        lines: list[str],
        ddl: list[str],
        *extra: str,
        table: str = "orders",
        rejects: str | None = None,
    ) -> None:
        self.url = url
        self.tmp = tmp
        self.table = table
        self.ddl = ddl
        self.extra = extra
        self.path = tmp / "orders.csv"
        self.path.write_text("\n".join(lines) + "\n")
        kind = "table" if rejects else "file"
        self.identity = (url.split(":", 1)[0], kind, tuple(lines), tuple(ddl), extra)
        self.rejects_path = tmp / "orders.rejects.jsonl"
        #: --rejects: the file, or table:NAME
        self.rejects = rejects or str(self.rejects_path)
        self.report_path = tmp / "report.json"

    def reset(self) -> None:
        """The database and the files as before any run."""
        execute(self.url, *self.ddl)
        if self.rejects.startswith("table:"):
            execute(self.url, f"DROP TABLE IF EXISTS {self.rejects[6:]}")
        with contextlib.suppress(Exception):  # no load ran yet
            execute(self.url, "DELETE FROM _chute_checkpoints")
        for path in (self.rejects_path, self.report_path):
            path.unlink(missing_ok=True)

    def run(self, fault: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "CHUTE_FAULT"}
        if fault is not None:
            env["CHUTE_FAULT"] = fault
        self.report_path.unlink(missing_ok=True)
        cmd = [
            sys.executable, "-m", "chute", "load", str(self.path), "--into", self.url,
            "--table", self.table, "--batch-rows", str(BATCH), "--rejects",
            self.rejects, "--report", str(self.report_path), "--quiet", *self.extra,
        ]  # fmt: skip
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)

    def outcome(self, proc: subprocess.CompletedProcess[str]) -> Outcome:
        report = json.loads(self.report_path.read_text()) if self.report_path.exists() else {}
        return Outcome(
            proc.returncode,
            self.rows(),
            self.reject_lines(),
            report,
            proc.stderr,
        )

    def rows(self) -> list[tuple[Any, ...]]:
        return query(self.url, f"SELECT * FROM {self.table} ORDER BY 1")

    def reject_lines(self) -> list[dict[str, Any]]:
        """The reject file's records.  A duplicate key's reason is the database's own
        words, or chute's once it looks keys up first (after the first refusal in a
        process), so only that it was the database and the record are compared."""
        if self.rejects.startswith("table:"):
            columns = ["record_number", "line", "error", "raw"]
            rows = query(
                self.url, f"SELECT {', '.join(columns)} FROM {self.rejects[6:]} ORDER BY 1"
            )
            return [dict(zip(columns, row, strict=True)) for row in rows]
        if not self.rejects_path.exists():
            return []
        lines = [json.loads(line) for line in self.rejects_path.read_text().splitlines()]
        for line in lines:
            line["source"] = Path(line["source"]).name  # runs of other tests compare too
            if line["error"] == "database":
                line["message"] = line["sqlstate"] = "(the database's)"
        return lines

    def clean(self) -> Outcome:
        """A clean run's outcome (one run per input, options and database kind, kept for
        the tests after); the database is put back as it was before it."""
        self.reset()
        clean = _CLEAN.get(self.identity)
        if clean is None:
            clean = _CLEAN[self.identity] = self.outcome(self.run())
            self.reset()
        assert clean.code in (0, 6), clean.stderr
        assert clean.report["status"] == "completed"
        return clean

    def crash_then_rerun(self, fault: str, expect: int = KILLED) -> tuple[Outcome, Outcome]:
        """Run with ``fault`` armed (it must fire: the run is killed or fails), then again."""
        armed = self.run(fault)
        assert armed.returncode == expect, (armed.returncode, armed.stdout, armed.stderr)
        if expect == EXIT_DATABASE:
            assert "fault point" in armed.stderr, armed.stderr
        crashed = self.outcome(armed)
        return crashed, self.outcome(self.run())


def _assert_same(rerun: Outcome, clean: Outcome) -> None:
    assert rerun.code == clean.code, rerun.stderr
    assert rerun.table == clean.table
    assert rerun.rejects == clean.rejects
    assert rerun.counts() == clean.counts()
    r = rerun.report
    assert r["read"] == r["written"] + r["skipped"] + r["rejected"]


# -- the input --------------------------------------------------------------------------

ORDERS_DDL = [
    "DROP TABLE IF EXISTS orders",
    "CREATE TABLE orders (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(10,2))",
]

#: record numbers (from 1) rejected, and why: first and last rows of batches, and inside
BAD_SHAPE = {1, 10, 11, 27, 40}  # a field too many: the CSV reader rejects it
NO_NAME = {20, 21, 33}  # NOT NULL: chute rejects it
#: an id already in the input (record: id): the database refuses it
REPEATED = {15: 12, 30: 26, 31: 28, 50: 47, 58: 55}
RECORDS = 60


def _orders() -> list[str]:
    lines = ["id,name,amount"]
    for n in range(1, RECORDS + 1):
        id_ = REPEATED.get(n, n)
        name = "" if n in NO_NAME else f"name {n}"
        extra = ",extra" if n in BAD_SHAPE else ""
        lines.append(f"{id_},{name},{n}.{n % 100:02d}{extra}")
    return lines


@pytest.fixture
def orders(db_url: str, tmp_path: Path) -> Load:
    return Load(db_url, tmp_path, _orders(), ORDERS_DDL)


def test_the_clean_load_rejects_what_the_faults_need(orders: Load) -> None:
    clean = orders.clean()
    assert [r["record_number"] for r in clean.rejects] == sorted(
        BAD_SHAPE | NO_NAME | set(REPEATED)
    )
    assert clean.counts() == {
        "status": "completed",
        "read": RECORDS,
        "written": RECORDS - 13,
        "created": RECORDS - 13,
        "updated": 0,
        "skipped": 0,
        "rejected": 13,
    }


# -- a plain load, each window ------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        "batch-written:4:kill",
        "before-commit:3:kill",
        "after-commit:2:kill",
        "completion-mark:1:kill",
    ],
)
def test_a_crash_in_a_window_then_a_rerun_equals_a_clean_load(orders: Load, fault: str) -> None:
    clean = orders.clean()
    _, rerun = orders.crash_then_rerun(fault)
    _assert_same(rerun, clean)


def test_a_commit_that_fails_stops_the_load_and_a_rerun_equals_a_clean_load(orders: Load) -> None:
    clean = orders.clean()
    failed, rerun = orders.crash_then_rerun("before-commit:4:raise", EXIT_DATABASE)
    assert failed.report["status"] == "failed"
    # the failed run's report counts what it committed, and that is what the table holds
    assert failed.report["written"] == len(failed.table)
    assert failed.report["read"] == (
        failed.report["written"] + failed.report["skipped"] + failed.report["rejected"]
    )
    _assert_same(rerun, clean)


@pytest.fixture
def orders_in_sqlite(sqlite_url: str, tmp_path: Path) -> Load:
    """The reject file does not depend on the database: these run on SQLite only."""
    return Load(sqlite_url, tmp_path, _orders(), ORDERS_DDL)


def test_a_crash_while_the_reject_file_is_rewritten_on_resume_keeps_the_earlier_rejects(
    orders_in_sqlite: Load,
) -> None:
    orders = orders_in_sqlite
    clean = orders.clean()
    crashed = orders.run("before-commit:4:kill")  # the rejects of batch 4 are in the file
    assert crashed.returncode == KILLED, crashed.stderr
    before = orders.reject_lines()
    resumed = orders.run("rejects-forgotten:1:kill")  # killed while it drops them
    assert resumed.returncode == KILLED, resumed.stderr
    assert orders.reject_lines() == before
    _assert_same(orders.outcome(orders.run()), clean)


def test_a_reject_file_torn_by_a_crash_mid_line_is_mended_on_resume(
    orders_in_sqlite: Load,
) -> None:
    orders = orders_in_sqlite
    clean = orders.clean()
    crashed = orders.run("before-commit:2:kill")  # rejects of batch 2: not committed
    assert crashed.returncode == KILLED, crashed.stderr
    torn = orders.rejects_path.read_bytes()
    orders.rejects_path.write_bytes(torn[:-7])  # as if killed while writing the last line
    _assert_same(orders.outcome(orders.run()), clean)


def test_rejects_to_a_table_commit_with_their_batch_through_a_crash(
    db_url: str, tmp_path: Path
) -> None:
    """The first reject written to a table of rejects must not commit the batch's rows
    early (it did on PostgreSQL: reading the table's columns committed the transaction)."""
    load = Load(db_url, tmp_path, _orders(), ORDERS_DDL, rejects="table:rejected")
    clean = load.clean()
    assert len(clean.rejects) == 13
    _crashed, rerun = load.crash_then_rerun("before-commit:1:kill")
    _assert_same(rerun, clean)


# -- rejects at batch boundaries ------------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 2])
def test_a_resume_between_batches_keeps_each_boundary_reject_once(orders: Load, batch: int) -> None:
    """Batch 1 rejects its first and last rows, batch 2 its first and last, ...: a crash
    after batch N's commit, or before batch N+1's, and the rerun writes each reject once."""
    clean = orders.clean()
    for fault in (f"after-commit:{batch}:kill", f"before-commit:{batch + 1}:kill"):
        orders.reset()
        _, rerun = orders.crash_then_rerun(fault)
        _assert_same(rerun, clean)


# -- upsert with keys repeated inside a batch ------------------------------------------------

UPSERT_DDL = [
    "DROP TABLE IF EXISTS orders",
    "CREATE TABLE orders (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(10,2))",
    "INSERT INTO orders VALUES (2, 'old 2', 0), (7, 'old 7', 0), (100, 'old 100', 0)",
]


def _upserts() -> list[str]:
    """Ids repeat inside batches (1,1,1 at the end of batch 1; 7 and 2 again and again),
    across batches, and in rejected records."""
    ids = [3, 2, 4, 7, 5, 7, 6, 1, 1, 1]  # batch 1
    ids += [8, 2, 9, 2, 10, 11, 7, 12, 13, 12]  # batch 2
    ids += [14, 14, 15, 16, 17, 2, 18, 19, 20, 20]  # batch 3
    ids += [21, 1, 22, 23, 100, 24, 25, 26, 7, 27]  # batch 4
    ids += [28, 28, 28, 29, 30, 30, 31, 2, 32, 33]  # batch 5
    lines = ["id,name,amount"]
    for n, id_ in enumerate(ids, 1):
        extra = ",extra" if n in (10, 20, 21) else ""
        lines.append(f"{id_},v{n},{n}.00{extra}")
    return lines


@pytest.fixture
def upsert(db_url: str, tmp_path: Path) -> Load:
    return Load(db_url, tmp_path, _upserts(), UPSERT_DDL, "--mode", "upsert", "--key", "id")


@pytest.mark.parametrize(
    "fault",
    [
        "after-commit:1:kill",
        "before-commit:3:kill",
        "completion-mark:1:kill",
        "before-commit:2:raise",
    ],
)
def test_an_upsert_with_keys_repeated_in_a_batch_resumes_with_the_clean_counts(
    upsert: Load, fault: str
) -> None:
    clean = upsert.clean()
    assert clean.report["updated"] > 0 and clean.report["rejected"] == 3
    expect = EXIT_DATABASE if fault.endswith(":raise") else KILLED
    _, rerun = upsert.crash_then_rerun(fault, expect)
    _assert_same(rerun, clean)


# -- staged loads: --atomic and --mode replace -----------------------------------------------

OLD_ROWS = "INSERT INTO orders VALUES (1000, 'old', 1), (1001, 'old', 2)"


@pytest.mark.parametrize(
    ("how", "fault"),
    [
        ("--mode replace", "before-commit:3:kill"),
        ("--mode replace", "stage-published:1:kill"),
        ("--mode replace", "completion-mark:1:kill"),
        ("--mode replace", "stage-published:1:raise"),
        ("--atomic", "stage-published:1:kill"),
        ("--atomic", "completion-mark:1:kill"),
    ],
)
def test_a_staged_load_crashed_in_a_window_leaves_the_table_then_publishes_once(
    db_url: str, tmp_path: Path, how: str, fault: str
) -> None:
    staged = Load(db_url, tmp_path, _orders(), [*ORDERS_DDL, OLD_ROWS], *how.split())
    clean = staged.clean()
    old = staged.rows()
    assert [row[0] for row in old] == [1000, 1001]
    expect = EXIT_DATABASE if fault.endswith(":raise") else KILLED
    crashed, rerun = staged.crash_then_rerun(fault, expect)
    assert crashed.table == old  # all or nothing: the crash left the table as it was
    _assert_same(rerun, clean)
    again = staged.outcome(staged.run())  # and once more: nothing to do, the table stays
    assert again.code == 0 and again.table == clean.table
