"""Differential tests: into an existing table, chute stores what the database's own text input
stores from the same text, or rejects the record where the database refuses it.

PostgreSQL: each hypothesis example is a list of texts for one column type, written to a
CSV and loaded by chute into one table, and ``COPY ... FROM STDIN (FORMAT csv)``-ed, one
value per COPY (so that one refusal does not hide another), into a twin.  The database runs
with a session ``TimeZone`` that is not UTC (with daylight saving time), as a user's may.
SQLite: the twin is filled by plain ``INSERT`` of each text; what chute must store or
reject is SQLite's affinity plus the rules of ``docs/type-inference.md``.

Bounded and derandomized for CI; ``CHUTE_DIFFERENTIAL_EXAMPLES=500`` runs a long sweep
(see ``docs/testing.md``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chute import load
from chute.errors import ChuteError
from tests.integration import value_texts as vt

EXAMPLES = int(os.environ.get("CHUTE_DIFFERENTIAL_EXAMPLES", "4"))
ZONE = "America/St_Johns"  # -03:30, with daylight saving time

SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the message lists every text
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

POSTGRES_TYPES: dict[str, st.SearchStrategy[str]] = {
    "smallint": vt.ints,
    "integer": vt.ints,
    "bigint": vt.ints,
    "numeric(12,2)": vt.numerics,
    "numeric": vt.numerics,
    "real": vt.floats,
    "double precision": vt.floats,
    "boolean": vt.booleans,
    "date": vt.date_texts,
    "time": vt.times,
    "timestamp": vt.timestamps,
    "timestamp(0)": vt.timestamps,
    "timestamptz": vt.timestamps,
    "interval": vt.intervals,
    "uuid": vt.uuids,
    "json": vt.json_texts,
    "jsonb": vt.json_texts,
    "text": vt.texts,
    "varchar(5)": vt.varchars,
}


def _csv_field(text: str | None) -> str:
    return "" if text is None else '"' + text.replace('"', '""') + '"'


def _write_csv(path: Path, values: list[str | None]) -> list[str]:
    lines = [f"{i},{_csv_field(v)}\n" for i, v in enumerate(values)]
    path.write_text("id,v\n" + "".join(lines), encoding="utf-8")
    return lines


def _chute_load(path: Path, url: str, table: str, rejects: Path) -> dict[int, dict[str, Any]]:
    """Load with chute; the rejects by id."""
    try:
        load(str(path), into=url, table=table, rejects=str(rejects))
    except ChuteError as exc:  # a load that stored nothing may say so with an error
        if not rejects.exists():
            raise
        assert exc.report is not None
    if not rejects.exists():
        return {}
    out = {}
    for line in rejects.read_text(encoding="utf-8").split("\n"):  # not splitlines: \x85
        if not line:
            continue
        reject = json.loads(line)
        out[int(reject["record"]["id"])] = reject
    return out


@pytest.fixture(scope="module")
def zoned_pg(postgres_server: str) -> Iterator[str]:
    """A database of its own whose sessions run in a time zone that is not UTC."""
    import psycopg

    name = f"chute_values_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f"ALTER DATABASE \"{name}\" SET TimeZone TO '{ZONE}'")
        parts = urlsplit(postgres_server)
        try:
            yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _texts(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[list[str | None]]:
    return st.lists(st.one_of(strategy, st.none()), min_size=1, max_size=25)


@pytest.mark.postgres
@pytest.mark.parametrize("column_type", list(POSTGRES_TYPES))
@SETTINGS
@given(data=st.data())
def test_postgres_stores_what_copy_stores_or_rejects_where_copy_refuses(
    zoned_pg: str, tmp_path_factory: pytest.TempPathFactory, column_type: str, data: st.DataObject
) -> None:
    import psycopg

    values = data.draw(_texts(POSTGRES_TYPES[column_type]), label="texts")
    folder = tmp_path_factory.mktemp("pg")
    lines = _write_csv(folder / "values.csv", values)
    with psycopg.connect(zoned_pg, autocommit=True) as conn:
        for table in ("loaded", "copied"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} (id integer, v {column_type})")  # type: ignore[arg-type]
        refused: dict[int, str] = {}
        for i, line in enumerate(lines):
            try:
                with conn.cursor().copy("COPY copied (id, v) FROM STDIN (FORMAT csv)") as copy:
                    copy.write(line.encode())
            except psycopg.Error as exc:
                refused[i] = str(exc.sqlstate)
        rejects = _chute_load(folder / "values.csv", zoned_pg, "loaded", folder / "r.jsonl")
        copied = dict(conn.execute("SELECT id, v::text FROM copied").fetchall())
        loaded = dict(conn.execute("SELECT id, v::text FROM loaded").fetchall())
    wrong = []
    for i, text in enumerate(values):
        if i in refused:
            got = rejects.get(i, {}).get("sqlstate")
            if i in loaded or got != refused[i]:
                wrong.append((text, f"COPY refuses ({refused[i]})", loaded.get(i, got)))
        elif i in rejects or loaded.get(i) != copied.get(i) or i not in loaded:
            why = rejects.get(i, {}).get("message")
            wrong.append((text, f"COPY stores {copied.get(i)!r}", loaded.get(i, why)))
    assert not wrong, f"{column_type}: (text, COPY, chute) " + repr(wrong)


# -- SQLite ----------------------------------------------------------------------------

SQLITE_TYPES = [
    "INTEGER", "BIGINT", "INT", "REAL", "DOUBLE PRECISION", "FLOAT", "NUMERIC",
    "DECIMAL(10,2)", "BOOLEAN", "DATE", "DATETIME", "TIMESTAMP", "TIMESTAMPTZ", "TEXT",
    "VARCHAR(5)", "BLOB", "", "JSON",
]  # fmt: skip
STRICT_TYPES = ["INTEGER", "INT", "REAL", "TEXT", "ANY", "BLOB"]
BOOLEAN_SPELLINGS = {
    **dict.fromkeys(["t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"], True),
    **dict.fromkeys(["f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"], False),
}


def _iso_day(text: str) -> bool:
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", text)
    if not match:
        return False
    y, m, d = (int(g) for g in match.groups())
    try:
        date(2000 if y == 0 else y, m, d)  # year 0 is a leap year, like 2000
    except ValueError:
        return False
    return True


def _affinity(declared: str) -> str:
    d = declared.upper()
    for words, name in (
        (("INT",), "integer"),
        (("CHAR", "CLOB", "TEXT"), "text"),
        (("BLOB",), "blob"),
        (("REAL", "FLOA", "DOUB"), "real"),
    ):
        if any(w in d for w in words):
            return name
    return "blob" if not d else "numeric"


def _expected_sqlite(declared: str, strict: bool, text: str, twin: tuple[Any, ...] | None) -> Any:
    """What chute must store from ``text`` (``(typeof, value)``), or "reject"; None: any
    of storing the twin's value or rejecting."""
    if strict:
        return "reject" if twin is None else twin
    assert twin is not None
    affinity = _affinity(declared)
    if affinity in ("integer", "real"):
        return twin if twin[0] == affinity else "reject"
    if "BOOL" in declared:
        word = BOOLEAN_SPELLINGS.get(text.strip(" \t\n\r\v\f").lower())
        return "reject" if word is None else ("integer", int(word))
    if declared == "DATE":
        return twin if _iso_day(text) else "reject"
    if declared in ("DATETIME", "TIMESTAMP", "TIMESTAMPTZ"):
        return None if twin[0] == "text" else "reject-or-same"
    return twin


