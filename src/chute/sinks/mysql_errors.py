"""MySQL/MariaDB errors and warnings by their numeric CODE: who is to blame, and what to do.

Only the code decides (a refused record, a retry, a server that is gone, input or
configuration that cannot work); the message is kept for the user.  The one thing read
from a message is a record's position (``at row N``), which the server gives nowhere else;
without it the engine finds the record by bisection.
"""

from __future__ import annotations

import re

from chute.errors import (
    ChuteError,
    ConfigError,
    RecordError,
    Refusal,
    SinkError,
    SinkUnavailableError,
)
from chute.sinks.sql.dialect import Dialect

#: the server (or the client) does not allow LOAD DATA LOCAL: use INSERT instead
LOCAL_INFILE_REFUSED = frozenset(
    {
        1148,  # ER_NOT_ALLOWED_COMMAND (MySQL < 8, MariaDB < 10.5)
        2068,  # CR_LOAD_DATA_LOCAL_INFILE_REJECTED (client)
        3948,  # ER_CLIENT_LOCAL_FILES_DISABLED (MySQL 8)
        3950,  # ER_LOAD_INFILE_CAPABILITY_DISABLED (MySQL 8)
        4166,  # ER_LOAD_INFILE_CAPABILITY_DISABLED (MariaDB 10.5+)
    }
)

#: duplicate key: the engine's duplicate handling applies
DUPLICATE_KEY = frozenset({1062, 1586, 1557})

#: code -> SQLSTATE of a record the server refused (a value, a constraint)
RECORD: dict[int, str] = {
    1048: "23000",  # column cannot be null
    1062: "23000",  # duplicate entry
    1586: "23000",  # duplicate entry for key
    1557: "23000",  # foreign key duplicate
    1216: "23000",  # foreign key: no parent
    1452: "23000",  # foreign key: no parent row
    1451: "23000",  # foreign key: row is a parent
    1263: "22004",  # NULL supplied to a NOT NULL column
    1261: "01000",  # row does not contain data for all columns
    1262: "01000",  # row was truncated: more data than columns
    1264: "22003",  # out of range
    1690: "22003",  # value out of range
    1265: "01000",  # data truncated
    1292: "22007",  # incorrect datetime value
    1366: "HY000",  # incorrect value for the column
    1367: "22007",  # illegal value
    1406: "22001",  # data too long
    1365: "22012",  # division by 0
    1411: "HY000",  # incorrect value for a function
    1364: "HY000",  # field has no default value
    3140: "22032",  # invalid JSON (MySQL)
    3819: "HY000",  # CHECK constraint violated (MySQL)
    4025: "23000",  # CHECK constraint failed (MariaDB; also JSON_VALID of a JSON column)
    4038: "HY000",  # syntax error in JSON text (MariaDB, a note before 4025)
    1918: "22003",  # encountered illegal value when converting
    1300: "HY000",  # invalid utf8mb4 character string
}

#: a transaction the server rolled back (deadlock) or a lock not got in time: try again
RETRY: dict[int, str] = {1213: "40001", 1205: "HY000", 1412: "HY000"}

#: the server is gone, unreachable, or refuses the login
UNAVAILABLE = frozenset(
    {1040, 1044, 1045, 1049, 1053, 1152, 1153, 1158, 1159, 1160, 1161, 1927, 2002, 2003}
    | {2005, 2006, 2013, 2026, 2055}
)

_GENERATED = (
    "the database makes this column's values (GENERATED): leave the column out of the "
    "input, or load into a table where it is an ordinary column"
)
_PRIVILEGE = "the database user lacks a privilege: GRANT it, or connect as a user who has it"

#: code -> the hint of the ConfigError it is
CONFIG: dict[int, str] = {
    1060: "give each column its own name (MySQL compares names without regard to case)",
    1059: "MySQL names have at most 64 characters: shorten the column or table name",
    1117: "the table would have too many columns: load fewer columns",
    1118: "the row is too large for the table: load fewer or narrower columns",
    1142: _PRIVILEGE,
    1143: _PRIVILEGE,
    1227: _PRIVILEGE,
    1906: _GENERATED,
    3105: _GENERATED,
    1288: "load into a table (not a view or another kind of object)",
    1471: "load into a table (not a view or another kind of object)",
    1290: "the server only reads (--read-only): connect to the primary",
    1792: "the server only reads (a read-only transaction): connect to the primary",
    1217: "a foreign key refers to the table, which stops a replace: drop it first, or "
    "load without --mode replace",
    3730: "a foreign key refers to the table, which stops a replace: drop it first, or "
    "load without --mode replace",
    1054: "a column of the input is not in the table: add it (--add-columns) or leave it out",
}

