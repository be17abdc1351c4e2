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

import errno
import fcntl
import hashlib
import os
import time
from contextlib import suppress
from typing import IO

from chute.errors import LoadRunningError

# their home is the sink contract (a sink holds the lock: chute.sinks.contract.LoadLocks)
from chute.sinks.contract import Held as Held
from chute.sinks.contract import Holder as Holder
from chute.sinks.contract import LoadLocks as Exclusive
from chute.sinks.contract import Taken as Taken

#: how long a lock file's holder has to write its pid before a reader gives up on it
_PID_WAIT = 2.0


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


class FileLock:
    """``flock`` on a file holding the holder's pid and host; the file goes at release.

    A lock file found without a lock on it is left over by a run that died: the next run
    takes it over.  The file is removed while it is still locked, and a run that locked a
    file that is no longer at its path (removed meanwhile) tries again, so two runs can
    never hold the lock through two different files."""

    def __init__(self, path: str, file: IO[bytes]) -> None:
        self.path = path
        self._file: IO[bytes] | None = file

    @classmethod
    def take(cls, path: str, holder: Holder) -> FileLock:
        while True:
            file = open(path, "a+b")  # noqa: SIM115 - held until release()
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                file.close()
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                raise Taken(_read_holder(path)) from None
            try:
                same = os.stat(path).st_ino == os.fstat(file.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # removed by the run that held it before: lock the new one
                file.close()
                continue
            file.seek(0)
            file.truncate()
            file.write(f"{holder.pid} {holder.host}\n".encode())
            file.flush()
            return cls(path, file)

    def release(self) -> None:
        if self._file is None:
            return
        with suppress(FileNotFoundError):
            os.unlink(self.path)
        self._file.close()  # lets go of the lock
        self._file = None


def _read_holder(path: str) -> Holder | None:
    """The pid and host in a lock file, once its holder has written them."""
    deadline = time.monotonic() + _PID_WAIT
    while True:
        try:
            with open(path, "rb") as f:
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            return None
        pid, _, host = text.strip().partition(" ")
        if pid.isdigit():
            return Holder(int(pid), host)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.01)
