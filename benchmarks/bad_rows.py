"""Bad rows: what 100 bad records cost chute, against the same file clean.

::

    python benchmarks/bad_rows.py --repeat 3            # 1,000,000 rows, three rounds
    python benchmarks/bad_rows.py --rows 20000 --fallback-rows 5000   # a quick run

From the orders file (``generate.py``) this makes, deterministically (seeded), two files with
100 bad records at the same places, one in each stretch of ``rows / 100`` records:

- ``mix``: bad records chute catches before the database: 25 with an extra field, 25 with
  ``n/a`` in the integer ``quantity``, 25 with a NULL in the NOT NULL ``uuid``, 25 with a
  malformed timestamp in ``ordered_at``;
- ``dup``: bad records only the database can refuse: each repeats the ``id`` of an earlier
  record, so the primary key refuses it.

It then loads, interleaved in each round (order reversed in even rounds), into the typed
table of ``run.py`` (``generate.typed_table_ddl``): the clean file with ``psql \\copy`` (for
context) and with chute, both bad files with chute, and the first ``--fallback-rows`` records
of ``dup`` with chute and with a *row-by-row fallback*: COPY of 10,000 records per
transaction and, when the database refuses one, that batch again one INSERT and one COMMIT per
record (bad ones rolled back and counted).  With one bad record per 10,000 every batch fails,
so the fallback's rate on the sample holds for the whole file: its time for ``--rows`` is
extrapolated linearly, and labelled so.

Every load is checked: chute's report (``read == written + skipped + rejected``, the reject
counts by kind), its reject file (exactly the bad records, with their record number, line,
byte offset, kind, column and SQLSTATE), and the table: row count, that none of the bad rows
is in it, and per-column hashes equal to those of the good records alone loaded by
``psql \\copy``.

Measuring and checking reuse ``run.py``: the chute snapshot (``--chute-from``), the
throwaway database, ``measure`` and the per-round ratios.  Run
``python benchmarks/bad_rows.py fallback --help`` for the fallback contender alone.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

import generate
import numpy as np
import psycopg
import run

BAD_ROWS = 100
FALLBACK_ROWS = 20_000
FALLBACK_BATCH_ROWS = 10_000
TARGET_RATIO = 0.75  # issue 3: a file with 100 bad records loads at >= 0.75x the clean rate
_BAD_STREAM = 11  # random stream of the bad files (generate.py uses 1-4)
CHECKPOINTS_TABLE = "_chute_checkpoints"  # chute's resume bookkeeping (since issue 4)

MIX_KINDS = ("extra_field", "quantity_na", "uuid_null", "bad_date")
MALFORMED_DATES = (
    "31/02/2024",
    "2024-02-30T10:00:00Z",
    "2023-13-01T08:00:00+02:00",
    "2023-06-04T25:61:00Z",
)
#: per kind of bad record: chute's ``error``, ``column`` and ``sqlstate`` for its reject
EXPECTED_REJECT: dict[str, tuple[str, str | None, str | None]] = {
    "extra_field": ("parse", None, None),
    "quantity_na": ("conversion", "quantity", "22P02"),  # PostgreSQL's own refusal
    "uuid_null": ("constraint", "uuid", "23502"),
    "bad_date": ("conversion", "ordered_at", None),
    "duplicate_id": ("database", None, "23505"),
}

Variant = Literal["mix", "dup"]
InputName = Literal["clean", "mix", "dup", "dup_sample"]


# -- the bad files -----------------------------------------------------------------------


@dataclass(frozen=True)
class BadRecord:
    """One bad record: where it is, what it was in the clean file, and what was done."""

    index: int  # 0-based among the data records
    kind: str  # a MIX_KINDS entry, or duplicate_id
    id: int  # its id in the clean file
    uuid: str  # its uuid in the clean file
    line: int  # 1-based line it starts on (the same in every file)
    offset: int  # byte offset of its start in its bad file
    text: str  # the record as written to the bad file
    duplicate_of: int | None = None  # duplicate_id: the earlier id it repeats


@dataclass(frozen=True)
class BadFiles:
    rows: int
    sample_rows: int
    clean: Path
    mix: Path
    dup: Path
    good: Path  # the records that are good in both bad files: what the table must hold
    dup_sample: Path  # the first sample_rows records of dup
    good_sample: Path  # the good records among them
    bad: dict[Variant, list[BadRecord]]

    def bad_in_sample(self) -> list[BadRecord]:
        return [b for b in self.bad["dup"] if b.index < self.sample_rows]


def bad_indexes(rows: int, count: int, seed: int) -> list[int]:
    """One record at random in each of ``count`` equal stretches (never the first record)."""
    rng = np.random.default_rng([seed, _BAD_STREAM, 1])
    edges = np.linspace(0, rows, count + 1).astype(np.int64)
    return [int(rng.integers(max(lo, 1), hi)) for lo, hi in itertools.pairwise(edges.tolist())]


def records(path: Path) -> Iterator[tuple[bytes, int]]:
    """Every CSV record of ``path`` (header first) with its line count; quotes may span lines."""
    with open(path, "rb") as f:
        pending = b""
        lines = 0
        for line in f:
            record = pending + line if pending else line
            lines += 1
            if record.count(b'"') % 2:  # inside a quoted value: the record goes on
                pending = record
                continue
            yield record, lines
            pending = b""
            lines = 0
        if pending:
            yield pending, lines


def _fields(record: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(record.decode(), newline="")))


def _record(fields: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue().encode()


def _spoil(kind: str, record: bytes, rng: np.random.Generator) -> bytes:
    if kind == "extra_field":
        return record.rstrip(b"\n") + b",unexpected\n"
    fields = _fields(record)
    if kind == "quantity_na":
        fields[generate.COLUMNS.index("quantity")] = "n/a"
    elif kind == "uuid_null":
        fields[generate.COLUMNS.index("uuid")] = ""  # unquoted empty: NULL
    elif kind == "bad_date":
        fields[generate.COLUMNS.index("ordered_at")] = str(rng.choice(MALFORMED_DATES))
    else:
        raise ValueError(kind)
    return _record(fields)


def _duplicate(record: bytes, earlier_id: int) -> bytes:
    fields = _fields(record)
    fields[0] = str(earlier_id)
    return _record(fields)


class _Writer:
    """Writes a file atomically (``.tmp``, then renamed), or nothing when it exists."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_suffix(path.suffix + ".tmp")
        self.out: IO[bytes] | None = None if path.exists() else open(self.tmp, "wb")  # noqa: SIM115

    def write(self, data: bytes) -> None:
        if self.out is not None:
            self.out.write(data)

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
            self.tmp.replace(self.path)


