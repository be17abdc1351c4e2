"""Two runs of one load into Neo4j exclude each other: a lease on a ``_ChuteLock`` node
(sinks/neo4j_lock.py), tested through a FalkorDB's Bolt port (and a real Neo4j with
``NEO4J_URI``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chute.engine.lock import exclude_others
from chute.errors import LoadRunningError
from chute.sinks import neo4j_lock
from chute.sinks.locks import Holder, Taken
from chute.sinks.neo4j import Neo4jSink
from tests.graph.graphs import NEO4J_URI, skip_goodbye


@pytest.fixture(params=["neo4j-bolt"] + (["neo4j"] if NEO4J_URI else []))
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "neo4j":
        assert NEO4J_URI is not None
        yield NEO4J_URI
        return
    skip_goodbye()
    yield request.getfixturevalue("falkordb_for_bolt").bolt_url()


@pytest.fixture
def sink(url: str) -> Iterator[Neo4jSink]:
    sink = Neo4jSink(url)
    sink.connect()
    try:
        yield sink
    finally:
        sink._session.run(f"MATCH (l:{neo4j_lock.LABEL}) DELETE l").consume()
        sink.close()


def _lock_nodes(sink: Neo4jSink) -> list[list[Any]]:
    return sink._read(f"MATCH (l:{neo4j_lock.LABEL}) RETURN l.name, l.pid, l.host", {})


def test_a_held_lock_names_its_holder_and_is_free_after_release(sink: Neo4jSink) -> None:
    held = sink.lock_load("a" * 64, Holder(4242, "elsewhere"))
    assert _lock_nodes(sink) == [["a" * 64, 4242, "elsewhere"]]

    with pytest.raises(Taken) as taken:
        sink.lock_load("a" * 64, Holder(1, "here"))
    assert taken.value.holder == Holder(4242, "elsewhere")
    other = sink.lock_load("b" * 64, Holder(1, "here"))  # another load: free
    other.release()

    held.release()
    again = sink.lock_load("a" * 64, Holder(1, "here"))
    again.release()
    assert _lock_nodes(sink) == []


def test_a_lock_whose_holder_died_on_this_host_is_taken_over_at_once(sink: Neo4jSink) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid names no process now
    sink.lock_load("c" * 64, Holder(gone.pid, socket.gethostname()))  # never released

    mine = sink.lock_load("c" * 64, Holder.me())

    assert _lock_nodes(sink) == [["c" * 64, Holder.me().pid, socket.gethostname()]]
    mine.release()


def test_a_lease_that_ran_out_is_taken_and_a_held_one_is_renewed(
    sink: Neo4jSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(neo4j_lock, "LEASE", 0.6)
    monkeypatch.setattr(neo4j_lock, "RENEW", 0.1)
    held = sink.lock_load("d" * 64, Holder(4242, "elsewhere"))
    time.sleep(1.2)  # two leases: renewed meanwhile
    with pytest.raises(Taken):
        sink.lock_load("d" * 64, Holder(1, "here"))
    held._stop.set()  # its process stalls: no more renewals
    held._renewer.join()

    time.sleep(0.8)
    taken = sink.lock_load("d" * 64, Holder(1, "here"))

    assert _lock_nodes(sink) == [["d" * 64, 1, "here"]]
    taken.release()


def test_a_second_run_of_a_load_into_neo4j_is_refused_naming_the_first(
    sink: Neo4jSink, url: str
) -> None:
    first = exclude_others(sink, "load-1", "artists.jsonl", "artists")
    assert first is not None
    second = Neo4jSink(url)
    second.connect()
    try:
        with pytest.raises(LoadRunningError, match=r"artists.jsonl into artists is running \(pid"):
            exclude_others(second, "load-1", "artists.jsonl", "artists")
    finally:
        second.close()
    first.release()
