"""The sink contract: what the engine asks of any destination, SQL or not.

The core, :class:`Sink`, is what every destination does: open and close, describe and
create a table (and widen or add a column of one it made), write a batch in a :class:`Mode`
inside a transaction (or its absence) and count what it did, tell a table's identity, and
hand out the two stores the engine keeps its bookkeeping in, in the destination itself:

- :class:`CheckpointStore` (where a load got to, saved in the batch's own transaction), and
- :class:`RejectStore` (a ``--rejects table:NAME`` table).

Nothing here is SQL: a SQL database is a :class:`chute.sinks.sql.SqlSink`, which adds
``execute`` and a dialect; a graph database can satisfy this contract without either.

Optional abilities are Protocols the engine tests with ``isinstance``:
:class:`Savepoints` (undo one refused piece and go on), :class:`Staging` (load into a stage
table and publish it at the end: ``--atomic``, ``--mode replace``) and :class:`LoadLocks`
(keep two runs of one load apart; in :mod:`chute.sinks.locks`).  :class:`Capabilities`
holds only what the engine branches on.  This module imports only :mod:`chute.coltypes`,
:mod:`chute.sinks.locks` (which imports nothing of chute's), :mod:`chute.sinks.stores` (the
two stores) and Arrow.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, Self, runtime_checkable

import pyarrow as pa

from chute.coltypes import EXACT_DECIMALS, ColumnType, Stores

# the lock ability has a module of its own; it is part of the contract
from chute.sinks.locks import Held as Held
from chute.sinks.locks import Holder as Holder
from chute.sinks.locks import LoadLocks as LoadLocks
from chute.sinks.locks import Taken as Taken

# so have the stores
from chute.sinks.stores import REJECT_COLUMNS as REJECT_COLUMNS
from chute.sinks.stores import Checkpoint as Checkpoint
from chute.sinks.stores import CheckpointStore as CheckpointStore
from chute.sinks.stores import RejectStore as RejectStore

if TYPE_CHECKING:
    from chute.graph.mapping import GraphMapping
    from chute.sinks.oracle import ValueOracle


class Mode(enum.StrEnum):
    """What happens to a record whose key is already in the table."""

    APPEND = "append"  # insert every record; no key involved
    UPSERT = "upsert"  # insert new keys, update existing ones (the last record wins)
    IGNORE = "ignore"  # insert new keys, skip existing ones
    REPLACE = "replace"  # load into a stage table, then swap it for the table at the end


@dataclass
class WriteCounts:
    created: int = 0
    updated: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class Capabilities:
    """What the engine branches on (an ability with methods is a Protocol instead)."""

    #: it can keep checkpoints, so an interrupted load can resume
    checkpoints: bool = True
    #: several connections can write one table at once and gain from it (``--workers``)
    parallel_writes: bool = False
    #: column names equal but for case are one column (SQLite); else distinct (quoted names)
    names_ignore_case: bool = False
    #: what it stores exactly, so inference may choose it (SQLite has no exact decimal:
    #: there a number is an INTEGER, a REAL when exact as one, or else its text)
    stores: Stores = EXACT_DECIMALS
    #: the longest table or column name, in bytes of UTF-8 (None: no limit that matters)
    max_name_bytes: int | None = None
    #: DDL (create, rename, drop) is undone by a rollback; where it is not (MySQL), a
    #: :meth:`Staging.swap_in` commits, and "all at once" rests on an atomic rename
    transactional_ddl: bool = True
    #: its array columns take a typed source's lists (a Parquet file's, Python lists: JSON
    #: texts that reach the sink marked as JSON), the database judging each element
    lists_into_arrays: bool = False
    #: batches of fewer rows cost this database more than their share (DuckDB writes a
    #: transaction of fewer rows than a row group through its log, twice): an adaptive load
    #: does not back off below it for a slow batch (refusals and memory still may)
    min_batch_rows: int = 0
    #: the rows of an adaptive load's first batches (None: the engine's START_ROWS); a sink
    #: whose batches cost much Python work besides the database's (a graph's projection and
    #: plan) overlaps it across batches, and starts smaller
    start_batch_rows: int | None = None


@dataclass(frozen=True)
class TableColumn:
    """A column of an existing table: the type values are converted to, and its own type."""

    name: str
    type: ColumnType
    declared: str
    nullable: bool = True
    has_default: bool = False
    max_length: int | None = None  # of a varchar(n) / char(n)
    #: the database makes its values (GENERATED ALWAYS, stored or virtual, or identity):
    #: an input cannot give it any
    generated: bool = False


# -- optional abilities -------------------------------------------------------------------


@runtime_checkable
class Savepoints(Protocol):
    """A refused statement can be undone alone and the transaction go on; without this,
    each piece of a refused batch is written in a transaction of its own."""

    def savepoint(self) -> None: ...

    def rollback_to_savepoint(self) -> None: ...

    def release_savepoint(self) -> None: ...


@runtime_checkable
class Staging(Protocol):
    """Rows can go to a stage table first and be published at the end, all at once."""

    def create_like(self, table: str, like: str, key: list[str]) -> None:
        """Create ``table`` with the columns, keys and constraints of ``like``."""
        ...

    def merge_from(
        self, table: str, stage: str, columns: list[str], mode: Mode, key: list[str]
    ) -> WriteCounts:
        """In the open transaction: insert ``stage``'s rows into ``table`` in ``mode``."""
        ...

    def swap_in(self, table: str, stage: str) -> None:
        """In the open transaction: drop ``table`` and rename ``stage`` to it (this commits
        where DDL is not transactional: ``capabilities.transactional_ddl``)."""
        ...

    def add_missing_columns(self, target: str, stage: str) -> list[str]:
        """In the open transaction: add to ``target`` the columns ``stage`` has and it
        lacks, with the stage's declared types; return their names."""
        ...


