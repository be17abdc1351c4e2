"""A tenant whose imports go to a database of its own (SQLite, MariaDB): the job's lease
lives there, beside the rows, and fences them the same way."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

import chute
from chute.service.jobs import JobFence, LeaseLost, create_job, take_job
from chute.service.leases import LEASES, claim
from chute.service.state import SCHEMA, ServiceDb
from chute.service.tenants import create_tenant
from tests.mysql_server import mysql_query, mysql_url
from tests.service.conftest import Service, TakeOverAfter

__all__ = ["mysql_url"]  # the fixture

pytestmark = pytest.mark.postgres


def numbers_csv(n: int) -> str:
    return "id,amount\n" + "".join(f"{i},{i * 3}\n" for i in range(1, n + 1))


def fenced_load(service_db: str, tmp_path: Path, into: str, tenant: str) -> None:
    """A load fenced by a job whose lease is taken over after its second batch."""
    db = ServiceDb(service_db)
    create_tenant(db, tenant, sink_url=into)
    row = db.one(f"SELECT id FROM {SCHEMA}.tenants WHERE name = %s", (tenant,))
    assert row is not None
    job = create_job(db, row["id"], "u", {"table": "numbers", "into": into}, 0)
    taken = take_job(db, job)
    assert taken is not None
    claim(into, taken["key"], int(taken["lease"]))
    source = tmp_path / "numbers.csv"
    source.write_text(numbers_csv(10_000))
    fence = JobFence(db, job, taken["key"], int(taken["lease"]), threading.Event())
    with pytest.raises(LeaseLost, match="taken over"):
        chute.load(
            source, into=into, table="numbers", batch_rows=1000, workers=1,
            observers=[fence, TakeOverAfter(db, job, 2, into)],
        )  # fmt: skip


def test_a_lost_lease_commits_nothing_more_in_sqlite(service_db: str, tmp_path: Path) -> None:
    into = f"sqlite:///{tmp_path / 'own.db'}"
    fenced_load(service_db, tmp_path, into, "lite")
    with sqlite3.connect(tmp_path / "own.db") as conn:
        assert conn.execute("SELECT count(*) FROM numbers").fetchone() == (2000,)
        assert conn.execute(f"SELECT lease FROM {LEASES}").fetchall() == [(2,)]


def test_a_lost_lease_commits_nothing_more_in_mariadb(
    service_db: str, tmp_path: Path, mysql_url: str
) -> None:
    fenced_load(service_db, tmp_path, mysql_url, "maria")
    assert mysql_query(mysql_url, "SELECT count(*) FROM numbers") == [(2000,)]


def test_a_tenant_with_its_own_database(service: Service, tmp_path: Path) -> None:
    own = tmp_path / "acme.db"
    token = service.tenant("ownsink", "--sink", f"sqlite:///{own}")
    uid = service.upload(token, numbers_csv(500).encode(), "numbers.csv")
    view = service.wait(token, service.start_import(token, upload=uid, table="numbers"))
    assert view["state"] == "done", view
    with sqlite3.connect(own) as conn:
        assert conn.execute("SELECT count(*), sum(amount) FROM numbers").fetchone() == (
            500, 3 * 500 * 501 // 2,
        )  # fmt: skip
        assert conn.execute(f"SELECT count(*) FROM {LEASES}").fetchone() == (1,)
    with service.client(token) as c:
        assert c.get("/tables/numbers").json()["columns"][0]["name"] == "id"


def test_a_tenant_sink_that_is_not_a_sql_database_is_refused(service: Service) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "chute", "tenant", "create", "graphy", "--sink",
         "falkordb://127.0.0.1:1/g"],
        env=service.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "not a SQL database" in done.stderr
