"""chute consume and chute publish against the real RabbitMQ and PostgreSQL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import chute
from chute.amqp import ERROR_HEADER, ERROR_KIND_HEADER, QUEUE_HEADER
from tests.amqp_helpers import (
    AMQP_URL,
    depth,
    publish,
    read_all,
    records_of,
)
from tests.helpers import execute, on_a_terminal, query, write


def _consume_cmd(queue: str, url: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "chute", "consume", AMQP_URL, "--queue", queue, "--into", url,
        "--table", "events", "--quiet", *extra,
    ]  # fmt: skip


def _events(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"id": i, "kind": f"k{i % 7}", "payload": {"n": i}} for i in range(start, start + n)]


def _count(url: str) -> tuple[int, int]:
    try:
        ((total, distinct),) = query(url, "SELECT count(*), count(DISTINCT id) FROM events")
    except Exception:  # not created yet
        return 0, 0
    return int(total), int(distinct)


def test_every_message_is_stored_or_dead_lettered_with_its_reason(pg_url: str, queue: str) -> None:
    execute(
        pg_url, "CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, payload jsonb)"
    )
    good = _events(3_000)
    poison = [
        b"this is not json",
        b'"a string, not an object"',
        {"id": 900_001, "kind": None, "payload": {}},  # NOT NULL
        {"id": "nine", "kind": "k", "payload": {}},  # not a bigint
        [{"id": 900_002, "kind": "k1"}, {"id": 900_003, "kind": "k2"}],  # an array: 2 records
    ]
    publish(queue, good[:1500] + poison + good[1500:])
    report = chute.consume(
        AMQP_URL, queue=queue, into=pg_url, table="events", batch_rows=500, idle_timeout=1.0
    )
    assert _count(pg_url) == (3_002, 3_002)
    assert query(pg_url, "SELECT payload->>'n' FROM events WHERE id = 2999") == [("2999",)]
    assert depth(queue) == 0
    dead = read_all(f"{queue}.dead-letter")
    assert len(dead) == 4
    kinds = sorted(d.headers[ERROR_KIND_HEADER] for d in dead)
    assert kinds == ["constraint", "conversion", "parse", "shape"]
    assert all(d.headers[QUEUE_HEADER] == queue and d.headers[ERROR_HEADER] for d in dead)
    not_null = next(d for d in dead if d.headers[ERROR_KIND_HEADER] == "constraint")
    assert "kind" in not_null.headers[ERROR_HEADER]
    assert records_of([not_null]) == [{"id": 900_001, "kind": None, "payload": {}}]
    assert report.queue is not None
    assert report.queue["dead_lettered"] == 4 and report.queue["acked"] == 3_005
    assert report.read == report.written + report.rejected == 3_006


def test_a_partly_refused_message_dead_letters_only_its_refused_records(
    pg_url: str, queue: str
) -> None:
    execute(pg_url, "CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL)")
    publish(queue, [[{"id": 1, "kind": "a"}, {"id": 2, "kind": None}, {"id": 3, "kind": "c"}]])
    chute.consume(AMQP_URL, queue=queue, into=pg_url, table="events", idle_timeout=1.0)
    assert query(pg_url, "SELECT id FROM events ORDER BY id") == [(1,), (3,)]
    (dead,) = read_all(f"{queue}.dead-letter")
    assert records_of([dead]) == [[{"id": 2, "kind": None}]]


def test_a_table_is_created_from_the_messages(pg_url: str, queue: str) -> None:
    publish(queue, _events(100))
    report = chute.consume(AMQP_URL, queue=queue, into=pg_url, table="events", idle_timeout=1.0)
    assert report.table_created and report.columns["payload"] == "json"
    assert query(pg_url, "SELECT payload->>'n' FROM events WHERE id = 42") == [("42",)]


def test_a_starving_prefetch_is_warned_about(pg_url: str, queue: str) -> None:
    publish(queue, _events(10))
    done = subprocess.run(
        _consume_cmd(queue, pg_url, "--prefetch", "10", "--batch-rows", "500", "--idle-exit", "1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "warning: --prefetch 10 is below --batch-rows 500" in done.stderr
    assert _count(pg_url) == (10, 10)


def test_a_missing_queue_and_a_bad_url_are_one_line_errors(pg_url: str, broker: str) -> None:
    missing = subprocess.run(
        _consume_cmd("no-such-queue-here", pg_url), capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: ") and "no-such-queue-here" in missing.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "chute", "consume", "amqp://guest:guest@127.0.0.1:1/",
         "--queue", "q", "--into", pg_url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode != 0
    assert refused.stderr.startswith("error: ") and "127.0.0.1:1" in refused.stderr


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--batch-rows", "0"], "batch_rows must be at least 1"),
        (["--flush-interval", "0"], "flush interval must be more than 0 s"),
        (["--mode", "replace"], "a queue has no end to replace a table at"),
        (["--mode", "upsert"], "mode upsert needs key columns"),
        (["--workers", "0"], "workers must be between 1 and 32"),
    ],
)
def test_bad_consume_options_are_one_line_errors(
    pg_url: str, queue: str, extra: list[str], message: str
) -> None:
    publish(queue, _events(5))
    done = subprocess.run(_consume_cmd(queue, pg_url, *extra), capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr.splitlines()[0]
    assert depth(queue) == 5  # nothing taken


def _kill_midway(cmd: list[str], url: str, at_least: int, log: Path) -> None:
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=out)
        deadline = time.monotonic() + 60
        while _count(url)[0] < at_least and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("mode", ["upsert", "append"])
def test_kill_9_mid_stream_then_again_nothing_lost_nothing_twice(
    pg_url: str, queue: str, tmp_path: Path, mode: str
) -> None:
    """Upsert: the key makes redelivery harmless.  Append: the message ledger does."""
    n = 20_000
    publish(queue, _events(n))
    extra = ["--mode", "upsert", "--key", "id"] if mode == "upsert" else []
    cmd = _consume_cmd(queue, pg_url, "--batch-rows", "1000", *extra)
    _kill_midway(cmd, pg_url, 5_000, tmp_path / "log1.txt")
    killed_at = _count(pg_url)[0]
    assert 0 < killed_at < n, (tmp_path / "log1.txt").read_text()
    done = subprocess.run([*cmd, "--idle-exit", "1.5"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _count(pg_url) == (n, n)
    assert depth(queue) == 0


def _upsert_while(
    disturb: Callable[[], None], pg_url: str, queue: str, tmp_path: Path, idle_exit: str
) -> str:
    """Consume 20,000 messages as an upsert, ``disturb`` once 2,000 are stored; check that
    each is stored once and the queue is empty; return what the consumer printed."""
    n = 20_000
    publish(queue, _events(n))
    cmd = _consume_cmd(queue, pg_url, "--batch-rows", "500", "--mode", "upsert", "--key", "id",
                       "--idle-exit", idle_exit)  # fmt: skip
    with (tmp_path / "log.txt").open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=out)
        while _count(pg_url)[0] < 2_000 and proc.poll() is None:
            time.sleep(0.01)
        disturb()
        assert proc.wait(timeout=180) == 0, (tmp_path / "log.txt").read_text()
    assert _count(pg_url) == (n, n)
    assert depth(queue) == 0
    return (tmp_path / "log.txt").read_text()


def test_a_broker_restart_mid_stream_loses_and_doubles_nothing(
    pg_url: str, queue: str, tmp_path: Path
) -> None:
    def restart_broker() -> None:
        subprocess.run(["rabbitmqctl", "-q", "stop_app"], check=True, timeout=60)
        time.sleep(2)
        subprocess.run(["rabbitmqctl", "-q", "start_app"], check=True, timeout=60)

    log = _upsert_while(restart_broker, pg_url, queue, tmp_path, idle_exit="8")
    assert ", 0 reconnects" not in log  # it did reconnect


def test_a_lost_database_connection_is_mended_and_loses_nothing(
    pg_url: str, queue: str, tmp_path: Path
) -> None:
    def kill_connections() -> None:
        execute(
            pg_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )

    log = _upsert_while(kill_connections, pg_url, queue, tmp_path, idle_exit="3")
    assert "lost the database" in log and "trying again" in log


def test_two_consumers_share_the_queue_and_store_each_message_once(
    pg_url: str, queue: str, tmp_path: Path
) -> None:
    n = 30_000
    execute(pg_url, "CREATE TABLE events (id bigint, kind text, payload jsonb)")  # no key
    publish(queue, _events(n))
    cmd = _consume_cmd(queue, pg_url, "--batch-rows", "500", "--prefetch", "1000",
                       "--idle-exit", "2")  # fmt: skip
    reports = [tmp_path / "a.json", tmp_path / "b.json"]
    procs = [subprocess.Popen([*cmd, "--report", str(r)]) for r in reports]
    assert [p.wait(timeout=180) for p in procs] == [0, 0]
    counts = [json.loads(r.read_text())["written"] for r in reports]
    assert sum(counts) == n and min(counts) > 0, counts
    assert _count(pg_url) == (n, n)


def test_sigterm_commits_and_acks_what_is_in_hand(pg_url: str, queue: str, tmp_path: Path) -> None:
    publish(queue, _events(5_000))
    stop = threading.Event()
    feeding = threading.Thread(
        target=lambda: [publish(queue, _events(500, 5_000 + 500 * k)) for k in range(10)]
    )
    with (tmp_path / "log.txt").open("w") as out:
        proc = subprocess.Popen(
            _consume_cmd(queue, pg_url, "--batch-rows", "400", "--flush-interval", "5"),
            stdout=out,
            stderr=out,
        )
        feeding.start()
        while _count(pg_url)[0] < 2_000:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    feeding.join()
    stop.set()
    stored = _count(pg_url)
    assert stored[0] == stored[1]
    # every message is either stored or still in the queue (none unacked, none lost)
    assert stored[0] + depth(queue) == 10_000
    assert "stopping: committing and acking" in (tmp_path / "log.txt").read_text()


def test_the_log_and_the_status_line_show_the_lag(pg_url: str, queue: str) -> None:
    publish(queue, _events(20_000))
    done = subprocess.run(
        [*_consume_cmd(queue, pg_url, "--batch-rows", "1000", "--idle-exit", "1"), "--log-json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    batches = [e for e in map(json.loads, done.stderr.splitlines()) if e.get("event") == "batch"]
    assert sum(b["rows"] for b in batches) == 20_000
    depths = [b["queue_depth"] for b in batches]
    assert all(isinstance(d, int) for d in depths)
    assert depths[0] > 10_000  # most of the queue was still waiting after the first batch
    assert depths[-1] < depths[0]  # (read at most 4 times a second)
    # on a terminal, the status line says the same (upsert: a second publish has the same
    # message ids, which the ledger of an append would skip)
    publish(queue, _events(20_000, 20_000))
    cmd = _consume_cmd(queue, pg_url, "--batch-rows", "1000", "--idle-exit", "1",
                       "--mode", "upsert", "--key", "id", "--table", "events2")  # fmt: skip
    code, _, screen = on_a_terminal([c for c in cmd if c != "--quiet"], columns=160)
    assert code == 0
    assert "records" in screen and "/s" in screen and "lag" in screen and "messages" in screen


def test_publish_sends_a_files_records_with_confirms(queue: str, tmp_path: Path) -> None:
    path = write(tmp_path / "people.jsonl", "\n".join(f'{{"id": {i}}}' for i in range(250)))
    done = subprocess.run(
        [sys.executable, "-m", "chute", "publish", str(path), AMQP_URL, "--queue", queue],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "published 250 messages" in done.stdout
    got = read_all(queue)
    assert records_of(got)[:3] == [{"id": 0}, {"id": 1}, {"id": 2}]
    assert len({d.message_id for d in got}) == 250