def ensure_bad_files(
    rows: int, sample_rows: int, *, count: int = BAD_ROWS, seed: int = generate.DEFAULT_SEED
) -> BadFiles:
    """The bad files for the ``rows``-record orders file, made unless they are there.

    One pass over the clean file finds the chosen records and writes the files that are
    missing; the bad records' positions come out of the same pass either way.
    """
    clean = generate.ensure_orders(rows, seed=seed)
    stem = clean.stem + f"_bad{count}"
    data = clean.parent
    files = BadFiles(
        rows=rows,
        sample_rows=sample_rows,
        clean=clean,
        mix=data / f"{stem}_mix.csv",
        dup=data / f"{stem}_dup.csv",
        good=data / f"{stem}_good.csv",
        dup_sample=data / f"{stem}_dup_first{sample_rows}.csv",
        good_sample=data / f"{stem}_good_first{sample_rows}.csv",
        bad={"mix": [], "dup": []},
    )
    indexes = bad_indexes(rows, count, seed)
    bad_set = set(indexes)
    rng = np.random.default_rng([seed, _BAD_STREAM, 2])
    kinds = dict(zip(indexes, rng.permutation(np.resize(MIX_KINDS, count)), strict=True))
    earlier: dict[int, int] = {}  # bad index -> the (good) earlier record it repeats
    for i in indexes:
        while (j := int(rng.integers(0, i))) in bad_set:
            pass
        earlier[i] = j
    wanted_ids = set(earlier.values())
    ids: dict[int, int] = {}

    writers = {
        name: _Writer(getattr(files, name))
        for name in ("mix", "dup", "good", "dup_sample", "good_sample")
    }
    offsets = {"mix": 0, "dup": 0}
    line = 1
    try:
        index = -1
        for record, lines in records(clean):
            if index < 0:  # the header
                for w in writers.values():
                    w.write(record)
                offsets = {"mix": len(record), "dup": len(record)}
                line += lines
                index += 1
                continue
            if index in wanted_ids:
                ids[index] = int(_fields(record)[0])
            if index in bad_set:
                fields = _fields(record)
                mix = _spoil(str(kinds[index]), record, rng)
                dup = _duplicate(record, ids[earlier[index]])
                spoilt: tuple[tuple[Variant, bytes, str], ...] = (
                    ("mix", mix, str(kinds[index])),
                    ("dup", dup, "duplicate_id"),
                )
                for variant, text, kind in spoilt:
                    files.bad[variant].append(
                        BadRecord(
                            index=index,
                            kind=kind,
                            id=int(fields[0]),
                            uuid=fields[1],
                            line=line,
                            offset=offsets[variant],
                            text=text.decode(),
                            duplicate_of=ids[earlier[index]] if variant == "dup" else None,
                        )
                    )
                writers["mix"].write(mix)
                writers["dup"].write(dup)
                if index < sample_rows:
                    writers["dup_sample"].write(dup)
                offsets["mix"] += len(mix)
                offsets["dup"] += len(dup)
            else:
                for name in ("mix", "dup", "good"):
                    writers[name].write(record)
                if index < sample_rows:
                    writers["dup_sample"].write(record)
                    writers["good_sample"].write(record)
                offsets["mix"] += len(record)
                offsets["dup"] += len(record)
            line += lines
            index += 1
        if index != rows:
            raise SystemExit(f"{clean} holds {index:,} records, not {rows:,}")
    except BaseException:
        for w in writers.values():
            if w.out is not None:
                w.out.close()
                w.tmp.unlink(missing_ok=True)
        raise
    for w in writers.values():
        w.close()
    return files


