"""Sinks: the databases chute writes to, chosen by URL scheme."""

from __future__ import annotations

import re

from chute.errors import ConfigError
from chute.sinks.base import Capabilities, Mode, Sink, TableColumn, WriteCounts
from chute.sinks.memory import MemorySink
from chute.sinks.postgres import PostgresSink
from chute.sinks.sqlite import SqliteSink

__all__ = ["SINKS", "Capabilities", "Mode", "Sink", "TableColumn", "WriteCounts", "open_sink"]

SINKS: dict[str, type[Sink]] = {}
for _cls in (SqliteSink, PostgresSink, MemorySink):
    for _scheme in _cls.schemes:
        SINKS[_scheme] = _cls

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def open_sink(url: str) -> Sink:
    """The sink for ``url`` (not yet connected)."""
    match = _SCHEME.match(url)
    if not match:
        raise ConfigError(
            f"malformed database URL {url!r}",
            hint="e.g. sqlite:///chute.db or postgresql://user@host/db",
        )
    scheme = match.group(1).lower().split("+")[0]
    cls = SINKS.get(scheme)
    if cls is None:
        raise ConfigError(
            f"unknown database scheme {scheme!r}", hint=f"supported: {', '.join(sorted(SINKS))}"
        )
    return cls(url)
