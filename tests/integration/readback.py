"""Helpers shared by the integration tests: load small inputs, read tables and types back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import chute
from chute import LoadReport
from tests.helpers import query, write

# The column type chute reports (``LoadReport.columns``) -> what each database declares.
PG_DECLARED = {
    "bigint": "bigint",
    "double": "double precision",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "json": "jsonb",
    "uuid": "uuid",
    "text": "text",
}
SQLITE_DECLARED = {
    "bigint": "BIGINT",
    "double": "REAL",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
    "json": "JSON TEXT",
    "uuid": "TEXT",
    "text": "TEXT",
}


def is_pg(url: str) -> bool:
    return url.startswith("postgres")


def declared(url: str, chute_type: str) -> str:
    """What the database says a column of chute type ``chute_type`` is declared as."""
    if chute_type.startswith("numeric("):
        return chute_type if is_pg(url) else "TEXT"
    return (PG_DECLARED if is_pg(url) else SQLITE_DECLARED)[chute_type]


def column_types(url: str, table: str) -> dict[str, str]:
    """Column name -> declared type, in table order, read from the database's catalog."""
    if is_pg(url):
        rows = query(
            url,
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            f"WHERE a.attrelid = '{table}'::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
        )
    else:
        rows = [(r[1], r[2]) for r in query(url, f"PRAGMA table_info({table})")]
    return {name: t for name, t in rows}


def expect_types(url: str, table: str, expected: dict[str, str]) -> None:
    """The table's columns are ``expected`` (chute type names), in the database too."""
    assert column_types(url, table) == {n: declared(url, t) for n, t in expected.items()}


def table_exists(url: str, table: str) -> bool:
    if is_pg(url):
        return query(url, f"SELECT to_regclass('{table}') IS NOT NULL")[0][0] is True
    return bool(query(url, f"SELECT 1 FROM sqlite_master WHERE type='table' AND name='{table}'"))


def load_text(
    tmp_path: Path, text: str | bytes, url: str, *, name: str = "in.csv", **kwargs: Any
) -> LoadReport:
    """Write ``text`` to ``tmp_path/name`` and load it (table ``t`` unless given)."""
    path = write(tmp_path / name, text)
    kwargs.setdefault("table", "t")
    return chute.load(path, into=url, **kwargs)


def check_identity(report: LoadReport) -> None:
    assert report.status == "completed"
    assert report.read == report.written + report.skipped + report.rejected
    assert report.written == report.created + report.updated


#: the fields of a reject that say where and why; ``raw`` and ``record`` are checked apart
REJECT_FIELDS = ("line", "record_number", "column", "error", "sqlstate", "message")


def rejects_in(report: LoadReport, path: Path) -> list[dict[str, Any]]:
    """The reject file ``path``, read back, after checking that the load completed with the
    identity, that the report points to ``path``, and that the file holds exactly the report's
    rejects, in the same order and with the same fields."""
    check_identity(report)
    assert report.rejects_to == str(path)
    found = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(found) == report.rejected
    in_report = [
        {
            "line": r.position.line,
            "record_number": r.position.record,
            "column": r.column,
            "error": r.error,
            "sqlstate": r.sqlstate,
            "message": r.message,
        }
        for r in report.rejects
    ]
    assert in_report == [{k: r[k] for k in REJECT_FIELDS} for r in found[: len(in_report)]]
    return found


def load_in_subprocess(
    source_expr: str, url: str, *, timeout: float = 10.0, **kwargs: Any
) -> dict[str, Any]:
    """Run ``chute.load(<source_expr>, into=url, **kwargs)`` in a fresh interpreter.

    For loads that might never finish: the child is killed after ``timeout`` seconds and the
    test fails, instead of the whole test session hanging.  Returns the report as a dict.
    """
    script = (
        "import datetime, json, chute\n"
        "from decimal import Decimal\n"
        f"report = chute.load({source_expr}, into={url!r}, **{kwargs!r})\n"
        "print(json.dumps(report.to_dict(), default=str))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"chute.load did not finish within {timeout:.0f} s: it hangs", pytrace=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result