# -- the row-by-row fallback (runs in a process of its own) ------------------------------


def fallback(path: Path, url: str, table: str, batch_rows: int) -> dict[str, Any]:
    """COPY ``batch_rows`` records per transaction; a refused batch again row by row.

    What a loader does when it falls back to per-row inserts: the batch is rolled back and
    each of its records is sent as one INSERT in a transaction of its own; the ones the
    database refuses are rolled back and counted.  Empty fields are NULL (as in
    ``psql \\copy ... (FORMAT csv)``); the server converts the text values.
    """
    started = time.perf_counter()
    placeholders = ", ".join(["%s"] * len(generate.COLUMNS))
    insert = f"INSERT INTO {table} VALUES ({placeholders})"
    read = inserted = rejected = batches = failed_batches = 0
    with (
        open(path, newline="", encoding="utf-8") as f,
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
    ):
        reader = csv.reader(f)
        next(reader)
        while True:
            batch = [[v or None for v in r] for r in itertools.islice(reader, batch_rows)]
            if not batch:
                break
            read += len(batch)
            batches += 1
            try:
                with cur.copy(f"COPY {table} FROM STDIN") as copy:
                    for values in batch:
                        copy.write_row(values)
                conn.commit()
                inserted += len(batch)
                continue
            except psycopg.Error:
                conn.rollback()
                failed_batches += 1
            for values in batch:
                try:
                    cur.execute(insert, values)
                    conn.commit()
                    inserted += 1
                except psycopg.Error:
                    conn.rollback()
                    rejected += 1
    return {
        "rows": read,
        "inserted": inserted,
        "rejected": rejected,
        "batches": batches,
        "failed_batches": failed_batches,
        "seconds": round(time.perf_counter() - started, 3),
    }


