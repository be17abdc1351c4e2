"""What every sink does: describe and create tables, and write a batch in a mode."""

from __future__ import annotations

import enum
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa

from chute.engine.columns import EXACT_DECIMALS, ColumnType, Stores
from chute.engine.oracle import ValueOracle
from chute.errors import ConfigError


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
    upsert: bool = True
    transactions: bool = True
    bulk_copy: bool = False
    alter_column_type: bool = True
    #: a refused statement can be undone alone (ROLLBACK TO SAVEPOINT) and the
    #: transaction go on; without it, each piece of a refused batch is its own transaction
    savepoints: bool = True
    #: it can keep checkpoints in a table, so an interrupted load can resume
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


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_IDENTIFIER_BYTES = 63


#: chute's own tables (checkpoints, message ledger, stage tables) and triggers start with
#: this; no load may write to such a table (SQLite's names ignore case, so neither does this)
RESERVED_PREFIX = "_chute_"


def is_reserved(name: str) -> bool:
    return name.lower().startswith(RESERVED_PREFIX)


def check_table_name(name: str) -> str:
    if not _IDENTIFIER.match(name) or len(name) > MAX_IDENTIFIER_BYTES:
        raise ConfigError(
            f"{name!r} is not a valid table name",
            hint="use letters, digits and underscores, starting with a letter, "
            f"at most {MAX_IDENTIFIER_BYTES} characters",
        )
    if is_reserved(name):
        raise ConfigError(
            f"table name {name!r} is reserved: names starting with {RESERVED_PREFIX} are "
            "chute's own bookkeeping",
            hint="choose another table name",
        )
    return name


def check_column_names(names: Iterable[str], max_bytes: int | None, database: str) -> None:
    """Refuse a column name the database cannot hold as it is (PostgreSQL cuts a name
    longer than 63 bytes of UTF-8 short, which would load into another column)."""
    if max_bytes is None:
        return
    for name in names:
        size = len(name.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            shown = name if len(name) <= 40 else name[:40] + "…"
            raise ConfigError(
                f"column name {shown!r} is {size} bytes long; {database} allows at most "
                f"{max_bytes} bytes (UTF-8) in a name",
                hint="shorten it in the input (a CSV header, a JSON key)",
            )


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


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (PostgreSQL and SQLite)."""
    if "\x00" in name:
        raise ConfigError(f"column name {name!r} contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


class Sink(ABC):
    """A database chute writes to, opened from a URL.

    A sink writes each batch in its own transaction.  Tables are created by
    :meth:`create_table` with the engine's inferred types; a table made in the same load may
    later widen a column (:meth:`alter_column`) or gain one (:meth:`add_column`).
    """

    schemes: ClassVar[tuple[str, ...]]
    capabilities: ClassVar[Capabilities]

    def __init__(self, url: str) -> None:
        self.url = url
        #: statements sent to the database so far (commits included), for the report
        self.statements = 0
        #: seconds :meth:`connect` waits for a server to answer (None: the driver's default)
        self.connect_timeout: float | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display_url!r})"

    def another(self) -> Sink:
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
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) in the open transaction, or in one of its
        own when none is open; return its rows."""

    # -- staged loads (--atomic, --mode replace): rows go to a stage table first

    @abstractmethod
    def create_like(self, table: str, like: str, key: list[str]) -> None:
        """Create ``table`` with the columns, keys and constraints of ``like``."""

    @abstractmethod
    def merge_from(
        self, table: str, stage: str, columns: list[str], mode: Mode, key: list[str]
    ) -> WriteCounts:
        """In the open transaction: insert ``stage``'s rows into ``table`` in ``mode``."""

    @abstractmethod
    def swap_in(self, table: str, stage: str) -> None:
        """In the open transaction: drop ``table`` and rename ``stage`` to it."""

    @abstractmethod
    def drop_table(self, table: str) -> None:
        """In the open transaction (or its own): drop ``table`` if it exists."""

    @abstractmethod
    def primary_key(self, table: str) -> list[str]:
        """The columns of ``table``'s primary key (empty when it has none)."""

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

    @abstractmethod
    def unique_keys(self, table: str) -> list[list[str]]:
        """The column sets of ``table``'s primary key and unique indexes (no partial ones)."""

    def has_unique_key(self, table: str, key: list[str]) -> bool:
        """Whether a primary key or unique index of ``table`` is exactly ``key``."""
        return sorted(key) in [sorted(k) for k in self.unique_keys(table)]

    # -- transactions: the engine writes a batch as pieces inside one transaction, each
    # -- piece behind a savepoint, so a refused piece is undone without the others.

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None:
        """Commit; a constraint checked only now (deferred) raises :class:`RecordError`."""

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def savepoint(self) -> None: ...

    @abstractmethod
    def rollback_to_savepoint(self) -> None: ...

    @abstractmethod
    def release_savepoint(self) -> None: ...

    @abstractmethod
    def write_rows(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        """Write ``batch`` inside the open transaction; a refused record raises
        :class:`RecordError` (with ``row`` when the database says which)."""

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

    def write(self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]) -> WriteCounts:
        """Write ``batch`` in a transaction of its own and commit it."""
        with self.transaction():
            return self.write_rows(table, batch, mode, key)

    @abstractmethod
    def close(self) -> None: ...
