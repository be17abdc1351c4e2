"""chute into DuckDB against DuckDB's own CSV reader, side by side in one run.

::

    python benchmarks/duckdb_load.py --rows 1000000 --repeat 3

Each round loads the orders file (``generate.py``) into the same typed table in a fresh
database file, once by each contender, each in a process of its own, timed from outside
(imports included), the order reversed in even rounds:

- ``duckdb_read_csv`` (the reference): ``INSERT INTO orders SELECT * FROM read_csv(...,
  columns = {explicit types})``, DuckDB's parallel C++ reader;
- ``chute``: ``chute load FILE --into duckdb:///... --table orders`` into the table made
  beforehand, with the default settings;
- ``chute_row_groups``: the same with ``--batch-rows 245760 --memory-limit 2GiB``: batches
  of two DuckDB row groups (122,880 rows each), which DuckDB writes straight into the
  database file; a smaller transaction goes through the WAL and is written twice.

After each load the two tables are compared (row count and per-column checksums).  Prints
a Markdown table (median seconds, rows/s, chute's time over the reference's: a ratio of
0.7x means chute reaches 70% of DuckDB's speed) and writes every round to
``benchmarks/out/duckdb_<rows>_<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import generate

TABLE = "orders"
#: the typed table, in DuckDB's types (generate.TYPED_COLUMNS is PostgreSQL's)
COLUMNS = {
    "id": "BIGINT",
    "uuid": "UUID",
    "customer": "VARCHAR",
    "status": "VARCHAR",
    "quantity": "INTEGER",
    "price": "DECIMAL(12,2)",
    "ordered_at": "TIMESTAMPTZ",
    "shipped_at": "TIMESTAMP",
    "notes": "VARCHAR",
    "gift": "BOOLEAN",
    "tags": "JSON",
    "weight": "DOUBLE",
}
DDL = (
    f"CREATE TABLE {TABLE} ("
    + ", ".join(f"{n} {t}" for n, t in COLUMNS.items())
    + ", PRIMARY KEY (id))"
)
CHECKSUM = (
    "SELECT count(*), sum(id), count(DISTINCT uuid), sum(hash(customer)), sum(quantity), "
    "sum(price), sum(epoch_us(ordered_at)), sum(epoch_us(shipped_at)), sum(hash(notes)), "
    "count(*) FILTER (WHERE gift), sum(hash(tags::VARCHAR)), sum(weight)::DECIMAL(38,3) "
    f"FROM {TABLE}"
)

_READ_CSV = """
import duckdb, sys, time
path, db, ddl, columns = sys.argv[1:5]
con = duckdb.connect(db)
con.execute(ddl)
t0 = time.perf_counter()
n = con.execute(
    f"INSERT INTO orders SELECT * FROM read_csv('{path}', header = true, "
    f"columns = {columns})"
).fetchall()[0][0]
print(n, time.perf_counter() - t0)
"""


def make_table(db: Path) -> None:
    import duckdb

    con = duckdb.connect(str(db))
    con.execute(DDL)
    con.close()


def checksum(db: Path) -> list[object]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return [str(v) for v in con.execute(CHECKSUM).fetchall()[0]]
    finally:
        con.close()


def run_read_csv(path: Path, db: Path) -> float:
    columns = "{" + ", ".join(f"'{n}': '{t}'" for n, t in COLUMNS.items()) + "}"
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _READ_CSV, str(path), str(db), DDL, columns],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


#: contender -> extra arguments of ``chute load``
CHUTE = {
    "chute": [],
    "chute_row_groups": ["--batch-rows", "245760", "--memory-limit", "2GiB"],
}
REFERENCE = "duckdb_read_csv"


def run_chute(path: Path, db: Path, extra: list[str]) -> tuple[float, dict[str, object]]:
    make_table(db)
    report = db.with_suffix(".json")
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "chute", "load", str(path), "--into", f"duckdb:///{db}",
         "--table", TABLE, "--quiet", "--report", str(report), *extra],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    return seconds, json.loads(report.read_text())


REPORT_KEYS = (
    "read", "written", "rejected", "read_seconds", "write_seconds", "wait_seconds",
    "backpressure_seconds", "bottleneck", "batch_rows", "peak_rss_bytes", "statements",
)  # fmt: skip


def table(rounds: list[dict[str, Any]], names: list[str], rows: int) -> str:
    """Median seconds and rows/s per contender; speed over the reference's per round."""
    lines = [
        "| contender | median s (whole process) | rows/s | speed vs read_csv, median (min–max) |",
        "|---|---|---|---|",
    ]
    for name in names:
        secs = [float(r["seconds"][name]) for r in rounds]
        ratios = [float(r["seconds"][REFERENCE]) / float(r["seconds"][name]) for r in rounds]
        med = statistics.median(secs)
        speed = (
            "1 (ref)"
            if name == REFERENCE
            else f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}–{max(ratios):.2f})"
        )
        lines.append(f"| {name} | {med:.2f} | {rows / med:,.0f} | {speed} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chute-args", default="", help="extra arguments for chute load")
    args = parser.parse_args(argv)
    path = generate.ensure_orders(args.rows)
    extra = args.chute_args.split()
    rounds: list[dict[str, Any]] = []
    failed = False
    names = [REFERENCE, *CHUTE]
    with tempfile.TemporaryDirectory(prefix="chute_duckdb_bench_") as tmp:
        for r in range(args.repeat):
            order = names if r % 2 == 0 else names[::-1]
            seconds: dict[str, float] = {}
            sums: dict[str, list[object]] = {}
            reports: dict[str, dict[str, object]] = {}
            for name in order:
                db = Path(tmp) / f"{name}_{r}.duckdb"
                if name in CHUTE:
                    seconds[name], report = run_chute(path, db, CHUTE[name] + extra)
                    reports[name] = {k: report.get(k) for k in REPORT_KEYS}
                else:
                    seconds[name] = run_read_csv(path, db)
                sums[name] = checksum(db)
                db.unlink()
            same = all(sums[n] == sums[REFERENCE] for n in names)
            failed |= not same
            rounds.append(
                {
                    "round": r + 1,
                    "order": order,
                    "seconds": seconds,
                    "same_content": same,
                    "checksums": sums,
                    "chute_reports": reports,
                }
            )
            print(
                f"round {r + 1}: "
                + ", ".join(f"{n} {seconds[n]:.2f} s" for n in names)
                + f"; same content: {same}",
                file=sys.stderr,
            )
    print(f"\n{args.rows:,} rows, {args.repeat} rounds, {os.cpu_count()} CPUs\n")
    print(table(rounds, names, args.rows))
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    dest = out / f"duckdb_{args.rows}_{stamp}.json"
    dest.write_text(json.dumps({"rows": args.rows, "rounds": rounds}, indent=1, default=str))
    print(f"\nwritten {dest}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
