"""``chute consume`` from RabbitMQ into a graph: every message stored or dead-lettered with
its reason, acked after commit; a crash mid-stream loses and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

import chute
from chute.amqp import ERROR_HEADER
from tests.amqp_helpers import AMQP_URL, depth, publish, read_all, records_of
from tests.graph.graphs import GraphTarget

MAPPING: dict[str, Any] = {
    "nodes": {
        "Artist": {"key": "id", "properties": ["name"]},
        "Release": {"key": "releases[].id", "properties": ["releases[].title"]},
    },
    "relationships": [
        {"type": "RELEASED", "from": {"Artist": "id"}, "to": {"Release": "releases[].id"}},
        {"type": "MEMBER_OF", "from": {"Artist": "members[].id"}, "to": {"Artist": "id"}},
    ],
}


def _artist(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "name": f"artist {n}",
        "releases": [{"id": n * 10 + k, "title": f"t{k}"} for k in range(2)],
        "members": [{"id": 100_000 + n}],
    }


def test_messages_become_nodes_and_bad_ones_are_dead_lettered(
    falkor: GraphTarget, queue: str
) -> None:
    good = [_artist(n) for n in range(1, 1001)]
    poison = [{"id": None, "name": "no key"}, {"id": 5000, "name": "x", "releases": "oops"}]
    publish(queue, good[:500] + poison + good[500:])

    report = chute.consume(
        AMQP_URL, queue=queue, into=falkor.url, graph=MAPPING, batch_rows=200, idle_timeout=1.0
    )

    assert report.mode == "upsert"
    assert (report.read, report.created, report.rejected) == (1002, 1000, 2)
    assert falkor.count("Release") == 2000
    assert falkor.count("Artist") == 2000  # 1,000 and their members, made as placeholders
    assert report.graph is not None
    assert report.graph["Artist"]["placeholders"] == 1000
    assert depth(queue) == 0
    dead = read_all(f"{queue}.dead-letter")
    assert records_of(dead) == poison
    assert "no value for its key id" in dead[0].headers[ERROR_HEADER]
    assert "not an array" in dead[1].headers[ERROR_HEADER]


def test_append_into_a_graph_is_refused(falkor: GraphTarget, queue: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chute", "consume", AMQP_URL, "--queue", queue, "--into",
         falkor.url, "--graph", str(_mapping_file(falkor)), "--mode", "append"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "append mode would add a redelivered message's relationships again" in done.stderr


def _mapping_file(target: GraphTarget) -> Any:
    import json

    path = target.tmp / "mapping.json"
    path.write_text(json.dumps(MAPPING))
    return path


def test_kill_9_mid_stream_then_a_new_consumer_loses_and_duplicates_nothing(
    falkor: GraphTarget, queue: str
) -> None:
    publish(queue, [_artist(n) for n in range(1, 3001)])
    cmd = [
        sys.executable, "-m", "chute", "consume", AMQP_URL, "--queue", queue, "--into",
        falkor.url, "--graph", str(_mapping_file(falkor)), "--batch-rows", "100",
        "--idle-exit", "1", "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "CHUTE_FAULT": "after-commit:7:kill"}
    crashed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert 0 < falkor.count("Release") < 6000

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    assert rerun.returncode == 0, rerun.stderr
    assert falkor.count("Artist") == 6000 and falkor.count("Release") == 6000
    released = falkor.query("MATCH ()-[x:RELEASED]->() RETURN count(x)")[0][0]
    members = falkor.query("MATCH ()-[x:MEMBER_OF]->() RETURN count(x)")[0][0]
    assert (released, members) == (6000, 3000)  # the redelivered batch merged, not added
    assert depth(queue) == 0
