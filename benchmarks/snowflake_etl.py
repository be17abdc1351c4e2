"""Report 01's ETL into Snowflake: Jira-like issues by chute against one ORM-style INSERT and
COMMIT per record, with the round trips (statements) counted.

::

    python benchmarks/snowflake_etl.py [--records 30 3000] [--repeat 3] [--rtt-ms 100]

Both contenders go through the official connector to fakesnow's server (started here, on
loopback: every round trip costs about a millisecond), each into a fresh schema:

- ``chute``: ``chute.load(issues.jsonl, into="snowflake://...", table="issues")`` (one
  batch: Parquet, PUT, COPY INTO a stage table, INSERT, the checkpoint); statements from
  ``report.statements``;
- ``orm_per_record``: what report 01 did (``session.add(issue); session.commit()``): the
  table made by one CREATE, then per record one ``INSERT ... SELECT ?, PARSE_JSON(?)`` and
  one ``COMMIT``; statements counted here (1 + 2 per record).

Both are timed from nothing to stored: connecting, creating the table, loading.

Seconds are the median of ``--repeat`` rounds.  The last column is **extrapolated, not
measured**: statements × ``--rtt-ms``, the time the round trips alone would take on a
warehouse that far away (report 01 saw 90-180 s for 30 records one by one).  fakesnow is
DuckDB under Snowflake's SQL: its seconds say nothing of a real warehouse's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fakesnow
import snowflake.connector

import chute

COLUMNS = "id, key, fields, updated, story_points"
DDL = (
    "CREATE TABLE issues (id NUMBER(38,0) NOT NULL, key VARCHAR, fields VARIANT, "
    "updated TIMESTAMP_TZ, story_points FLOAT)"
)


def issues(n: int) -> list[dict[str, Any]]:
    """``n`` Jira-like issues: nested fields, lists, NULLs, zoned timestamps."""
    return [
        {
            "id": 10_000 + i,
            "key": f"ETL-{i}",
            "fields": {
                "summary": f'Issue {i}: move the "metadata" nightly',
                "status": {"name": ["To Do", "In Progress", "Done"][i % 3], "id": i % 3},
                "labels": [f"team-{i % 5}", "etl"],
                "assignee": None if i % 4 else {"name": f"user{i % 7}"},
                "components": [{"name": "loader"}] * (i % 3),
            },
            "updated": f"2024-05-{1 + i % 28:02d}T10:{i % 60:02d}:00+02:00",
            "story_points": (i % 8) * 0.5,
        }
        for i in range(n)
    ]


def _connect(kwargs: dict[str, Any], schema: str) -> Any:
    return snowflake.connector.connect(
        database="BENCH", schema=schema, paramstyle="qmark", **kwargs
    )


def _url(kwargs: dict[str, Any], schema: str) -> str:
    return (
        f"snowflake://fake:snow@fakesnow/BENCH/{schema}?warehouse=BENCH"
        f"&host={kwargs['host']}&port={kwargs['port']}&protocol=http"
    )


def run_session(
    kwargs: dict[str, Any], records: list[dict[str, Any]], schema: str
) -> tuple[float, int]:
    """A writer session (chute.connect): connect, one write (statements of the sink)."""
    t0 = time.perf_counter()
    with chute.connect(_url(kwargs, schema)) as db:
        result = db.write("issues", records, mode="upsert", key="id")
        statements = db.sink.statements
    seconds = time.perf_counter() - t0
    assert result.written == len(records), result
    return seconds, statements


def run_chute(kwargs: dict[str, Any], path: Path, schema: str) -> tuple[float, int]:
    url = _url(kwargs, schema)
    t0 = time.perf_counter()
    report = chute.load(path, into=url, table="issues")
    seconds = time.perf_counter() - t0
    assert report.written == report.read, report
    return seconds, report.statements


def run_orm(
    kwargs: dict[str, Any], records: list[dict[str, Any]], schema: str
) -> tuple[float, int]:
    t0 = time.perf_counter()  # from nothing to stored, as chute's: connect, create, insert
    conn = _connect(kwargs, schema)
    cur = conn.cursor()
    cur.execute(DDL)
    statements = 1
    for r in records:
        cur.execute(
            f"INSERT INTO issues ({COLUMNS}) SELECT ?, ?, PARSE_JSON(?), ?, ?",
            (r["id"], r["key"], json.dumps(r["fields"]), r["updated"], r["story_points"]),
        )
        conn.commit()
        statements += 2
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds, statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[30, 3_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rtt-ms", type=float, default=100.0)
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []
    with fakesnow.server() as kwargs, tempfile.TemporaryDirectory() as tmp:
        for n in args.records:
            records = issues(n)
            path = Path(tmp) / f"issues_{n}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in records))
            contenders: dict[str, Callable[[str], tuple[float, int]]] = {
                "chute": lambda s, p=path: run_chute(kwargs, p, s),
                "chute_session": lambda s, r=records: run_session(kwargs, r, s),
                "orm_per_record": lambda s, r=records: run_orm(kwargs, r, s),
            }
            for name, run in contenders.items():
                times, statements = [], 0
                for _ in range(args.repeat):
                    seconds, statements = run(f"S_{uuid.uuid4().hex[:10].upper()}")
                    times.append(seconds)
                results.append(
                    {
                        "records": n,
                        "contender": name,
                        "seconds": statistics.median(times),
                        "rounds": times,
                        "statements": statements,
                        "extrapolated_s": statements * args.rtt_ms / 1000,
                    }
                )
    print(
        f"| records | contender | median s (fakesnow, loopback) | statements | "
        f"s at {args.rtt_ms:g} ms per round trip (extrapolated) |"
    )
    print("|---:|---|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['records']:,} | {r['contender']} | {r['seconds']:.3f} | "
            f"{r['statements']:,} | {r['extrapolated_s']:,.1f} |"
        )
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"snowflake_etl_{stamp}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
