"""Writer sessions: many small writes into several tables of one database, fast.

::

    with chute.connect("postgresql://...") as db:
        with db.transaction():                 # one transaction per block
            c1 = db.write("transfers", events, mode="upsert", key="tx_hash")
            c2 = db.write("approvals", approvals, mode="ignore", key=["tx_hash", "log_index"])
        print(c1.created, c1.updated, c2.skipped)

A session keeps its connection and what it learnt of each table (columns, types, keys), so
a write costs what its rows cost: no connect, no catalog query, no checkpoint.  The first
write into a table it does not know makes or matches the table as ``chute load`` would.
Outside :meth:`Session.transaction` each write is its own transaction; inside, all commit
together or not at all.  A record the database refuses is set aside (the write's result
lists it) unless ``on_error="raise"``: then nothing of the write (inside a transaction:
nothing of the transaction) is stored and a :class:`~chute.errors.RecordError` names it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

from chute.config import DEFAULT_CONNECT_TIMEOUT, parse_key, parse_mode
from chute.errors import ChuteError, ConfigError, RecordError, SessionError
from chute.session.inputs import to_source_batch
from chute.session.tables import TableWriter, WriteResult
from chute.sinks import open_sink
from chute.sinks.contract import Mode, Sink
from chute.sinks.names import check_table_name

ON_ERROR = ("reject", "raise")


class _Transaction:
    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.results: list[WriteResult] = []
        self.tables: set[str] = set()  # written in it: forgotten if it rolls back
        self.failed: str | None = None  # why no more can be written in it


class Session:
    """A connection for many writes (see the module).  Use :func:`connect`."""

    def __init__(self, url: str, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> None:
        self.sink: Sink = open_sink(url, connect_timeout=connect_timeout, session=True)
        self.url = self.sink.display_url
        self._tables: dict[tuple[str, Mode, tuple[str, ...], bool], TableWriter] = {}
        self._tx: _Transaction | None = None
        self._lock = threading.RLock()  # one write at a time on the connection
        self._closed = False
        self.sink.connect()

    def __repr__(self) -> str:
        return f"Session({self.url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """Everything written in the block commits at its end, or nothing if it raises."""
        self.begin()
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def begin(self) -> None:
        """Open a transaction (:meth:`transaction` is the usual way)."""
        with self._lock:
            self._check_usable()
            if self._tx is not None:
                raise SessionError(
                    "a transaction is already open in this session (they do not nest)"
                )
            self.sink.begin()
            self._tx = _Transaction()

    def commit(self) -> None:
        """Commit the open transaction; if a write in it failed, roll it back and raise."""
        with self._lock:
            tx = self._open_tx()
            if tx.failed is not None:
                self._end(tx, commit=False)
                raise SessionError(f"the transaction was rolled back: {tx.failed}")
            self._end(tx, commit=True)

    def rollback(self) -> None:
        """Roll the open transaction back: nothing written in it is stored."""
        with self._lock:
            self._end(self._open_tx(), commit=False)

    def _open_tx(self) -> _Transaction:
        tx = self._tx
        if self._closed or tx is None:
            raise SessionError("no transaction is open in this session")
        if tx.thread != threading.get_ident():
            raise SessionError(
                "this session's transaction was opened on another thread: only that "
                "thread can end it"
            )
        return tx

    def _end(self, tx: _Transaction, *, commit: bool) -> None:
        self._tx = None
        if commit:
            try:
                self.sink.commit()
            except BaseException:
                self._forget(tx.tables)
                raise
            for result in tx.results:
                result.committed = True
            return
        self.sink.rollback()
        self._forget(tx.tables)  # a table made in it is gone again

    @property
    def in_transaction(self) -> bool:
        return self._tx is not None

    # -- writing --------------------------------------------------------------------

    def write(
        self,
        table: str,
        records: Any,
        *,
        mode: str | Mode = Mode.APPEND,
        key: str | Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
        on_error: str = "reject",
        add_columns: bool = False,
    ) -> WriteResult:
        """Write ``records`` into ``table`` in ``mode`` (``append``, ``upsert``, ``ignore``)
        on ``key``; return what was done.

        ``records``: dicts (dataclasses, named tuples), tuples with ``columns``, an Arrow
        table or batch, or a data frame.  A table the session does not know is made from
        the records (or matched, when it exists: its types rule, and a column it lacks is
        an error unless ``add_columns``).  ``on_error="raise"``: a record that cannot be
        stored stores nothing and raises :class:`~chute.errors.RecordError` naming it."""
        if on_error not in ON_ERROR:
            raise ConfigError(f"on_error must be 'reject' or 'raise', not {on_error!r}")
        parsed = parse_mode(mode)
        if parsed is Mode.REPLACE:
            raise ConfigError(
                "a session writes in append, upsert or ignore mode",
                hint="replace a whole table with chute.load(..., mode='replace')",
            )
        keys = tuple(parse_key(key))
        if parsed is not Mode.APPEND and not keys:
            raise ConfigError(
                f"mode {parsed.value} needs a key",
                hint="pass key='column' (or key=['a', 'b'] for a key of several columns)",
            )
        batch = to_source_batch(records, columns, f"write to {table}")
        with self._lock:
            self._check_usable()
            writer = self._writer(table, parsed, keys, add_columns)
            tx = self._tx
            if on_error == "raise" and tx is None:
                with self.transaction():  # all of the write, or none of it
                    return self._write(writer, batch, raise_errors=True)
            return self._write(writer, batch, raise_errors=on_error == "raise")

    def _write(self, writer: TableWriter, batch: Any, *, raise_errors: bool) -> WriteResult:
        tx = self._tx
        table = writer.run.target
        if tx is not None:
            tx.tables.add(table)
        try:
            result = writer.write(batch, nested=tx is not None)
        except ChuteError as exc:
            self._forget({table})  # what it knew of the table may be what was wrong
            if tx is not None:
                tx.failed = f"writing to {table} failed: {exc}"
            raise
        except BaseException:
            self._forget({table})
            if tx is not None:
                tx.failed = f"writing to {table} was interrupted"
            raise
        if writer.changed_table:  # other writers of the table describe it again
            self._forget({table}, keep=writer)
        if raise_errors and result.rejects:
            first = result.rejects[0]
            err = RecordError(
                first.message,
                position=first.position,
                column=first.column,
                sqlstate=first.sqlstate,
                hint="nothing of the transaction was stored",
            )
            err.record = first.record
            if tx is not None:
                tx.failed = str(err)
            raise err
        if tx is None:
            result.committed = True
        else:
            tx.results.append(result)
        return result

    def _writer(
        self, table: str, mode: Mode, key: tuple[str, ...], add_columns: bool
    ) -> TableWriter:
        found = self._tables.get((table, mode, key, add_columns))
        if found is None:
            check_table_name(table)
            found = TableWriter(self.sink, table, mode, key, add_columns=add_columns)
            self._tables[(table, mode, key, add_columns)] = found
        return found

    def forget(self, table: str) -> None:
        """Forget what the session knows of ``table`` (another program changed it): the
        next write describes it again."""
        with self._lock:
            self._forget({table})

    def _forget(self, tables: set[str], keep: TableWriter | None = None) -> None:
        """Forget ``tables``: their writers (but ``keep``, which changed the table and
        knows it; the sink's own DDL dropped what it cached of it) and the sink's cache."""
        for k in [k for k in self._tables if k[0] in tables]:
            if self._tables[k] is not keep:
                self._tables.pop(k).close()
        if keep is None:
            for table in tables:
                self.sink.forget_table(table)

    # -- the end --------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._closed:
            raise SessionError(f"this session ({self.url}) is closed")
        tx = self._tx
        if tx is None:
            return
        if tx.thread != threading.get_ident():
            raise SessionError(
                "this session's transaction was opened on another thread: a transaction "
                "belongs to the thread that opened it",
                hint="give each thread its own session (chute.connect)",
            )
        if tx.failed is not None:
            raise SessionError(
                f"the transaction already failed ({tx.failed}); leave the `with` block to "
                "roll it back"
            )

    def close(self) -> None:
        """Roll back an open transaction and close the connection (twice is harmless)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._tx is not None:
                    self._tx = None
                    self.sink.rollback()
            finally:
                for writer in self._tables.values():
                    writer.close()
                self._tables.clear()
                self.sink.close()


def connect(url: str, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> Session:
    """A writer session on the database at ``url`` (any sink URL); close it, or use it as
    a context manager."""
    return Session(url, connect_timeout=connect_timeout)
