"""Report 04's indexer: blocks of events into three tables, one transaction per block.

::

    python benchmarks/indexer.py --db postgresql            # 200 blocks x 300 events
    python benchmarks/indexer.py --db sqlite
    python benchmarks/indexer.py --db mariadb
    python benchmarks/indexer.py --db postgresql --latency-ms 20 --blocks 20

Each block brings 300 events: 150 transfers (upserted on ``tx_hash``; about a third of them
seen in an earlier block, so updated), 100 approvals (inserted unless ``(tx_hash,
log_index)`` is there: ignore) and 50 log lines (appended, with a JSON payload).  The three
tables are made by hand before each contender, with the same types for all, so every
contender writes into the same existing tables.  Contenders, each in its own fresh tables:

- ``chute_session``: ``chute.connect`` once, then per block ``with db.transaction():`` and
  three ``db.write`` calls (counts of created and updated rows come back);
- ``hand_written``: the database's driver by hand, one transaction per block,
  ``executemany`` of ``INSERT ... ON CONFLICT`` (psycopg, which pipelines it; sqlite3) or
  ``ON DUPLICATE KEY UPDATE`` / ``INSERT IGNORE`` (PyMySQL, multi-row); no counts;
- ``sqlalchemy``: report 04's fix, SQLAlchemy 2 Core inserts with the dialect's upsert and a
  list of mappings per table (``insertmanyvalues``), one transaction per block; no counts;
- ``chute_load``: ``chute.load`` of each table's records per block (three transactions per
  block; what chute offered before sessions).

Rounds alternate the order of contenders; the table gives the median milliseconds per block
and the ratio to the hand-written code (higher is faster).  ``--latency-ms`` puts the
latency proxy (``chute_bench.latency_proxy``) in front of the server, so that every round
trip costs twice that: ms per block divided by the round trip is the round trips per block.
The PostgreSQL session also counts its own round trips (shown in the last column).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import chute

URLS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql://root@127.0.0.1:3306/test",
}
TABLES = ("bench_transfers", "bench_approvals", "bench_logs")
DDL = {
    "postgresql": [
        "CREATE TABLE bench_transfers (tx_hash text PRIMARY KEY, block bigint, sender text, "
        "receiver text, amount bigint, at timestamptz)",
        "CREATE TABLE bench_approvals (tx_hash text, log_index bigint, owner text, "
        "spender text, PRIMARY KEY (tx_hash, log_index))",
        "CREATE TABLE bench_logs (block bigint, idx bigint, topic text, payload jsonb)",
    ],
    "sqlite": [
        "CREATE TABLE bench_transfers (tx_hash TEXT PRIMARY KEY, block INTEGER, sender TEXT, "
        "receiver TEXT, amount INTEGER, at TEXT)",
        "CREATE TABLE bench_approvals (tx_hash TEXT, log_index INTEGER, owner TEXT, "
        "spender TEXT, PRIMARY KEY (tx_hash, log_index))",
        "CREATE TABLE bench_logs (block INTEGER, idx INTEGER, topic TEXT, payload TEXT)",
    ],
    "mariadb": [
        "CREATE TABLE bench_transfers (tx_hash VARCHAR(80) PRIMARY KEY, block BIGINT, "
        "sender TEXT, receiver TEXT, amount BIGINT, at DATETIME(6))",
        "CREATE TABLE bench_approvals (tx_hash VARCHAR(80), log_index BIGINT, owner TEXT, "
        "spender TEXT, PRIMARY KEY (tx_hash, log_index))",
        "CREATE TABLE bench_logs (block BIGINT, idx BIGINT, topic TEXT, payload JSON)",
    ],
}
Block = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]


def make_blocks(blocks: int, events: int) -> list[Block]:
    """Deterministic blocks: a third of each block's transfers repeat an earlier hash."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    n_t, n_a = events // 2, events // 3
    n_l = events - n_t - n_a
    for b in range(blocks):
        at = start + timedelta(seconds=12 * b)
        transfers = [
            {
                "tx_hash": f"0x{(b * n_t + i) if i % 3 or b == 0 else (b - 1) * n_t + i:064x}",
                "block": b,
                "sender": f"0xs{i:038x}",
                "receiver": f"0xr{b:038x}",
                "amount": b * 1000 + i,
                "at": at,
            }
            for i in range(n_t)
        ]
        approvals = [
            {
                "tx_hash": f"0x{(b * 7 + i) % (n_a * 4):064x}",
                "log_index": i % 5,
                "owner": f"0xo{i:038x}",
                "spender": f"0xp{b:038x}",
            }
            for i in range(n_a)
        ]
        logs = [
            {"block": b, "idx": i, "topic": "Transfer", "payload": {"i": i, "b": b, "ok": True}}
            for i in range(n_l)
        ]
        out.append((transfers, approvals, logs))
    return out


# -- contenders: each takes the URL and the blocks, returns ms per block -----------------


