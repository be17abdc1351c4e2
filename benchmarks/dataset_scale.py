"""Two targets of issue 14 (versioned datasets) that ``dataset_versions.py`` leaves out.

::

    python benchmarks/dataset_scale.py                       # 1M and 10M rows, both databases
    python benchmarks/dataset_scale.py --big 2000000 --only sqlite   # a quicker run

- **diff at scale**: ``chute.dataset(url, name).diff("main~1", "main")`` (then ``.stat()``,
  as ``dataset_versions.py`` times it, and ``.table()``), median of ``--rounds``, on a dataset
  of ``--rows`` (1M) and one of ``--big`` (10M) rows whose second version changes the same
  12,000 rows: 10,000 with ``quantity`` + 1, 1,000 deleted, 1,000 added (``versions()`` of
  ``dataset_versions.py`` at 1M rows; at other sizes a file of this script,
  ``orders_<rows>_v2_12k.csv``, made the same way with fixed counts).  Targets: ≤ 1 s
  (PostgreSQL), ≤ 1.5 s (SQLite), within 2× that at 10M rows.  Where the time goes: the
  touched rows' temp table, the diff query, the rest (Python); on PostgreSQL the query's
  ``EXPLAIN (ANALYZE, BUFFERS)`` goes to the JSON file.
- **search upkeep**: version 2 imported into a ``--rows`` dataset with a search table
  (``chute search NAME --enable``) and into one without; the commit phase of each
  (``Publisher.commit``) and ``Search.apply`` itself, timed inside the ``chute load``
  process.  Target: ≤ 5 s for 10k changes.

Every import is ``chute load FILE --into URL --dataset NAME --key id --quiet`` in a process
of its own, run by a wrapper that only adds those two timers.  chute runs from a copy of
``src/chute`` at git ``HEAD`` (``--chute-from``, as in ``run.py``).  PostgreSQL: a throwaway
database ``bench_scale_<random>``, dropped at the end; SQLite: files in a temp directory.
Prints a Markdown table (measure, figure, target, met) and writes everything to
``benchmarks/out/dataset_scale_<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dataset_versions as dv
import generate
import numpy as np
import psycopg
from run import chute_snapshot

HERE = Path(__file__).resolve().parent
N_CHG, N_DEL = 10_000, 1_000  # version 2: changed, deleted (and as many added)
CHANGES = N_CHG + 2 * N_DEL
RESULTS: list[dict[str, Any]] = []
DETAILS: dict[str, Any] = {}
# ``python -m chute`` with Publisher.commit and Search.apply timed; argv: timings file, args
WRAP = """
import json, sys, time
from chute.datasets import publish, search
T = {"commit": [], "search_apply": []}
def timed(cls, name, key):
    f = getattr(cls, name)
    def w(*a, **k):
        t0 = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            T[key].append(time.perf_counter() - t0)
    setattr(cls, name, w)
timed(publish.Publisher, "commit", "commit")
timed(search.Search, "apply", "search_apply")
out, sys.argv = sys.argv[1], ["chute", *sys.argv[2:]]
try:
    from chute.cli import main
    main()
finally:
    open(out, "w").write(json.dumps(T))
