"""MariaDB/MySQL: the orders file into the same typed table, side by side in one run.

::

    python benchmarks/mysql_load.py                        # 1M rows, slow contenders on 100k
    python benchmarks/mysql_load.py --rows 200000 --slow-rows 20000

Contenders (each into a fresh copy of the same typed table, in a throwaway database):

- ``chute load`` (the public API, defaults) into the existing typed table;
- ``LOAD DATA LOCAL INFILE`` of the same CSV run by hand, with the ``SET`` clauses a person
  needs so the stored values are the same (zoned timestamps to UTC, ``true``/``false`` to
  1/0, empty fields to NULL): the reference;
- PyMySQL ``executemany`` (multi-row INSERTs of 10k rows, values converted in Python);
- pandas ``read_csv`` + ``DataFrame.to_sql`` (SQLAlchemy + PyMySQL, ``method="multi"``,
  chunks of 1k rows).

The two slow ones run on the first ``--slow-rows`` rows (the file's prefix) and their rate
is reported as such; the ratio column is rows/s against the reference.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import DATA_DIR

TYPED = (
    "id BIGINT PRIMARY KEY, uuid CHAR(36) NOT NULL, customer LONGTEXT, status LONGTEXT, "
    "quantity INT, price DECIMAL(12,2), "
    "ordered_at DATETIME(6) COMMENT 'chute: timestamptz, UTC', shipped_at DATETIME(6), "
    "notes LONGTEXT, gift BOOLEAN, tags JSON, weight DOUBLE"
)
OPTIONS = "ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin"
COLUMNS = "id,uuid,customer,status,quantity,price,ordered_at,shipped_at,notes,gift,tags,weight"


def _connect(database: str | None, **kw: Any) -> Any:
    return pymysql.connect(
        host="127.0.0.1", user="root", database=database, **{"autocommit": True, **kw}
    )


def _fresh(db: str, table: str) -> None:
    conn = _connect(db)
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} ({TYPED}) {OPTIONS}")
    conn.close()


def run_chute(path: Path, db: str, table: str, limit: int | None) -> int:
    import chute

    report = chute.load(path, into=f"mysql://root@127.0.0.1:3306/{db}", table=table)
    assert report.rejected == 0, report.rejects[:3]
    return int(report.written)


_ZONED = (
    "IF(@o LIKE '%Z', REPLACE(LEFT(@o, LENGTH(@o) - 1), 'T', ' '), "
    "CONVERT_TZ(REPLACE(LEFT(@o, LENGTH(@o) - 6), 'T', ' '), RIGHT(@o, 6), '+00:00'))"
)


def run_load_data(path: Path, db: str, table: str, limit: int | None) -> int:
    conn = _connect(db, local_infile=True)
    with conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES'")
        cur.execute(
            f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {table} CHARACTER SET utf8mb4 "
            "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
            "LINES TERMINATED BY '\\n' IGNORE 1 LINES "
            "(id, uuid, customer, status, quantity, price, @o, @s, @n, @g, tags, weight) "
            f"SET ordered_at = {_ZONED}, shipped_at = NULLIF(@s, ''), notes = NULLIF(@n, ''), "
            "gift = (@g = 'true')"
        )
        stored = int(cur.rowcount)
        cur.execute("SHOW COUNT(*) WARNINGS")
        (warnings,) = cur.fetchone()
    conn.close()
    assert warnings == 0, f"LOAD DATA gave {warnings} warnings"
    return stored


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def _row(r: list[str]) -> tuple[Any, ...]:
    return (
        int(r[0]),
        r[1],
        r[2] or None,
        r[3] or None,
        int(r[4]),
        Decimal(r[5]),
        _utc(r[6]),
        datetime.fromisoformat(r[7]) if r[7] else None,
        r[8] or None,
        r[9] == "true",
        r[10],
        float(r[11]),
    )


def run_executemany(path: Path, db: str, table: str, limit: int | None) -> int:
    conn = _connect(db, autocommit=False)
    sql = f"INSERT INTO {table} ({COLUMNS}) VALUES ({', '.join(['%s'] * 12)})"
    n = 0
    with open(path, newline="", encoding="utf-8") as f, conn.cursor() as cur:
        reader = csv.reader(f)
        next(reader)
        rows = islice(reader, limit)
        while chunk := [_row(r) for r in islice(rows, 10_000)]:
            cur.executemany(sql, chunk)
            conn.commit()
            n += len(chunk)
    conn.close()
    return n


def run_pandas(path: Path, db: str, table: str, limit: int | None) -> int:
    import pandas as pd
    import sqlalchemy as sa

    engine = sa.create_engine(f"mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8mb4")
    frame = pd.read_csv(path, nrows=limit)
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True, format="ISO8601")
    frame["ordered_at"] = frame["ordered_at"].dt.tz_localize(None)
    frame["shipped_at"] = pd.to_datetime(frame["shipped_at"], format="ISO8601")
    frame["tags"] = frame["tags"].map(lambda t: json.dumps(json.loads(t)))
    frame.to_sql(table, engine, if_exists="append", index=False, chunksize=1000, method="multi")
    engine.dispose()
    return len(frame)


CONTENDERS: list[tuple[str, Callable[[Path, str, str, int | None], int], bool]] = [
    ("LOAD DATA LOCAL INFILE (by hand)", run_load_data, False),
    ("chute load", run_chute, False),
    ("PyMySQL executemany", run_executemany, True),
    ("pandas to_sql (multi)", run_pandas, True),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--slow-rows", type=int, default=100_000)
    parser.add_argument("--only", help="comma-separated contender names (substring match)")
    args = parser.parse_args(argv)
    path = DATA_DIR / f"orders_{args.rows}.csv"
    if not path.exists():
        generator = Path(__file__).with_name("generate.py")
        subprocess.run([sys.executable, str(generator), "--rows", str(args.rows)], check=True)
    db = f"chute_bench_{uuid.uuid4().hex[:8]}"
    admin = _connect(None)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {db}")
    results = []
    try:
        for name, run, slow in CONTENDERS:
            if args.only and not any(o in name for o in args.only.split(",")):
                continue
            table = "orders"
            _fresh(db, table)
            limit = args.slow_rows if slow else None
            started = time.perf_counter()
            n = run(path, db, table, limit)
            seconds = time.perf_counter() - started
            conn = _connect(db)
            with conn.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                (stored,) = cur.fetchone()
            conn.close()
            assert stored == n, (name, stored, n)
            results.append((name, n, seconds))
            print(
                f"{name:34} {n:>9,} rows {seconds:8.2f} s {n / seconds:>10,.0f} rows/s", flush=True
            )
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {db}")
        admin.close()
    reference = next((n / s for name, n, s in results if name.startswith("LOAD DATA")), None)
    if reference:
        print("\nrows/s against LOAD DATA LOCAL INFILE by hand:")
        for name, n, s in results:
            note = " (first rows only)" if n < args.rows else ""
            print(f"  {name:34} {n / s / reference:6.2f}x{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
