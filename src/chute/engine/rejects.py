"""Where rejected records go: a JSON Lines file (the default) or a table in the target.

Each reject holds its source position (file, line, byte offset, record number), the raw input
text, the record as read, the column when known, the kind of error, the SQLSTATE when the
database refused it, and the message.  A reject file can be fixed and loaded again:
``chute load orders.rejects.jsonl --table orders`` loads each line's ``record``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Protocol

import orjson
import pyarrow as pa

from chute.engine.faults import fault
from chute.errors import ConfigError
from chute.sinks.contract import REJECT_COLUMNS, Sink
from chute.sinks.names import check_table_name
from chute.sources.base import REJECTS_SUFFIX, Reject

TABLE_PREFIX = "table:"


class RejectStore(Protocol):
    #: where the rejects go, for messages and the report
    location: str
    #: whether a rolled-back transaction takes its rejects back with it
    transactional: bool

    def prepare(self) -> None:
        """Get ready before the load writes anything (a table is created here)."""
        ...

    def write(self, rejects: list[Reject], sink: Sink | None = None) -> None:
        """Keep ``rejects``; called inside the transaction of the batch they belong to, on
        ``sink`` (the connection that wrote the batch; by default the store's own)."""
        ...

    def forget_from(self, record: int) -> None:
        """Drop rejects of records from ``record`` on: a resumed load finds them again."""
        ...

    def close(self) -> None: ...


class RejectFile:
    """Rejects as JSON Lines; the file is created at the first reject, replacing an old one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self.transactional = False
        self._file: IO[bytes] | None = None
        self._append = False  # a resumed load adds to the file of the earlier run

    def prepare(self) -> None:
        """Refuse a place the file cannot be written before anything else is written (the
        file itself is made at the first reject)."""
        problem = _cannot_write(self.path)
        if problem:
            raise ConfigError(
                f"cannot write the reject file {self.path}: {problem}",
                hint="choose another place with --rejects PATH",
            )

    def write(self, rejects: list[Reject], sink: Sink | None = None) -> None:
        if not rejects:
            return
        if self._file is None:
            try:
                self._file = open(self.path, "ab" if self._append else "wb")  # noqa: SIM115
            except OSError as exc:
                raise ConfigError(
                    f"cannot write the reject file {self.path}: {exc.strerror}",
                    hint="choose another place with --rejects PATH",
                ) from None
        for reject in rejects:
            self._file.write(orjson.dumps(reject.to_dict(), default=str) + b"\n")
        self._file.flush()

    def forget_from(self, record: int) -> None:
        self._append = True
        if not self.path.exists():
            return
        kept = [
            line
            for line in self.path.read_bytes().splitlines(keepends=True)
            if _record_number(line) < record
        ]
        # a new file put in place of the old one: a crash while rewriting keeps the old
        fresh = self.path.with_name(self.path.name + ".tmp")
        fresh.write_bytes(b"".join(kept))
        fault("rejects-forgotten")
        os.replace(fresh, self.path)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class RejectTable:
    """Rejects as rows of a table in the target database, created when first needed."""

    def __init__(self, sink: Sink, table: str) -> None:
        self.sink = sink
        self.table = check_table_name(table)
        self.location = f"table {table}"
        self.transactional = True

    def prepare(self) -> None:
        self.sink.reject_store(self.table).prepare()

    def write(self, rejects: list[Reject], sink: Sink | None = None) -> None:
        if not rejects:
            return
        rows = [reject.to_dict() for reject in rejects]
        for row in rows:
            row["record"] = (
                None if row["record"] is None else orjson.dumps(row["record"], default=str).decode()
            )
        arrays = [
            pa.array([r[name] for r in rows], type=t.arrow) for name, t in REJECT_COLUMNS.items()
        ]
        batch = pa.RecordBatch.from_arrays(arrays, names=list(REJECT_COLUMNS))
        (sink or self.sink).reject_store(self.table).append(batch)

    def forget_from(self, record: int) -> None:
        self.sink.reject_store(self.table).forget_from(record)

    def close(self) -> None:
        pass


def _record_number(line: bytes) -> float:
    """The record number of a reject file's line; infinite for a line cut short by a crash
    (only the last line written can be, and its batch was not committed)."""
    try:
        number = orjson.loads(line).get("record_number")
    except orjson.JSONDecodeError:
        return float("inf")
    return 0 if number is None else float(number)


def open_rejects(
    target: str | None, *, sink: Sink | None, table: str, source: object
) -> RejectStore:
    """The reject store for ``--rejects``: ``table:NAME``, a path, or the default file.

    The default is ``<table>.rejects.jsonl`` beside the source file, or in the current
    folder when the source is stdin or an iterable.  Without a ``sink`` (``chute publish``
    has no database) only a file can be chosen.
    """
    if target and target.startswith(TABLE_PREFIX):
        if sink is None:
            raise ConfigError(
                f"--rejects {target}: there is no database to hold a rejects table here",
                hint="give a file: --rejects PATH",
            )
        return RejectTable(sink, target[len(TABLE_PREFIX) :])
    if target:
        if _same_file(Path(target), source):
            raise ConfigError(
                f"the reject file {target} is the source itself: writing rejects would "
                "overwrite it",
                hint="choose another place with --rejects PATH",
            )
        return RejectFile(Path(target))
    folder = Path(".")
    source_path = None
    if isinstance(source, (str, os.PathLike)) and os.fspath(source) != "-":
        source_path = Path(os.fspath(source))
        folder = source_path.parent
    path = folder / f"{table}{REJECTS_SUFFIX}"
    if source_path is not None and path.resolve() == source_path.resolve():
        path = folder / f"{table}.again{REJECTS_SUFFIX}"  # never overwrite what is being read
    return RejectFile(path)


def _same_file(path: Path, source: object) -> bool:
    if not isinstance(source, (str, os.PathLike)) or os.fspath(source) == "-":
        return False
    try:
        return path.resolve() == Path(os.fspath(source)).resolve()
    except (OSError, RuntimeError):  # a symlink loop: the source cannot be opened either
        return False


def _cannot_write(path: Path) -> str | None:
    """Why a file cannot be written at ``path`` (as ``open`` would say), or None."""
    if path.is_dir():
        return "Is a directory"
    if not path.parent.is_dir():
        return "No such file or directory"
    if path.exists():
        return None if os.access(path, os.W_OK) else "Permission denied"
    return None if os.access(path.parent, os.W_OK | os.X_OK) else "Permission denied"
