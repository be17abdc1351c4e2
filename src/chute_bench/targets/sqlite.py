"""SQLite through Python's ``sqlite3``, with the settings chute's SQLite sink uses."""

from __future__ import annotations

from typing import Any, ClassVar

from chute_bench.targets.base import Session, Strategy, Target


def sqlite_path(url: str) -> str:
    """``sqlite:///relative.db`` → ``relative.db``, ``sqlite:////abs.db`` → ``/abs.db``."""
    return url.split("://", 1)[1][1:]


class _SqliteSession(Session):
    """Autocommit mode, as chute's: BEGIN and COMMIT are statements."""

    def begin(self) -> None:
        self.cur.execute("BEGIN")

    def commit(self) -> None:
        self.cur.execute("COMMIT")

    def executemany(self, sql: str, rows: Any) -> None:
        self.cur.executemany(sql, rows)  # sqlite3 streams an iterator


class SqliteTarget(Target):
    name = "SQLite"
    # as chute would make it: exact decimals as text, SQLite having no exact decimal type
    ddl = (
        "CREATE TABLE {t} (id BIGINT PRIMARY KEY, name TEXT, amount TEXT, "
        "created_at TIMESTAMP, active BOOLEAN)"
    )
    own: ClassVar[dict[str, Strategy]] = {"copy": Strategy("COPY", skipped="SQLite has no COPY")}

    def session(self) -> Session:
        import sqlite3

        conn = sqlite3.connect(sqlite_path(self.url), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return _SqliteSession(conn)

    def version(self, db: Session) -> str:
        import sqlite3

        return sqlite3.sqlite_version

    def row(self, record: dict[str, Any]) -> tuple[Any, ...]:
        # sqlite3 binds neither Decimal nor (without a warning) datetime
        created = record["created_at"].isoformat(" ")
        return (record["id"], record["name"], str(record["amount"]), created, record["active"])
