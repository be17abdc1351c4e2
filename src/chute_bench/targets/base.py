"""What ``chute bench`` needs of a database: its plain driver, its table, its own bulk paths.

A :class:`Target` is the database as an application without chute reaches it: a DB-API
connection (:class:`Session`), the bench table's DDL in the database's types, how its driver
spells placeholders, and the database's own ways of loading (:attr:`Target.own`, e.g. COPY on
PostgreSQL, ``LOAD DATA LOCAL`` on MySQL/MariaDB, ``read_csv`` on DuckDB) beside the generic
ones that every target runs (:mod:`chute_bench.strategies`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from chute_bench.records import COLUMNS, SAMPLE_ROWS, SAMPLE_SECONDS


@dataclass
class Job:
    """One strategy's run, as the parent sends it to the worker process (JSON)."""

    strategy: str
    into: str
    rows: int
    table: str
    sample_rows: int = SAMPLE_ROWS
    sample_seconds: float = SAMPLE_SECONDS


@dataclass
class Outcome:
    """What a strategy did: the rows it wrote, and for a sample the time to extrapolate."""

    rows_written: int
    sample: bool = False  # rows_written is a sample of job.rows, to extrapolate from
    connect_seconds: float = 0.0
    #: connections that wrote rows (chute's parallel writers; 1 for a plain driver)
    connections: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Strategy:
    """A way of loading: ``run`` it, or it is shown as skipped because of ``skipped``."""

    label: str
    run: Callable[[Job, Target], Outcome] | None = None
    skipped: str | None = None


class Session:
    """A plain DB-API connection and cursor, as an application holds one.

    The default suits drivers that open a transaction by themselves (ADBC, PyMySQL): ``begin``
    does nothing and ``commit`` commits.  Targets whose driver differs override the methods.
    """

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.cur = conn.cursor()

    def begin(self) -> None:
        pass

    def commit(self) -> None:
        self.conn.commit()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        if params is None:
            self.cur.execute(sql)
        else:
            self.cur.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.cur.executemany(sql, list(rows))  # most drivers want a sequence

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        self.execute(sql)
        return [tuple(row) for row in self.cur.fetchall()]

    def close(self) -> None:
        try:
            self.cur.close()
        finally:
            self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Target(ABC):
    """A database ``chute bench`` measures, reached at ``url`` through its plain driver."""

    #: the database's name in the report and on the chart
    name: ClassVar[str]
    #: CREATE TABLE of the bench table with ``{t}`` for its quoted name
    ddl: ClassVar[str]
    #: its own ways of loading, in the order they run, between the generic ones and chute's
    own: ClassVar[dict[str, Strategy]] = {}
    #: generic strategies too slow here to run in full: they run on a sample, extrapolated
    sampled: ClassVar[frozenset[str]] = frozenset({"row_by_row"})

    def __init__(self, url: str) -> None:
        self.url = url

    @abstractmethod
    def session(self) -> Session:
        """A new connection, with the settings an application would give it."""

    @abstractmethod
    def version(self, db: Session) -> str:
        """The server's (or the embedded library's) version."""

    def identify(self, db: Session) -> tuple[str, str]:
        """The database's name and version for the report."""
        return self.name, self.version(db)

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def placeholders(self, rows: int) -> str:
        """``(?, ?, ...), (...)``: placeholders for ``rows`` rows of COLUMNS."""
        group = "(" + ", ".join("?" * len(COLUMNS)) + ")"
        return ", ".join([group] * rows)

    def row(self, record: dict[str, Any]) -> tuple[Any, ...]:
        """A record as the driver binds it."""
        return tuple(record[c] for c in COLUMNS)

    def insert_sql(self, table: str, rows: int) -> str:
        cols = ", ".join(self.quote(c) for c in COLUMNS)
        return f"INSERT INTO {self.quote(table)} ({cols}) VALUES {self.placeholders(rows)}"

    def admin(self, statements: Iterable[str]) -> list[tuple[Any, ...]]:
        """Run ``statements`` in one transaction on a connection of its own; the rows of the
        last one (empty for a statement without rows)."""
        with self.session() as db:
            rows: list[tuple[Any, ...]] = []
            db.begin()
            for sql in statements:
                if sql.lstrip().upper().startswith("SELECT"):
                    rows = db.fetch(sql)
                else:
                    db.execute(sql)
                    rows = []
            db.commit()
            return rows
