"""SQLite inserts beside a thread running Python, by rows per statement.

Python's sqlite3 lets go of the GIL while SQLite steps a statement and must win it back
after; while another thread runs Python that can take up to the switch interval (5 ms), so
many small statements wait more than they work.  This inserts the same rows in statements of
80, 400, 1,000 and 4,000 rows, alone and beside a thread counting in Python (as chute's
reader makes the next batch while the writer writes), and prints the seconds of each.  It is
why chute's SQLite sink writes up to 4,000 rows a statement (see docs/performance.md).

    python benchmarks/sqlite_gil.py --rows 300000
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SIZES = (80, 400, 1000, 4000)  # 1 a statement (executemany of rows): minutes beside Python


def spin(stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1


def insert(conn: sqlite3.Connection, rows: list[Any], per: int) -> float:
    """Seconds to insert ``rows`` (flat values, 3 a row) in statements of ``per`` rows."""
    conn.execute("DELETE FROM t")
    sql = "INSERT INTO t VALUES " + ", ".join(["(?, ?, ?)"] * per)
    width = 3 * per
    chunks = [rows[i : i + width] for i in range(0, len(rows) - len(rows) % width, width)]
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(sql, chunks)
    conn.execute("COMMIT")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    args = parser.parse_args(argv)
    rows = [v for i in range(args.rows) for v in (i, f"name {i}", i * 1.5)]
    with tempfile.TemporaryDirectory(prefix="chute-gil-") as tmp:
        conn = sqlite3.connect(Path(tmp) / "gil.db", isolation_level=None)
        conn.execute("CREATE TABLE t (a INTEGER, b TEXT, c REAL)")
        print(f"{'rows a statement':>16} {'alone s':>8} {'beside Python s':>16}")
        for per in SIZES:
            alone = insert(conn, rows, per)
            stop = threading.Event()
            spinner = threading.Thread(target=spin, args=(stop,))
            spinner.start()
            try:
                beside = insert(conn, rows, per)
            finally:
                stop.set()
                spinner.join()
            print(f"{per:>16,} {alone:8.2f} {beside:16.2f}")
        conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