"""


def v2_file(rows: int) -> Path:
    """Version 2 of the ``rows``-row orders file with exactly 10,000 / 1,000 / 1,000 changes."""
    if rows // 100 == N_CHG and rows // 1000 == N_DEL:
        return dv.versions(rows).v2  # the same counts there
    v1 = generate.ensure_orders(rows)
    dst = Path(f"{v1.with_suffix('')}_v2_12k.csv")
    if dst.exists():
        return dst
    ids = np.random.default_rng([generate.DEFAULT_SEED, 14]).permutation(rows) + 1
    bump, gone = set(ids[:N_CHG].tolist()), set(ids[N_CHG : N_CHG + N_DEL].tolist())
    with (
        open(v1, newline="", encoding="utf-8") as f,
        open(f"{dst}.tmp", "w", newline="", encoding="utf-8") as out,
    ):
        reader, writer = csv.reader(f), csv.writer(out, lineterminator="\n")
        writer.writerow(next(reader))
        copies: list[list[str]] = []
        for row in reader:
            key = int(row[dv.ID])
            if key in gone:
                continue
            if key in bump:
                row[dv.QUANTITY] = str(int(row[dv.QUANTITY]) + 1)
            if len(copies) < N_DEL:
                copies.append(list(row))
            writer.writerow(row)
        for i, row in enumerate(copies, 1):
            writer.writerow([str(rows + i), *row[1:]])
    os.replace(f"{dst}.tmp", dst)
    return dst


def record(measure: str, figure: str, target: str = "", met: bool | None = None) -> None:
    RESULTS.append({"measure": measure, "figure": figure, "target": target,
                    "met": "—" if met is None else ("met" if met else "**not met**")})  # fmt: skip
    print(f"  {measure}: {figure}" + (f" (target {target})" if target else ""), flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace, env: dict[str, str], tmp: Path) -> None:
        self.args, self.env, self.tmp = args, env, tmp

    def run(self, *args: str, wrap: Path | None = None) -> float:
        """``chute ARGS`` in a process of its own (timed by :data:`WRAP` into ``wrap``)."""
        cmd = [sys.executable, "-c", WRAP, str(wrap), *args] if wrap else [
            sys.executable, "-m", "chute", *args]  # fmt: skip
        t0 = time.perf_counter()
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=False,
                              timeout=self.args.timeout)  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"failed ({done.returncode}): chute {' '.join(args)}\n{done.stderr}")
        return time.perf_counter() - t0

    def load(self, url: str, path: Path, name: str) -> dict[str, Any]:
        """Import ``path`` into dataset ``name``: wall, staging, commit and search seconds."""
        tag = secrets.token_hex(4)
        report, timings = self.tmp / f"report_{tag}.json", self.tmp / f"timings_{tag}.json"
        wall = self.run("load", str(path), "--into", url, "--dataset", name, "--key", "id",
                        "--quiet", "--report", str(report), wrap=timings)  # fmt: skip
        rep, t = json.loads(report.read_text()), json.loads(timings.read_text())
        got = {"file": path.name, "dataset": name, "wall": wall, "staging": rep["seconds"],
               "commit": t["commit"][0], "search_apply": t["search_apply"][0],
               "counts": rep["dataset"]}  # fmt: skip
        print(f"    {name} <- {path.name}: {wall:.1f} s (commit {got['commit']:.2f} s)",
              file=sys.stderr, flush=True)  # fmt: skip
        DETAILS.setdefault("imports", []).append(got)
        c = rep["dataset"]  # version 2: the changes it was made with
        ok = (c["changed"], c["removed"], c["added"]) == (N_CHG, N_DEL, N_DEL)
        assert ok or "_v2" not in path.name, c
        return got


def diff_rounds(b: Bench, db: str, url: str, name: str, rows: int) -> float:
    """Median seconds of ``diff("main~1", "main").stat()`` of dataset ``name``, then where
    the time of one more diff goes."""
    import chute

    with chute.dataset(url, name) as ds:
        times, tables = [], []
        for _ in range(b.args.rounds):
            t0 = time.perf_counter()
            d = ds.diff("main~1", "main")
            stat = d.stat()
            t1 = time.perf_counter()
            n = d.table().num_rows
            tables.append(time.perf_counter() - t0)
            times.append(t1 - t0)
        got = (stat["changed"], stat["removed"], stat["added"])
        assert got == (N_CHG, N_DEL, N_DEL) and n == CHANGES, (got, n)
        h = ds.history()
        a, z = h.resolve("main~1"), h.resolve("main")
        ca, cb = h.columns(a.seq), h.columns(z.seq)
        names = [c for c, _ in ca] + [c for c, _ in cb if c not in dict(ca)]
        temps: list[str] = []  # the SELECTs of the temp tables
        make = ds.state.make_temp
        ds.state.make_temp = lambda t, s: (temps.append(s), make(t, s))[1]  # type: ignore
        ds.sink.begin()
        try:
            t0 = time.perf_counter()
            only = ds.state.touched(h, a, z) or ""
            t1 = time.perf_counter()
            sql = ds.state.diff(a, z, names, only)  # SQLite: makes the sides' temp tables
            t2 = time.perf_counter()
            got_rows = sum(len(page) for _, page in ds.sink.stream(sql))
            t3 = time.perf_counter()
            (cand,) = ds.sink.execute(f"SELECT count(*) FROM {only}")[0]
        finally:
            ds.sink.rollback()
            ds.state.make_temp = make  # type: ignore
    plans = {}
    if url.startswith("postgresql"):  # chute's driver reads through COPY: no EXPLAIN there
        with psycopg.connect(url) as c:
            c.execute(f"CREATE TEMP TABLE {only} AS {temps[0]}")  # type: ignore[arg-type]
            for what, q in (("touched", temps[0]), ("diff", sql)):
                plan = c.execute(f"EXPLAIN (ANALYZE, BUFFERS) {q}").fetchall()  # type: ignore
                plans[what] = [r[0] for r in plan]
    m, k = statistics.median(times), 1 if rows == b.args.rows else 2
    phases = {"touched": t1 - t0, "sides": t2 - t1, "query": t3 - t2, "rows": got_rows,
              "candidates": int(cand)}  # fmt: skip
    DETAILS[f"{db} diff {rows}"] = {"stat": times, "stat_table": tables, "phases": phases,
                                    "plans": plans}  # fmt: skip
    side = f", temp tables of the sides {phases['sides']:.3f} s" if phases["sides"] > 0.01 else ""
    record(f"{db}: diff main~1 main, {rows:,} rows, {CHANGES:,} changes (.stat())",
           dv.med(times), f"≤ {k * b.args.limit[db]} s" + (" (2× the 1M target)" if k > 1
           else ""), m <= b.args.limit[db] * k)  # fmt: skip
    record(f"{db}: … with .table() as well; one more diff: touched ids {phases['touched']:.3f} "
           f"s{side}, query {phases['query']:.3f} s", dv.med(tables))  # fmt: skip
    return m


def section(b: Bench, db: str, url: Any, pg: dv.Pg | None) -> None:
    rows, big = b.args.rows, b.args.big
    v1, v2 = generate.ensure_orders(rows), v2_file(rows)
    plain, searched = b.load(url("plain"), v1, "plain"), b.load(url("search"), v1, "search")
    t_enable = b.run("search", "search", "--enable", "--into", url("search"))
    plain, searched = b.load(url("plain"), v2, "plain"), b.load(url("search"), v2, "search")
    import chute

    with chute.dataset(url("search"), "search") as ds:
        (n,) = ds.sink.execute("SELECT count(*) FROM _chute_s_search")[0]
        assert n == rows, n  # main's rows, each in the search table
    record(f"{db}: enable search on {rows:,} rows (whole command)", f"{t_enable:.2f} s")
    upkeep = searched["commit"] - plain["commit"]
    record(f"{db}: second import ({CHANGES:,} changes): commit phase with search / without",
           f"{searched['commit']:.2f} s / {plain['commit']:.2f} s (whole commands "
           f"{searched['wall']:.1f} s / {plain['wall']:.1f} s)")  # fmt: skip
    record(f"{db}: search upkeep = difference of the commit phases", f"{upkeep:.2f} s", "≤ 5 s",
           upkeep <= 5)  # fmt: skip
    record(f"{db}: search upkeep = Search.apply in that commit", f"{searched['search_apply']:.2f}"
           f" s (without search: {plain['search_apply'] * 1000:.1f} ms)", "≤ 5 s",
           searched["search_apply"] <= 5)  # fmt: skip
    small = diff_rounds(b, db, url("plain"), "plain", rows)
    bv1, bv2 = generate.ensure_orders(big), v2_file(big)
    if pg is not None:
        pg.quiet()
    first = b.load(url("big"), bv1, "big")
    second = b.load(url("big"), bv2, "big")
    record(
        f"{db}: imports of {big:,} rows, first / second (whole commands)",
        f"{first['wall']:.0f} s / {second['wall']:.0f} s (commit {second['commit']:.1f} s)",
    )
    large = diff_rounds(b, db, url("big"), "big", big)
    record(f"{db}: diff at {big:,} / at {rows:,} rows", f"{large / small:.2f}×", "≤ 2×",
           large / small <= 2)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="the small dataset's")
    parser.add_argument("--big", type=int, default=10_000_000, help="the big dataset's rows")
    parser.add_argument("--rounds", type=int, default=3, help="of each diff")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a process may take")
    parser.add_argument("--only", default="pg,sqlite", help="of pg, sqlite")
    parser.add_argument("--db-url", default=os.environ.get(
        "CHUTE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))  # fmt: skip
    parser.add_argument("--chute-from", default="HEAD", help="git ref, worktree or installed")
    args = parser.parse_args(argv)
    args.limit = {"PostgreSQL": 1.0, "SQLite": 1.5}
    only = {s.strip() for s in args.only.split(",")}
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="chute_scale_bench_") as tmp:
        _, env, code = chute_snapshot(args.chute_from, Path(tmp) / "chute")
        if args.chute_from != "installed":
            sys.path.insert(0, env["PYTHONPATH"])
        import chute

        print(f"chute: {code} ({chute.__file__})", file=sys.stderr)
        b = Bench(args, env, Path(tmp))
        pg = None
        try:
            if "pg" in only:
                pg = dv.Pg(args.db_url)
                section(b, "PostgreSQL", lambda _name, u=pg.url: u, pg)
            if "sqlite" in only:
                section(b, "SQLite", lambda name: f"sqlite:///{tmp}/{name}.db", None)
        finally:
            if pg is not None:
                pg.drop()
    ended = datetime.now(UTC)
    lines = ["| measure | figure | target | met |", "|---|---|---|---|"]
    lines += [f"| {r['measure']} | {r['figure']} | {r['target']} | {r['met']} |" for r in RESULTS]
    print(
        f"\n{args.rows:,} and {args.big:,} rows, version 2 changes {CHANGES:,} rows; "
        f"{os.cpu_count()} CPUs; {started:%Y-%m-%d %H:%M}–{ended:%H:%M} UTC; chute {code}\n"
    )
    print("\n".join(lines))
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    dest = out / f"dataset_scale_{started:%Y%m%dT%H%M%SZ}.json"
    dest.write_text(json.dumps({"rows": args.rows, "big": args.big, "chute": code,
                                "started": started.isoformat(), "ended": ended.isoformat(),
                                "results": RESULTS, "details": DETAILS}, indent=1))  # fmt: skip
    print(f"\nwritten {dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