def fallback_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="bad_rows.py fallback", description=(fallback.__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--batch-rows", type=int, default=FALLBACK_BATCH_ROWS)
    args = parser.parse_args(argv)
    print(json.dumps(fallback(args.file, args.url, args.table, args.batch_rows)))
    return 0


# -- the contenders ------------------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    name: str
    input: InputName
    tool: Literal["psql", "chute", "fallback"]
    description: str


CONTENDERS = [
    Contender("psql_copy_clean", "clean", "psql", "psql \\copy of the clean file (context)"),
    Contender("chute_clean", "clean", "chute", "chute, the clean file (the reference)"),
    Contender("chute_bad_mix", "mix", "chute", "chute, file (a): 100 bad, caught before the DB"),
    Contender("chute_bad_dup", "dup", "chute", "chute, file (b): 100 duplicate ids, refused by DB"),
    Contender(
        "chute_bad_dup_sample", "dup_sample", "chute", "chute, the first records of file (b)"
    ),
    Contender(
        "fallback_per_row",
        "dup_sample",
        "fallback",
        "COPY per 10,000; a refused batch again one INSERT + COMMIT per row",
    ),
]
REFERENCE = "chute_clean"
#: compared with the row-by-row fallback as well (same file (b); the sample is the same rows)
VS_FALLBACK = ("chute_bad_dup", "chute_bad_dup_sample")


@dataclass(frozen=True)
class Expected:
    path: Path
    rows: int  # records in the file
    good_rows: int
    bad: list[BadRecord]
    fingerprint: dict[str, int]  # of the good records, loaded by psql \copy


class BadRowsBench:
    def __init__(self, args: argparse.Namespace, files: BadFiles) -> None:
        self.args = args
        self.files = files
        self.rows: int = files.rows
        self.runs: list[run.Run] = []
        self.inputs: dict[InputName, Expected] = {}
        self.work = Path()

    def setup(self, db: run.Database, ctx: run.Context) -> None:
        """The expected contents: the good records of each input loaded by psql (untimed)."""
        f = self.files
        sample_bad = f.bad_in_sample()
        if not sample_bad:
            print(f"warning: no bad record in the first {f.sample_rows:,} records", flush=True)
        good = self._reference(db, ctx, f.good)
        good_sample = self._reference(db, ctx, f.good_sample)
        clean = self._reference(db, ctx, f.clean)
        self.inputs = {
            "clean": Expected(f.clean, f.rows, f.rows, [], clean),
            "mix": Expected(f.mix, f.rows, f.rows - len(f.bad["mix"]), f.bad["mix"], good),
            "dup": Expected(f.dup, f.rows, f.rows - len(f.bad["dup"]), f.bad["dup"], good),
            "dup_sample": Expected(
                f.dup_sample,
                f.sample_rows,
                f.sample_rows - len(sample_bad),
                sample_bad,
                good_sample,
            ),
        }
        for name, e in self.inputs.items():
            if e.fingerprint["rows"] != e.good_rows:
                raise SystemExit(f"{name}: psql loaded {e.fingerprint['rows']:,} good records")

    @staticmethod
    def _reference(db: run.Database, ctx: run.Context, path: Path) -> dict[str, int]:
        db.create_typed("reference")
        m = run.measure(run._psql_copy(ctx, path, "reference"))
        if m.returncode != 0:
            raise SystemExit(f"psql \\copy of {path} failed: {m.stderr.strip()}")
        fingerprint = db.fingerprint("reference")
        db.drop("reference")
        return fingerprint

    def command(self, ctx: run.Context, c: Contender, table: str) -> list[str]:
        path = self.inputs[c.input].path
        if c.tool == "psql":
            return run._psql_copy(ctx, path, table)
        if c.tool == "chute":
            return run._chute("--rejects", str(self._rejects_path(c)))(ctx, path, table)
        return [
            sys.executable,
            str(Path(__file__).resolve()),
            "fallback",
            "--file",
            str(path),
            "--url",
            ctx.url,
            "--table",
            table,
        ]

    def _rejects_path(self, c: Contender) -> Path:
        return self.work / f"{c.name}.rejects.jsonl"

    def run_one(self, db: run.Database, ctx: run.Context, c: Contender, round_: int) -> run.Run:
        table = f"t_{c.name}"
        expected = self.inputs[c.input]
        db.create_typed(table)
        self._rejects_path(c).unlink(missing_ok=True)
        # chute from issue 4 on keeps a checkpoint per (file, table) in the target and does
        # nothing when the same file was loaded completely before: every round starts afresh
        db.drop(CHECKPOINTS_TABLE)
        db.settle()
        m = run.measure(self.command(ctx, c, table), ctx.chute_env if c.tool == "chute" else None)
        full_rows = self.rows if c.tool == "fallback" else expected.rows
        # chute exits 6 when it completed the load and rejected some records
        ok_codes = {0, 6} if c.tool == "chute" and expected.bad else {0}
        r = run.Run(
            contender=c.name,
            section="postgres",
            round=round_,
            rows=expected.rows,
            full_rows=full_rows,
            wall_seconds=m.wall_seconds,
            peak_rss_bytes=m.peak_rss_bytes,
            ok=m.returncode in ok_codes,
            check="",
        )
        if not r.ok:
            tail = m.stderr.strip().splitlines()[-3:] or [f"exit code {m.returncode}"]
            r.error = f"exit {m.returncode}: " + " | ".join(tail)
            r.check = "failed"
        else:
            r.details = self._details(ctx, c, table, m)
            r.inner_seconds = r.details.get("seconds")
            problems = self.check(db, c, table, r.details)
            r.details["problems"] = problems
            if "rejects" in r.details:  # kept in the JSON without the records' text
                r.details["rejects"] = [
                    {k: v for k, v in x.items() if k not in ("raw", "record")}
                    for x in r.details["rejects"]
                ]
            r.check = "MISMATCH: " + "; ".join(problems) if problems else "ok"
        db.drop(table)
        return r

    def _details(
        self, ctx: run.Context, c: Contender, table: str, m: run.Measured
    ) -> dict[str, Any]:
        if c.tool == "chute":
            report: dict[str, Any] = json.loads((ctx.report_dir / f"{table}.json").read_text())
            keep = [
                "status", "read", "written", "created", "updated", "skipped", "rejected",
                "rejected_by", "write_attempts", "batches", "seconds", "read_seconds",
                "write_seconds", "wait_seconds", "peak_rss_bytes",
            ]  # fmt: skip
            details = {k: report[k] for k in keep if k in report}
            rejects = self._rejects_path(c)
            details["rejects"] = (
                [json.loads(line) for line in rejects.read_text().splitlines()]
                if rejects.exists()
                else []
            )
            return details
        if c.tool == "fallback":
            lines = m.stdout.strip().splitlines()
            return dict(json.loads(lines[-1])) if lines else {}
        return {}

    def check(
        self, db: run.Database, c: Contender, table: str, details: dict[str, Any]
    ) -> list[str]:
        """What is wrong with this load: counts, rejects, the table's contents."""
        e = self.inputs[c.input]
        problems: list[str] = []
        if c.tool == "chute":
            problems += _check_report(details, e)
            problems += _check_rejects(details["rejects"], e)
        elif c.tool == "fallback":
            want = {"rows": e.rows, "inserted": e.good_rows, "rejected": len(e.bad)}
            problems += [
                f"{k} {details.get(k)} != {v}" for k, v in want.items() if details.get(k) != v
            ]
        got = db.fingerprint(table)
        if got["rows"] != e.good_rows:
            problems.append(f"table holds {got['rows']:,} rows, expected {e.good_rows:,}")
        if e.bad:
            # a spoilt record keeps its id (unique in the file); a duplicate has an earlier
            # record's id and its own uuid
            found = db.conn.execute(
                f"SELECT count(*) FROM {table} t JOIN unnest(%s::bigint[], %s::text[]) AS "
                "b(id, uuid) ON t.id = b.id AND (b.uuid IS NULL OR t.uuid::text = b.uuid)",
                (
                    [b.duplicate_of or b.id for b in e.bad],
                    [b.uuid if b.duplicate_of else None for b in e.bad],
                ),
            ).fetchone()
            if found is None or found[0]:
                problems.append(f"{found[0] if found else '?'} bad records in the table")
        diff = run.differences(got, e.fingerprint)
        if diff:
            problems.append("column hashes differ from the good records': " + ", ".join(diff))
        return problems

    def run(self, db: run.Database, ctx: run.Context, contenders: list[Contender]) -> None:
        self.setup(db, ctx)
        for round_ in range(1, self.args.repeat + 1):
            order = contenders if round_ % 2 else list(reversed(contenders))
            for c in order:
                r = self.run_one(db, ctx, c, round_)
                self.runs.append(r)
                line = run._progress_line(r)
                if r.ok and c.tool != "psql":
                    line += f", rejected {_rejected_text(r.details)}"
                print(line, flush=True)


def _check_report(report: dict[str, Any], e: Expected) -> list[str]:
    problems = []
    read, written = report.get("read"), report.get("written")
    skipped, rejected = report.get("skipped", 0), report.get("rejected")
    if report.get("status") != "completed":
        problems.append(f"status {report.get('status')}")
    if read != written + skipped + rejected:
        problems.append(f"read {read} != written {written} + skipped {skipped} + rej. {rejected}")
    if read != e.rows:
        problems.append(f"read {read:,}, the file holds {e.rows:,} records")
    if written != e.good_rows or rejected != len(e.bad):
        problems.append(f"written {written:,}, rejected {rejected}: expected {len(e.bad)}")
    want: dict[str, int] = {}
    for b in e.bad:
        error = EXPECTED_REJECT[b.kind][0]
        want[error] = want.get(error, 0) + 1
    if report.get("rejected_by", {}) != want:
        problems.append(f"rejected_by {report.get('rejected_by')} != {want}")
    return problems


def _check_rejects(rejects: list[dict[str, Any]], e: Expected) -> list[str]:
    """The reject file: one entry per bad record, each naming it and why it was refused."""
    problems = []
    by_number: dict[int, dict[str, Any]] = {
        int(r["record_number"]): r for r in rejects if r.get("record_number") is not None
    }
    wanted = {b.index + 1: b for b in e.bad}
    if len(rejects) != len(e.bad) or by_number.keys() != wanted.keys():
        extra = sorted(set(by_number) - set(wanted))[:5]
        missing = sorted(set(wanted) - set(by_number))[:5]
        problems.append(f"reject file: {len(rejects)} entries, extra {extra}, missing {missing}")
    wrong: list[str] = []
    for number, b in wanted.items():
        r = by_number.get(number)
        if r is None:
            continue
        error, column, sqlstate = EXPECTED_REJECT[b.kind]
        want = {"error": error, "line": b.line, "offset": b.offset}
        if column is not None:
            want["column"] = column
        if sqlstate is not None:
            want["sqlstate"] = sqlstate
        off = [f"{k}={r.get(k)!r} (expected {v!r})" for k, v in want.items() if r.get(k) != v]
        if r.get("raw") is not None and r["raw"].rstrip("\r\n") != b.text.rstrip("\r\n"):
            off.append("raw is not the record's text")
        if off:
            wrong.append(f"record {number} ({b.kind}): {', '.join(off)}")
    if wrong:
        problems.append(f"{len(wrong)} rejects wrong, e.g. {wrong[0]}")
    return problems


# -- the summary ---------------------------------------------------------------------------


@dataclass
class Summary:
    contender: str
    description: str
    input: str
    rounds: int
    rows_measured: int
    full_rows: int
    sampled: bool
    wall_seconds: float  # median
    full_seconds: float  # median, extrapolated when sampled
    rows_per_second: float  # median
    vs_clean: float | None  # median over rounds of rows/s ÷ chute_clean's in the same round
    vs_clean_range: tuple[float, float] | None
    vs_fallback: float | None  # the same ÷ fallback_per_row's rows/s
    vs_fallback_range: tuple[float, float] | None
    rejected: str
    write_attempts: str
    peak_rss_mb: float
    checks: list[str]
    errors: list[str]


def _rejected_text(details: dict[str, Any]) -> str:
    if "rejected_by" in details:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(details["rejected_by"].items()))
        return f"{details['rejected']}" + (f" ({kinds})" if kinds else "")
    if "failed_batches" in details:
        return (
            f"{details['rejected']} ({details['failed_batches']} of {details['batches']} "
            "batches refused, redone row by row)"
        )
    return "—"