def chute_session(url: str, blocks: list[Block]) -> list[float]:
    times = []
    with chute.connect(url) as db:
        for transfers, approvals, logs in blocks:
            t0 = time.perf_counter()
            with db.transaction():
                db.write(TABLES[0], transfers, mode="upsert", key="tx_hash")
                db.write(TABLES[1], approvals, mode="ignore", key=["tx_hash", "log_index"])
                db.write(TABLES[2], logs)
            times.append(time.perf_counter() - t0)
        chute_session.round_trips = getattr(db.sink, "round_trips", None)  # type: ignore[attr-defined]
    return times


def chute_load(url: str, blocks: list[Block]) -> list[float]:
    times = []
    for transfers, approvals, logs in blocks:
        t0 = time.perf_counter()
        chute.load(transfers, into=url, table=TABLES[0], mode="upsert", key="tx_hash")
        chute.load(approvals, into=url, table=TABLES[1], mode="ignore", key="tx_hash,log_index")
        chute.load(logs, into=url, table=TABLES[2])
        times.append(time.perf_counter() - t0)
    return times


def _rows(records: list[dict[str, Any]], json_of: Callable[[Any], Any]) -> list[tuple[Any, ...]]:
    return [tuple(json_of(v) if isinstance(v, dict) else v for v in r.values()) for r in records]


def hand_written(url: str, blocks: list[Block]) -> list[float]:
    db = _kind(url)
    times = []
    if db == "postgresql":
        import psycopg
        from psycopg.types.json import Jsonb

        with psycopg.connect(url) as conn:
            for transfers, approvals, logs in blocks:
                t0 = time.perf_counter()
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO bench_transfers VALUES (%s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT (tx_hash) DO UPDATE SET block = EXCLUDED.block, "
                        "sender = EXCLUDED.sender, receiver = EXCLUDED.receiver, "
                        "amount = EXCLUDED.amount, at = EXCLUDED.at",
                        _rows(transfers, Jsonb),
                    )
                    cur.executemany(
                        "INSERT INTO bench_approvals VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT DO NOTHING",
                        _rows(approvals, Jsonb),
                    )
                    cur.executemany(
                        "INSERT INTO bench_logs VALUES (%s, %s, %s, %s)", _rows(logs, Jsonb)
                    )
                times.append(time.perf_counter() - t0)
        return times
    if db == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            for transfers, approvals, logs in blocks:
                t0 = time.perf_counter()
                conn.execute("BEGIN")
                conn.executemany(
                    "INSERT INTO bench_transfers VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tx_hash) "
                    "DO UPDATE SET block = excluded.block, sender = excluded.sender, "
                    "receiver = excluded.receiver, amount = excluded.amount, at = excluded.at",
                    [(*r[:5], r[5].isoformat()) for r in _rows(transfers, json.dumps)],
                )
                conn.executemany(
                    "INSERT INTO bench_approvals VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    _rows(approvals, json.dumps),
                )
                conn.executemany(
                    "INSERT INTO bench_logs VALUES (?, ?, ?, ?)", _rows(logs, json.dumps)
                )
                conn.execute("COMMIT")
                times.append(time.perf_counter() - t0)
        finally:
            conn.close()
        return times
    import pymysql

    conn = pymysql.connect(**_mysql_params(url), autocommit=False)
    try:
        for transfers, approvals, logs in blocks:
            t0 = time.perf_counter()
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO bench_transfers VALUES (%s, %s, %s, %s, %s, %s) "
                    "ON DUPLICATE KEY UPDATE block = VALUES(block), sender = VALUES(sender), "
                    "receiver = VALUES(receiver), amount = VALUES(amount), at = VALUES(at)",
                    [(*r[:5], r[5].replace(tzinfo=None)) for r in _rows(transfers, json.dumps)],
                )
                cur.executemany(
                    "INSERT IGNORE INTO bench_approvals VALUES (%s, %s, %s, %s)",
                    _rows(approvals, json.dumps),
                )
                cur.executemany(
                    "INSERT INTO bench_logs VALUES (%s, %s, %s, %s)", _rows(logs, json.dumps)
                )
            conn.commit()
            times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    return times


def sqlalchemy(url: str, blocks: list[Block]) -> list[float]:
    import sqlalchemy as sa

    db = _kind(url)
    engine_url = {
        "postgresql": url.replace("postgresql://", "postgresql+psycopg://"),
        "sqlite": url,
        "mariadb": url.replace("mysql://", "mysql+pymysql://"),
    }[db]
    engine = sa.create_engine(engine_url)
    meta = sa.MetaData()
    tables = [sa.Table(name, meta, autoload_with=engine) for name in TABLES]
    if db == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif db == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:
        from sqlalchemy.dialects.mysql import insert  # type: ignore[assignment]
    transfers_t, approvals_t, logs_t = tables
    if db == "mariadb":
        ins = insert(transfers_t)
        upsert = ins.on_duplicate_key_update(
            {c.name: ins.inserted[c.name] for c in transfers_t.columns if c.name != "tx_hash"}
        )
        ignore = insert(approvals_t).prefix_with("IGNORE")
    else:
        ins = insert(transfers_t)
        upsert = ins.on_conflict_do_update(
            index_elements=["tx_hash"],
            set_={c.name: ins.excluded[c.name] for c in transfers_t.columns if c.name != "tx_hash"},
        )
        ignore = insert(approvals_t).on_conflict_do_nothing()
    times = []
    for transfers, approvals, logs in blocks:
        if db == "sqlite":
            transfers = [{**r, "at": r["at"].isoformat()} for r in transfers]
            logs = [{**r, "payload": json.dumps(r["payload"])} for r in logs]
        elif db == "mariadb":
            transfers = [{**r, "at": r["at"].replace(tzinfo=None)} for r in transfers]
            logs = [{**r, "payload": json.dumps(r["payload"])} for r in logs]
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(upsert, transfers)
            conn.execute(ignore, approvals)
            conn.execute(sa.insert(logs_t), logs)
        times.append(time.perf_counter() - t0)
    engine.dispose()
    return times


