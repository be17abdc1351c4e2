"""SQLite judges the texts going into an existing table (see :mod:`chute.engine.oracle`).

SQLite's "text input" is type affinity (https://www.sqlite.org/datatype3.html): a text
bound into a column is stored as the number it spells when the column's affinity is
INTEGER, REAL or NUMERIC, else as the text.  For an existing table chute sends the text
and lets SQLite convert it, so the value stored is always affinity's, with these refusals:

- a column of INTEGER affinity (declared type containing ``INT``) takes a text only when
  affinity makes it an integer; REAL affinity (``REAL``, ``FLOA``, ``DOUB``) only when
  affinity makes it a real.  ``n/a``, ``0x10`` or ``1.5`` (into INTEGER) are rejected, as
  the column's STRICT twin would refuse them, instead of being kept as text;
- a STRICT table refuses what SQLite refuses (``cannot store TEXT value in INTEGER
  column``, and any text in a BLOB column);
- a column declared ``DATE``, ``DATETIME`` or ``TIMESTAMP...`` (NUMERIC affinity) keeps the
  source's text unchanged, and refuses a text that is not an ISO 8601 date (a real
  calendar day) or timestamp (a zone only in ``TIMESTAMPTZ``);
- a column declared ``BOOLEAN`` (NUMERIC affinity; SQLite has no boolean type) takes the
  spellings PostgreSQL's ``boolean`` takes (``t``, ``true``, ``yes``, ``on``, ``1``, their
  false twins, any case, unique prefixes, surrounding spaces) as 1 or 0, like SQLite's own
  ``TRUE``/``FALSE`` keywords, and refuses every other text.

Which texts affinity makes numbers is asked of an in-memory SQLite database (a table with
the same affinity), so the answer is SQLite's own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from chute.coltypes import ColumnType, Kind
from chute.engine import quick
from chute.sinks.oracle import Accepted, Answer, Refused, ValueCheck

_NOTHING = r"[^\x00-\x{10FFFF}]"
_INTEGER = ValueCheck(r"^-?[0-9]{1,18}$", pa.int64(), quick=quick.unsigned_integer(18))
_REAL = ValueCheck(r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$", None)
_BOOLEAN = ValueCheck(r"^(?i:true|false)$|^[01]$", pa.bool_())
# every text: affinity stores it, nothing to refuse
_AS_IS = ValueCheck("", None, quick=quick.everything)
_TEMPORAL = (Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ)
_TEMPORAL_CHECK = ValueCheck("", None, verify=True, quick=quick.everything)
_STRICT_DATATYPE = "SQLITE_CONSTRAINT_DATATYPE"


def affinity(declared: str) -> str:
    """The affinity of a declared column type, by SQLite's rules (section 3.1)."""
    d = declared.upper()
    if "INT" in d:
        return "INTEGER"
    if any(w in d for w in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in d or not d:
        return "BLOB"
    if any(w in d for w in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def parse_boolean(text: str) -> bool | None:
    """PostgreSQL's ``boolin``: the spellings it takes, or None."""
    value = text.strip(" \t\n\r\v\f").lower()
    n = len(value)
    if n == 0:
        return None
    for word, result, shortest in (
        ("true", True, 1),
        ("false", False, 1),
        ("yes", True, 1),
        ("no", False, 1),
        ("on", True, 2),
        ("off", False, 2),
    ):
        if shortest <= n <= len(word) and word.startswith(value):
            return result
    return {"1": True, "0": False}.get(value)


class SqliteValueOracle:
    """Judges texts for one table's columns, with an in-memory SQLite of its own."""

    def __init__(
        self, table: str, declared: dict[str, str], kinds: dict[str, Kind], strict: bool
    ) -> None:
        self._table = table
        self._declared = declared
        self._kinds = kinds
        self._strict = strict
        self._conn: sqlite3.Connection | None = None

    def check(self, column: str) -> ValueCheck | None:
        declared = self._declared[column]
        kind = affinity(declared)
        if self._strict:
            upper = declared.upper()
            if upper == "BLOB":
                return ValueCheck(_NOTHING, None)
            return {"INTEGER": _INTEGER, "REAL": _REAL}.get(kind)
        if kind == "INTEGER":
            return _INTEGER
        if kind == "REAL":
            return _REAL
        if kind == "NUMERIC" and self._kinds[column] is Kind.BOOLEAN:
            return _BOOLEAN
        if kind == "NUMERIC" and self._kinds[column] in _TEMPORAL:
            return _TEMPORAL_CHECK
        return _AS_IS

    def judge(self, column: str, texts: Sequence[str]) -> list[Answer]:
        declared = self._declared[column]
        kind = affinity(declared)
        if kind == "NUMERIC" and self._kinds[column] in _TEMPORAL:
            return [self._temporal(column, text) for text in texts]
        if kind == "NUMERIC":  # a BOOLEAN column
            out: list[Answer] = []
            for text in texts:
                value: object = parse_boolean(text)
                out.append(
                    Refused(f"{text!r} is not a boolean (column {column} {declared})")
                    if value is None
                    else Accepted(value)
                )
            return out
        if self._strict and declared.upper() == "BLOB":
            return [self._strict_refusal("TEXT", column, declared) for _ in texts]
        stored = self._stored(kind, texts)
        wanted = kind.lower()  # 'integer' or 'real'
        answers: list[Answer] = []
        for text, (typeof, value) in zip(texts, stored, strict=True):
            if typeof == wanted:
                # an integer as SQLite made it; a real travels as text, SQLite reads it
                answers.append(Accepted(value if kind == "INTEGER" else None))
            elif self._strict:
                answers.append(self._strict_refusal(typeof.upper(), column, declared))
            else:
                answers.append(
                    Refused(
                        f"cannot store {text!r} in {declared} column {column}: "
                        f"SQLite would store it as {typeof}"
                    )
                )
        return answers

    def _temporal(self, column: str, text: str) -> Answer:
        kind = self._kinds[column]
        try:
            pc.cast(pa.array([text]), ColumnType(kind).arrow)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            what = "date" if kind is Kind.DATE else "timestamp"
            if kind is Kind.TIMESTAMP:
                what += " without a zone"
            declared = self._declared[column]
            return Refused(f"{text!r} is not an ISO 8601 {what} (column {column} {declared})")
        return Accepted()

    def _strict_refusal(self, typeof: str, column: str, declared: str) -> Refused:
        return Refused(
            f"cannot store {typeof} value in {declared.upper()} column {self._table}.{column}",
            _STRICT_DATATYPE,
        )

    def _stored(self, kind: str, texts: Sequence[str]) -> list[tuple[str, object]]:
        """The storage class and value affinity ``kind`` gives each text."""
        conn = self._conn
        if conn is None:
            conn = self._conn = sqlite3.connect(":memory:", check_same_thread=False)
            conn.execute("CREATE TABLE integer_ (v INTEGER)")
            conn.execute("CREATE TABLE real_ (v REAL)")
        name = f"{kind.lower()}_"
        conn.execute(f"DELETE FROM {name}")
        conn.executemany(f"INSERT INTO {name} (rowid, v) VALUES (?, ?)", enumerate(texts, start=1))
        rows = conn.execute(f"SELECT typeof(v), v FROM {name} ORDER BY rowid").fetchall()
        return [(str(r[0]), r[1]) for r in rows]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
