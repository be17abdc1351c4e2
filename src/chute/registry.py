"""Where sinks and sources come from: URL schemes and format names, by entry points.

A package adds a destination by declaring, in its ``pyproject.toml``::

    [project.entry-points."chute.sinks"]
    mydb = "mypackage.sink:MyDbSink"     # a chute.sinks.contract.Sink subclass

and a format with ``[project.entry-points."chute.sources"]`` (``format = "module:Class"``,
a :class:`chute.sources.base.Source` taking ``(path, options)``).  chute's own sinks and
formats are declared the same way in its ``pyproject.toml``; the tables
:data:`BUILTIN_SINKS` and :data:`BUILTIN_SOURCES` also list them, so a checkout run
through ``PYTHONPATH`` (no installed metadata) still finds them.  An entry point of a name
that is also built in wins: a package may replace a built-in sink.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from chute.errors import ConfigError
from chute.sinks.contract import Sink

SINKS_GROUP = "chute.sinks"
SOURCES_GROUP = "chute.sources"

#: URL scheme -> "module:class" of chute's own sinks (the fallback of the entry points)
BUILTIN_SINKS: dict[str, str] = {
    "sqlite": "chute.sinks.sqlite:SqliteSink",
    "postgresql": "chute.sinks.postgres:PostgresSink",
    "postgres": "chute.sinks.postgres:PostgresSink",
    "memory": "chute.sinks.memory:MemorySink",
    "mysql": "chute.sinks.mysql:MysqlSink",
    "mariadb": "chute.sinks.mysql:MysqlSink",
    "duckdb": "chute.sinks.duckdb:DuckdbSink",
    "snowflake": "chute.sinks.snowflake:SnowflakeSink",
    "falkordb": "chute.sinks.falkordb:FalkorSink",
    "neo4j": "chute.sinks.neo4j:Neo4jSink",
    "bolt": "chute.sinks.neo4j:Neo4jSink",
}

#: format -> "module:Class" of chute's own sources (opened by chute.sources.open_source)
BUILTIN_SOURCES: dict[str, str] = {
    "csv": "chute.sources.csv:CsvSource",
    "tsv": "chute.sources.csv:CsvSource",
    "jsonl": "chute.sources.jsonl:JsonlSource",
    "json": "chute.sources.json_array:JsonArraySource",
    "xlsx": "chute.sources.xlsx:XlsxSource",
    "parquet": "chute.sources.parquet:ParquetSource",
}


@cache
def _declared(group: str) -> dict[str, str]:
    """name -> "module:Class" of every installed entry point of ``group``."""
    return {ep.name.lower(): ep.value for ep in entry_points(group=group)}


def sink_schemes() -> dict[str, str]:
    """Every URL scheme a sink is known for -> "module:Class"."""
    return {**BUILTIN_SINKS, **_declared(SINKS_GROUP)}


def source_formats() -> dict[str, str]:
    """Every format a source is known for -> "module:Class"."""
    return {**BUILTIN_SOURCES, **_declared(SOURCES_GROUP)}


def sink_class(scheme: str) -> type[Sink]:
    """The sink class of URL ``scheme``; a ConfigError listing the schemes there are."""
    return declared_sink(None, scheme)


def declared_sink(target: str | None, scheme: str) -> type[Sink]:
    """The sink class ``target`` ("module:Class") names, for ``scheme`` (None: the one
    declared for the scheme)."""
    known = sink_schemes() if target is None else {scheme.lower(): target}
    found = _load(known, scheme.lower(), "database scheme")
    if not (isinstance(found, type) and issubclass(found, Sink)):
        raise ConfigError(
            f"the database scheme {scheme!r} is declared by {found!r}, which is not a "
            "chute.sinks.contract.Sink",
            hint="fix the package's entry point in the group chute.sinks",
        )
    return found


def source_class(format: str) -> type[Any]:
    """The source class of ``format``; a ConfigError listing the formats there are."""
    return _load(source_formats(), format.lower(), "format")


def _load(known: dict[str, str], name: str, what: str) -> type[Any]:
    target = known.get(name)
    if target is None:
        raise ConfigError(f"unknown {what} {name!r}", hint=f"supported: {', '.join(sorted(known))}")
    module, _, attr = target.partition(":")
    try:
        found: type[Any] = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"the {what} {name!r} is declared by {target!r}, which cannot be loaded: {exc}",
            hint="reinstall the package that provides it",
        ) from None
    return found


def forget() -> None:
    """Read the installed entry points again (after installing a package in-process)."""
    _declared.cache_clear()
