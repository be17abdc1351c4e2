"""Import jobs under failure: a worker killed mid-import, a lease taken over, a cancel."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

import chute
from chute.service.jobs import JobFence, LeaseLost, create_job, take_job
from chute.service.leases import claim
from chute.service.state import SCHEMA, ServiceDb, tenant_sink_url
from chute.service.tenants import create_tenant, tenant_of
from tests.service.conftest import Service, TakeOverAfter, table_rows

pytestmark = pytest.mark.postgres

ROWS = 300_000


def numbers_csv(n: int) -> bytes:
    lines = ["id,name,amount"] + [f"{i},name {i},{i * 3}" for i in range(1, n + 1)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def big() -> bytes:
    return numbers_csv(ROWS)


def wait_running(service: Service, token: str, job: int, rows: int = 1) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = service.job(token, job)
        if view["state"] == "running" and int(view["rows_done"]) >= rows:
            return view
        assert view["state"] in ("queued", "running"), view
        time.sleep(0.05)
    raise AssertionError(f"job {job} never got going")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_worker_killed_mid_import_is_replaced_with_no_duplicate_and_no_gap(
    service: Service, big: bytes
) -> None:
    token = service.tenant("killed")
    uid = service.upload(token, big, "numbers.csv", chunk=1 << 20)
    job = service.start_import(token, upload=uid, table="numbers", options={"batch_rows": 2000})
    running = wait_running(service, token, job, rows=10_000)
    victim = service.workers[0]
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    killed_at = time.monotonic()
    assert int(str(running["rows_done"])) < ROWS  # killed part way
    service.start_worker()
    view = service.wait(token, job, timeout=120)
    taken = time.monotonic() - killed_at
    assert view["state"] == "done", view
    assert taken < 60, f"the job took {taken:.0f} s to finish after the kill"
    got = table_rows(
        service.db, "killed", "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM numbers"
    )
    assert got == [(ROWS, ROWS, 1, ROWS)]
    assert view["report"]["written"] == ROWS  # the report of the run that went on


@pytest.mark.slow
def test_cancel_stops_at_a_batch_and_says_what_was_committed(service: Service, big: bytes) -> None:
    token = service.tenant("canceller")
    uid = service.upload(token, big, "numbers.csv", chunk=1 << 20)
    job = service.start_import(token, upload=uid, table="numbers", options={"batch_rows": 1000})
    wait_running(service, token, job)
    with service.client(token) as c:
        assert c.delete(f"/imports/{job}").status_code == 200
    view = service.wait(token, job)
    assert view["state"] == "cancelled", view
    written = view["report"]["written"]
    assert 0 < written < ROWS
    assert table_rows(service.db, "canceller", "SELECT count(*) FROM numbers") == [(written,)]


def test_a_queued_job_cancelled_never_runs(service: Service) -> None:
    token = service.tenant("early")
    db = ServiceDb(service.db)
    tenant = tenant_of(db, token)
    assert tenant is not None
    job = create_job(db, tenant.id, "nothing", {"table": "t", "into": tenant.sink_url}, 0)
    with service.client(token) as c:
        assert c.delete(f"/imports/{job}").json()["state"] == "cancelled"
    assert take_job(db, job) is None  # a worker handed it finds nothing to do


def test_a_worker_that_lost_its_lease_commits_nothing_more(service_db: str, tmp_path: Path) -> None:
    db = ServiceDb(service_db)
    create_tenant(db, "fenced")
    row = db.one(f"SELECT id FROM {SCHEMA}.tenants WHERE name = 'fenced'")
    assert row is not None
    into = tenant_sink_url(service_db, "fenced")
    job = create_job(db, row["id"], "u", {"table": "numbers", "into": into}, 0)
    taken = take_job(db, job)
    assert taken is not None
    source = tmp_path / "numbers.csv"
    source.write_bytes(numbers_csv(10_000))
    claim(into, taken["key"], int(taken["lease"]))
    fence = JobFence(db, job, taken["key"], int(taken["lease"]), threading.Event())
    with pytest.raises(LeaseLost, match="taken over"):
        chute.load(
            source, into=into, table="numbers", batch_rows=1000, workers=1,
            observers=[fence, TakeOverAfter(db, job, 2, into)],
        )  # fmt: skip
    # two batches committed before the take-over; none after
    assert table_rows(service_db, "fenced", "SELECT count(*) FROM numbers") == [(2000,)]
