"""Every crash window of ``chute consume``, on purpose: the queue source's sequence (rows,
dead letters published and confirmed, ledger, in one transaction → commit → ack), with a
fault point armed (see ``chute.engine.faults``), then the same command again unarmed.  The
table equals a clean run's (each message stored once: the table has no key, so only the
ledger keeps a redelivered message from being stored twice), the queue is empty, and the
dead-letter queue holds what a clean run's does (at least once: a crash after the dead
letters are published and before the commit sends those again).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.amqp_helpers import AMQP_URL, delete_queues, depth, publish, read_all
from tests.helpers import execute, query

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BATCH = 10
MESSAGES = 60
KILLED = -signal.SIGKILL
EXIT_DATABASE = 5
DDL = [
    "DROP TABLE IF EXISTS events",
    "CREATE TABLE events (id bigint, kind text NOT NULL, n bigint)",
]


def _messages() -> list[Any]:
    """60 messages, 10 to a batch; poison at the first and last of batches and inside."""
    out: list[Any] = []
    for i in range(MESSAGES):
        if i in (0, 19, 20, 33):
            out.append(b"not json %d" % i)
        elif i in (9, 41, 59):
            out.append({"id": i, "kind": None, "n": i})  # NOT NULL: rejected
        else:
            out.append({"id": i, "kind": f"k{i % 3}", "n": i * 10})
    return out


@dataclass
class Outcome:
    code: int
    table: list[tuple[Any, ...]]
    dead: Counter[bytes]
    report: dict[str, Any]
    stderr: str


class Consume:
    def __init__(self, url: str, tmp: Path, queue: str) -> None:
        self.url = url
        self.queue = queue
        self.report_path = tmp / "report.json"

    def reset(self) -> None:
        """An empty table and ledger, the messages in the queue, no dead letters."""
        execute(self.url, *DDL)
        with contextlib.suppress(Exception):  # no consumer ran yet
            execute(self.url, "DELETE FROM _chute_messages")
        delete_queues(self.queue, f"{self.queue}.dead-letter")
        publish(self.queue, _messages())

    def run(self, fault: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "CHUTE_FAULT"}
        if fault is not None:
            env["CHUTE_FAULT"] = fault
        self.report_path.unlink(missing_ok=True)
        cmd = [
            sys.executable, "-m", "chute", "consume", AMQP_URL, "--queue", self.queue,
            "--into", self.url, "--table", "events", "--batch-rows", str(BATCH),
            "--flush-interval", "0.5", "--idle-exit", "1", "--report", str(self.report_path),
            "--quiet", "--workers", "1",
        ]  # fmt: skip
        # one writer: a crash window is then one batch's.  With two, a batch can still be
        # publishing its dead letters (before its commit) when the next one is written, so
        # "batch-written:2" would also be batch 1's before-commit window (tested as such)
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)

    def outcome(self, proc: subprocess.CompletedProcess[str]) -> Outcome:
        report = json.loads(self.report_path.read_text()) if self.report_path.exists() else {}
        return Outcome(
            proc.returncode,
            query(self.url, "SELECT id, kind, n FROM events ORDER BY id"),
            Counter(d.body for d in read_all(f"{self.queue}.dead-letter")),
            report,
            proc.stderr,
        )

    def clean(self) -> Outcome:
        self.reset()
        clean = self.outcome(self.run())
        assert clean.code == 6, clean.stderr  # completed, with rejects
        assert len(clean.table) == MESSAGES - 7 and sum(clean.dead.values()) == 7
        assert depth(self.queue) == 0
        self.reset()
        return clean

    def crash_then_rerun(self, fault: str, expect: int = KILLED) -> tuple[Outcome, Outcome]:
        armed = self.run(fault)
        assert armed.returncode == expect, (armed.returncode, armed.stdout, armed.stderr)
        if expect == EXIT_DATABASE:
            assert "fault point" in armed.stderr, armed.stderr
        table = query(self.url, "SELECT id, kind, n FROM events ORDER BY id")
        crashed = Outcome(armed.returncode, table, Counter(), {}, armed.stderr)
        return crashed, self.outcome(self.run())  # the dead letters of both runs


@pytest.fixture
def consume(pg_url: str, tmp_path: Path, broker: str) -> Iterator[Consume]:
    name = f"chute-test-{uuid.uuid4().hex[:10]}"
    yield Consume(pg_url, tmp_path, name)
    dlq = f"{name}.dead-letter"
    delete_queues(name, dlq, f"{dlq}.dead-letter")


def _assert_same(rerun: Outcome, clean: Outcome, *, dead_twice: bool = False) -> None:
    assert rerun.code == clean.code, rerun.stderr
    assert rerun.report["status"] == "completed"
    assert rerun.table == clean.table  # every message stored once, none lost
    if dead_twice:  # at least once: what was dead-lettered and not acked comes again
        assert set(rerun.dead) == set(clean.dead)
        assert max(rerun.dead.values()) <= 2
    else:
        assert rerun.dead == clean.dead
    r = rerun.report
    assert r["read"] == r["written"] + r["skipped"] + r["rejected"]


@pytest.mark.parametrize("fault", ["batch-written:2:kill", "before-commit:1:kill"])
def test_a_crash_before_a_batch_commits_loses_no_message(consume: Consume, fault: str) -> None:
    """Nothing of the batch is acked before its commit: it comes again, all of it."""
    clean = consume.clean()
    crashed, rerun = consume.crash_then_rerun(fault)
    assert len(crashed.table) < len(clean.table)
    # the dead letters go before the commit: those of the batch rolled back go again
    _assert_same(rerun, clean, dead_twice=fault.startswith("before-commit"))
    assert depth(consume.queue) == 0
    assert rerun.report["queue"]["already_stored"] == 0


@pytest.mark.parametrize("nth", [2])
def test_a_crash_between_commit_and_ack_stores_no_message_twice(consume: Consume, nth: int) -> None:
    """The batch is committed, not acked: it comes again, and the ledger skips it."""
    clean = consume.clean()
    crashed, rerun = consume.crash_then_rerun(f"after-commit:{nth}:kill")
    stored = len(crashed.table)
    assert 0 < stored < len(clean.table)
    _assert_same(rerun, clean)
    assert depth(consume.queue) == 0
    assert rerun.report["queue"]["already_stored"] >= 1


@pytest.mark.parametrize("nth", [1])
def test_a_crash_after_the_dead_letters_before_the_commit_stores_once(
    consume: Consume, nth: int
) -> None:
    """The dead letters are published inside the batch's transaction: a crash there rolls
    the batch back, its messages come again, and only a dead letter may go twice."""
    clean = consume.clean()
    crashed, rerun = consume.crash_then_rerun(f"dead-lettered:{nth}:kill")
    assert len(crashed.table) < len(clean.table)
    _assert_same(rerun, clean, dead_twice=True)
    assert depth(consume.queue) == 0


def test_a_commit_that_fails_stops_the_consumer_and_loses_no_message(consume: Consume) -> None:
    clean = consume.clean()
    _, rerun = consume.crash_then_rerun("before-commit:2:raise", EXIT_DATABASE)
    _assert_same(rerun, clean, dead_twice=True)
    assert depth(consume.queue) == 0
