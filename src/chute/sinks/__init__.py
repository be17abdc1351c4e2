"""Sinks: the databases chute writes to, chosen by URL scheme.

Sink modules are imported when their scheme is first used, so a SQLite load does not pay
for importing the PostgreSQL driver.  Schemes come from the ``chute.sinks`` entry points
(:mod:`chute.registry`), chute's own as well; :data:`chute.registry.BUILTIN_SINKS` lists the
built-in ones again so that a checkout run through ``PYTHONPATH`` finds them.  A new
built-in sink is one line there and one line under ``[project.entry-points."chute.sinks"]``
in ``pyproject.toml``.
"""

from __future__ import annotations

import re

from chute.errors import ConfigError
from chute.sinks.contract import Capabilities, Mode, Sink, TableColumn, WriteCounts
from chute.urls import redact

__all__ = ["Capabilities", "Mode", "Sink", "TableColumn", "WriteCounts", "open_sink"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def sink_class(scheme: str) -> type[Sink]:
    """The sink class of ``scheme`` (a ConfigError listing the known schemes if none)."""
    from chute.registry import sink_class as registered

    return registered(scheme)


def open_sink(url: str, *, connect_timeout: float | None = None, session: bool = False) -> Sink:
    """The sink for ``url`` (not yet connected); its :meth:`~Sink.connect` waits at most
    ``connect_timeout`` seconds for the server (None: the driver's default).  ``session``:
    the sink a writer session writes through (:attr:`Sink.session_class`)."""
    match = _SCHEME.match(url)
    if not match:
        raise ConfigError(
            f"malformed database URL {redact(url)!r}",
            hint="e.g. sqlite:///chute.db or postgresql://user@host/db",
        )
    scheme = match.group(1).lower().split("+")[0]
    cls = sink_class(scheme)
    if session and cls.session_class is not None:
        from chute.registry import declared_sink

        cls = declared_sink(cls.session_class, scheme)
    sink = cls(url)
    sink.connect_timeout = connect_timeout
    return sink