@runtime_checkable
class PreparesBatches(Protocol):
    """Work on a batch that needs no connection is done in the reader thread, while the
    writer waits on the database: :meth:`prepare_batch` is called with each converted batch
    before it is queued, and :meth:`Sink.write_rows` given that very batch object finds the
    work done (a piece of it, cut after a refusal, is worked on then)."""

    def prepare_batch(self, table: str, batch: pa.RecordBatch) -> None: ...


@runtime_checkable
class ExplainsWrites(Protocol):
    """A sink with something to say in the report about how it wrote a table's rows
    (which columns travelled as text to be cast by the server)."""

    def write_notes(self, table: str, columns: Sequence[str]) -> list[str]:
        """What to say of the load into ``table`` that wrote ``columns``."""
        ...


@runtime_checkable
class GraphTarget(Protocol):
    """A graph database: records become nodes and relationships through a mapping
    (:mod:`chute.graph.mapping`), and it counts what it did by label and relationship."""

    #: what it did besides writing (the constraints it made), for the report
    notes: list[str]

    def use_graph(
        self, mapping: GraphMapping, *, require_nodes: bool = False, mode: Mode = Mode.UPSERT
    ) -> None: ...

    def load_identity(self) -> str:
        """What besides source, table, mode and key makes a load this load (the mapping)."""
        ...

    def counts_by_kind(self) -> dict[str, dict[str, int]]:
        """Committed counts by label and relationship type: created, updated, ..."""
        ...


# -- the core -----------------------------------------------------------------------------