_AT_ROW = re.compile(r"\bat row (\d+)|\bRow (\d+)\b")


def sqlstate_of(code: int) -> str:
    """The SQLSTATE the server gives with ``code`` (as far as chute needs it)."""
    return RECORD.get(code) or RETRY.get(code) or "HY000"


def row_of(message: str) -> int | None:
    """The 0-based row a message names (``at row 3`` -> 2), or None."""
    match = _AT_ROW.search(message)
    if not match:
        return None
    return int(match.group(1) or match.group(2)) - 1


def classify(code: int, message: str, *, lost: str = "") -> ChuteError:
    """The error a server error ``code`` is, for the engine and the user."""
    if code in UNAVAILABLE or 2000 <= code < 3000:
        return SinkUnavailableError(f"{lost}{message} ({code})", sqlstate=sqlstate_of(code))
    if code in RECORD:
        refusal = Refusal.DUPLICATE_KEY if code in DUPLICATE_KEY else Refusal.VALUE
        err = RecordError(f"{message} ({code})", sqlstate=RECORD[code], refusal=refusal)
        err.row = row_of(message)
        return err
    if code in RETRY:  # the engine tries the batch again whole
        return RecordError(f"{message} ({code})", sqlstate=RETRY[code], refusal=Refusal.RETRY)
    if code in CONFIG:
        return ConfigError(f"{message} ({code})", hint=CONFIG[code], sqlstate=sqlstate_of(code))
    return SinkError(f"{message} ({code})", sqlstate=sqlstate_of(code))


def warning_error(warnings: list[tuple[str, int, str]]) -> RecordError:
    """The refusal that a load's warnings are: the first warning that names a row (the
    earliest record the server found fault with), else the first warning."""
    named = [w for w in warnings if row_of(w[2]) is not None]
    _level, code, message = min(named, key=lambda w: row_of(w[2]) or 0) if named else warnings[0]
    refusal = Refusal.DUPLICATE_KEY if code in DUPLICATE_KEY else Refusal.VALUE
    err = RecordError(f"{message} ({code})", sqlstate=RECORD.get(code, "01000"), refusal=refusal)
    err.row = row_of(message)
    return err


class MysqlDialect(Dialect):
    """MySQL and MariaDB: back-quoted names, ``ON DUPLICATE KEY UPDATE``, numeric codes."""

    name = "mysql"
    placeholder = "format"  # PyMySQL: %s
    max_name_bytes = 64  # 64 characters: counted in bytes here, which is stricter
    transactional_ddl = False  # CREATE, ALTER, RENAME, DROP commit the open transaction
    key_text = "varchar(255)"  # InnoDB cannot index a whole TEXT

    def quote(self, name: str) -> str:
        if "\x00" in name:
            raise ConfigError(f"column name {name!r} contains a NUL character")
        return "`" + name.replace("`", "``") + "`"

    def conflict(self, key: list[str], update: list[str]) -> str:
        # VALUES(c): MariaDB's way (MySQL 8.0.20+ still takes it, with a deprecation note)
        q = self.quote
        if not update:
            return f" ON DUPLICATE KEY UPDATE {q(key[0])} = {q(key[0])}"
        return " ON DUPLICATE KEY UPDATE " + ", ".join(f"{q(c)} = VALUES({q(c)})" for c in update)

    def rename_table(self, table: str, to: str) -> str:
        return f"RENAME TABLE {self.quote(table)} TO {self.quote(to)}"

    def classify(
        self, code: str | None, message: str, *, column: str | None = None, lost: str = ""
    ) -> ChuteError:
        number = int(code) if code and code.isdigit() else 2013
        return classify(number, message, lost=lost)


DIALECT = MysqlDialect()
