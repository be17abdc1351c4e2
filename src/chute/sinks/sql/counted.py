"""Statements counted for the report, on any DB-API connection."""

from __future__ import annotations

from typing import Any

from chute.sinks.contract import Sink


class Counted:
    """A DB-API connection or cursor that counts the statements sent through it on its
    sink (:attr:`Sink.statements`); everything else passes through."""

    _COUNTED = frozenset({"execute", "executemany", "adbc_ingest", "commit", "rollback"})

    def __init__(self, inner: Any, sink: Sink) -> None:
        self._inner = inner
        self._sink = sink

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name == "cursor":
            return lambda *a, **k: Counted(attr(*a, **k), self._sink)
        if name in self._COUNTED:

            def counted(*args: Any, **kwargs: Any) -> Any:
                self._sink.statements += 1
                return attr(*args, **kwargs)

            return counted
        return attr
