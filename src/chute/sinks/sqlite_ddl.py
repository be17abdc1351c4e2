"""SQLite DDL that chute writes itself: a copy of a table's statements under a new name
(stage tables), and the trigger that marks a table with its identity token."""

from __future__ import annotations

import re
import sqlite3

from chute.sinks.sql.dialect import quote_identifier as q

# a name ends at a space or a parenthesis: CREATE TABLE t(id ...) is a table named t
_NAME = r'("[^"]*"|`[^`]*`|\[[^\]]*\]|[^\s(]+)'
_CREATE_TABLE = re.compile(rf"^CREATE TABLE\s+{_NAME}", re.IGNORECASE)
_CREATE_INDEX = re.compile(rf"^CREATE (UNIQUE )?INDEX\s+{_NAME}\s+ON\s+{_NAME}", re.IGNORECASE)

TOKEN_TRIGGER = "_chute_id_"


def copy_statements(conn: sqlite3.Connection, table: str, like: str) -> list[str]:
    """``like``'s CREATE TABLE and CREATE INDEX statements, for a table named ``table``."""
    found = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
        "ORDER BY type DESC",  # the table before its indexes
        (like,),
    ).fetchall()
    statements = []
    for kind, name, sql in found:
        if kind == "table":
            statements.append(_CREATE_TABLE.sub(f"CREATE TABLE {q(table)}", sql, count=1))
        elif kind == "index":
            head = _CREATE_INDEX.match(sql)
            if head:
                renamed = f"CREATE {head.group(1) or ''}INDEX {q(table + '__' + name)} "
                statements.append(renamed + f"ON {q(table)}" + sql[head.end() :])
    return statements


def token_trigger(table: str, token: str) -> str:
    """A trigger that marks ``table`` with ``token`` and never fires (no UPDATE can set a
    column that does not exist, and its condition is false), so it costs no write."""
    return (
        f'CREATE TRIGGER {q(TOKEN_TRIGGER + token)} BEFORE UPDATE OF "_chute_none" '
        f"ON {q(table)} WHEN 0 BEGIN SELECT 0; END"
    )
