"""What the review found: requests that must not wedge, corrupt, overrun or escape."""

from __future__ import annotations

import gzip
import socket
import time
from pathlib import Path

import httpx
import pytest

import chute
from chute.errors import ConfigError
from chute.service.state import tenant_sink_url
from tests.helpers import query
from tests.service.conftest import TUS, Service, patch_headers

pytestmark = pytest.mark.postgres


def stalled_patch(service: Service, token: str, uid: str, offset: int) -> socket.socket:
    """A PATCH whose body stops after 4 bytes (the connection stays open)."""
    s = socket.create_connection(("127.0.0.1", service.port))
    s.sendall(
        (
            f"PATCH /uploads/{uid} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n"
            "Content-Type: application/offset+octet-stream\r\nContent-Length: 1000\r\n\r\nabcd"
        ).encode()
    )
    return s


def test_concurrent_patches_to_one_upload_never_wedge_the_server(service: Service) -> None:
    token = service.tenant("crowd")
    other = service.tenant("bystander")
    uid = service.create_upload(token, 1000)
    sockets = [stalled_patch(service, token, uid, 0) for _ in range(10)]
    try:
        time.sleep(0.5)
        started = time.monotonic()
        with service.client(other) as c:
            assert c.get("/imports", timeout=10).status_code == 200
        assert httpx.get(f"{service.url}/healthz", timeout=10).status_code == 200
        assert time.monotonic() - started < 5
        # the upload is busy: a further PATCH is told to come back (503), not held forever
        r = service.patch(token, uid, 0, b"x" * 1000)
        assert r.status_code in (409, 503), r.text
    finally:
        for s in sockets:
            s.close()
    deadline = time.monotonic() + 30
    while True:  # once the stalled requests are gone, the upload goes on where it is
        with service.client(token) as c:
            offset = int(c.head(f"/uploads/{uid}", headers=TUS).headers["upload-offset"])
        r = service.patch(token, uid, offset, b"y" * (1000 - offset))
        if r.status_code == 204 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.status_code == 204, r.text
    assert len(Path(service.data, "uploads", uid).read_bytes()) == 1000


def test_a_refused_patch_leaves_nothing_behind(service: Service) -> None:
    token = service.tenant("refused")
    body = b"id,v\n" + b"".join(b"%d,x\n" % i for i in range(2000))
    uid = service.create_upload(token, len(body))
    too_long = service.patch(token, uid, 0, b"JUNK" * (len(body) // 4 + 10))
    assert too_long.status_code == 400
    assert service.patch(token, uid, 0, body).status_code == 204
    assert Path(service.data, "uploads", uid).read_bytes() == body


def test_limits_hold_for_deferred_lengths_and_creation_bodies(service: Service) -> None:
    token = service.tenant("capped", "--max-upload-size", "1000")
    with service.client(token) as c:
        r = c.post("/uploads", headers={**TUS, "Upload-Defer-Length": "1"})
        assert r.status_code == 201
        uid = r.headers["location"].rsplit("/", 1)[1]
        over = c.patch(f"/uploads/{uid}", content=b"x" * 1500, headers=patch_headers(0))
        longer = c.post(
            "/uploads",
            content=b"x" * 20,
            headers={
                **TUS,
                "Upload-Length": "10",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        concat = c.post("/uploads", headers={**TUS, "Upload-Concat": "final;abc"})
    assert over.status_code == 413
    assert len(Path(service.data, "uploads", uid).read_bytes()) <= 1000
    assert longer.status_code == 400
    assert concat.status_code == 400
    big = service.tenant("uncapped")
    with service.client(big) as c:
        r = c.post("/uploads", content=b"x" * (5 << 20), headers={
            **TUS, "Upload-Length": str(6 << 20),
            "Content-Type": "application/offset+octet-stream"})  # fmt: skip
    assert r.status_code == 413  # the rest goes by PATCH, streamed


def test_a_corrupt_gzip_is_refused(service: Service) -> None:
    token = service.tenant("zipper")
    data = bytearray(gzip.compress(b"id,v\n" + b"1,a\n" * 5000))
    data[20:40] = b"\xff" * 20
    uid = service.upload(token, bytes(data), "d.csv.gz")
    with service.client(token) as c:
        assert c.get(f"/uploads/{uid}/preview").status_code in (415, 422)
        assert c.post("/imports", json={"upload": uid, "table": "d"}).status_code in (415, 422)


def test_a_plain_upload_behaves_as_a_tus_one(service: Service) -> None:
    token = service.tenant("plainly")
    with service.client(token) as c:
        uid = c.post("/files", content=b"a,b\n1,2\n").json()["upload"]
        head = c.head(f"/uploads/{uid}", headers=TUS)
    assert head.status_code == 200
    assert head.headers["upload-offset"] == "8"
    expires = query(service.db, f"SELECT info->>'expires' FROM chute_service.uploads "
                                f"WHERE id = '{uid}'")  # fmt: skip
    assert expires[0][0].endswith("GMT")  # deleted when expired, as tus uploads are


def test_a_tenants_role_cannot_write_the_catalogue(service: Service, tmp_path: Path) -> None:
    service.tenant("roled")
    source = tmp_path / "d.csv"
    source.write_text("objoid,classoid,objsubid,description\n1,1259,0,from-a-tenant\n")
    with pytest.raises(ConfigError, match="permission denied"):
        chute.load(source, into=tenant_sink_url(service.db, "roled"), table="pg_description")
    found = query(
        service.db, "SELECT count(*) FROM pg_catalog.pg_description "
        "WHERE description = 'from-a-tenant'",
    )  # fmt: skip
    assert found == [(0,)]
