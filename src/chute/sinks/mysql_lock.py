"""A MySQL/MariaDB load's lock: ``GET_LOCK(name, 0)`` on a connection of its own; the
server lets it go when the connection ends, also when the process holding it was killed.
(Lock names are server-wide: the database's name is part of the name.)"""

from __future__ import annotations

from chute.sinks.locks import Holder, Taken
from chute.sinks.sql.sql_sink import SqlSink


class NamedLock:
    """A held ``GET_LOCK``; :meth:`release` closes its connection."""

    def __init__(self, sink: SqlSink) -> None:
        self._sink: SqlSink | None = sink

    @classmethod
    def take(cls, sink: SqlSink, name: str, holder: Holder) -> NamedLock:
        sink.connect()
        try:
            if sink.execute("SELECT GET_LOCK(?, 0)", [name])[0][0] == 1:
                return cls(sink)
            raise Taken(None)
        except BaseException:
            sink.close()
            raise

    def release(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None
