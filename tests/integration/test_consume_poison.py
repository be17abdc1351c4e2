"""chute consume: poison messages end in the dead-letter queue, the rest is stored once.

Against the real RabbitMQ, PostgreSQL and SQLite: the table is read back with an
independent driver, the dead-letter queue is read whole (bodies and headers), and the
queue must end empty.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import typer.main

import chute
from chute.amqp import ERROR_HEADER, ERROR_KIND_HEADER, MESSAGE_ID_HEADER, QUEUE_HEADER
from chute.cli import app
from tests.amqp_helpers import (
    AMQP_URL,
    declare,
    delete_queues,
    depth,
    publish,
    read_all,
    records_of,
    send,
)
from tests.helpers import execute, query, write

ROOT = Path(__file__).resolve().parents[2]
TABLE = "CREATE TABLE events (id bigint PRIMARY KEY, kind text)"


def _consume(queue: str, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable, "-m", "chute", "consume", AMQP_URL, "--queue", queue, "--into", url,
        "--table", "events", "--quiet", "--idle-exit", "1", *extra,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _events(ids: range) -> list[dict[str, Any]]:
    return [{"id": i, "kind": f"k{i}"} for i in ids]


def _rows(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT id, kind FROM events ORDER BY id")


def _wait_depth(name: str, expected: int) -> int:
    """The broker requeues a closed consumer's messages asynchronously: wait for them."""
    deadline = time.monotonic() + 10
    while (found := depth(name)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_poison_messages_of_every_kind_are_dead_lettered_with_reasons_and_the_rest_stored(
    db_url: str, queue: str, tmp_path: Path
) -> None:
    execute(db_url, TABLE)
    poison: list[Any] = [
        b"",  # an empty body
        {"id": 9001, "kind": "x", "colour": "red"},  # a field the table lacks
        {"id": 2**70, "kind": "x"},  # an integer too wide for bigint
        b"{not json",
        b'"a string"',
    ]
    publish(queue, _events(range(0, 300)) + poison + _events(range(300, 600)))
    done = _consume(queue, db_url, "--batch-rows", "100", "--report", str(tmp_path / "r.json"))
    assert done.returncode == 6, done.stderr  # completed, some records rejected
    assert _rows(db_url) == [(i, f"k{i}") for i in range(600)]
    assert depth(queue) == 0
    dead = read_all(f"{queue}.dead-letter")
    bodies = [d.body for d in dead if d.body in poison]
    records = [json.loads(d.body) for d in dead if d.body not in poison]
    assert sorted(bodies) == sorted(p for p in poison if isinstance(p, bytes))
    assert sorted(records, key=str) == sorted((p for p in poison if isinstance(p, dict)), key=str)
    by_kind = {d.headers[ERROR_KIND_HEADER]: d for d in dead}
    assert sorted(by_kind) == ["column", "conversion", "parse", "shape"]
    assert len([d for d in dead if d.headers[ERROR_KIND_HEADER] == "parse"]) == 2
    assert "colour" in by_kind["column"].headers[ERROR_HEADER]
    assert "--add-columns" in by_kind["column"].headers[ERROR_HEADER]
    assert by_kind["conversion"].headers[ERROR_HEADER]
    empty = next(d for d in dead if d.body == b"")
    assert empty.headers[ERROR_HEADER] == "an empty message"
    assert all(d.headers[QUEUE_HEADER] == queue for d in dead)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["queue"]["dead_lettered"] == 5 and report["queue"]["acked"] == 605
    assert report["read"] == report["written"] + report["rejected"] == 605


def test_an_empty_message_is_dead_lettered_and_a_second_run_stores_nothing_again(
    pg_url: str, queue: str
) -> None:
    """--no-ledger: nothing but the acks protects against storing twice."""
    execute(pg_url, TABLE)
    publish(queue, [*_events(range(3)), b"", *_events(range(3, 6))])
    first = _consume(queue, pg_url, "--no-ledger")
    assert first.returncode == 6, first.stderr
    assert _rows(pg_url) == [(i, f"k{i}") for i in range(6)]
    assert depth(queue) == 0
    second = _consume(queue, pg_url, "--no-ledger")
    assert second.returncode == 0, second.stderr
    assert _rows(pg_url) == [(i, f"k{i}") for i in range(6)]
    (dead,) = read_all(f"{queue}.dead-letter")
    assert dead.body == b"" and dead.headers[ERROR_KIND_HEADER] == "parse"


def test_a_dead_letter_the_broker_refuses_leaves_its_batch_uncommitted(
    pg_url: str, queue: str
) -> None:
    """Dead letters are confirmed before the batch commits: when the broker refuses one,
    nothing of the batch is stored and every message stays in the queue; once the
    dead-letter queue takes messages again, each message is stored once (even without the
    ledger)."""
    execute(pg_url, "CREATE TABLE events (id bigint, kind text)")  # no key: only acks protect
    dlq = f"{queue}.dead-letter"
    declare(dlq, {"x-max-length": 0, "x-overflow": "reject-publish"})  # nacks every publish
    publish(queue, [*_events(range(50)), b"not json", *_events(range(50, 100))])
    refused = _consume(queue, pg_url, "--no-ledger")
    assert refused.returncode == 5, refused.stderr
    assert refused.stderr.startswith("error: ") and "refused" in refused.stderr
    assert query(pg_url, "SELECT count(*) FROM events") == [(0,)]
    assert _wait_depth(queue, 101) == 101
    delete_queues(dlq)
    done = _consume(queue, pg_url, "--no-ledger")
    assert done.returncode == 6, done.stderr
    assert query(pg_url, "SELECT count(*), count(DISTINCT id) FROM events") == [(100, 100)]
    assert [d.body for d in read_all(dlq)] == [b"not json"]
    assert depth(queue) == 0


def test_a_dead_letter_has_its_own_message_id_and_is_stored_when_sent_back_fixed(
    pg_url: str, queue: str
) -> None:
    """The ledger records a message dead-lettered whole in its batch's transaction (a
    redelivery is not dead-lettered again); its dead letter's id differs, so that sending it
    back once fixed stores it."""
    execute(pg_url, TABLE)
    publish(queue, [{"id": 1, "kind": "a"}, {"id": 2, "kind": "b", "colour": "red"}])
    assert _consume(queue, pg_url).returncode == 6
    assert _rows(pg_url) == [(1, "a")]
    ledger = query(pg_url, "SELECT message_id FROM _chute_messages ORDER BY message_id")
    assert ledger == [(f"test-{queue}:1",), (f"test-{queue}:2",)]
    (dead,) = read_all(f"{queue}.dead-letter")
    assert dead.message_id == f"test-{queue}:2:dead-letter"
    assert dead.headers[MESSAGE_ID_HEADER] == f"test-{queue}:2"
    fixed = {k: v for k, v in records_of([dead])[0].items() if k != "colour"}
    send(queue, orjson.dumps(fixed), dead.message_id)
    again = _consume(queue, pg_url)
    assert again.returncode == 0, again.stderr
    assert _rows(pg_url) == [(1, "a"), (2, "b")]


def test_add_columns_lets_consume_add_a_column_for_a_new_field(pg_url: str, queue: str) -> None:
    execute(pg_url, TABLE)
    publish(queue, [{"id": 1, "kind": "a"}, {"id": 2, "kind": "b", "colour": "red"}])
    done = _consume(queue, pg_url, "--add-columns")
    assert done.returncode == 0, done.stderr
    assert query(pg_url, "SELECT id, kind, colour FROM events ORDER BY id") == [
        (1, "a", None),
        (2, "b", "red"),
    ]
    assert depth(f"{queue}.dead-letter") == 0


def test_a_field_matching_a_column_but_for_case_is_stored_in_it(pg_url: str, queue: str) -> None:
    execute(pg_url, TABLE)
    publish(queue, [{"ID": 1, "Kind": "a"}])
    chute.consume(AMQP_URL, queue=queue, into=pg_url, table="events", idle_timeout=1.0)
    assert _rows(pg_url) == [(1, "a")]


def test_the_same_message_ids_published_twice_in_append_mode_are_stored_once(
    db_url: str, queue: str, tmp_path: Path
) -> None:
    """Default settings (append, the ledger on), into SQLite and PostgreSQL."""
    source = write(tmp_path / "events.jsonl", "\n".join(json.dumps(e) for e in _events(range(500))))
    for _ in range(2):
        published = subprocess.run(
            [sys.executable, "-m", "chute", "publish", str(source), AMQP_URL, "--queue", queue],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert published.returncode == 0, published.stderr
    done = _consume(queue, db_url, "--report", str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stderr
    assert _rows(db_url) == [(i, f"k{i}") for i in range(500)]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["queue"]["already_stored"] == 500
    assert report["queue"]["acked"] == 1000
    assert report["written"] == 500
    assert depth(queue) == 0


def test_every_consume_and_publish_option_is_in_the_cli_reference() -> None:
    cli_doc = (ROOT / "docs" / "cli.md").read_text()
    command = typer.main.get_command(app)
    for name in ("consume", "publish"):
        params = command.commands[name].params  # type: ignore[attr-defined]
        for option in (o for p in params for o in p.opts if o.startswith("--")):
            assert f"`{option}" in cli_doc, f"chute {name} {option} missing from docs/cli.md"
