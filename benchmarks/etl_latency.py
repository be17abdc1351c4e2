"""Report 01's ETL: a few dozen (or thousand) Jira-like records into a database far away.

::

    python benchmarks/etl_latency.py                      # 30 and 3,000 records, 100 ms
    python benchmarks/etl_latency.py --sizes 30 --latency-ms 50

PostgreSQL sits behind the latency proxy (``chute_bench.latency_proxy``: every chunk is
delayed ``--latency-ms`` each way, so a round trip costs twice that).  Each record is an
issue with nested fields (status and assignee objects, labels, a changelog list), upserted
on its key.  Contenders, each into a fresh table:

- ``orm_per_record``: SQLAlchemy ORM, ``session.merge(Issue(...))`` and ``commit()`` per
  record (what report 01 measured at 90-180 s); on more than ``--orm-limit`` records it runs
  on the first ``--orm-limit`` and the time is scaled up (said so in the output);
- ``chute_load``: one ``chute.load(records, mode="upsert", key="key")``;
- ``chute_session``: ``chute.connect`` and one ``db.write(..., mode="upsert")`` (connecting
  included: a run of the ETL does both).

Round trips are the time divided by one round trip (an estimate that includes the work
done between them); the session also counts its own.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import chute
from chute_bench.latency_proxy import LatencyProxy

URL = "postgresql://postgres@127.0.0.1:5432/test"
TABLE = "bench_issues"


class Base(DeclarativeBase):
    pass


class Issue(Base):
    __tablename__ = TABLE
    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    summary: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[Any] = mapped_column(JSONB)
    assignee: Mapped[Any] = mapped_column(JSONB)
    labels: Mapped[Any] = mapped_column(JSONB)
    created: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    changelog: Mapped[Any] = mapped_column(JSONB)


def records(n: int) -> list[dict[str, Any]]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        {
            "key": f"DATA-{i}",
            "summary": f"Pipeline step {i} fails on 'quoted' input",
            "status": {"name": ("Open", "In Progress", "Done")[i % 3], "id": i % 3},
            "assignee": None if i % 4 == 0 else {"name": f"user{i % 9}", "active": True},
            "labels": ["etl", f"team-{i % 5}"],
            "created": start + timedelta(minutes=i),
            "changelog": [
                {"field": "status", "from": "Open", "to": "Done", "n": j} for j in range(3)
            ],
        }
        for i in range(n)
    ]


def fresh(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(
            f"CREATE TABLE {TABLE} (key text PRIMARY KEY, summary text, status jsonb, "
            "assignee jsonb, labels jsonb, created timestamptz, changelog jsonb)"
        )


def orm_per_record(url: str, data: list[dict[str, Any]]) -> float:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    t0 = time.perf_counter()
    with Session(engine) as session:
        for record in data:
            session.merge(Issue(**record))
            session.commit()
    seconds = time.perf_counter() - t0
    engine.dispose()
    return seconds


def chute_load(url: str, data: list[dict[str, Any]]) -> float:
    t0 = time.perf_counter()
    chute.load(data, into=url, table=TABLE, mode="upsert", key="key")
    return time.perf_counter() - t0


def chute_session(url: str, data: list[dict[str, Any]]) -> float:
    t0 = time.perf_counter()
    with chute.connect(url) as db:
        db.write(TABLE, data, mode="upsert", key="key")
        chute_session.round_trips = getattr(db.sink, "round_trips", None)  # type: ignore[attr-defined]
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=URL)
    parser.add_argument("--sizes", default="30,3000")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--orm-limit", type=int, default=30)
    args = parser.parse_args(argv)
    p = urlsplit(args.url)
    rtt = 2 * args.latency_ms / 1000
    print(
        f"PostgreSQL behind the latency proxy: {args.latency_ms:g} ms each way "
        f"({rtt * 1000:g} ms a round trip)"
    )
    print(f"{'records':>8} {'contender':<16} {'seconds':>9} {'~round trips':>13}  note")
    with LatencyProxy((p.hostname or "127.0.0.1", p.port or 5432), args.latency_ms) as proxy:
        url = proxy.url_for(args.url)
        for n in (int(s) for s in args.sizes.split(",")):
            data = records(n)
            for name, fn in (
                ("orm_per_record", orm_per_record),
                ("chute_load", chute_load),
                ("chute_session", chute_session),
            ):
                fresh(args.url)
                note = ""
                if name == "orm_per_record" and n > args.orm_limit:
                    seconds = fn(url, data[: args.orm_limit]) * n / args.orm_limit
                    note = f"measured on {args.orm_limit} records, scaled to {n}"
                else:
                    seconds = fn(url, data)
                    with psycopg.connect(args.url) as conn:
                        stored = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
                    assert stored is not None and stored[0] == n, (name, stored)
                if name == "chute_session":
                    note = f"counted {chute_session.round_trips} round trips"  # type: ignore[attr-defined]
                print(f"{n:>8} {name:<16} {seconds:>9.2f} {seconds / rtt:>13.1f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
