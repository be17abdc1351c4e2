"""chute's versioned datasets (issue 14) against the issue's targets, and report 02's design.

::

    python benchmarks/dataset_versions.py                   # 1,000,000 rows, every section
    python benchmarks/dataset_versions.py --rows 20000      # a quick run
    python benchmarks/dataset_versions.py --only pg,before --rounds 5

From the orders file (``generate.py``, version 1) it makes version 2 (1% of the rows changed:
``quantity`` + 1; 0.1% deleted; 0.1% added), a "side" version (version 2 with another 1% of
the rows changed, imported on a branch and merged) and a "top" version (version 2 with one
new row inserted at the top), all deterministic, under ``benchmarks/data/``.  Sections:

- ``pg``: ``psql \\copy`` of versions 1 and 2 into the typed table (the reference); chute's
  imports of 1 and 2 into dataset ``orders`` keyed on ``id``, each a ``chute load`` process
  timed from outside; the rows the second import wrote to durable tables (the deltas of
  ``pg_stat_user_tables``, read from a new connection once the import's backend has exited
  and flushed its counters); ``diff main~1 main``; checkouts of ``main~1`` and ``main``
  into a table and a CSV file; making a branch; the merge of a branch with 1% changed rows.
- ``sqlite``: the same in a SQLite file (no write counts, no ``\\copy``).
- ``identity``: a dataset without a key (rows identified by content): version 2, then the
  top version; its commit must be 1 row added (PostgreSQL and SQLite).
- ``before``: field report 02's design (``dataset_before.py``) on PostgreSQL: versions 1, 2,
  then the top version; import and refresh times, rows written, what each commit changed.

chute runs from a copy of ``src/chute`` at git ``HEAD`` (``--chute-from``, as in ``run.py``),
in and out of process.  The PostgreSQL database is a throwaway one (``bench_ds_<random>``),
dropped at the end.  Prints one Markdown table (figure, target, met) and writes everything to
``benchmarks/out/dataset_versions_<rows>_<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dataset_before as before
import generate
import numpy as np
import psycopg
from run import chute_snapshot

HERE = Path(__file__).resolve().parent
SECTIONS = ("pg", "sqlite", "identity", "before")
ID, QUANTITY = 0, 4  # columns of the orders file
STATS = "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
RESULTS: list[dict[str, Any]] = []
DETAILS: dict[str, Any] = {}
NOTES: list[str] = []


@dataclass(frozen=True)
class Versions:
    v1: Path
    v2: Path
    side: Path
    top: Path
    changed: int  # rows v2 changed + deleted + added
    side_changed: int


def versions(rows: int) -> Versions:
    """The version files of the ``rows``-row orders file, made unless already there."""
    v1 = generate.ensure_orders(rows)
    stem = v1.with_suffix("")
    v2, side, top = (Path(f"{stem}_{s}.csv") for s in ("v2", "v2_side", "v2_top"))
    ids = np.random.default_rng([generate.DEFAULT_SEED, 14]).permutation(rows) + 1
    n_chg, n_del = rows // 100, rows // 1000
    bump = set(ids[:n_chg].tolist())
    gone = set(ids[n_chg : n_chg + n_del].tolist())
    side_ids = set(ids[n_chg + n_del : 2 * n_chg + n_del].tolist())

    def rewrite(src: Path, dst: Path, change: set[int], drop: set[int], add: int) -> None:
        if dst.exists():
            return
        with (
            open(src, newline="", encoding="utf-8") as f,
            open(f"{dst}.tmp", "w", newline="", encoding="utf-8") as out,
        ):
            reader, writer = csv.reader(f), csv.writer(out, lineterminator="\n")
            writer.writerow(next(reader))
            copies: list[list[str]] = []
            for row in reader:
                key = int(row[ID])
                if key in drop:
                    continue
                if key in change:
                    row[QUANTITY] = str(int(row[QUANTITY]) + 1)
                if len(copies) < add:
                    copies.append(list(row))
                writer.writerow(row)
            for i, row in enumerate(copies, 1):
                writer.writerow([str(rows + i), *row[1:]])
        os.replace(f"{dst}.tmp", dst)

    rewrite(v1, v2, bump, gone, n_del)
    rewrite(v2, side, side_ids, set(), 0)
    if not top.exists():
        head, _, body = v2.read_bytes().partition(b"\n")
        with open(v2, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader)
            first = next(reader)
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow([str(2 * rows + 1), *first[1:]])
        top.write_bytes(head + b"\n" + line.getvalue().encode() + body)
    return Versions(v1, v2, side, top, n_chg + 2 * n_del, len(side_ids))


def record(db: str, what: str, figure: str, target: str = "", met: bool | None = None) -> None:
    RESULTS.append({"db": db, "measure": what, "figure": figure, "target": target,
                    "met": "—" if met is None else ("met" if met else "**not met**")})  # fmt: skip
    print(f"  {db}: {what}: {figure}" + (f" (target {target})" if target else ""), flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace, env: dict[str, str], tmp: Path) -> None:
        self.args, self.env, self.tmp = args, env, tmp

    def run(self, cmd: list[str]) -> tuple[float, str]:
        """Run ``cmd``; its wall seconds and stdout (killed after ``--timeout`` seconds:
        subprocess.TimeoutExpired)."""
        t0 = time.perf_counter()
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=False,
                              timeout=self.args.timeout)  # fmt: skip
        seconds = time.perf_counter() - t0
        if done.returncode != 0:
            raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
        return seconds, done.stdout

    def load(self, url: str, path: Path, dataset: str, *extra: str) -> tuple[float, dict[str, Any]]:
        """``chute load`` ``path`` into ``dataset``: wall seconds and the JSON report."""
        report = self.tmp / f"report_{secrets.token_hex(4)}.json"
        cmd = [sys.executable, "-m", "chute", "load", str(path), "--into", url,
               "--dataset", dataset, "--quiet", "--report", str(report), *extra]  # fmt: skip
        seconds, _ = self.run(cmd)
        return seconds, json.loads(report.read_text())

    def rounds(self, act: Any) -> list[float]:
        out = []
        for i in range(self.args.rounds):
            t0 = time.perf_counter()
            act(i)
            out.append(time.perf_counter() - t0)
        return out


def trio(xs: Any) -> str:
    return ", ".join(f"{x:,}" for x in xs)


def med(xs: list[float]) -> str:
    m = statistics.median(xs)
    spread = f" ({min(xs):.3f}–{max(xs):.3f})" if len(xs) > 1 else ""
    return f"{m:.3f} s{spread}"


class Pg:
    """The throwaway database; stats read from connections of its own."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.name = f"bench_ds_{secrets.token_hex(4)}"
        with psycopg.connect(server, autocommit=True) as c:
            c.execute(f"CREATE DATABASE {self.name}")  # type: ignore[arg-type]
        self.url = server.rsplit("/", 1)[0] + "/" + self.name

    def execute(self, statement: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as c:
            cur = c.execute(statement)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def quiet(self) -> None:
        os.sync()
        self.execute("CHECKPOINT")

    def stats(self) -> dict[str, tuple[int, int, int]]:
        """Rows inserted, updated, deleted per table, once no other backend is left."""
        deadline = time.monotonic() + 30
        with psycopg.connect(self.url, autocommit=True) as c:
            while time.monotonic() < deadline:
                (others,) = c.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                ).fetchone() or (0,)
                if not others:
                    break
                time.sleep(0.1)
            c.execute("SELECT pg_stat_clear_snapshot()")
            return {r[0]: (r[1], r[2], r[3]) for r in c.execute(STATS).fetchall()}

    def drop(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")  # type: ignore[arg-type]


def written(old: dict[str, Any], new: dict[str, Any], tables: Any) -> tuple[int, dict[str, Any]]:
    """Rows written between two :meth:`Pg.stats`, in all and per table (of ``tables``)."""
    per = {t: [a - b for a, b in zip(new[t], old.get(t, (0, 0, 0)), strict=True)]
           for t in sorted(new) if tables(t)}  # fmt: skip
    return sum(sum(v) for v in per.values()), per


def copy_ref(b: Bench, pg: Pg, path: Path) -> float:
    """Seconds of ``psql \\copy`` of ``path`` into a new typed table (measured once)."""
    key = f"copy {path.name}"
    if key not in DETAILS:
        table = f"copy_{len(DETAILS)}"
        pg.execute(generate.typed_table_ddl(table))
        pg.quiet()
        copy = f"\\copy {table} FROM '{path}' WITH (FORMAT csv, HEADER true)"
        DETAILS[key], _ = b.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg.url,
                                 "-c", copy])  # fmt: skip
        record("PostgreSQL", f"psql \\copy of {path.name} into the typed table (reference)",
               f"{DETAILS[key]:.2f} s")  # fmt: skip
    return float(DETAILS[key])


