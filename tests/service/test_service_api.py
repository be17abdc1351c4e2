"""The import service's API end to end: tus uploads that resume, imports run by a worker
into the tenant's schema, progress, rejects, cancel, limits and bad requests."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import TUS, Service, patch_headers, table_rows

pytestmark = pytest.mark.postgres

ORDERS = (Path(__file__).parents[2] / "examples" / "orders.csv").read_bytes()


def numbers_csv(n: int, start: int = 1) -> bytes:
    lines = ["id,name,amount"] + [f"{i},name {i},{i * 3}" for i in range(start, start + n)]
    return ("\n".join(lines) + "\n").encode()


def test_an_upload_in_chunks_is_imported_into_the_tenants_schema(service: Service) -> None:
    token = service.tenant("acme")
    uid = service.upload(token, ORDERS, "orders.csv", chunk=100)
    with service.client(token) as c:
        head = c.head(f"/uploads/{uid}", headers=TUS)
    assert head.status_code == 200
    assert head.headers["upload-offset"] == str(len(ORDERS))
    assert head.headers["upload-length"] == str(len(ORDERS))
    stored = Path(service.data, "uploads", uid).read_bytes()
    assert stored == ORDERS
    job = service.start_import(token, upload=uid, table="orders")
    view = service.wait(token, job)
    assert view["state"] == "done", view
    assert view["rows_done"] == 10
    assert view["bytes_done"] == view["bytes_total"] == len(ORDERS)
    report = view["report"]
    assert (report["read"], report["written"], report["rejected"]) == (10, 10, 0)
    assert "target" not in report and "source" not in report  # the service's own secrets
    rows = table_rows(service.db, "acme", "SELECT count(*), sum(quantity) FROM orders")
    assert rows == [(10, 68)]


def test_an_upload_cut_off_resumes_where_the_server_says(service: Service) -> None:
    token = service.tenant("resumer")
    body = numbers_csv(20_000)
    uid = service.create_upload(token, len(body), "numbers.csv")
    # a PATCH whose connection drops half way: the server keeps what arrived
    half = len(body) // 2
    with socket.create_connection(("127.0.0.1", service.port)) as s:
        head = (
            f"PATCH /uploads/{uid} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        s.sendall(head.encode() + body[:half])
        time.sleep(0.5)
    deadline = time.monotonic() + 10
    offset = 0
    while time.monotonic() < deadline:
        with service.client(token) as c:
            offset = int(c.head(f"/uploads/{uid}", headers=TUS).headers["upload-offset"])
        if offset:
            break
        time.sleep(0.1)
    assert 0 < offset <= half
    # a client resuming at a wrong offset is told so
    assert service.patch(token, uid, offset + 1, body[offset + 1 :]).status_code == 409
    assert service.patch(token, uid, offset, body[offset:]).status_code == 204
    stored = Path(service.data, "uploads", uid).read_bytes()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(body).digest()
    job = service.start_import(token, upload=uid, table="numbers")
    assert service.wait(token, job)["state"] == "done"
    got = table_rows(service.db, "resumer", "SELECT count(*), count(DISTINCT id) FROM numbers")
    assert got == [(20_000, 20_000)]


def test_another_tenants_ids_are_not_found(service: Service) -> None:
    owner = service.tenant("owner")
    other = service.tenant("other")
    uid = service.upload(owner, ORDERS, "orders.csv")
    job = service.start_import(owner, upload=uid, table="orders")
    service.wait(owner, job)
    with service.client(other) as c:
        answers = {
            "HEAD upload": c.head(f"/uploads/{uid}", headers=TUS).status_code,
            "PATCH upload": c.patch(
                f"/uploads/{uid}", content=b"x", headers=patch_headers(0)
            ).status_code,
            "DELETE upload": c.delete(f"/uploads/{uid}", headers=TUS).status_code,
            "POST import": c.post("/imports", json={"upload": uid, "table": "t"}).status_code,
            "GET import": c.get(f"/imports/{job}").status_code,
            "DELETE import": c.delete(f"/imports/{job}").status_code,
            "GET rejects": c.get(f"/imports/{job}/rejects").status_code,
            "GET events": c.get(f"/imports/{job}/events").status_code,
        }
        listed = c.get("/imports").json()
    assert answers == dict.fromkeys(answers, 404)
    assert listed == []
    # nor can anyone without a token write into it, even at the right offset
    unfinished = service.create_upload(owner, 10)
    assert service.patch(None, unfinished, 0, b"12345").status_code == 401
    assert Path(service.data, "uploads", unfinished).read_bytes() == b""
    # and the owner's upload and job are untouched
    assert service.job(owner, job)["state"] == "done"
    assert Path(service.data, "uploads", uid).read_bytes() == ORDERS


def test_requests_without_a_valid_token_are_refused(service: Service) -> None:
    for token in (None, "chute_wrong"):
        with service.client(token) as c:
            assert c.get("/imports").status_code == 401
            assert c.post("/uploads", headers={**TUS, "Upload-Length": "3"}).status_code == 401
    with httpx.Client(base_url=service.url) as c:
        r = c.get("/imports", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_a_declared_length_over_the_limit_is_refused_before_the_body(service: Service) -> None:
    token = service.tenant("small", "--max-upload-size", "1KiB")
    with service.client(token) as c:
        r = c.post("/uploads", headers={**TUS, "Upload-Length": "1025"})
        listed = c.get("/imports").json()
    assert r.status_code == 413
    assert "1024" in r.text
    assert listed == []
    assert service.create_upload(token, 1024)  # at the limit: taken


def test_a_file_that_is_no_table_is_refused_by_its_content(service: Service) -> None:
    token = service.tenant("typist")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
    uid = service.upload(token, png, "orders.csv")  # the name says CSV; the bytes do not
    with service.client(token) as c:
        r = c.post("/imports", json={"upload": uid, "table": "pictures"})
    assert r.status_code == 415


@pytest.mark.parametrize(
    ("request_body", "status", "fragment"),
    [
        ({"table": "t", "dataset": "d"}, 422, "one of table and dataset"),
        ({}, 422, "one of table and dataset"),
        ({"table": "t", "mode": "sideways"}, 422, "unknown mode"),
        ({"table": "1bad name"}, 422, "not a valid table name"),
        ({"table": "t", "options": {"into": "sqlite:///x"}}, 422, "into"),
        ({"table": "t", "options": {"batch_rows": "x"}}, 422, "batch_rows"),
        ({"table": "t", "options": {"delimiter": 5}}, 422, "delimiter"),
        ({"table": "pg_description"}, 422, "catalogue"),
    ],
)
def test_bad_import_requests_say_why(
    service: Service, request_body: dict[str, object], status: int, fragment: str
) -> None:
    token = service.tenant()
    uid = service.upload(token, ORDERS, "orders.csv")
    with service.client(token) as c:
        r = c.post("/imports", json={"upload": uid, **request_body})
        listed = c.get("/imports").json()
    assert r.status_code == status, r.text
    assert fragment in r.text
    assert listed == []  # no job made


def test_an_unfinished_upload_cannot_be_imported(service: Service) -> None:
    token = service.tenant()
    uid = service.create_upload(token, len(ORDERS))
    assert service.patch(token, uid, 0, ORDERS[:100]).status_code == 204
    with service.client(token) as c:
        r = c.post("/imports", json={"upload": uid, "table": "orders"})
    assert r.status_code == 409


def test_rejected_rows_are_counted_and_downloadable(service: Service) -> None:
    token = service.tenant("rejecter")
    body = b"id,amount\n1,10\n2,20\n3,not a number\n4,40\n"
    first = service.start_import(token, upload=service.upload(token, b"id,amount\n0,1\n"),
                                 table="amounts")  # fmt: skip
    assert service.wait(token, first)["state"] == "done"  # amount is a bigint now
    job = service.start_import(token, upload=service.upload(token, body), table="amounts")
    view = service.wait(token, job)
    assert view["state"] == "done"
    assert (view["report"]["written"], view["report"]["rejected"]) == (3, 1)
    with service.client(token) as c:
        r = c.get(f"/imports/{job}/rejects")
    assert r.status_code == 200
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert len(lines) == 1
    assert "not a number" in json.dumps(lines[0])
    assert table_rows(service.db, "rejecter", "SELECT count(*) FROM amounts") == [(4,)]


def test_progress_events_end_with_the_report(service: Service) -> None:
    token = service.tenant()
    job = service.start_import(token, upload=service.upload(token, ORDERS), table="orders")
    events: list[tuple[str, dict[str, object]]] = []
    with service.client(token) as c, c.stream("GET", f"/imports/{job}/events") as r:
        assert r.status_code == 200
        name = ""
        for line in r.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
                if name == "end":
                    break
    assert events[-1][0] == "end"
    assert events[-1][1]["state"] == "done"
    assert events[-1][1]["rows_done"] == 10


def test_metrics_and_the_openapi_document(service: Service) -> None:
    token = service.tenant()
    job = service.start_import(token, upload=service.upload(token, ORDERS), table="orders")
    service.wait(token, job)
    text = httpx.get(f"{service.url}/metrics").text
    done = [line for line in text.splitlines() if line.startswith('chute_jobs{state="done"}')]
    assert done and float(done[0].split()[-1]) >= 1
    assert "chute_upload_bytes" in text
    spec = httpx.get(f"{service.url}/openapi.json").json()
    assert {"/imports", "/imports/{job}", "/uploads"} <= set(spec["paths"])


def test_two_instances_share_an_upload(service: Service, tmp_path: Path) -> None:
    """No sticky sessions: half an upload through one ``chute serve``, the rest through
    another (offsets and locks are in the database)."""
    other = Service(service.db, service.data, tmp_path)
    other.start_server()
    try:
        token = service.tenant("balanced")
        body = numbers_csv(5000)
        uid = service.create_upload(token, len(body), "numbers.csv")
        half = len(body) // 2
        assert service.patch(token, uid, 0, body[:half]).status_code == 204
        with other.client(token) as c:
            head = c.head(f"/uploads/{uid}", headers=TUS)
        assert head.headers["upload-offset"] == str(half)
        assert other.patch(token, uid, half, body[half:]).status_code == 204
        job = other.start_import(token, upload=uid, table="numbers")
        assert service.wait(token, job)["state"] == "done"
        got = table_rows(service.db, "balanced", "SELECT count(*) FROM numbers")
        assert got == [(5000,)]
    finally:
        other.stop()
