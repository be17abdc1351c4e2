"""Graphs: records into nodes and relationships (``--graph mapping.yml``).

:mod:`chute.graph.mapping` reads a mapping, :mod:`chute.graph.project` turns records into
node and relationship rows, :mod:`chute.graph.cypher` renders the statements; the sinks are
:mod:`chute.sinks.falkordb` and :mod:`chute.sinks.neo4j` over :mod:`chute.sinks.graph`.
:func:`attach_graph` is how a load gives its sink the mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chute.errors import ConfigError
from chute.graph.mapping import GraphMapping, load_mapping
from chute.sinks.contract import GraphTarget, Mode, Sink

__all__ = ["GraphMapping", "attach_graph", "default_mode", "load_mapping"]

GraphSpec = str | Path | Mapping[str, Any] | GraphMapping


def default_mode(graph: GraphSpec | None, mode: str | Mode | None, fallback: Mode) -> str | Mode:
    """The mode a load runs in when none is given: upsert (MERGE) into a graph."""
    if mode is not None:
        return mode
    return Mode.UPSERT if graph is not None else fallback


def attach_graph(
    sink: Sink, graph: GraphSpec | None, *, require_nodes: bool, mode: Mode, atomic: bool
) -> None:
    """Give ``sink`` its mapping: a graph database needs one, any other takes none."""
    if not isinstance(sink, GraphTarget):
        if graph is not None:
            raise ConfigError(
                f"--graph writes nodes and relationships, and {sink.display_url} is not a "
                "graph database",
                hint="load into falkordb://, neo4j:// or bolt://, or leave --graph out",
            )
        if require_nodes:
            raise ConfigError("--require-nodes is for graph loads (--graph)")
        return
    if graph is None:
        raise ConfigError(
            f"{sink.display_url} is a graph database: records need a graph mapping",
            hint="pass --graph mapping.yml (see docs/graphs.md)",
        )
    if mode is Mode.REPLACE or atomic:
        raise ConfigError(
            "a graph has no table to replace or publish at once: use append, upsert or ignore",
            hint="each batch is committed with its checkpoint; a rerun resumes",
        )
    sink.use_graph(load_mapping(graph), require_nodes=require_nodes, mode=mode)
