"""Two runs of the same load exclude each other.

Two identical ``chute load`` commands started at once would both find no checkpoint and both
load the whole file: every row twice.  So before it reads its checkpoint, a load takes a lock
named after the load (its checkpoint key; or its stage table, for a staged load that cannot
resume) and holds it until it ends.  A second run of the same load finds the lock taken and
stops with :class:`~chute.errors.LoadRunningError` (exit 7), naming the process that holds it.

The lock is the destination's: a sink that can hold one implements
:class:`~chute.sinks.contract.LoadLocks` (here also named ``Exclusive``).
PostgreSQL holds an advisory lock on a connection of its own (the server lets it go when the
process dies, however it dies); SQLite holds ``flock`` on a file beside the database (the
kernel lets it go when the process dies).  Either way a crashed run leaves no stale lock.
"""

from __future__ import annotations

import hashlib

from chute.errors import LoadRunningError

# their home is the sink side (a sink holds the lock: chute.sinks.locks.LoadLocks)
from chute.sinks.locks import FileLock as FileLock
from chute.sinks.locks import Held as Held
from chute.sinks.locks import Holder as Holder
from chute.sinks.locks import LoadLocks as Exclusive
from chute.sinks.locks import Taken as Taken


def exclude_others(sink: object, name: str, source: str, table: str) -> Held | None:
    """Take the lock of the load ``name`` on ``sink`` (None: the sink has no locks);
    another run of it holding the lock is a :class:`LoadRunningError`."""
    if not isinstance(sink, Exclusive):
        return None
    digest = hashlib.sha256(f"chute-load\0{name}".encode()).hexdigest()
    try:
        return sink.lock_load(digest, Holder.me())
    except Taken as exc:
        who = exc.holder.describe() if exc.holder is not None else "pid unknown"
        raise LoadRunningError(
            f"another chute load of {source} into {table} is running ({who})",
            hint="wait for it to finish (or stop it), then run this again",
        ) from None
