"""What differs between SQL databases, for :class:`~chute.sinks.sql.SqlSink`: quoting,
placeholders, the upsert and ignore statements, name limits, whether DDL is transactional,
and who is to blame for an error, decided by the database's code (never its message).

A database finds more than its own failures: a record it refuses (SQLSTATE class 22, 23),
and input or configuration that cannot work (a column named twice, a generated column given
values, a missing privilege, a view as the target).  Those are
:class:`~chute.errors.RecordError` and :class:`~chute.errors.ConfigError` (exit 2) with a
hint that fits, not "the database failed" (exit 5).
"""

from __future__ import annotations

from chute.errors import (
    ChuteError,
    ConfigError,
    RecordError,
    Refusal,
    SinkError,
    SinkUnavailableError,
)

_GENERATED = (
    "the database makes this column's values (GENERATED ALWAYS): leave the column out of the "
    "input, or load into a table where it is an ordinary column"
)
_NOT_A_TABLE = "load into a table (not a view or another kind of object)"

#: SQLSTATE (or a database's own code) -> the hint of the ConfigError it is
CONFIG: dict[str, str] = {
    "42701": "give each column its own name (PostgreSQL compares only the first 63 bytes "
    "of a name)",
    "54011": "PostgreSQL tables have at most 1600 columns: load fewer columns",
    "42P10": _GENERATED,  # COPY into a generated column
    "428C9": _GENERATED,  # INSERT into a generated or GENERATED ALWAYS identity column
    "42501": "the database user lacks a privilege: GRANT it, or connect as a user who has it",
    "42809": _NOT_A_TABLE,  # COPY to a view
    "55000": _NOT_A_TABLE,  # INSERT into a view that cannot take it
    "3F000": "no schema to create the table in: give the user USAGE and CREATE on a schema "
    "in its search_path",
    "25006": "the server only reads (a standby?): connect to the primary",
    "2BP01": "objects that depend on the table (views, foreign keys) stop a replace: drop "
    "them first, or load without --mode replace",
    # SQLite has no SQLSTATE: its result code names stand in for one
    "SQLITE_READONLY": "the database file cannot be written: check its permissions and its "
    "folder's",
    "SQLITE_PERM": "the database file cannot be written: check its permissions",
}

#: the hint for a generated column given values, whatever the database
GENERATED_HINT = _GENERATED


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (standard SQL: PostgreSQL, SQLite)."""
    if "\x00" in name:
        raise ConfigError(f"column name {name!r} contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


class Dialect:
    """Standard SQL with double-quoted names, ``ON CONFLICT`` upserts and SQLSTATEs."""

    name = "sql"
    #: how the driver marks parameters: "qmark" (``?``), "numeric" (``$1``) or "format"
    #: (``%s``, as MySQL's drivers take them)
    placeholder = "qmark"
    #: the longest name, in bytes of UTF-8 (None: no limit that matters)
    max_name_bytes: int | None = None
    #: DDL is undone by a rollback
    transactional_ddl = True
    #: the type of a text column that is a key (MySQL cannot index a plain TEXT)
    key_text = "text"
    #: SELECT the names of the tables (of the current schema) named LIKE ``?``
    tables_like = (
        "SELECT table_name FROM information_schema.tables WHERE table_schema = "
        "current_schema() AND table_name LIKE ?"
    )
    #: SELECT what the relation named ``?`` is ('table' or 'view') and a view's definition
    relation_of = (
        "SELECT CASE WHEN table_type = 'VIEW' THEN 'view' ELSE 'table' END, NULL FROM "
        "information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
    )

    # -- names and parameters

    def quote(self, name: str) -> str:
        """``name`` as a quoted identifier."""
        return quote_identifier(name)

    def params(self, sql: str) -> str:
        """``sql`` written with ``?`` marks, in the driver's placeholder style."""
        if self.placeholder == "qmark":
            return sql
        if self.placeholder == "format":
            return sql.replace("%", "%%").replace("?", "%s")
        parts = sql.split("?")
        return parts[0] + "".join(f"${i}{p}" for i, p in enumerate(parts[1:], 1))

    # -- statements

    def conflict(self, key: list[str], update: list[str]) -> str:
        """The clause after an INSERT: on a duplicate ``key``, set ``update`` columns to
        the new row's (none: keep the old row)."""
        q = self.quote
        head = f" ON CONFLICT ({', '.join(q(k) for k in key)}) "
        if not update:
            return head + "DO NOTHING"
        return head + "DO UPDATE SET " + ", ".join(f"{q(c)} = excluded.{q(c)}" for c in update)

    def upsert(self, table: str, columns: list[str], key: list[str], rows: str) -> str:
        """Insert ``rows`` (``VALUES (...)`` or a ``SELECT``); a row whose ``key`` is taken
        updates the other columns."""
        others = [c for c in columns if c not in key]
        return self.insert(table, columns, rows) + self.conflict(key, others)

    def insert_ignore(self, table: str, columns: list[str], key: list[str], rows: str) -> str:
        """Insert ``rows``; a row whose ``key`` is taken is skipped."""
        return self.insert(table, columns, rows) + self.conflict(key, [])

    def insert(self, table: str, columns: list[str], rows: str) -> str:
        """Insert ``rows`` (``VALUES (...)`` or a ``SELECT``)."""
        cols = ", ".join(self.quote(c) for c in columns)
        return f"INSERT INTO {self.quote(table)} ({cols}) {rows}"

    def add_column(self, table: str, column: str, declared: str) -> str:
        return f"ALTER TABLE {self.quote(table)} ADD COLUMN {self.quote(column)} {declared}"

    def rename_table(self, table: str, to: str) -> str:
        return f"ALTER TABLE {self.quote(table)} RENAME TO {self.quote(to)}"

    # -- errors

    def classify(
        self, code: str | None, message: str, *, column: str | None = None, lost: str = ""
    ) -> ChuteError:
        """The error a database error with ``code`` is, for the engine and the user."""
        return SinkError(message, sqlstate=code)


