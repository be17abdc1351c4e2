"""Run the contenders side by side against PostgreSQL and SQLite, and report ratios.

::

    python benchmarks/run.py                       # the whole suite at 1,000,000 rows
    python benchmarks/run.py --rows 20000          # a quick run
    python benchmarks/run.py --rows 5000000 --only chute   # the memory check
    python benchmarks/run.py --list                # contenders and groups

Every contender runs in a process of its own; its wall time and peak RSS (``ru_maxrss``
from ``wait4``) are measured from outside.  PostgreSQL contenders load into fresh tables of a
throwaway database (``chute_bench_<random>``, dropped at the end); before each one the runner
flushes dirty pages (``sync``) and runs ``CHECKPOINT``, so no contender pays for another's
writes.  The machine is shared and noisy: compare the ratios measured in one run, and use
``--repeat`` to see the spread.

After each load the table is checked against a reference: for PostgreSQL, per-column hashes of
normalised values against the same file loaded by ``psql \\copy``; for upserts, against the
hand-written upsert; for SQLite, aggregates against ``sqlite3.executemany``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import generate
import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT_DIR = HERE / "out"
CONTENDERS_PY = HERE / "contenders.py"
DEFAULT_ADMIN_URL = os.environ.get(
    "CHUTE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
RSS_BUDGET_MB = 300.0
MB = 1_000_000  # reported sizes are in MB of 10^6 bytes

Section = Literal["postgres", "upsert", "sqlite"]
InputKind = Literal["full", "sample", "per_row", "upsert"]
TableKind = Literal["typed", "inferred", "absent", "upsert", "sqlite"]

# The table chute creates for the orders file (its report's "columns"): no primary key, tags
# as text, price (always two decimals) an exact numeric, weight (measurements, each exact as a
# double) a double, uuid (canonical lowercase) a uuid.  psql_copy_inferred loads the same
# table shape, so that chute_new_table has a like-for-like reference besides the typed table.
INFERRED_COLUMNS = {
    "id": "bigint",
    "uuid": "uuid",
    "customer": "text",
    "status": "text",
    "quantity": "bigint",
    "price": "numeric(38,2)",
    "ordered_at": "timestamptz",
    "shipped_at": "timestamp",
    "notes": "text",
    "gift": "boolean",
    "tags": "text",
    "weight": "double",
}
#: chute's type names that PostgreSQL spells otherwise
PG_TYPE_NAMES = {"double": "double precision"}

# What each column is compared as, whatever type the contender's table gave it.
NORMALISED = {
    "id": "id::bigint",
    "uuid": "uuid::text::uuid",
    "customer": "customer::text",
    "status": "status::text",
    "quantity": "quantity::bigint",
    "price": "price::numeric",
    "ordered_at": "ordered_at::timestamptz",
    "shipped_at": "shipped_at::timestamp",
    "notes": "notes::text",
    "gift": "gift::boolean",
    "tags": "tags::text::jsonb",
    "weight": "weight::float8",
}
SQLITE_CHECK = (
    "SELECT count(*), count(shipped_at), count(notes), sum(quantity), sum(gift), "
    "sum(length(customer)), sum(length(notes)), sum(length(tags)), round(sum(weight), 3) "
    "FROM {table}"
)


@dataclass(frozen=True)
class Context:
    """What commands need: where the data is and where it goes."""

    url: str  # the throwaway PostgreSQL database
    sqlite_dir: Path
    report_dir: Path
    chute: list[str]  # how to run the chute CLI
    chute_env: dict[str, str]  # its environment (PYTHONPATH of the snapshot)
    files: dict[InputKind, Path]

    def sqlite_url(self, table: str) -> str:
        return f"sqlite:///{self.sqlite_dir / (table + '.db')}"


Command = Callable[[Context, Path, str], list[str]]


@dataclass(frozen=True)
class Contender:
    name: str
    section: Section
    input: InputKind
    table: TableKind
    description: str
    command: Command
    is_chute: bool = False


def _psql_copy(ctx: Context, path: Path, table: str) -> list[str]:
    copy = f"\\copy {table} FROM '{path}' WITH (FORMAT csv, HEADER true)"
    return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ctx.url, "-c", copy]


def _chute(*extra: str, sqlite: bool = False) -> Command:
    def command(ctx: Context, path: Path, table: str) -> list[str]:
        into = ctx.sqlite_url(table) if sqlite else ctx.url
        report = ctx.report_dir / f"{table}.json"
        return [
            *ctx.chute,
            "load",
            str(path),
            "--into",
            into,
            "--table",
            table,
            "--quiet",
            "--report",
            str(report),
            *extra,
        ]

    return command


def _python(name: str, *, sqlite: bool = False) -> Command:
    def command(ctx: Context, path: Path, table: str) -> list[str]:
        url = ctx.sqlite_url(table) if sqlite else ctx.url
        return [
            sys.executable,
            str(CONTENDERS_PY),
            name,
            "--file",
            str(path),
            "--url",
            url,
            "--table",
            table,
        ]

    return command


CONTENDERS = [
    Contender(
        "psql_copy",
        "postgres",
        "full",
        "typed",
        "psql \\copy ... (FORMAT csv) into the typed table (the reference)",
        _psql_copy,
    ),
    Contender(
        "psql_copy_inferred",
        "postgres",
        "full",
        "inferred",
        "psql \\copy into the table shape chute creates (no key, tags as text)",
        _psql_copy,
    ),
    Contender(
        "chute_new_table",
        "postgres",
        "full",
        "absent",
        "chute load into a table it creates (inferred types)",
        _chute(),
        is_chute=True,
    ),
    Contender(
        "chute_typed_table",
        "postgres",
        "full",
        "typed",
        "chute load into the pre-created typed table",
        _chute(),
        is_chute=True,
    ),
    Contender(
        "adbc_ingest_raw",
        "postgres",
        "full",
        "typed",
        "pyarrow read_csv (typed) + ADBC binary COPY, one connection: no checks, no rejects",
        _python("adbc_ingest_raw"),
    ),
    Contender(
        "pandas_to_sql",
        "postgres",
        "sample",
        "typed",
        "pandas read_csv + to_sql(chunksize=10_000) into the typed table",
        _python("pandas_to_sql"),
    ),
    Contender(
        "sqlalchemy_orm",
        "postgres",
        "sample",
        "typed",
        "SQLAlchemy ORM bulk_insert_mappings, 10k rows per batch and commit",
        _python("sqlalchemy_orm"),
    ),
    Contender(
        "sqlalchemy_orm_render_nulls",
        "postgres",
        "sample",
        "typed",
        "the same with render_nulls=True",
        _python("sqlalchemy_orm_render_nulls"),
    ),
    Contender(
        "insert_per_row",
        "postgres",
        "per_row",
        "typed",
        "psycopg: one INSERT + COMMIT per row",
        _python("insert_per_row"),
    ),
    Contender(
        "upsert_psycopg",
        "upsert",
        "upsert",
        "upsert",
        "psycopg: COPY file into temp table + INSERT ... ON CONFLICT DO UPDATE (reference)",
        _python("upsert_psycopg"),
    ),
    Contender(
        "upsert_chute",
        "upsert",
        "upsert",
        "upsert",
        "chute load --mode upsert --key id",
        _chute("--mode", "upsert", "--key", "id"),
        is_chute=True,
    ),
    Contender(
        "sqlite_executemany",
        "sqlite",
        "full",
        "sqlite",
        "sqlite3: csv module + conversion + executemany, one transaction (reference)",
        _python("sqlite_executemany", sqlite=True),
    ),
    Contender(
        "sqlite_chute",
        "sqlite",
        "full",
        "sqlite",
        "chute load into a new SQLite file",
        _chute(sqlite=True),
        is_chute=True,
    ),
]
BY_NAME = {c.name: c for c in CONTENDERS}
GROUPS: dict[str, list[str]] = {
    "all": [c.name for c in CONTENDERS],
    "postgres": [c.name for c in CONTENDERS if c.section == "postgres"],
    "chute": ["chute_new_table", "chute_typed_table"],
    "upsert": [c.name for c in CONTENDERS if c.section == "upsert"],
    "sqlite": [c.name for c in CONTENDERS if c.section == "sqlite"],
}
REFERENCE: dict[Section, str] = {
    "postgres": "psql_copy",
    "upsert": "upsert_psycopg",
    "sqlite": "sqlite_executemany",
}
#: For the "× like-for-like" column: the reference that loads the same table shape, where
#: that is not psql_copy's typed table.
LIKE_FOR_LIKE = {
    "chute_new_table": "psql_copy_inferred",
    "upsert_chute": "upsert_psycopg",
    "sqlite_chute": "sqlite_executemany",
}


# -- measuring a process -----------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    returncode: int
    wall_seconds: float
    peak_rss_bytes: int
    stdout: str
    stderr: str


GNU_TIME = Path("/usr/bin/time")


def measure(cmd: Sequence[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd``; its wall time and peak RSS.

    The peak RSS comes from GNU ``time`` (``%M``) wrapped around the command, not from this
    process's own ``wait4``: Linux carries the RSS high-water mark of the process that forked
    across ``exec``, so a child of this (large) runner would report at least the runner's size.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as rss,
    ):
        wrapper = [str(GNU_TIME), "-f", "%M", "-o", rss.name] if GNU_TIME.exists() else []
        started = time.perf_counter()
        proc = subprocess.Popen([*wrapper, *cmd], stdout=out, stderr=err, env=env)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        peak_kib = usage.ru_maxrss  # an overestimate, only without GNU time
        if wrapper:
            lines = rss.read().split()
            peak_kib = int(lines[-1]) if lines and lines[-1].isdigit() else 0
        return Measured(
            returncode=proc.returncode,
            wall_seconds=wall,
            peak_rss_bytes=peak_kib * 1024,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


# -- the database ------------------------------------------------------------------------


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


class Database:
    """The throwaway PostgreSQL database: setup, checkpoints and checks."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"chute_bench_{secrets.token_hex(4)}"
        self.url = _with_database(admin_url, self.name)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.conn = psycopg.connect(self.url, autocommit=True)
        self.conn.execute("SET TimeZone = 'UTC'")

    def execute(self, statement: str) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(statement)
        return cur.fetchall() if cur.description else []

    def settle(self) -> None:
        """Start the next contender on equal terms: dirty pages flushed, WAL checkpointed."""
        os.sync()
        self.execute("CHECKPOINT")

    def drop(self, table: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {table}")

    def create_typed(self, table: str) -> None:
        self.drop(table)
        self.execute(generate.typed_table_ddl(table))

    def fingerprint(self, table: str) -> dict[str, int]:
        """Row count and an order-independent hash of each column's normalised values."""
        hashes = [
            f"coalesce(sum(hashtext(id::text || '|' || coalesce(({expr})::text, '<NULL>'))), 0)"
            for expr in NORMALISED.values()
        ]
        row = self.execute(f"SELECT count(*), {', '.join(hashes)} FROM {table}")[0]
        return {
            "rows": int(row[0]),
            **{c: int(v) for c, v in zip(NORMALISED, row[1:], strict=True)},
        }

    def server_info(self) -> dict[str, str]:
        names = ["server_version", "synchronous_commit", "shared_buffers", "max_wal_size", "fsync"]
        return {n: str(self.execute(f"SHOW {n}")[0][0]) for n in names}

    def close(self) -> None:
        self.conn.close()
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


def differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    return [k for k in want if got.get(k) != want[k]]


def sqlite_check(path: Path, table: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute(SQLITE_CHECK.format(table=table)).fetchone()
    finally:
        conn.close()
    names = ["rows", "shipped_at", "notes", "quantity", "gift"]
    names += ["customer_chars", "notes_chars", "tags_chars", "weight_sum"]
    return dict(zip(names, row, strict=True))


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


# -- runs and their summary --------------------------------------------------------------


@dataclass
class Run:
    contender: str
    section: Section
    round: int
    rows: int  # rows this run loaded
    full_rows: int  # rows the comparison is about (--rows)
    wall_seconds: float
    peak_rss_bytes: int
    ok: bool
    check: str
    inner_seconds: float | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def sampled(self) -> bool:
        return self.rows < self.full_rows

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.wall_seconds

    @property
    def full_seconds(self) -> float:
        """Wall time for ``full_rows``: measured, or extrapolated linearly from a sample."""
        return self.wall_seconds * self.full_rows / self.rows


@dataclass
class Summary:
    contender: str
    section: Section
    description: str
    rounds: int
    rows_measured: int
    full_rows: int
    sampled: bool
    wall_seconds: float  # median
    full_seconds: float  # median, extrapolated when sampled
    rows_per_second: float  # median
    vs_psql: float | None  # median over rounds of rows/s ÷ psql's rows/s in the same round
    vs_psql_range: tuple[float, float] | None
    vs_like: float | None  # the same against the LIKE_FOR_LIKE reference
    vs_like_range: tuple[float, float] | None
    peak_rss_mb: float  # the largest over rounds
    checks: list[str]
    errors: list[str]


def _ratios(runs: list[Run], name: str, reference: str) -> list[float]:
    by_round: dict[int, dict[str, Run]] = {}
    for r in runs:
        if r.ok:
            by_round.setdefault(r.round, {})[r.contender] = r
    out = []
    for pair in by_round.values():
        if name in pair and reference in pair:
            out.append(pair[name].rows_per_second / pair[reference].rows_per_second)
    return out


def summarise(runs: list[Run], names: list[str]) -> list[Summary]:
    summaries = []
    for name in names:
        c = BY_NAME[name]
        mine = [r for r in runs if r.contender == name]
        good = [r for r in mine if r.ok]
        if not mine:
            continue
        psql = _ratios(runs, name, "psql_copy") if c.section != "sqlite" else []
        like = _ratios(runs, name, LIKE_FOR_LIKE[name]) if name in LIKE_FOR_LIKE else []
        summaries.append(
            Summary(
                contender=name,
                section=c.section,
                description=c.description,
                rounds=len(mine),
                rows_measured=mine[0].rows,
                full_rows=mine[0].full_rows,
                sampled=mine[0].sampled,
                wall_seconds=_median([r.wall_seconds for r in good]),
                full_seconds=_median([r.full_seconds for r in good]),
                rows_per_second=_median([r.rows_per_second for r in good]),
                vs_psql=statistics.median(psql) if psql else None,
                vs_psql_range=(min(psql), max(psql)) if len(psql) > 1 else None,
                vs_like=statistics.median(like) if like else None,
                vs_like_range=(min(like), max(like)) if len(like) > 1 else None,
                peak_rss_mb=max(r.peak_rss_bytes for r in mine) / MB,
                checks=sorted({r.check for r in mine}),
                errors=[r.error for r in mine if r.error],
            )
        )
    return summaries


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _ratio_text(ratio: float | None, spread: tuple[float, float] | None) -> str:
    if ratio is None:
        return "—"
    return f"{ratio:.3f}" + (f" ({spread[0]:.3f}–{spread[1]:.3f})" if spread else "")


def markdown_table(summaries: list[Summary]) -> str:
    """The summary as Markdown; ratios are medians over rounds, ranges in brackets."""
    head = (
        "| contender | rows measured | wall s | s for full size | rows/s | × psql \\copy "
        "| × like-for-like ref | peak RSS MB | check |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    references = set(LIKE_FOR_LIKE.values())
    lines = [head]
    for s in summaries:
        psql = "1 (ref)" if s.contender == "psql_copy" else _ratio_text(s.vs_psql, s.vs_psql_range)
        like = "1 (ref)" if s.contender in references else _ratio_text(s.vs_like, s.vs_like_range)
        full = f"{s.full_seconds:,.1f}" + (" (extrapolated)" if s.sampled else "")
        rows = f"{s.rows_measured:,}" + (f" of {s.full_rows:,}" if s.sampled else "")
        check = "; ".join(s.checks) if not s.errors else f"FAILED: {s.errors[0][:80]}"
        lines.append(
            f"| {s.contender} | {rows} | {s.wall_seconds:,.2f} | {full} | "
            f"{s.rows_per_second:,.0f} | {psql} | {like} | {s.peak_rss_mb:,.0f} | {check} |"
        )
    return "\n".join(lines)


def table_from_json(path: Path) -> str:
    """The Markdown table of an earlier run's JSON, summarised by this version."""
    data = json.loads(path.read_text())
    names = {f.name for f in fields(Run)}
    runs = [Run(**{k: v for k, v in r.items() if k in names}) for r in data["runs"]]
    order = [c.name for c in CONTENDERS if any(r.contender == c.name for r in runs)]
    return markdown_table(summarise(runs, order))


# -- running ---------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, names: list[str]) -> None:
        self.args = args
        self.names = names
        self.rows: int = args.rows
        self.sample_rows: int = args.sample_rows
        self.per_row_rows: int = args.per_row_rows
        self.contenders = [BY_NAME[n] for n in names]
        self.references: dict[Path, dict[str, int]] = {}
        self.aggregates: dict[tuple[str, int], dict[str, Any]] = {}
        self.runs: list[Run] = []
        self.round = 0

    def input_rows(self, kind: InputKind) -> int:
        if kind == "sample":
            return min(self.sample_rows, self.rows)
        if kind == "per_row":
            return min(self.per_row_rows, self.rows)
        return self.rows

    def prepare_files(self) -> dict[InputKind, Path]:
        files: dict[InputKind, Path] = {}
        for kind in sorted({c.input for c in self.contenders}):
            started = time.perf_counter()
            if kind == "upsert":
                files[kind] = generate.ensure_upsert(self.rows, self.rows)
                files["full"] = generate.ensure_orders(self.rows)  # the table it goes into
            else:
                files[kind] = generate.ensure_orders(self.input_rows(kind))
            seconds = time.perf_counter() - started
            print(f"input {kind}: {files[kind]} (ready in {seconds:.1f} s)", flush=True)
        return files

    def load_reference(self, db: Database, ctx: Context, path: Path, table: str) -> None:
        """Load ``path`` with psql into ``table`` (untimed) and remember its fingerprint."""
        db.create_typed(table)
        m = measure(_psql_copy(ctx, path, table))
        if m.returncode != 0:
            raise SystemExit(f"psql \\copy of {path} failed: {m.stderr.strip()}")
        db.execute(f"VACUUM ANALYZE {table}")
        self.references[path] = db.fingerprint(table)

    def setup_references(self, db: Database, ctx: Context) -> None:
        if any(c.section == "upsert" for c in self.contenders):
            self.load_reference(db, ctx, ctx.files["full"], "upsert_base")
        if self.args.no_check:
            return
        for kind in sorted({c.input for c in self.contenders if c.section == "postgres"}):
            path = ctx.files[kind]
            if path not in self.references:
                self.load_reference(db, ctx, path, "reference")
                db.drop("reference")

    def prepare_table(self, db: Database, ctx: Context, c: Contender, table: str) -> None:
        if c.table == "typed":
            db.create_typed(table)
        elif c.table == "inferred":
            db.drop(table)
            cols = ", ".join(
                f"{name} {PG_TYPE_NAMES.get(decl, decl)}" for name, decl in INFERRED_COLUMNS.items()
            )
            db.execute(f"CREATE TABLE {table} ({cols})")
        elif c.table == "absent":
            db.drop(table)
        elif c.table == "upsert":
            db.create_typed(table)
            db.execute(f"INSERT INTO {table} SELECT * FROM upsert_base")
            db.execute(f"VACUUM ANALYZE {table}")
        else:
            remove_sqlite(ctx.sqlite_dir / f"{table}.db")
        db.settle()

    def check(self, db: Database, ctx: Context, c: Contender, table: str, rows: int) -> str:
        """A verdict now (PostgreSQL appends), or the aggregates kept for :meth:`compare`."""
        if self.args.no_check:
            return "not checked"
        if c.section == "sqlite":
            self.aggregates[(c.name, self.round)] = sqlite_check(
                ctx.sqlite_dir / f"{table}.db", table
            )
            return "pending"
        got = db.fingerprint(table)
        if c.section == "upsert":
            base = self.references[ctx.files["full"]]["rows"]
            expected_rows = base + rows - rows // 2
            if got["rows"] != expected_rows:
                return f"MISMATCH: {got['rows']:,} rows, expected {expected_rows:,}"
            self.aggregates[(c.name, self.round)] = got
            return "pending"
        diff = differences(got, self.references[ctx.files[c.input]])
        verdict = "same as psql \\copy" if not diff else f"MISMATCH in {', '.join(diff)}"
        if c.table == "absent":
            created = json.loads((ctx.report_dir / f"{table}.json").read_text())["columns"]
            if created != INFERRED_COLUMNS:
                verdict += f"; created {created}, unlike psql_copy_inferred's table"
        return verdict

    def compare(self) -> None:
        """Upserts and SQLite loads against their section's reference, from any round."""
        for run in self.runs:
            if run.check != "pending":
                continue
            reference = REFERENCE[run.section]
            mine = self.aggregates[(run.contender, run.round)]
            theirs = [v for (name, _), v in self.aggregates.items() if name == reference]
            if run.contender == reference:
                same = all(not differences(mine, t) for t in theirs)
                run.check = f"{mine['rows']:,} rows" + ("" if same else "; rounds DIFFER")
            elif not theirs:
                run.check = f"{mine['rows']:,} rows (reference not run)"
            else:
                diff = differences(mine, theirs[0])
                run.check = f"same as {reference}" if not diff else f"MISMATCH in {', '.join(diff)}"

    def run_one(self, db: Database, ctx: Context, c: Contender, round_: int) -> Run:
        table = f"t_{c.name}"
        path = ctx.files[c.input]
        rows = self.input_rows(c.input)
        self.prepare_table(db, ctx, c, table)
        m = measure(c.command(ctx, path, table), ctx.chute_env if c.is_chute else None)
        run = Run(
            contender=c.name,
            section=c.section,
            round=round_,
            rows=rows,
            full_rows=self.rows,
            wall_seconds=m.wall_seconds,
            peak_rss_bytes=m.peak_rss_bytes,
            ok=m.returncode == 0,
            check="",
        )
        if not run.ok:
            tail = m.stderr.strip().splitlines()[-3:] or [f"exit code {m.returncode}"]
            run.error = " | ".join(tail)
            run.check = "failed"
        else:
            run.details = self._details(c, ctx, table, m)
            run.inner_seconds = run.details.get("seconds")
            run.check = self.check(db, ctx, c, table, rows)
        if c.section == "sqlite":
            remove_sqlite(ctx.sqlite_dir / f"{table}.db")
        else:
            db.drop(table)
        return run

    def _details(self, c: Contender, ctx: Context, table: str, m: Measured) -> dict[str, Any]:
        if c.is_chute:
            report = ctx.report_dir / f"{table}.json"
            data: dict[str, Any] = json.loads(report.read_text())
            keep = [
                "read", "written", "created", "updated", "batches", "seconds",
                "read_seconds", "write_seconds", "wait_seconds", "peak_rss_bytes", "columns",
            ]  # fmt: skip
            return {k: data[k] for k in keep if k in data}
        if c.name == "psql_copy":
            return {}
        lines = m.stdout.strip().splitlines()
        return dict(json.loads(lines[-1])) if lines else {}

    def run(self, db: Database, ctx: Context) -> None:
        self.setup_references(db, ctx)
        for round_ in range(1, self.args.repeat + 1):
            self.round = round_
            order = self.contenders if round_ % 2 else list(reversed(self.contenders))
            for c in order:
                run = self.run_one(db, ctx, c, round_)
                self.runs.append(run)
                print(_progress_line(run), flush=True)
        self.compare()


def _progress_line(run: Run) -> str:
    prefix = f"[round {run.round}] {run.contender}:"
    if not run.ok:
        return f"{prefix} FAILED ({run.error})"
    sampled = f" (sample of {run.full_rows:,})" if run.sampled else ""
    return (
        f"{prefix} {run.rows:,} rows{sampled} in {run.wall_seconds:.2f} s "
        f"= {run.rows_per_second:,.0f} rows/s, peak RSS {run.peak_rss_bytes / MB:,.0f} MB, "
        f"{run.check}"
    )


def chute_snapshot(source: str, into: Path) -> tuple[list[str], dict[str, str], str]:
    """How to run chute, its environment, and which code that is.

    ``src/`` is installed editable and may change while a long run goes on, so the runner
    copies ``src/chute`` as committed in git ref ``source`` (default ``HEAD``), or as it is
    on disk (``worktree``), into ``into`` and runs every chute load from that copy;
    ``installed`` runs the installed package as it is at each moment.
    """
    env = dict(os.environ)
    command = [sys.executable, "-m", "chute.cli"]
    if source == "installed":
        return command, env, f"installed package, live ({git_state()})"
    if source != "worktree":
        archive = subprocess.run(
            ["git", "archive", "--format=tar", source, "src/chute"],
            cwd=REPO,
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            raise SystemExit(
                f"cannot take src/chute from git {source!r}: {archive.stderr.decode().strip()}"
            )
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(into, filter="data")
        what = f"{source} = {_git('rev-parse', '--short', source)}"
    else:
        shutil.copytree(
            REPO / "src" / "chute",
            into / "src" / "chute",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        what = f"working tree of {git_state()}"
    env["PYTHONPATH"] = str(into / "src")
    found = subprocess.run(
        [sys.executable, "-c", "import chute; print(chute.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not found.startswith(str(into)):
        raise SystemExit(f"the snapshot of chute is not what Python imports: {found}")
    return command, env, f"{what}, copied to {into / 'src'}"


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def git_state() -> str:
    """The commit chute runs from, and whether ``src/`` differs from it (it is editable)."""
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--", "../src")
    return commit + (" + uncommitted changes in src/" if dirty else "")


def environment(db: Database) -> dict[str, Any]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "-"

    packages = ["chute", "pyarrow", "adbc-driver-postgresql", "pandas", "sqlalchemy", "psycopg"]
    return {
        "date": subprocess.run(["date"], capture_output=True, text=True).stdout.strip(),
        "utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "git_at_start": git_state(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "packages": {p: version(p) for p in packages},
        "postgres": db.server_info(),
    }


def select(only: list[str] | None) -> list[str]:
    if not only:
        return GROUPS["all"]
    wanted: set[str] = set()
    for item in only:
        for token in filter(None, (t.strip() for t in item.split(","))):
            if token in GROUPS:
                wanted.update(GROUPS[token])
            elif token in BY_NAME:
                wanted.add(token)
            else:
                choices = ", ".join([*GROUPS, *BY_NAME])
                raise SystemExit(f"unknown contender or group {token!r}; choose from {choices}")
    return [c.name for c in CONTENDERS if c.name in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=generate.DEFAULT_ROWS, help="rows per load")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="contenders or groups (comma-separated, repeatable); see --list",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds (order reversed in even)")
    parser.add_argument(
        "--sample-rows",
        type=int,
        default=200_000,
        help="rows loaded by pandas and the ORM, extrapolated to --rows",
    )
    parser.add_argument(
        "--per-row-rows",
        type=int,
        default=10_000,
        help="rows loaded by insert_per_row, extrapolated to --rows",
    )
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="where to CREATE DATABASE")
    parser.add_argument(
        "--rss-budget-mb", type=float, default=RSS_BUDGET_MB, help="peak RSS allowed to chute"
    )
    parser.add_argument(
        "--chute-from",
        default="HEAD",
        metavar="REF|worktree|installed",
        help="run chute from a copy of src/chute as committed in a git ref (default HEAD) "
        "or as on disk (worktree), or the installed (editable, live) package",
    )
    parser.add_argument("--no-check", action="store_true", help="skip the content checks")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where the JSON goes")
    parser.add_argument("--list", action="store_true", help="list contenders and groups")
    parser.add_argument(
        "--table-from", type=Path, metavar="JSON", help="print the table of an earlier run"
    )
    args = parser.parse_args(argv)

    if args.table_from:
        print(table_from_json(args.table_from))
        return 0
    if args.list:
        for c in CONTENDERS:
            print(f"{c.name:30} {c.section:9} {c.description}")
        for group, members in GROUPS.items():
            print(f"group {group}: {', '.join(members)}")
        return 0
    if args.rows < 2 or args.repeat < 1:
        parser.error("--rows must be at least 2 and --repeat at least 1")
    names = select(args.only)
    bench = Bench(args, names)
    files = bench.prepare_files()

    work = Path(tempfile.mkdtemp(prefix="run_", dir=generate.DATA_DIR))
    db: Database | None = None
    try:
        chute, chute_env, chute_code = chute_snapshot(args.chute_from, work / "chute")
        db = Database(args.admin_url)
        env = environment(db)
        env["chute_code"] = chute_code
        print(f"{env['date']}: {', '.join(names)} at {args.rows:,} rows in {db.name}", flush=True)
        print(f"chute: {chute_code}", flush=True)
        ctx = Context(db.url, work, work, chute, chute_env, files)
        bench.run(db, ctx)
        env["loadavg_at_end"] = os.getloadavg()
        env["git_at_end"] = git_state()
    finally:
        if db is not None:
            db.close()
        shutil.rmtree(work, ignore_errors=True)

    summaries = summarise(bench.runs, names)
    table = markdown_table(summaries)
    print()
    print(table)
    failures = [r for r in bench.runs if not r.ok or r.check.startswith("MISMATCH")]
    budget_lines = []
    for s in summaries:
        if BY_NAME[s.contender].is_chute and s.section != "sqlite":
            verdict = "PASS" if s.peak_rss_mb <= args.rss_budget_mb else "FAIL"
            budget_lines.append(
                f"memory budget {args.rss_budget_mb:,.0f} MB: {s.contender} peaked at "
                f"{s.peak_rss_mb:,.0f} MB loading {s.rows_measured:,} rows: {verdict}"
            )
    if budget_lines:
        print()
        print("\n".join(budget_lines))

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out / f"bench_{args.rows}_{stamp}.json"
    result = {
        "environment": env,
        "settings": {
            "rows": args.rows,
            "sample_rows": bench.input_rows("sample"),
            "per_row_rows": bench.input_rows("per_row"),
            "repeat": args.repeat,
            "files": {k: str(v) for k, v in files.items()},
        },
        "summary": [asdict(s) for s in summaries],
        "runs": [{**asdict(r), "rows_per_second": r.rows_per_second} for r in bench.runs],
        "memory_budget": budget_lines,
        "markdown": table,
    }
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwrote {out}")
    over_budget = any(line.endswith("FAIL") for line in budget_lines)
    return 1 if failures or over_budget else 0


if __name__ == "__main__":
    raise SystemExit(main())