def chute_sections(b: Bench, v: Versions, db: str, url: str, pg: Pg | None) -> None:
    """Imports, write counts, diff, checkouts, branch and merge of one database."""
    import chute

    rows = b.args.rows
    ref = {"v1": copy_ref(b, pg, v.v1), "v2": copy_ref(b, pg, v.v2)} if pg else {}
    if pg is not None:
        pg.quiet()
    first, _ = b.load(url, v.v1, "orders", "--key", "id")
    ratio = f", {first / ref['v1']:.2f}× \\copy" if ref else ""
    record(db, f"first import ({rows:,} rows, whole command)", f"{first:.2f} s{ratio}",
           "(reported)")  # fmt: skip
    if pg is not None:
        pg.quiet()
        stats0 = pg.stats()
    try:
        second, rep2 = b.load(url, v.v2, "orders", "--key", "id")
    except subprocess.TimeoutExpired:
        record(db, "second import (whole command)", f"**did not finish in {b.args.timeout:.0f} s**"
               " (killed)", "≤ 15 s" if pg is None else "≤ 1.5× \\copy", False)  # fmt: skip
        return checkouts_and_branch(b, db, url, ("main",))
    d = rep2["dataset"]
    DETAILS[f"{db}_second_import"] = {"wall": second, "report": rep2}
    stage = float(rep2["seconds"])
    what = f"second import (whole command; staging {stage:.2f} s, commit ≈ {second - stage:.2f} s)"
    if pg is not None:
        r = second / ref["v2"]
        record(db, what, f"{second:.2f} s = {r:.2f}× \\copy ({ref['v2']:.2f} s)", "≤ 1.5×",
               r <= 1.5)  # fmt: skip
        total, per = written(stats0, pg.stats(), lambda t: t.startswith("_chute_") and
                             not t.startswith("_chute_dstage_"))  # fmt: skip
        DETAILS["pg_written"] = per
        limit = 3 * v.changed + 10
        record(db, f"rows written by the second import ({v.changed:,} rows changed)",
               f"{total:,} = {total / v.changed:.2f}× + 0", f"≤ 3× + 10 = {limit:,}",
               total <= limit)  # fmt: skip
        NOTES.append(f"{db}: rows written by the second import, counted in (inserted, updated, "
                     f"deleted) per table: {per}; the stage table (_chute_dstage_*) is dropped "
                     "after the commit: not durable, not counted.")  # fmt: skip
    else:  # the SQLite target is the publish: the whole command less the staging
        publish = second - stage
        record(db, what, f"publish ≈ {publish:.2f} s (whole command {second:.2f} s)",
               "publish ≤ 15 s", publish <= 15)  # fmt: skip
    exp = (rows // 100, rows // 1000, rows // 1000)
    got = (d["changed"], d["added"], d["removed"])
    record(db, "second commit: changed, added, removed", trio(got), trio(exp),
           got == exp)  # fmt: skip

    with chute.dataset(url, "orders") as ds:
        stat: dict[str, Any] = {}
        times = b.rounds(lambda i: stat.update(ds.diff("main~1", "main").stat()))
        limit = 1.0 if pg is not None else 1.5
        n = stat["changed"] + stat["added"] + stat["removed"]
        record(db, f"diff main~1 main ({n:,} rows)", med(times), f"≤ {limit} s",
               statistics.median(times) <= limit)  # fmt: skip
    checkouts_and_branch(b, db, url, ("main~1", "main"))
    side_s, rep3 = b.load(url, v.side, "orders", "--key", "id", "--branch", "side")
    record(db, f"import on branch side ({v.side_changed:,} changed)", f"{side_s:.2f} s, "
           f"{rep3['dataset']['changed']:,} changed")  # fmt: skip
    with chute.dataset(url, "orders") as ds:
        t0 = time.perf_counter()
        merged = ds.merge("side", "main")
        took = time.perf_counter() - t0
    record(db, f"merge side into main ({merged.get('changed', 0):,} changed)", f"{took:.2f} s",
           "≤ 5 s", took <= 5)  # fmt: skip


def checkouts_and_branch(b: Bench, db: str, url: str, revs: Any) -> None:
    import chute

    with chute.dataset(url, "orders") as ds:
        for rev in revs:
            for kind in ("table", "csv"):
                count = [0]

                def out(i: int, rev: str = rev, kind: str = kind, count: list[int] = count) -> None:
                    name = f"co_{kind}_{rev.replace('~', '_')}_{i}"
                    if kind == "table":
                        count[0] = ds.checkout(rev, table=name)
                        ds.sink.execute(f"DROP TABLE {name}")
                    else:
                        count[0] = ds.checkout(rev, to=str(b.tmp / f"{name}.csv"))
                        (b.tmp / f"{name}.csv").unlink()

                times = b.rounds(out)
                rate = count[0] / statistics.median(times)
                record(db, f"checkout {rev} into a {kind} ({count[0]:,} rows)",
                       f"{rate:,.0f} rows/s, {med(times)}", "≥ 200,000 rows/s",
                       rate >= 200_000)  # fmt: skip
        times = b.rounds(lambda i: ds.branch(f"b{i}", "main"))
        ms = ", ".join(f"{t * 1000:.1f}" for t in times)
        record(db, "make a branch", f"{statistics.median(times) * 1000:.1f} ms ({ms})", "< 50 ms",
               statistics.median(times) < 0.05)  # fmt: skip
        ds.branch("side", "main")


def identity(b: Bench, db: str, url: str) -> None:
    rows = b.args.keyless_rows or b.args.rows
    v = versions(rows)
    t1, _ = b.load(url, v.v2, "orders_nokey")
    try:
        t2, rep = b.load(url, v.top, "orders_nokey")
    except subprocess.TimeoutExpired:
        return record(db, f"no key, {rows:,} rows, +1 row at the top", f"first import {t1:.2f} "
                      f"s; **the second did not finish in {b.args.timeout:.0f} s**", "1, 0, 0",
                      False)  # fmt: skip
    d = rep["dataset"]
    got = (d["added"], d["changed"], d["removed"])
    record(db, f"no key, {rows:,} rows, +1 row at the top: added, changed, removed",
           f"{trio(got)} (imports {t1:.2f} s, {t2:.2f} s)", "1, 0, 0",
           got == (1, 0, 0))  # fmt: skip


def report02(b: Bench, v: Versions, pg: Pg) -> None:
    db, script = "PG, report 02", str(HERE / "dataset_before.py")
    before.setup(pg.url)

    def imp(path: Path) -> dict[str, Any]:
        """Import ``path``; its seconds as a whole command without the view's refresh."""
        pg.quiet()
        wall, out = b.run([sys.executable, script, "import", str(path), "--url", pg.url])
        got = json.loads(out)
        return {**got, "wall": wall, "command": wall - got["refresh_seconds"]}

    first = imp(v.v1)
    record(db, "first import (whole command)", f"{first['command']:.2f} s + refresh "
           f"{first['refresh_seconds']:.2f} s")  # fmt: skip
    stats0 = pg.stats()
    second = imp(v.v2)
    total, per = written(stats0, pg.stats(), lambda t: t.startswith("r02_"))
    DETAILS["before"] = {"first": first, "second": second, "written": per}
    r = second["command"] / copy_ref(b, pg, v.v2)
    record(db, f"second import (whole command; staging {second['stage_seconds']:.2f} s, commit "
           f"{second['commit_seconds']:.2f} s; without the refresh)",
           f"{second['command']:.2f} s = {r:.2f}× \\copy", "≤ 1.5×", r <= 1.5)  # fmt: skip
    record(db, "REFRESH MATERIALIZED VIEW CONCURRENTLY after it",
           f"{second['refresh_seconds']:.2f} s")  # fmt: skip
    limit = 3 * v.changed + 10
    record(db, "rows written by the second import (with the view's refresh)",
           f"{total:,} = {total / v.changed:.1f}× changed", f"≤ {limit:,}",
           total <= limit)  # fmt: skip
    NOTES.append(f"{db}: rows written by the second import (inserted, updated, deleted): {per}")
    ch = before.changes(pg.url, second["parent"], second["commit"])
    record(db, "second commit: changed, added, removed (by sheet:row)",
           f"{ch['changed']:,}, {ch['added']:,}, {ch['removed']:,} (compared in "
           f"{ch['seconds']:.2f} s)", "{:,}, {:,}, {:,}".format(b.args.rows // 100,
           *(2 * [b.args.rows // 1000])), ch["changed"] == b.args.rows // 100)  # fmt: skip
    third = imp(v.top)
    ch = before.changes(pg.url, third["parent"], third["commit"])
    record(db, "+1 row at the top: changed, added, removed",
           f"{ch['changed']:,}, {ch['added']:,}, {ch['removed']:,}", "0, 1, 0",
           (ch["changed"], ch["added"], ch["removed"]) == (0, 1, 0))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keyless-rows", type=int, default=None,
                        help="rows of the identity section's files [default: --rows]")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3, help="of diff, checkout and branch")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a process may take")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"of {', '.join(SECTIONS)}")
    parser.add_argument("--db-url", default=os.environ.get(
        "CHUTE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server (any database on it); a throwaway database is made there",
    )  # fmt: skip
    parser.add_argument("--chute-from", default="HEAD", help="git ref, worktree or installed")
    args = parser.parse_args(argv)  # fmt: skip
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if bad := set(only) - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(bad))}")
    v = versions(args.rows)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="chute_ds_bench_") as tmp:
        _, env, code = chute_snapshot(args.chute_from, Path(tmp) / "chute")
        if args.chute_from != "installed":
            sys.path.insert(0, env["PYTHONPATH"])
        import chute

        print(f"chute: {code} ({chute.__file__})", file=sys.stderr)
        b = Bench(args, env, Path(tmp))
        startup, _ = b.run([sys.executable, "-c", "import chute.cli"])
        NOTES.append(f"Starting Python and importing chute takes {startup:.2f} s of each command.")
        pg = Pg(args.db_url) if {"pg", "identity", "before"} & set(only) else None
        sqlite = f"sqlite:///{tmp}/ds.db"
        try:
            if "pg" in only and pg:
                chute_sections(b, v, "PostgreSQL", pg.url, pg)
            if "sqlite" in only:
                chute_sections(b, v, "SQLite", sqlite, None)
            if "identity" in only:
                if pg:
                    identity(b, "PostgreSQL", pg.url)
                identity(b, "SQLite", sqlite)
            if "before" in only and pg:
                report02(b, v, pg)
        finally:
            if pg:
                pg.drop()
    lines = ["| database | measure | figure | target | |", "|---|---|---|---|---|"]
    lines += [f"| {r['db']} | {r['measure']} | {r['figure']} | {r['target']} | {r['met']} |"
              for r in RESULTS]  # fmt: skip
    print(f"\n{args.rows:,} rows, version 2 changes {v.changed:,} rows; {os.cpu_count()} CPUs; "
          f"{started:%Y-%m-%d %H:%M} UTC\n")  # fmt: skip
    print("\n".join(lines))
    print("".join(f"\n- {n}" for n in NOTES))
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    dest = out / f"dataset_versions_{args.rows}_{started:%Y%m%dT%H%M%SZ}.json"
    dest.write_text(json.dumps({"rows": args.rows, "chute": code, "results": RESULTS,
                                "details": DETAILS}, indent=1, default=str))  # fmt: skip
    print(f"\nwritten {dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
