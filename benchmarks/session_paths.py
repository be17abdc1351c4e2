"""Where a PostgreSQL session write should switch from one ``unnest`` INSERT to COPY.

::

    python benchmarks/session_paths.py                  # sizes 10 .. 200,000 rows
    python benchmarks/session_paths.py --sizes 1000,50000 --rounds 5

A session write (``chute.connect(url).write``) of ``n`` orders-like records (bigint, text,
numeric, timestamptz, jsonb, boolean) in append and in upsert mode, each way forced by
setting :data:`chute.sinks.postgres_session.COPY_ABOVE_ROWS`: ``unnest`` (every column one
array literal parameter of one statement) against ``copy`` (binary COPY of a temporary
stage, then one ``INSERT ... SELECT``).  Each measurement writes into a fresh table; rounds
alternate the two ways.  Printed: median milliseconds per write and rows/s, and the ratio
copy ÷ unnest time (below 1: COPY is faster at that size).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

import chute
import chute.sinks.postgres_session as session_sink

URL = "postgresql://postgres@127.0.0.1:5432/test"
TABLE = "bench_session_paths"
DDL = (
    f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, customer text, price numeric(12,2), "
    "ordered_at timestamptz, tags jsonb, gift boolean)"
)


def records(n: int, start: int = 0) -> list[dict[str, Any]]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "id": i,
            "customer": f"customer {i % 5000}",
            "price": Decimal(i % 100000) / 100,
            "ordered_at": at + timedelta(seconds=i),
            "tags": {"n": i % 7, "k": ["a", "b"]},
            "gift": i % 2 == 0,
        }
        for i in range(start, start + n)
    ]


def one(url: str, n: int, mode: str, way: str, data: list[dict[str, Any]]) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(DDL)
        if mode == "upsert":  # half the keys are there already
            conn.execute(f"INSERT INTO {TABLE} (id) SELECT generate_series(0, {n // 2 - 1})")
    session_sink.COPY_ABOVE_ROWS = 0 if way == "copy" else 10**12
    with chute.connect(url) as db:
        db.write(TABLE, records(1, start=-1), mode=mode, key="id")  # now the table is known
        t0 = time.perf_counter()
        result = db.write(TABLE, data, mode=mode, key="id")
        seconds = time.perf_counter() - t0
    assert result.written == n, result
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=URL)
    parser.add_argument("--sizes", default="10,100,1000,5000,20000,50000,200000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'rows':>8} {'mode':<7} {'unnest ms':>10} {'copy ms':>10} {'copy/unnest':>12}")
    for n in sizes:
        data = records(n)
        for mode in ("append", "upsert"):
            times: dict[str, list[float]] = {"unnest": [], "copy": []}
            for r in range(args.rounds):
                for way in ("unnest", "copy") if r % 2 == 0 else ("copy", "unnest"):
                    times[way].append(one(args.url, n, mode, way, data))
            u, c = (statistics.median(times[w]) * 1000 for w in ("unnest", "copy"))
            print(f"{n:>8} {mode:<7} {u:>10.2f} {c:>10.2f} {c / u:>12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
