"""Who is to blame for a database error, by its SQLSTATE: one table for every SQL sink.

A database finds more than its own failures: a record it refuses (class 22, 23), and input
or configuration that cannot work (a column named twice, a generated column given values,
a missing privilege, a view as the target).  Those are :class:`~chute.errors.RecordError`
and :class:`~chute.errors.ConfigError` (exit 2) with a hint that fits, not "the database
failed" (exit 5).  Only the SQLSTATE decides, never the message's words.
"""

from __future__ import annotations

from chute.errors import (
    HINT_GENERATED,
    ChuteError,
    ConfigError,
    RecordError,
    Refusal,
    SinkError,
    SinkUnavailableError,
)

_GENERATED = HINT_GENERATED
_NOT_A_TABLE = "load into a table (not a view or another kind of object)"

#: SQLSTATE -> the hint of the ConfigError it is
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

#: SQLSTATE classes (or codes) of a connection that is gone or a server going away
_UNAVAILABLE = ("08", "57P", "53300")
#: classes of a record the database refused
_RECORD = ("22", "23")
#: how the database refused a write, where it is not a bad value (see Refusal)
_REFUSALS = {
    "23505": Refusal.DUPLICATE_KEY,  # unique_violation
    "40P01": Refusal.RETRY,  # deadlock_detected
    "40001": Refusal.RETRY,  # serialization_failure
}


def classify(
    sqlstate: str | None, message: str, *, column: str | None = None, lost: str = ""
) -> ChuteError:
    """The error a database error with ``sqlstate`` is, for the engine and the user."""
    if sqlstate is None or sqlstate.startswith(_UNAVAILABLE):
        return SinkUnavailableError(f"{lost}{message}", sqlstate=sqlstate)
    if sqlstate.startswith(_RECORD) or sqlstate in _REFUSALS:
        refusal = _REFUSALS.get(sqlstate, Refusal.VALUE)
        return RecordError(message, column=column, sqlstate=sqlstate, refusal=refusal)
    if sqlstate in CONFIG:
        return ConfigError(message, hint=CONFIG[sqlstate], sqlstate=sqlstate)
    return SinkError(message, sqlstate=sqlstate)