def _spread(values: list[float]) -> tuple[float | None, tuple[float, float] | None]:
    if not values:
        return None, None
    return statistics.median(values), (min(values), max(values)) if len(values) > 1 else None


def summarise(runs: list[run.Run], contenders: list[Contender]) -> list[Summary]:
    out = []
    for c in contenders:
        mine = [r for r in runs if r.contender == c.name]
        good = [r for r in mine if r.ok]
        if not mine:
            continue
        comparable = c.input != "dup_sample" or c.tool == "fallback"
        vs_clean = run._ratios(runs, c.name, REFERENCE) if comparable else []
        vs_fallback = run._ratios(runs, c.name, "fallback_per_row") if c.name in VS_FALLBACK else []
        clean, clean_range = _spread(vs_clean)
        fb, fb_range = _spread(vs_fallback)
        rejected = sorted({_rejected_text(r.details) for r in good})
        attempts = sorted(
            {str(r.details["write_attempts"]) for r in good if "write_attempts" in r.details}
        )
        out.append(
            Summary(
                contender=c.name,
                description=c.description,
                input=c.input,
                rounds=len(mine),
                rows_measured=mine[0].rows,
                full_rows=mine[0].full_rows,
                sampled=mine[0].sampled,
                wall_seconds=run._median([r.wall_seconds for r in good]),
                full_seconds=run._median([r.full_seconds for r in good]),
                rows_per_second=run._median([r.rows_per_second for r in good]),
                vs_clean=clean,
                vs_clean_range=clean_range,
                vs_fallback=fb,
                vs_fallback_range=fb_range,
                rejected=" / ".join(rejected) or "—",
                write_attempts=", ".join(attempts) or "—",
                peak_rss_mb=max(r.peak_rss_bytes for r in mine) / run.MB,
                checks=sorted({r.check for r in mine}),
                errors=[r.error for r in mine if r.error],
            )
        )
    return out


