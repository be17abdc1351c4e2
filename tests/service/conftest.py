"""The import service for real: ``chute serve`` and ``chute worker`` processes on a
database of their own (made for the test module, dropped after), files in a temp folder,
talked to over HTTP."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import POSTGRES_URL, _with_database, service_missing

TUS = {"Tus-Resumable": "1.0.0"}


def patch_headers(offset: int) -> dict[str, str]:
    return {**TUS, "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream"}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """A running service: its URL, its database, its processes."""

    def __init__(self, db: str, data: Path, logs: Path) -> None:
        self.db = db
        self.data = data
        self.logs = logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "CHUTE_SERVICE_DB": db, "CHUTE_SERVICE_DATA": str(data)}
        self.server: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:  # the child keeps its copy
            return subprocess.Popen(
                [sys.executable, "-m", "chute", *args], env=self.env, stdout=log, stderr=log
            )

    def start_server(self) -> None:
        self.server = self._spawn("serve", "serve", "--port", str(self.port))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.server.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"chute serve did not start: {self.log('serve')}")

    def start_worker(self) -> subprocess.Popen[bytes]:
        worker = self._spawn(f"worker{len(self.workers)}", "worker")
        self.workers.append(worker)
        return worker

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for proc in [*self.workers, self.server]:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.server]:
            if proc is not None:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()

    # -- what a client does --------------------------------------------------------------

    def tenant(self, name: str | None = None, *extra: str) -> str:
        """A new tenant's token."""
        name = name or f"t{uuid.uuid4().hex[:10]}"
        done = subprocess.run(
            [sys.executable, "-m", "chute", "tenant", "create", name, *extra],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def create_upload(self, token: str, size: int, filename: str = "data.csv") -> str:
        meta = "filename " + base64.b64encode(filename.encode()).decode()
        with self.client(token) as c:
            r = c.post("/uploads", headers={**TUS, "Upload-Length": str(size),
                                             "Upload-Metadata": meta})  # fmt: skip
        assert r.status_code == 201, r.text
        return r.headers["location"].rsplit("/", 1)[1]

    def patch(self, token: str | None, uid: str, offset: int, chunk: bytes) -> httpx.Response:
        with self.client(token) as c:
            return c.patch(f"/uploads/{uid}", content=chunk, headers=patch_headers(offset))

    def upload(self, token: str, body: bytes, filename: str = "data.csv", chunk: int = 0) -> str:
        uid = self.create_upload(token, len(body), filename)
        step = chunk or len(body) or 1
        for offset in range(0, len(body), step):
            r = self.patch(token, uid, offset, body[offset : offset + step])
            assert r.status_code == 204, r.text
        return uid

    def start_import(self, token: str, **request: Any) -> int:
        with self.client(token) as c:
            r = c.post("/imports", json=request)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def job(self, token: str, job: int) -> dict[str, Any]:
        with self.client(token) as c:
            r = c.get(f"/imports/{job}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wait(
        self, token: str, job: int, timeout: float = 60, until: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The job once it is finished (or in one of the states ``until``)."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.job(token, job)
            if view["state"] in (until or ("done", "failed", "cancelled")):
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job} still {view['state']}: {self.log('worker0')}")
            time.sleep(0.2)


@pytest.fixture(scope="module")
def service_db() -> Iterator[str]:
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        service_missing("service", f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    name = f"chute_svc_{uuid.uuid4().hex[:12]}"
    roles = "SELECT rolname FROM pg_roles WHERE rolname LIKE 'chute\\_tenant\\_%'"
    with admin:
        before = {r for (r,) in admin.execute(roles).fetchall()}
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _with_database(POSTGRES_URL, name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for (role,) in admin.execute(roles).fetchall():  # the tenants' roles it made
                if role not in before:
                    with contextlib.suppress(psycopg.Error):  # still used elsewhere
                        admin.execute(f'DROP ROLE "{role}"')


@pytest.fixture(scope="module")
def service(service_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``chute serve`` and one ``chute worker``, for the tests of one module."""
    root = tmp_path_factory.mktemp("service")
    svc = Service(service_db, root / "data", root)
    try:
        svc.start_server()
        svc.start_worker()
        yield svc
    finally:
        svc.stop()


def table_rows(db: str, tenant_token_name: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(db) as conn:
        conn.execute(f"SET search_path = tenant_{tenant_token_name}")
        return conn.execute(sql).fetchall()


class TakeOverAfter:
    """An observer of a job's load: after batch ``n``, another worker takes the job and
    claims it in the sink, as a worker taking over a stalled job does."""

    def __init__(self, db: Any, job: int, n: int, into: str) -> None:
        self.db, self.job, self.n, self.into, self.batches = db, job, n, into, 0

    def on_start(self, report: Any, total_bytes: int | None) -> None:
        pass

    def on_batch(self, report: Any, bytes_read: int) -> None:
        from chute.service.jobs import take_job
        from chute.service.leases import claim

        self.batches += 1
        if self.batches == self.n:
            taken = take_job(self.db, self.job)
            assert taken is not None
            claim(self.into, taken["key"], int(taken["lease"]))

    def on_finish(self, report: Any) -> None:
        pass