class Sink(ABC):
    """A destination chute writes to, opened from a URL.

    A sink writes each batch in its own transaction.  Tables are created by
    :meth:`create_table` with the engine's inferred types; a table made in the same load may
    later widen a column (:meth:`alter_column`) or gain one (:meth:`add_column`).
    """

    schemes: ClassVar[tuple[str, ...]]
    capabilities: ClassVar[Capabilities]
    #: the sink a writer session (:mod:`chute.session`) opens for this database, as
    #: ``"module:Class"``, when one is better at many small writes in one transaction
    #: (None: this class)
    session_class: ClassVar[str | None] = None

    def __init__(self, url: str) -> None:
        self.url = url
        #: statements sent to the database so far (commits included), for the report
        self.statements = 0
        #: seconds :meth:`connect` waits for a server to answer (None: the driver's default)
        self.connect_timeout: float | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display_url!r})"

    def another(self) -> Self:
        """A new, unconnected sink for the same database: a second connection."""
        other = type(self)(self.url)
        other.connect_timeout = self.connect_timeout
        return other

    def value_oracle(self, table: str) -> ValueOracle | None:
        """The judge of texts going into ``table``'s typed columns (an existing table's);
        ``None``: this sink has none, and Arrow's casts decide."""
        return None

    def forget_table(self, table: str) -> None:
        """Drop what is cached about ``table``: another connection changed its columns."""
        return None  # nothing is cached by default

    @property
    @abstractmethod
    def display_url(self) -> str:
        """The URL without its password, for messages and reports."""

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    # -- tables

    @abstractmethod
    def describe(self, table: str) -> list[TableColumn] | None:
        """The table's columns, or ``None`` when there is no such table."""

    @abstractmethod
    def create_table(self, table: str, columns: dict[str, ColumnType], key: list[str]) -> None:
        """Create ``table``; key columns become its primary key."""

    @abstractmethod
    def alter_column(
        self,
        table: str,
        column: str,
        new_type: ColumnType,
        columns: dict[str, ColumnType],
        key: list[str],
    ) -> None:
        """Change a column of a table this load created to a wider type, keeping its values."""

    @abstractmethod
    def add_column(self, table: str, column: str, new_type: ColumnType) -> None: ...

    @abstractmethod
    def drop_table(self, table: str) -> None:
        """In the open transaction (or its own): drop ``table`` if it exists."""

    @abstractmethod
    def primary_key(self, table: str) -> list[str]:
        """The columns of ``table``'s primary key (empty when it has none)."""

    @abstractmethod
    def unique_keys(self, table: str) -> list[list[str]]:
        """The column sets of ``table``'s primary key and unique indexes (no partial ones)."""

    def has_unique_key(self, table: str, key: list[str]) -> bool:
        """Whether a primary key or unique index of ``table`` is exactly ``key``."""
        return sorted(key) in [sorted(k) for k in self.unique_keys(table)]

    @abstractmethod
    def existing_keys(self, table: str, key: list[str], batch: pa.RecordBatch) -> list[int]:
        """The rows of ``batch`` whose ``key`` values are already in ``table`` (one query)."""

    @abstractmethod
    def table_token(self, table: str) -> str | None:
        """The identity of ``table``: kept by ALTER TABLE, renames and VACUUM, new when the
        table is dropped and made again (None: no table, or one never marked)."""

    def is_table(self, table: str, token: str | None) -> bool:
        """Whether ``token`` (from a checkpoint) is the identity of ``table`` as it is now."""
        return token == self.table_token(table)

    def mark_table(self, table: str) -> str | None:
        """In the open transaction (or one of its own): give ``table`` an identity if the
        database has none of its own; return :meth:`table_token`."""
        return self.table_token(table)

    # -- transactions

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None:
        """Commit; a constraint checked only now (deferred) raises :class:`RecordError`."""

    @abstractmethod
    def rollback(self) -> None: ...

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[None]:
        """Begin; commit at the end of the block (unless the block commits itself:
        ``commit=False``); roll back if it raises."""
        self.begin()
        try:
            yield
            if commit:
                self.commit()
        except BaseException:
            self.rollback()
            raise

    # -- writing

    @abstractmethod
    def write_rows(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        """Write ``batch`` inside the open transaction; a refused record raises
        :class:`~chute.errors.RecordError` (with ``row`` when the database says which, and
        ``refusal`` saying what the engine does next)."""

    def write(self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]) -> WriteCounts:
        """Write ``batch`` in a transaction of its own and commit it."""
        with self.transaction():
            return self.write_rows(table, batch, mode, key)

    # -- the engine's bookkeeping, kept in the destination

    @abstractmethod
    def checkpoint_store(self) -> CheckpointStore:
        """The checkpoints, on this sink's connection."""

    @abstractmethod
    def reject_store(self, table: str) -> RejectStore:
        """A rejects table named ``table``, written on this sink's connection."""
