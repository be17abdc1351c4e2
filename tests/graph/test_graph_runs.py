"""Graph loads as users run them: the CLI, a crash at every fault point and the rerun, two
runs of one load, a server that is not there or refuses the password, and ``chute consume``
from RabbitMQ into the graph.  FalkorDB only: chute runs in processes of its own here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import chute
from chute.errors import LoadRunningError, SinkUnavailableError
from chute.sinks.falkordb import RedisLock
from chute.sinks.locks import Holder, Taken
from tests.contract.test_crash_resume import KILL_POINTS
from tests.graph.graphs import GraphTarget

KILLED = -signal.SIGKILL
RECORDS = 600
BATCH = 40
MAPPING = """\
nodes:
  Artist: {key: artist_id, properties: [name, country]}
  Release: {key: "releases[].release_id", properties: ["releases[].title"]}
relationships:
  - {type: RELEASED, from: {Artist: artist_id}, to: {Release: "releases[].release_id"},
     properties: ["releases[].role"]}
  - {type: MEMBER_OF, from: {Artist: "members[].id"}, to: {Artist: artist_id}}
"""


def _catalogue(tmp: Path) -> tuple[Path, Path]:
    """Artists with releases and members; every 50th has no key (rejected)."""
    lines = []
    for n in range(1, RECORDS + 1):
        record: dict[str, Any] = {
            "artist_id": None if n % 50 == 0 else n,
            "name": f"artist {n}",
            "country": ["SE", "NO", "DK"][n % 3],
            "releases": [
                {"release_id": n * 10 + k, "title": f"r{n}.{k}", "role": "lead"} for k in range(2)
            ],
            "members": [{"id": n - 1}] if n > 1 else [],
        }
        lines.append(json.dumps(record))
    data = tmp / "artists.jsonl"
    data.write_text("\n".join(lines) + "\n")
    mapping = tmp / "mapping.yml"
    mapping.write_text(MAPPING)
    return data, mapping


def _cli(
    target: GraphTarget, *args: str, fault: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHUTE_FAULT"}
    if fault is not None:
        env["CHUTE_FAULT"] = fault
    cmd = [sys.executable, "-m", "chute", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def _load(target: GraphTarget, data: Path, mapping: Path, *args: str, fault: str | None = None):  # type: ignore[no-untyped-def]
    return _cli(
        target, "load", str(data), "--into", target.url, "--graph", str(mapping),
        "--batch-rows", str(BATCH), "--memory-limit", "64GiB", "--quiet",
        "--rejects", str(target.tmp / "rejects.jsonl"), "--report", str(target.tmp / "report.json"),
        *args, fault=fault,
    )  # fmt: skip


def _graph_state(target: GraphTarget) -> tuple[Any, ...]:
    artists = target.nodes("Artist", "artist_id")
    releases = target.nodes("Release", "release_id")
    released = target.query("MATCH ()-[x:RELEASED]->() RETURN count(x)")[0][0]
    members = target.query("MATCH ()-[x:MEMBER_OF]->() RETURN count(x)")[0][0]
    return artists, releases, released, members


def _outcome(target: GraphTarget) -> tuple[Any, ...]:
    report = json.loads((target.tmp / "report.json").read_text())
    rejected = sorted(
        json.loads(r)["line"] for r in (target.tmp / "rejects.jsonl").read_text().splitlines()
    )
    counts = {k: report[k] for k in ("read", "created", "updated", "skipped", "rejected")}
    return _graph_state(target), counts, report["graph"], rejected


def test_the_cli_loads_a_graph_and_reports_it(falkor: GraphTarget) -> None:
    data, mapping = _catalogue(falkor.tmp)

    done = _load(falkor, data, mapping)

    assert done.returncode == 6, done.stderr  # completed, with rejects
    (artists, releases, released, members), counts, by_kind, rejected = _outcome(falkor)
    # 12 records are rejected (no key); the next record's member is one of them, except for
    # the last: 11 are made as placeholders (just their key)
    assert len(artists) == RECORDS - 12 + 11
    assert artists[50] == {"artist_id": 50}
    assert len(releases) == released == 2 * (RECORDS - 12)
    # member n-1 of artist n, for n = 2..600 but the rejected ones
    assert members == RECORDS - 1 - 12
    assert counts == {
        "read": RECORDS, "created": RECORDS - 12, "updated": 0, "skipped": 0, "rejected": 12,
    }  # fmt: skip
    assert rejected == list(range(50, RECORDS + 1, 50))
    assert by_kind["Artist"] == {
        "created": RECORDS - 12, "updated": 0, "skipped": 0, "placeholders": 11,
    }  # fmt: skip


@pytest.mark.parametrize("fault", KILL_POINTS)
def test_kill_9_at_a_fault_point_then_a_rerun_leaves_what_a_clean_run_leaves(
    falkor: GraphTarget, fault: str
) -> None:
    data, mapping = _catalogue(falkor.tmp)
    assert _load(falkor, data, mapping).returncode == 6
    clean = _outcome(falkor)
    falkor.query_write("MATCH (n) DETACH DELETE n")
    (falkor.tmp / "rejects.jsonl").unlink()

    crashed = _load(falkor, data, mapping, fault=fault)
    assert crashed.returncode == KILLED, crashed.stderr
    rerun = _load(falkor, data, mapping)

    assert rerun.returncode == 6, rerun.stderr
    assert _outcome(falkor) == clean


def test_a_lock_names_its_holder_and_dies_with_its_connection(falkor: GraphTarget) -> None:
    host, port = falkor.url.split("//")[1].split("/")[0].split(":")
    params = {"host": host, "port": int(port)}
    held = RedisLock.take(params, "chute:lock:probe", Holder(4242, "elsewhere"))

    with pytest.raises(Taken) as taken:
        RedisLock.take(params, "chute:lock:probe", Holder(1, "here"))
    assert taken.value.holder == Holder(4242, "elsewhere")
    held.conn.close()  # its process died: the server closed its connection
    again = RedisLock.take(params, "chute:lock:probe", Holder(1, "here"))
    again.release()
    assert falkor.redis().keys("chute:lock:*") == []


def test_a_second_run_while_the_first_holds_the_lock_exits_7(falkor: GraphTarget) -> None:
    data, mapping = _catalogue(falkor.tmp)
    first = subprocess.Popen(
        [sys.executable, "-m", "chute", "load", str(data), "--into", falkor.url, "--graph",
         str(mapping), "--batch-rows", "1", "--quiet", "--rejects", str(falkor.tmp / "r1.jsonl")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for _ in range(200):  # until it holds the lock
            if falkor.redis().keys("chute:lock:*"):
                break
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        with pytest.raises(LoadRunningError, match=f"pid {first.pid}"):
            chute.load(data, into=falkor.url, graph=mapping, rejects=str(falkor.tmp / "r2.jsonl"))
    finally:
        first.kill()
        first.communicate()


def test_a_server_that_is_not_there_is_exit_5_with_one_line(falkor: GraphTarget) -> None:
    data, mapping = _catalogue(falkor.tmp)
    done = _cli(
        falkor, "load", str(data), "--into", "falkordb://127.0.0.1:1/g", "--graph", str(mapping),
        "--connect-timeout", "2",
    )  # fmt: skip
    assert done.returncode == 5
    assert "cannot connect to falkordb://127.0.0.1:1/g" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_wrong_password_is_exit_5_and_the_password_is_not_shown(tmp_path: Path) -> None:
    from chute_bench.falkordb_server import falkordb_server

    data, mapping = _catalogue(tmp_path)
    with falkordb_server(password="right-one") as server:
        url = f"falkordb://default:wrong-one@127.0.0.1:{server.port}/g"
        with pytest.raises(SinkUnavailableError, match="cannot connect") as caught:
            chute.load(data, into=url, graph=mapping)
        assert "wrong-one" not in str(caught.value)
        good = f"falkordb://default:right-one@127.0.0.1:{server.port}/g"
        report = chute.load(data, into=good, graph=mapping, rejects=str(tmp_path / "r.jsonl"))
        assert report.created == RECORDS - 12


def test_graph_options_on_a_table_database_and_a_graph_without_mapping_are_exit_2(
    falkor: GraphTarget,
) -> None:
    data, mapping = _catalogue(falkor.tmp)
    sqlite = f"sqlite:///{falkor.tmp / 'x.db'}"

    on_table = _cli(falkor, "load", str(data), "--into", sqlite, "--graph", str(mapping))
    without = _cli(falkor, "load", str(data), "--into", falkor.url)
    bad_label = falkor.tmp / "bad.yml"
    bad_label.write_text(
        "nodes: {A: {key: id}}\nrelationships: [{type: T, from: {A: id}, to: {B: x}}]\n"
    )
    unknown = _cli(falkor, "load", str(data), "--into", falkor.url, "--graph", str(bad_label))
    replace = _cli(
        falkor,
        "load",
        str(data),
        "--into",
        falkor.url,
        "--graph",
        str(mapping),
        "--mode",
        "replace",
    )

    assert on_table.returncode == 2 and "is not a graph database" in on_table.stderr
    assert without.returncode == 2 and "records need a graph mapping" in without.stderr
    assert (
        unknown.returncode == 2
        and "names the label 'B', which the mapping has no node for" in unknown.stderr
    )
    assert replace.returncode == 2 and "no table to replace" in replace.stderr
    assert falkor.count("Artist") == 0
