"""PostgreSQL's lock of a load run: a session advisory lock on a connection of its own.

The lock is ``pg_try_advisory_lock(NAMESPACE, k)`` with ``k`` taken from the load's name;
the connection holding it is named ``chute load <pid> <host>`` (``application_name``), so a
second run can say which process holds it.  The server lets the lock go when the connection
ends, also when the process holding it was killed.
"""

from __future__ import annotations

import os
import time

from chute.errors import SinkError
from chute.sinks.contract import Holder, Taken
from chute.sinks.sql.sql_sink import SqlSink

#: the first key of every chute advisory lock ("chut"), apart from applications' own locks
NAMESPACE = 0x63687574
_APP = "chute load"
#: how long to wait for the server to notice that a holder on this machine is dead
_DEAD_HOLDER_WAIT = 10.0


class AdvisoryLock:
    def __init__(self, sink: SqlSink) -> None:
        self._sink: SqlSink | None = sink

    @classmethod
    def take(cls, sink: SqlSink, name: str, holder: Holder) -> AdvisoryLock:
        """Take the lock ``name`` on ``sink`` (a new, unconnected sink: its connection
        holds the lock)."""
        key = int(name[:8], 16) & 0x7FFFFFFF
        sink.connect()
        try:
            sink.execute(
                "SELECT set_config('application_name', ?, false)",
                [f"{_APP} {holder.pid} {holder.host}"[:63]],
            )
            deadline = time.monotonic() + _DEAD_HOLDER_WAIT
            while True:
                sql = "SELECT pg_try_advisory_lock(?::int4, ?::int4)"
                if sink.execute(sql, [NAMESPACE, key])[0][0]:
                    sink.commit()
                    return cls(sink)
                other = _holder(sink, key)
                sink.commit()
                if (other is not None and _alive(other)) or time.monotonic() > deadline:
                    raise Taken(other)
                time.sleep(0.1)  # gone, or dead: the server has yet to let its lock go
        except BaseException:
            sink.close()
            raise

    def release(self) -> None:
        if self._sink is not None:
            self._sink.close()  # the session's advisory locks go with it
            self._sink = None


def _holder(sink: SqlSink, key: int) -> Holder | None:
    try:
        rows = sink.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
            "AND l.classid = ?::int4::oid AND l.objid = ?::int4::oid "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [NAMESPACE, key],
        )
    except SinkError:
        sink.rollback()
        return None
    for (app,) in rows:
        words = (app or "").removeprefix(_APP).split()
        if words and words[0].isdigit():
            return Holder(int(words[0]), words[1] if len(words) > 1 else "")
        return Holder(0)
    return None


def _alive(holder: Holder) -> bool:
    """Whether the holder may be running (only a process of this machine can be checked)."""
    if holder.pid <= 0 or holder.host != Holder.me().host:
        return True
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