#: SQLSTATE classes (or codes) of a connection that is gone or a server going away
_UNAVAILABLE = ("08", "57P", "53300")
#: classes of a record the database refused
_RECORD = ("22", "23")
#: a deadlock or a serialization failure: the batch can be tried again whole
_RETRY = ("40P01", "40001")
_DUPLICATE_KEY = "23505"


class PostgresDialect(Dialect):
    name = "postgresql"
    placeholder = "numeric"
    max_name_bytes = 63  # NAMEDATALEN - 1: a longer name is cut short
    relation_of = (
        "SELECT CASE WHEN c.relkind = 'v' THEN 'view' ELSE 'table' END, CASE WHEN c.relkind "
        "= 'v' THEN pg_get_viewdef(c.oid) END FROM pg_class c WHERE c.oid = to_regclass("
        "quote_ident(?))"
    )

    def classify(
        self, code: str | None, message: str, *, column: str | None = None, lost: str = ""
    ) -> ChuteError:
        if code is None or code.startswith(_UNAVAILABLE):
            return SinkUnavailableError(f"{lost}{message}", sqlstate=code)
        if code in _RETRY:
            return RecordError(message, column=column, sqlstate=code, refusal=Refusal.RETRY)
        if code.startswith(_RECORD):
            refusal = Refusal.DUPLICATE_KEY if code == _DUPLICATE_KEY else Refusal.VALUE
            return RecordError(message, column=column, sqlstate=code, refusal=refusal)
        if code in CONFIG:
            return ConfigError(message, hint=CONFIG[code], sqlstate=code)
        return SinkError(message, sqlstate=code)


class SqliteDialect(Dialect):
    """SQLite: its result code names (``SQLITE_CONSTRAINT_UNIQUE``) stand in for SQLSTATEs."""

    name = "sqlite"
    tables_like = "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?"
    relation_of = "SELECT type, sql FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')"

    def classify(
        self, code: str | None, message: str, *, column: str | None = None, lost: str = ""
    ) -> ChuteError:
        code = code or ""
        if code.startswith("SQLITE_CONSTRAINT") or code == "SQLITE_MISMATCH":
            duplicate = code in ("SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE")
            refusal = Refusal.DUPLICATE_KEY if duplicate else Refusal.VALUE
            return RecordError(message, column=column, sqlstate=code, refusal=refusal)
        if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return SinkUnavailableError(f"the database is locked: {message}")
        if code in CONFIG:
            return ConfigError(message, hint=CONFIG[code], sqlstate=code)
        return SinkError(message, sqlstate=code or None)