@pytest.mark.parametrize(
    ("declared", "strict"),
    [(t, False) for t in SQLITE_TYPES] + [(t, True) for t in STRICT_TYPES],
)
@SETTINGS
@given(data=st.data())
def test_sqlite_stores_what_affinity_stores_or_rejects_by_the_documented_rules(
    tmp_path_factory: pytest.TempPathFactory, declared: str, strict: bool, data: st.DataObject
) -> None:
    values = data.draw(_texts(vt.ANY_TEXT), label="texts")
    folder = tmp_path_factory.mktemp("sqlite")
    _write_csv(folder / "values.csv", values)
    path = folder / "test.db"
    conn = sqlite3.connect(path)
    tail = " STRICT" if strict else ""
    conn.execute(f"CREATE TABLE loaded (id INTEGER, v {declared}){tail}")
    conn.execute(f"CREATE TABLE copied (id INTEGER, v {declared}){tail}")
    for i, text in enumerate(values):
        with contextlib.suppress(sqlite3.IntegrityError):  # a STRICT table refuses it
            conn.execute("INSERT INTO copied VALUES (?, ?)", (i, text))
    conn.commit()
    rejects = _chute_load(folder / "values.csv", f"sqlite:///{path}", "loaded", folder / "r.jsonl")
    rows = "SELECT id, typeof(v), v FROM {}"
    copied = {r[0]: (r[1], r[2]) for r in conn.execute(rows.format("copied"))}
    loaded = {r[0]: (r[1], r[2]) for r in conn.execute(rows.format("loaded"))}
    conn.close()
    wrong = []
    for i, text in enumerate(values):
        if text is None:
            expected: Any = ("null", None)
        else:
            expected = _expected_sqlite(declared, strict, text, copied.get(i))
        got = "reject" if i in rejects else loaded.get(i)
        if expected == "reject-or-same":
            expected = got if got == "reject" else copied.get(i)
        if expected is None:
            expected = got if got == "reject" else copied.get(i)
        if got != expected:
            wrong.append((text, expected, got, rejects.get(i, {}).get("message")))
        if got == "reject" and strict:
            assert rejects[i]["sqlstate"] == "SQLITE_CONSTRAINT_DATATYPE"
    assert not wrong, f"{declared}{' STRICT' if strict else ''}: (text, expected, chute) " + repr(
        wrong
    )
