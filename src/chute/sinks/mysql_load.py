"""One batch into one table: ``LOAD DATA LOCAL INFILE`` streamed from memory, or multi-row
``INSERT`` statements; either way the rows stored and the server's warnings.

PyMySQL answers the server's request for the "file" by opening the path it was given; the
path is ``/dev/fd/N``, the read end of an ``os.pipe`` that a thread fills with the batch's
bytes (built by :mod:`chute.sinks.mysql_wire` in Arrow's memory).  Nothing is written to disk
and the pipe holds 64 KiB at a time.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from chute.sinks.mysql_wire import insert_rows, load_data_bytes

Warning_ = tuple[str, int, str]


@dataclass(frozen=True)
class LoadPath:
    #: a new cursor on the sink's connection
    cursor: Callable[[], Any]
    local_infile: bool
    #: the server's max_allowed_packet
    max_packet: int


def _columns(batch: pa.RecordBatch) -> str:
    return ", ".join("`" + n.replace("`", "``") + "`" for n in batch.schema.names)


def load_batch(
    path: LoadPath, table: str, batch: pa.RecordBatch, *, local: bool
) -> tuple[int, list[Warning_]]:
    """Store ``batch`` in ``table`` (quoted); return (rows stored, warnings)."""
    if not local:
        return insert_values(path, table, batch)
    cur = path.cursor()
    try:
        stored = _load_data(cur, table, batch)
        return stored, _warnings(cur, 0)
    finally:
        cur.close()


def insert_values(
    path: LoadPath, table: str, batch: pa.RecordBatch, suffix: str = ""
) -> tuple[int, list[Warning_]]:
    """``batch`` as multi-row ``INSERT INTO table (...) VALUES ...`` statements, each
    followed by ``suffix`` (``ON DUPLICATE KEY UPDATE ...``); (affected rows, warnings),
    the warnings' rows counted from the batch's first."""
    cur = path.cursor()
    try:
        head = f"INSERT INTO {table} ({_columns(batch)}) VALUES ".encode()
        tail = suffix.encode()
        budget = max(path.max_packet // 2 - len(head) - len(tail) - 1024, 1024)
        stored = 0
        warnings: list[Warning_] = []
        for first, values in insert_rows(batch, budget):
            try:
                cur.execute(head + values + tail)
            except Exception as exc:
                _shift_row(exc, first)
                raise
            stored += int(cur.rowcount)
            warnings += _warnings(cur, first)
        return stored, warnings
    finally:
        cur.close()


def _warnings(cur: Any, first: int) -> list[Warning_]:
    """The last statement's warnings (none asked for when it had none)."""
    if not cur.warning_count:
        return []
    cur.execute("SHOW WARNINGS")
    return [(str(w[0]), int(w[1]), _shifted(str(w[2]), first)) for w in cur.fetchall()]


def _load_data(cur: Any, table: str, batch: pa.RecordBatch) -> int:
    data = load_data_bytes(batch)
    read, write = os.pipe()
    failed: list[BaseException] = []

    def feed() -> None:
        try:
            with os.fdopen(write, "wb") as out:
                out.write(data)
        except BrokenPipeError:
            pass  # the server stopped reading (an error): it says why
        except BaseException as exc:  # pragma: no cover - reported below
            failed.append(exc)

    feeder = threading.Thread(target=feed, name="chute-mysql-feed", daemon=True)
    feeder.start()
    try:
        cur.execute(
            f"LOAD DATA LOCAL INFILE '/dev/fd/{read}' INTO TABLE {table} "
            "CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
            f"LINES TERMINATED BY '\\n' ({_columns(batch)})"
        )
    finally:
        os.close(read)  # a feeder still writing gets EPIPE and ends
        feeder.join()
    if failed:
        raise failed[0]
    return int(cur.rowcount)


def _shift_row(exc: Exception, first: int) -> None:
    """An error's ``at row N`` counts from the statement's first record: from the batch's."""
    args = exc.args
    if first and len(args) > 1 and isinstance(args[1], str):
        exc.args = (args[0], _shifted(args[1], first), *args[2:])


def _shifted(message: str, first: int) -> str:
    if not first:
        return message
    return re.sub(r"at row (\d+)", lambda m: f"at row {int(m.group(1)) + first}", message)
