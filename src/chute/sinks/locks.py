"""Keeping two runs of one load apart: the sink side (see :mod:`chute.engine.lock`).

A sink that can hold a lock per load implements :class:`LoadLocks`; PostgreSQL holds an
advisory lock on a connection of its own, SQLite ``flock`` on a file beside the database
(:class:`FileLock`, for any database that is a file).
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import IO, Protocol, runtime_checkable

#: how long a lock file's holder has to write its pid before a reader gives up on it
_PID_WAIT = 2.0


@dataclass(frozen=True)
class Holder:
    """The process holding a lock."""

    pid: int
    host: str = ""

    @classmethod
    def me(cls) -> Holder:
        return cls(os.getpid(), socket.gethostname())

    def describe(self) -> str:
        if self.pid <= 0:
            return "pid unknown"
        if self.host and self.host != socket.gethostname():
            return f"pid {self.pid} on {self.host}"
        return f"pid {self.pid}"


class Taken(Exception):
    """The lock is held by another run (``holder``, when it could be told)."""

    def __init__(self, holder: Holder | None) -> None:
        super().__init__(holder)
        self.holder = holder


class Held(Protocol):
    """A lock this run holds."""

    def release(self) -> None: ...


@runtime_checkable
class LoadLocks(Protocol):
    """A sink that can keep two runs of one load apart."""

    def lock_load(self, name: str, holder: Holder) -> Held:
        """Take the lock ``name`` (64 hex digits) for ``holder`` (this process) and hold it
        until :meth:`Held.release` or the end of the process; raise :class:`Taken` when
        another run holds it."""
        ...


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