INPUT_LABELS: dict[str, str] = {
    "clean": "clean",
    "mix": "(a) mix",
    "dup": "(b) dup ids",
    "dup_sample": "(b), first {sample:,}",
}


def markdown_table(summaries: list[Summary], sample_rows: int) -> str:
    head = (
        "| contender | file | rows measured | wall s | s for full size | rows/s | × chute clean "
        "| × row-by-row fallback | rejected | write attempts | peak RSS MB | check |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|"
    )
    lines = [head]
    for s in summaries:
        vs_clean = (
            "1 (ref)" if s.contender == REFERENCE else run._ratio_text(s.vs_clean, s.vs_clean_range)
        )
        vs_fallback = (
            "1 (ref)"
            if s.contender == "fallback_per_row"
            else run._ratio_text(s.vs_fallback, s.vs_fallback_range)
        )
        full = f"{s.full_seconds:,.1f}" + (" (extrapolated)" if s.sampled else "")
        rows = f"{s.rows_measured:,}" + (f" of {s.full_rows:,}" if s.sampled else "")
        check = "; ".join(s.checks) if not s.errors else f"FAILED: {s.errors[0][:80]}"
        label = INPUT_LABELS[s.input].format(sample=sample_rows)
        lines.append(
            f"| {s.contender} | {label} | {rows} | {s.wall_seconds:,.2f} | {full} | "
            f"{s.rows_per_second:,.0f} | {vs_clean} | {vs_fallback} | {s.rejected} | "
            f"{s.write_attempts} | {s.peak_rss_mb:,.0f} | {check} |"
        )
    return "\n".join(lines)


