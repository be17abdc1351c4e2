"""Contract: ``chute load`` killed with SIGKILL at a fault point (``CHUTE_FAULT=<point>:<nth>:
kill``), then run again, leaves exactly what a clean run leaves, on every sink: each row
once, the same rejects, and a report counting the whole load.  Staged loads (``--atomic``,
``--mode replace``) killed mid-way leave the table as it was, then publish once."""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.contract.loading import cli, load, rejects_of, report_of, write
from tests.contract.targets import SinkTarget

ROWS = 800
BATCH = 25
KILLED = -signal.SIGKILL
#: record numbers whose line has a field too many, and whose id repeats an earlier one
BAD_SHAPE = {7, 25, 26, 700}
REPEATED = {81: 3, 500: 499, 751: 80}


def _orders(target: SinkTarget) -> Path:
    lines = ["id,name,amount,note"]
    for n in range(1, ROWS + 1):
        note = f'"two\nlines {n}"' if n % 97 == 0 else f"note {n}"
        extra = ",EXTRA" if n in BAD_SHAPE else ""
        lines.append(f"{REPEATED.get(n, n)},name {n % 13},{n % 1000}.{n % 100:02d},{note}{extra}")
    return write(target, "orders.csv", "\n".join(lines) + "\n")


class Run:
    """One load command into ``table``, with its own reject file and report."""

    def __init__(self, target: SinkTarget, table: str, *args: str) -> None:
        self.target, self.table, self.args = target, table, args
        self.path = _orders(target)
        self.rejects = target.tmp / f"{table}.rejects.jsonl"
        self.report = target.tmp / f"{table}.report.json"

    def __call__(self, fault: str | None = None) -> int:
        done = cli(
            self.target,
            self.path,
            "--batch-rows", str(BATCH),
            "--rejects", str(self.rejects),
            "--report", str(self.report),
            *self.args,
            fault=fault,
            table=self.table,
        )  # fmt: skip
        if fault is None:
            assert done.returncode in (0, 6), done.stderr
        return done.returncode

    def outcome(self) -> tuple[list[tuple[Any, ...]], list[tuple[int, str]], dict[str, Any]]:
        rows = self.target.db.rows(self.table)
        rejects = [(r["line"], r["error"]) for r in rejects_of(self.rejects)]
        report = report_of(self.report)
        counts = {k: report[k] for k in ("read", "written", "created", "updated", "rejected")}
        return rows, rejects, counts


def _clean(target: SinkTarget, **options: Any) -> tuple[Any, ...]:
    """What a clean run leaves: the same load through ``chute.load`` (the CLI's twin)."""
    rejects = target.tmp / "clean.rejects.jsonl"
    report = load(
        target, _orders(target), table="clean", batch_rows=BATCH, rejects=str(rejects), **options
    )
    counts = {k: getattr(report, k) for k in ("read", "written", "created", "updated", "rejected")}
    lines = [(r["line"], r["error"]) for r in rejects_of(rejects)]
    return target.db.rows("clean"), lines, counts


#: a kill -9 at each window of a plain load (the graph suite crashes at the same ones)
KILL_POINTS = [
    "batch-written:3:kill",
    "before-commit:5:kill",
    "after-commit:7:kill",
    "completion-mark:1:kill",
]


@pytest.mark.parametrize("fault", KILL_POINTS)
def test_kill_9_at_a_fault_point_then_a_rerun_stores_each_row_once(
    target: SinkTarget, fault: str
) -> None:
    clean = _clean(target, key="id")
    rows, rejects, counts = clean
    assert counts["read"] == ROWS
    assert len(rows) == ROWS - len(BAD_SHAPE) - len(REPEATED)
    assert [line for line, _ in rejects] == sorted(
        n + 1 + (n - 1) // 97 for n in BAD_SHAPE | set(REPEATED)
    )
    run = Run(target, "orders", "--key", "id")

    assert run(fault) == KILLED
    assert 0 < len(target.db.rows("orders")) < len(rows) or fault.startswith("completion")
    run()

    assert run.outcome() == clean
    assert len({r[0] for r in target.db.rows("orders")}) == len(rows)


def test_kill_9_in_an_upsert_with_keys_repeated_across_batches_resumes_with_clean_counts(
    target: SinkTarget,
) -> None:
    clean = _clean(target, mode="upsert", key="id")
    run = Run(target, "orders", "--mode", "upsert", "--key", "id")

    assert run("before-commit:12:kill") == KILLED
    run()

    assert run.outcome() == clean


def test_kill_9_twice_then_a_rerun_and_one_more_run_that_has_nothing_to_do(
    target: SinkTarget,
) -> None:
    clean = _clean(target, key="id")
    run = Run(target, "orders", "--key", "id")

    assert run("after-commit:3:kill") == KILLED
    assert run("batch-written:4:kill") == KILLED
    run()
    assert run.outcome() == clean
    run()
    assert report_of(run.report)["nothing_to_do"] is True
    assert run.outcome()[0] == clean[0]


@pytest.mark.parametrize(
    ("how", "fault"),
    [
        ("--atomic", "before-commit:8:kill"),
        ("--atomic", "completion-mark:1:kill"),
        ("--mode replace", "stage-published:1:kill"),
    ],
)
def test_a_staged_load_killed_leaves_the_table_as_it_was_then_publishes_once(
    target: SinkTarget, how: str, fault: str
) -> None:
    options = {"atomic": True} if how == "--atomic" else {"mode": "replace"}
    clean = _clean(target, key="id", **options)
    target.db.execute(
        "CREATE TABLE orders (id bigint NOT NULL PRIMARY KEY, name varchar(20), "
        "amount decimal(10,2), note varchar(40))",
        "INSERT INTO orders VALUES (100000, 'old', 1.00, 'kept until the swap')",
    )
    old = target.db.rows("orders")
    run = Run(target, "orders", "--key", "id", *how.split())

    # atomic appends to what was there; replace leaves the clean load's rows
    final = sorted([*clean[0], *old], key=lambda r: r[0]) if how == "--atomic" else clean[0]

    assert run(fault) == KILLED
    after = _typed(target.db.rows("orders"))
    if target.spec.transactional_ddl:
        assert after == _typed(old)
    else:  # the swap may have committed before the kill: still all or nothing
        assert after in (_typed(old), _typed(final)), f"{len(after)} rows after the kill"
    run()

    rows, rejects, counts = run.outcome()
    assert (rejects, counts) == clean[1:]
    assert _typed(rows) == _typed(final)


def _typed(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with the amount as an exact decimal, whatever the sink's driver returned."""
    return [(r[0], r[1], Decimal(str(r[2])), r[3]) for r in rows]
