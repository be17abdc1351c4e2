"""Running ``chute load`` on a hostile input and checking everything it left behind.

A case is one input (a file in ``tests/data/hostile/``, or bytes made at test time), the
options given, the tables there before, and one expected outcome:

- **stored**: exit 0 (or 6 with the listed rejects), the table read back with an
  independent driver equals ``rows``;
- **rejected**: exit 6, each reject has the expected line, kind, column and sqlstate, and the
  table holds the other records;
- **error**: one ``error:`` line (maybe a ``hint:``), the expected exit code, no traceback,
  and the database as it was before (no new table, no ``_chute_stage_*`` table).

Every run also checks ``read == written + skipped + rejected`` and that the reject file holds
exactly ``rejected`` records.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chute.cli import app
from tests.helpers import DATA, execute, query

HOSTILE = DATA / "hostile"

#: what an input is: a file of tests/data/hostile, or bytes, or a function writing the file
Content = str | bytes | Callable[[Path], None]


@dataclass
class Run:
    """What one ``chute load`` left: exit code, output, report and rejects."""

    code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None
    rejects: list[dict[str, Any]]


def chute_load(source: str | Path, into: str, *args: str, workdir: Path) -> Run:
    """``chute load SOURCE --into URL ARGS`` in this process (the CLI entry the existing
    tests use), with the report and the reject file in ``workdir``."""
    report = workdir / "report.json"
    rejects = workdir / "rejects.jsonl"
    extra = [] if any(a == "--rejects" for a in args) else ["--rejects", str(rejects)]
    result = CliRunner().invoke(
        app,
        ["load", str(source), "--into", into, "--report", str(report), "-q", *extra, *args],
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"chute raised instead of exiting: {result.exception!r}") from (
            result.exception
        )
    return Run(
        code=result.exit_code,
        stdout=result.stdout,
        stderr=result.stderr,
        report=json.loads(report.read_text()) if report.exists() else None,
        rejects=[json.loads(line) for line in rejects.read_text().splitlines()]
        if rejects.exists()
        else [],
    )


def place(content: Content, name: str, workdir: Path) -> Path:
    """The input as the file ``workdir/name``."""
    path = workdir / name
    if isinstance(content, str):
        shutil.copyfile(HOSTILE / content, path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        content(path)
    return path


def assert_one_line_error(run: Run, code: int | tuple[int, ...], *fragments: str) -> None:
    """Exit ``code``, and stderr is one ``error:`` line (plus maybe one ``hint:`` line)
    holding every fragment; no traceback."""
    codes = (code,) if isinstance(code, int) else code
    assert run.code in codes, (run.code, run.stderr, run.stdout)
    lines = run.stderr.splitlines()
    assert lines, run.stdout
    assert lines[0].startswith("error: "), run.stderr
    assert "Traceback" not in run.stderr
    assert "internal error" not in lines[0], lines[0]
    assert all(line.startswith("hint: ") for line in lines[1:]), run.stderr
    assert len(lines) <= 2, run.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def assert_accounts(run: Run) -> None:
    """``read == written + skipped + rejected``, and the reject file holds the rejects."""
    if run.report is None:
        return
    r = run.report
    assert r["read"] == r["written"] + r["skipped"] + r["rejected"], r
    assert len(run.rejects) == r["rejected"], (r["rejected"], run.rejects)


def user_tables(url: str) -> set[str]:
    """The tables of the database other than chute's bookkeeping (which stays)."""
    if url.startswith("sqlite:"):
        if not Path(url.split(":///", 1)[1]).exists():
            return set()
        names = query(url, "SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        names = query(
            url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    return {n for (n,) in names} - {"_chute_checkpoints"}


def assert_no_stage_table(url: str) -> None:
    stages = {t for t in user_tables(url) if t.startswith("_chute_stage")}
    assert not stages, stages


@dataclass(frozen=True)
class Reject:
    """What a reject must say: its line, its kind (``a|b``: either), and where known its
    column and sqlstate (``None``: not checked), and a fragment of its message."""

    line: int
    kind: str
    column: str | None = None
    sqlstate: str | None = None
    message: str = ""


@dataclass(frozen=True)
class Case:
    """One hostile input and the outcome ``chute load`` must give on it."""

    id: str
    content: Content
    name: str = "data.csv"
    args: tuple[str, ...] = ()
    #: SQL run before the load (an existing table, rows in it)
    setup: tuple[str, ...] = ()
    code: int | tuple[int, ...] = 0
    #: fragments of the one-line error (code 2, 3, 4 or 5)
    error: tuple[str, ...] = ()
    #: the table read back afterwards (None: not checked), by ``sql`` or ``SELECT *``
    rows: Sequence[tuple[Any, ...]] | None = None
    table: str | None = None
    sql: str | None = None
    rejects: tuple[Reject, ...] = ()
    #: which databases the case runs on
    dbs: tuple[str, ...] = ("sqlite", "postgres")
    #: why it fails today, per database ("*" for both); makes it a strict xfail there
    xfail: dict[str, str] = field(default_factory=dict)

    @property
    def table_name(self) -> str:
        return self.table or Path(self.name).name.split(".")[0]


def params(cases: Sequence[Case]) -> list[Any]:
    """pytest params: one per case and database, ids like ``cr_only_line_endings-sqlite``."""
    out = []
    for case in cases:
        for db in case.dbs:
            marks = []
            reason = case.xfail.get(db) or case.xfail.get("*")
            if reason:
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            if db == "postgres":
                marks.append(pytest.mark.postgres)
            out.append(pytest.param(case, db, id=f"{case.id}-{db}", marks=marks))
    return out


def database(db: str, request: pytest.FixtureRequest, workdir: Path) -> str:
    if db == "sqlite":
        return f"sqlite:///{workdir / 'test.db'}"
    return str(request.getfixturevalue("pg_url"))


def check(case: Case, url: str, workdir: Path) -> Run:
    """Run the case on ``url`` and assert its outcome; returns the run for more checks."""
    if case.setup:
        execute(url, *case.setup)
    before = user_tables(url)
    everything = f'SELECT * FROM "{case.table_name}" ORDER BY 1'
    before_rows = query(url, everything) if case.table_name in before else None
    source = place(case.content, case.name, workdir)
    run = chute_load(source, url, *case.args, workdir=workdir)
    assert_accounts(run)
    assert_no_stage_table(url)
    if case.error or run.code not in (0, 6):
        assert case.error or case.code not in (0, 6), (run.code, run.stderr)
        assert_one_line_error(run, case.code, *case.error)
        # a refused load changes nothing: no table made, an existing one as it was
        assert user_tables(url) == before
        if before_rows is not None:
            assert query(url, everything) == before_rows
        check_rejects(case, run)
        return run
    assert run.code == case.code, (run.code, run.stderr, run.stdout)
    assert run.stderr == "", run.stderr
    check_rejects(case, run)
    if case.rows is not None:
        sql = case.sql or f'SELECT * FROM "{case.table_name}" ORDER BY 1'
        assert query(url, sql) == list(case.rows)
    return run


def check_rejects(case: Case, run: Run) -> None:
    """The reject file holds the case's rejects, in order, each as described."""
    assert [r["line"] for r in run.rejects] == [r.line for r in case.rejects], run.rejects
    for want, seen in zip(case.rejects, run.rejects, strict=True):
        assert seen["error"] in want.kind.split("|"), seen
        if want.column is not None:
            assert seen["column"] == want.column, seen
        if want.sqlstate is not None:
            assert seen["sqlstate"] == want.sqlstate, seen
        assert want.message in seen["message"], seen
