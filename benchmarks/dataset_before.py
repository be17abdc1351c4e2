"""Field report 02's versioned import, the "before" contender of ``dataset_versions.py``.

::

    python benchmarks/dataset_before.py setup --url URL
    python benchmarks/dataset_before.py import FILE --url URL   # prints its timings as JSON
    python benchmarks/dataset_before.py changes COMMIT_A COMMIT_B --url URL

As the report wrote it (its section 3, the bulk path, and section 8): a row is identified by
``sheet:row_number``; rows are content-addressed (``r02_rows``: the sha256 of
``{"sheet_name", "row_number", "data"}`` as sorted JSON → that JSON); a commit writes one
``r02_commit_rows`` row per row of the file, a ``r02_commits`` row, and moves the ``main`` ref
(``r02_refs``); then ``REFRESH MATERIALIZED VIEW CONCURRENTLY`` of a view of the head
(``r02_head``, with the unique index the refresh needs).  The file is streamed through the
csv module and ``COPY`` into a temp table (10,000 rows per write), then ``INSERT … SELECT``,
in one transaction.  The sheet name is fixed (``orders``), as for a file uploaded again
under the same name, so that two versions share their row ids.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg

TABLES = ("r02_rows", "r02_commit_rows", "r02_commits", "r02_refs", "r02_head")
SETUP = [
    "CREATE TABLE r02_rows (row_hash char(64) PRIMARY KEY, data jsonb NOT NULL)",
    "CREATE TABLE r02_commits (commit_id text PRIMARY KEY, parent_commit_id text, "
    "message text, committed_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE r02_commit_rows (commit_id text NOT NULL, logical_row_id text NOT NULL, "
    "row_hash char(64) NOT NULL, PRIMARY KEY (commit_id, logical_row_id))",
    "CREATE TABLE r02_refs (name text PRIMARY KEY, commit_id text)",
    "INSERT INTO r02_refs VALUES ('main', NULL)",
    "CREATE MATERIALIZED VIEW r02_head AS SELECT cr.logical_row_id, r.data FROM r02_refs f "
    "JOIN r02_commit_rows cr ON cr.commit_id = f.commit_id "
    "JOIN r02_rows r ON r.row_hash = cr.row_hash WHERE f.name = 'main'",
    "CREATE UNIQUE INDEX r02_head_id ON r02_head (logical_row_id)",
]
BATCH = 10_000


def setup(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in SETUP:
            conn.execute(statement)  # type: ignore[arg-type]


def import_file(url: str, path: str, sheet: str = "orders", message: str = "") -> dict[str, Any]:
    """Import ``path`` as the next commit on main; the seconds of each part."""
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT commit_id FROM r02_refs WHERE name = 'main'").fetchone()
        parent = row[0] if row else None
        commit_id = f"{datetime.now(UTC):%Y%m%d%H%M%S}_{uuid.uuid4().hex[:8]}"
        conn.execute("CREATE TEMP TABLE imp (logical_row_id text, row_hash char(64), data jsonb)")
        n = 0
        with (
            conn.cursor().copy("COPY imp FROM STDIN") as copy,
            open(path, newline="", encoding="utf-8") as f,
        ):
            lines: list[str] = []
            for n, data in enumerate(csv.DictReader(f), 1):
                text = json.dumps({"sheet_name": sheet, "row_number": n, "data": data},
                                  sort_keys=True)  # fmt: skip
                digest = hashlib.sha256(text.encode()).hexdigest()
                lines.append(f"{sheet}:{n}\t{digest}\t{text.replace(chr(92), chr(92) * 2)}\n")
                if len(lines) >= BATCH:
                    copy.write("".join(lines))
                    lines.clear()
            copy.write("".join(lines))
        staged = time.perf_counter()
        conn.execute(
            "INSERT INTO r02_rows (row_hash, data) SELECT DISTINCT t.row_hash, t.data FROM imp t "
            "LEFT JOIN r02_rows r ON t.row_hash = r.row_hash WHERE r.row_hash IS NULL"
        )
        conn.execute(
            "INSERT INTO r02_commits (commit_id, parent_commit_id, message) VALUES (%s, %s, %s)",
            [commit_id, parent, message or f"Import {n} rows"],
        )
        conn.execute(
            "INSERT INTO r02_commit_rows (commit_id, logical_row_id, row_hash) "
            "SELECT %s, logical_row_id, row_hash FROM imp",
            [commit_id],
        )
        conn.execute("UPDATE r02_refs SET commit_id = %s WHERE name = 'main'", [commit_id])
        conn.commit()
        written = time.perf_counter()
        conn.autocommit = True
        conn.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY r02_head")
        done = time.perf_counter()
    return {
        "commit": commit_id,
        "parent": parent,
        "rows": n,
        "stage_seconds": staged - t0,
        "commit_seconds": written - staged,
        "import_seconds": written - t0,
        "refresh_seconds": done - written,
        "seconds": done - t0,
    }


def changes(url: str, a: str, b: str) -> dict[str, Any]:
    """What commit ``b`` changed against commit ``a``, by logical row id; and how long the
    comparison took."""
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE x.row_hash IS NULL), "
            "count(*) FILTER (WHERE x.row_hash IS NOT NULL AND y.row_hash IS NOT NULL), "
            "count(*) FILTER (WHERE y.row_hash IS NULL) "
            "FROM (SELECT logical_row_id, row_hash FROM r02_commit_rows WHERE commit_id = %s) x "
            "FULL JOIN (SELECT logical_row_id, row_hash FROM r02_commit_rows "
            "WHERE commit_id = %s) y ON x.logical_row_id = y.logical_row_id "
            "WHERE x.row_hash IS DISTINCT FROM y.row_hash",
            [a, b],
        ).fetchone()
    assert row is not None
    added, changed, removed = (int(v) for v in row)
    return {"added": added, "changed": changed, "removed": removed,
            "seconds": time.perf_counter() - t0}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["setup", "import", "changes"])
    parser.add_argument("args", nargs="*", help="FILE for import; COMMIT_A COMMIT_B for changes")
    parser.add_argument("--url", required=True, help="the PostgreSQL database")
    parser.add_argument("--sheet", default="orders", help="the sheet name in the row ids")
    args = parser.parse_args(argv)
    if args.command == "setup":
        setup(args.url)
    elif args.command == "import":
        print(json.dumps(import_file(args.url, args.args[0], args.sheet)))
    else:
        print(json.dumps(changes(args.url, args.args[0], args.args[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