def verdicts(summaries: list[Summary]) -> list[str]:
    lines = []
    for s in summaries:
        if s.contender in ("chute_bad_mix", "chute_bad_dup") and s.vs_clean is not None:
            verdict = "PASS" if s.vs_clean >= TARGET_RATIO else "FAIL"
            lines.append(
                f"target {TARGET_RATIO}× of the clean load: {s.contender} at "
                f"{run._ratio_text(s.vs_clean, s.vs_clean_range)}: {verdict}"
            )
    return lines


# -- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["fallback"]:
        return fallback_main(argv[1:])
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=generate.DEFAULT_ROWS, help="rows per file")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (order reversed in even)")
    parser.add_argument(
        "--fallback-rows",
        type=int,
        default=FALLBACK_ROWS,
        help="records of file (b) loaded row by row, extrapolated to --rows",
    )
    parser.add_argument(
        "--only",
        default=",".join(c.name for c in CONTENDERS),
        help="comma-separated contenders: " + ", ".join(c.name for c in CONTENDERS),
    )
    parser.add_argument(
        "--admin-url", default=run.DEFAULT_ADMIN_URL, help="where to CREATE DATABASE"
    )
    parser.add_argument(
        "--chute-from",
        default="HEAD",
        metavar="REF|worktree|installed",
        help="as in run.py: run chute from a copy of src/chute as committed in a git ref "
        "(default HEAD) or as on disk (worktree), or the installed (editable, live) package",
    )
    parser.add_argument("--out", type=Path, default=run.OUT_DIR, help="where the JSON goes")
    args = parser.parse_args(argv)
    if args.rows < 2 * BAD_ROWS or args.repeat < 1:
        parser.error(f"--rows must be at least {2 * BAD_ROWS} and --repeat at least 1")
    if not 0 < args.fallback_rows <= args.rows:
        parser.error("--fallback-rows must be between 1 and --rows")
    by_name = {c.name: c for c in CONTENDERS}
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        parser.error(f"unknown contender(s) {', '.join(unknown)}")
    contenders = [c for c in CONTENDERS if c.name in names]

    started = time.perf_counter()
    files = ensure_bad_files(args.rows, args.fallback_rows)
    print(f"inputs ready in {time.perf_counter() - started:.1f} s:", flush=True)
    for name in ("clean", "mix", "dup", "dup_sample"):
        print(f"  {name}: {getattr(files, name)}", flush=True)
    bench = BadRowsBench(args, files)

    work = Path(tempfile.mkdtemp(prefix="bad_rows_", dir=generate.DATA_DIR))
    bench.work = work
    db: run.Database | None = None
    try:
        chute, chute_env, chute_code = run.chute_snapshot(args.chute_from, work / "chute")
        db = run.Database(args.admin_url)
        env = run.environment(db)
        env["chute_code"] = chute_code
        print(f"{env['date']}: {', '.join(names)} at {args.rows:,} rows in {db.name}", flush=True)
        print(f"chute: {chute_code}", flush=True)
        ctx = run.Context(db.url, work, work, chute, chute_env, {})
        bench.run(db, ctx, contenders)
        env["loadavg_at_end"] = os.getloadavg()
        env["git_at_end"] = run.git_state()
    finally:
        if db is not None:
            db.close()
        shutil.rmtree(work, ignore_errors=True)

    summaries = summarise(bench.runs, contenders)
    table = markdown_table(summaries, files.sample_rows)
    target = verdicts(summaries)
    print()
    print(table)
    if target:
        print()
        print("\n".join(target))

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out / f"bad_rows_{args.rows}_{stamp}.json"
    result = {
        "environment": env,
        "settings": {
            "rows": args.rows,
            "fallback_rows": files.sample_rows,
            "fallback_batch_rows": FALLBACK_BATCH_ROWS,
            "repeat": args.repeat,
            "files": {k: str(getattr(files, k)) for k in ("clean", "mix", "dup", "dup_sample")},
            "bad": {v: [asdict(b) for b in bad] for v, bad in files.bad.items()},
        },
        "summary": [asdict(s) for s in summaries],
        "runs": [{**asdict(r), "rows_per_second": r.rows_per_second} for r in bench.runs],
        "target": target,
        "markdown": table,
    }
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwrote {out}")
    failures = [r for r in bench.runs if not r.ok or r.check != "ok"]
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