CONTENDERS: dict[str, Callable[[str, list[Block]], list[float]]] = {
    "hand_written": hand_written,
    "chute_session": chute_session,
    "sqlalchemy": sqlalchemy,
    "chute_load": chute_load,
}


# -- plumbing -------------------------------------------------------------------------


def _kind(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith(("mysql", "mariadb")):
        return "mariadb"
    return "postgresql"


def _mysql_params(url: str) -> dict[str, Any]:
    from urllib.parse import urlsplit

    p = urlsplit(url)
    return {
        "host": p.hostname,
        "port": p.port or 3306,
        "user": p.username or "root",
        "password": p.password or "",
        "database": p.path.lstrip("/"),
    }


def fresh_tables(url: str) -> None:
    db = _kind(url)
    statements = [f"DROP TABLE IF EXISTS {t}" for t in TABLES] + DDL[db]
    if db == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        for sql in statements:
            conn.execute(sql)
        conn.commit()
        conn.close()
    elif db == "postgresql":
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            for sql in statements:
                conn.execute(sql)
    else:
        import pymysql

        conn = pymysql.connect(**_mysql_params(url), autocommit=True)
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
        conn.close()


def count_rows(url: str) -> tuple[int, ...]:
    db = _kind(url)
    if db == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        out = tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES)
        conn.close()
        return out
    if db == "postgresql":
        import psycopg

        with psycopg.connect(url) as conn:
            return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES)
    import pymysql

    conn = pymysql.connect(**_mysql_params(url))
    with conn.cursor() as cur:
        out = []
        for t in TABLES:
            cur.execute(f"SELECT count(*) FROM {t}")
            out.append(cur.fetchone()[0])
    conn.close()
    return tuple(out)


@contextmanager
def through_proxy(url: str, delay_ms: float) -> Iterator[str]:
    if not delay_ms:
        yield url
        return
    from urllib.parse import urlsplit

    from chute_bench.latency_proxy import LatencyProxy

    p = urlsplit(url)
    with LatencyProxy((p.hostname or "127.0.0.1", p.port or 5432), delay_ms) as proxy:
        yield proxy.url_for(url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite", "mariadb"], default="postgresql")
    parser.add_argument("--url", help="the database (default: the local one of --db)")
    parser.add_argument("--blocks", type=int, default=200)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--only", help="comma-separated contenders")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        url = args.url or URLS.get(args.db)
        if url is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite:///{Path(tmp) / 'indexer.db'}"
        names = args.only.split(",") if args.only else list(CONTENDERS)
        blocks = make_blocks(args.blocks, args.events)
        per_block: dict[str, list[float]] = {n: [] for n in names}
        trips: dict[str, int | None] = {}
        rows: dict[str, tuple[int, ...]] = {}
        for r in range(args.rounds):
            order = names if r % 2 == 0 else list(reversed(names))
            for name in order:
                fresh_tables(url)
                with through_proxy(url, args.latency_ms) as target:
                    times = CONTENDERS[name](target, blocks)
                per_block[name].append(statistics.median(times) * 1000)
                rows[name] = count_rows(url)
                if name == "chute_session":
                    trips[name] = getattr(chute_session, "round_trips", None)
        ref = statistics.median(per_block[names[0]])
        print(
            f"\n{args.db}: {args.blocks} blocks x {args.events} events, 3 tables, one "
            f"transaction per block, {args.rounds} rounds"
            + (f", latency proxy {args.latency_ms:g} ms each way" if args.latency_ms else "")
        )
        print(f"{'contender':<15} {'ms/block (median of rounds)':>30} {'x ' + names[0]:>16}  rows")
        for name in names:
            ms = statistics.median(per_block[name])
            shown = ", ".join(f"{v:.2f}" for v in per_block[name])
            extra = ""
            if args.latency_ms:
                extra = f"  ~{ms / (2 * args.latency_ms):.1f} round trips/block"
                if trips.get(name):
                    extra += f" (counted {trips[name] / args.blocks:.2f})"
            print(f"{name:<15} {ms:>8.2f} ({shown}) {ref / ms:>10.2f}  {rows[name]}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
