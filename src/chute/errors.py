"""The errors chute raises.

Every error is a :class:`ChuteError`; the subclasses say what the caller does next::

    ChuteError                      base; ``transient`` says whether retrying can help
    ├── ConfigError                 a wrong option, URL, table or column name  (exit 2)
    ├── SourceError                 the input cannot be read or parsed          (exit 3)
    │                               carries ``source``, ``line``, ``column``, ``offset``
    ├── RecordError                 a record was refused; normally it becomes a reject
    │                               carries ``position``, ``column``, ``sqlstate`` and
    │                               ``refusal`` (a bad value, a duplicate key, or try
    │                               the batch again: a deadlock)
    ├── TooManyRejectsError         more records rejected than --max-errors     (exit 4)
    │   └── NothingStoredError      records were read, and every one was rejected (exit 4)
    ├── ResumeError                 an interrupted load's source has changed    (exit 2)
    ├── LoadRunningError            another run of the same load is running     (exit 7)
    ├── Interrupted                 asked to stop (Ctrl-C, SIGTERM)           (exit 130)
    └── SinkError                   the database failed for a reason not tied to a record
        └── SinkUnavailableError    the database cannot be reached or refuses the login
                                                                                (exit 5)

An error that stops a load carries ``report``: the :class:`~chute.LoadReport` of what was
committed before it.  Driver errors are wrapped with ``raise ... from exc`` and keep the
database's ``sqlstate``.  :func:`chute.exits.exit_code` maps an error to its exit code.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chute.report import LoadReport
    from chute.sources.base import Position


class ChuteError(Exception):
    """Base of every error chute raises on purpose."""

    exit_code = 1
    transient = False
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint
        self.report: LoadReport | None = None

    def __str__(self) -> str:
        return self.message


class ConfigError(ChuteError):
    """An option, URL, table or column name is wrong; nothing was written.

    When the database found it (a column named twice, a generated column given values, a
    missing privilege), ``sqlstate`` is the database's code."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, sqlstate: str | None = None):
        super().__init__(message, hint=hint)
        self.sqlstate = sqlstate


class SourceError(ChuteError):
    """The input cannot be opened, decoded or parsed."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: str | None = None,
        offset: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = _where(source, line, column)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.source = source
        self.line = line
        self.column = column
        #: the byte offset in the input where the problem is, when known
        self.offset = offset


class Refusal(enum.Enum):
    """How the database refused a write: set by the sink from the database's code (never
    its message), read by the engine, which knows no database's codes."""

    #: a value the table does not take (a constraint, a type, a range): a reject
    VALUE = "value"
    #: a key already in the table or earlier in the batch: a reject, and in an append
    #: the batch's keys are looked up first from then on
    DUPLICATE_KEY = "duplicate_key"
    #: not the record's fault (a deadlock, a serialization failure): try the batch again
    RETRY = "retry"


#: the hint for a database that makes a column's values (GENERATED ALWAYS) given in the input
HINT_GENERATED = (
    "the database makes this column's values (GENERATED ALWAYS): leave the column out of the "
    "input, or load into a table where it is an ordinary column"
)


class RecordError(ChuteError):
    """The database refused a record (a constraint, a value out of range, ...); or, with
    ``refusal`` :attr:`Refusal.RETRY`, refused the batch for now (exit 5 if it stays so)."""

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        position: Position | None = None,
        column: str | None = None,
        sqlstate: str | None = None,
        hint: str | None = None,
        refusal: Refusal = Refusal.VALUE,
    ) -> None:
        #: the database's or converter's own words, without the position
        self.reason = message
        where = position.describe() if position is not None else ""
        if column:
            where = f"{where}, column {column!r}" if where else f"column {column!r}"
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.position = position
        self.column = column
        self.sqlstate = sqlstate
        self.refusal = refusal
        #: the failing record's index in its batch, when the database said which
        self.row: int | None = None
        #: the refused record itself, when known (a writer session's ``on_error="raise"``)
        self.record: dict[str, Any] | None = None
        #: the other records of the same piece the sink refuses, by index, when it found
        #: them all before writing anything (a graph sink's projection): set aside at once
        self.others: dict[int, RecordError] | None = None


class SessionError(ConfigError):
    """A writer session used wrongly: after it was closed, from a thread other than the one
    whose transaction is open, or in a transaction that already failed."""


class Interrupted(ChuteError):
    """The load was asked to stop (Ctrl-C, SIGTERM); committed batches stay."""

    exit_code = 130


class ResumeError(ChuteError):
    """An interrupted load cannot be resumed (its source changed); nothing was written."""

    exit_code = 2


class LoadRunningError(ChuteError):
    """Another run of the same load (same source, table, mode and key) holds its lock;
    nothing was written.  Transient: it can run once the other one has finished."""

    exit_code = 7
    transient = True


class TooManyRejectsError(ChuteError):
    """More records were rejected than ``max_errors`` allows; the load stopped."""

    exit_code = 4


class NothingStoredError(TooManyRejectsError):
    """The load read records and rejected every one of them: nothing was stored (the
    table, if it existed, is unchanged; the rejects are in the reject store)."""


class SinkError(ChuteError):
    """The database failed for a reason not tied to one record."""

    exit_code = 5

    def __init__(self, message: str, *, sqlstate: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.sqlstate = sqlstate


class SinkUnavailableError(SinkError):
    """The database cannot be reached, or refuses the connection or the login."""

    transient = True


def _where(source: str | None, line: int | None, column: str | None) -> str:
    parts = []
    if source:
        parts.append(source)
    if line is not None:
        parts.append(f"line {line}")
    if column:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, its blanks run together (for a one-line error)."""
    return " ".join(str(exc).split("\n")[0].split())
