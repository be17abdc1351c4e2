"""Uploads beyond the basics: tus checksums, plain POSTs, previews, mapping, tables and
datasets over HTTP."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import TUS, Service, patch_headers, table_rows

pytestmark = pytest.mark.postgres


def checksum(algorithm: str, body: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, body).digest()).decode()}"


def offset_of(service: Service, token: str, uid: str) -> int:
    with service.client(token) as c:
        return int(c.head(f"/uploads/{uid}", headers=TUS).headers["upload-offset"])


def test_tus_checksums_keep_good_chunks_and_discard_bad_ones(service: Service) -> None:
    token = service.tenant("summer")
    body = b"id,v\n" + b"".join(b"%d,value %d\n" % (i, i) for i in range(1000))
    uid = service.create_upload(token, len(body))
    first, rest = body[:4000], body[4000:]
    with service.client(token) as c:
        options = c.options("/uploads/", headers=TUS)
        assert "checksum" in options.headers["tus-extension"].split(",")
        assert "concatenation" not in options.headers["tus-extension"]
        assert "sha1" in options.headers["tus-checksum-algorithm"].split(",")
        good = c.patch(
            f"/uploads/{uid}",
            content=first,
            headers={**patch_headers(0), "Upload-Checksum": checksum("sha1", first)},
        )
        bad = c.patch(
            f"/uploads/{uid}",
            content=rest,
            headers={**patch_headers(4000), "Upload-Checksum": checksum("sha256", rest[:-1])},
        )
        unknown = c.patch(
            f"/uploads/{uid}",
            content=rest,
            headers={**patch_headers(4000), "Upload-Checksum": "crc32 AAAA"},
        )
    assert good.status_code == 204
    assert bad.status_code == 460
    assert unknown.status_code == 400
    assert offset_of(service, token, uid) == 4000
    assert Path(service.data, "uploads", uid).read_bytes() == first
    r = service.patch(token, uid, 4000, rest)  # without a checksum: taken as sent
    assert r.status_code == 204
    assert Path(service.data, "uploads", uid).read_bytes() == body


def test_a_plain_post_uploads_a_small_file(service: Service) -> None:
    token = service.tenant("poster")
    body = b"id,name\n1,Ann\n2,Bo\n"
    with service.client(token) as c:
        r = c.post("/files", params={"filename": "people.csv"}, content=body)
    assert r.status_code == 201, r.text
    uid = r.json()["upload"]
    assert r.json()["size"] == len(body)
    job = service.start_import(token, upload=uid, table="people")
    assert service.wait(token, job)["state"] == "done"
    assert table_rows(service.db, "poster", "SELECT count(*) FROM people") == [(2,)]


def test_a_plain_post_over_the_limit_leaves_nothing(service: Service) -> None:
    token = service.tenant("bigposter", "--max-upload-size", "100B")
    before = set(Path(service.data, "uploads").iterdir())
    with service.client(token) as c:
        declared = c.post("/files", content=b"x" * 101)

        def chunks():  # no length declared: refused once the 101st byte arrives
            yield b"x" * 60
            yield b"x" * 60

        streamed = c.post("/files", content=chunks())
    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert set(Path(service.data, "uploads").iterdir()) == before


def test_a_preview_shows_first_rows_and_types(service: Service) -> None:
    token = service.tenant("viewer")
    body = b"id,zip,price,when\n1,00123,1.50,2024-01-02\n2,04567,2.25,2024-01-03\n"
    uid = service.upload(token, body, "prices.csv")
    with service.client(token) as c:
        r = c.get(f"/uploads/{uid}/preview", params={"rows": 1})
        too_many = c.get(f"/uploads/{uid}/preview", params={"rows": 100_000})
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["format"] == "csv"
    assert shown["columns"] == [
        {"name": "id", "type": "bigint"},
        {"name": "zip", "type": "text"},
        {"name": "price", "type": "numeric(38,2)"},
        {"name": "when", "type": "date"},
    ]
    assert shown["rows"] == [{"id": "1", "zip": "00123", "price": "1.50", "when": "2024-01-02"}]
    assert too_many.status_code == 422


def test_an_import_mapped_onto_an_existing_table(service: Service) -> None:
    token = service.tenant("mapper")
    first = service.upload(token, b"id,name\n1,Ann\n", "people.csv")
    service.wait(token, service.start_import(token, upload=first, table="people"))
    with service.client(token) as c:
        described = c.get("/tables/people").json()
        missing = c.get("/tables/nobody")
    assert described["columns"] == [
        {"name": "id", "type": "bigint"},
        {"name": "name", "type": "text"},
    ]
    assert missing.status_code == 404
    second = service.upload(token, b"Person,Nr,Note\nBo,2,x\nCy,3,y\n", "other.csv")
    job = service.start_import(
        token, upload=second, table="people", rename={"Person": "name", "Nr": "id"},
        skip=["Note"],
    )  # fmt: skip
    view = service.wait(token, job)
    assert view["state"] == "done", view
    assert view["rename"] == {"Person": "name", "Nr": "id"}
    got = table_rows(service.db, "mapper", "SELECT id, name FROM people ORDER BY id")
    assert got == [(1, "Ann"), (2, "Bo"), (3, "Cy")]
    with service.client(token) as c:
        bad = c.post("/imports", json={"upload": second, "table": "people",
                                       "rename": {"Nobody": "x"}})  # fmt: skip
    assert bad.status_code == 422
    assert "no column 'Nobody'" in bad.text


def test_dataset_imports_with_log_and_diff(service: Service) -> None:
    token = service.tenant("versioner")
    v1 = service.upload(token, b"id,v\n1,a\n2,b\n", "orders.csv")
    v2 = service.upload(token, b"id,v\n1,a\n2,c\n3,d\n", "orders.csv")
    for uid, message in ((v1, "first"), (v2, "second")):
        job = service.start_import(token, upload=uid, dataset="orders", key=["id"],
                                   message=message)  # fmt: skip
        view = service.wait(token, job)
        assert view["state"] == "done", view
    assert view["report"]["dataset"]["changed"] == 1
    with service.client(token) as c:
        log = c.get("/datasets/orders/log").json()
        diff = c.get("/datasets/orders/diff", params={"a": "main~1", "b": "main"}).json()
        unknown = c.get("/datasets/nothing/log")
    assert [entry["message"] for entry in log] == ["second", "first"]
    assert diff["stat"]["added"] == 1 and diff["stat"]["changed"] == 1
    assert {"change": "added", "row": {"id": 3, "v": "d"}} in diff["changes"]
    assert unknown.status_code == 404
    assert table_rows(service.db, "versioner", "SELECT id, v FROM orders ORDER BY id") == [
        (1, "a"), (2, "c"), (3, "d"),
    ]  # fmt: skip


def test_the_page_and_its_files_are_served(service: Service) -> None:
    page = httpx.get(service.url + "/")
    assert page.status_code == 200 and "uppy.min.js" in page.text
    assert httpx.get(service.url + "/static/uppy.min.js").status_code == 200


def test_expired_uploads_are_deleted_unless_a_job_reads_them(service: Service) -> None:
    from chute.service.jobs import create_job, take_job
    from chute.service.state import SCHEMA, ServiceDb
    from chute.service.tenants import tenant_of
    from chute.service.upload_store import expire_uploads

    token = service.tenant("expirer")
    db = ServiceDb(service.db)
    tenant = tenant_of(db, token)
    assert tenant is not None
    old, busy, fresh = (service.upload(token, b"a,b\n1,2\n") for _ in range(3))
    past = "Mon, 01 Jan 2024 00:00:00 GMT"
    for uid in (old, busy):
        db.run(
            f"UPDATE {SCHEMA}.uploads "
            "SET info = jsonb_set(info, '{expires}', to_jsonb(%s::text)) WHERE id = %s",
            (past, uid),
        )
    job = create_job(db, tenant.id, busy, {"table": "t", "into": tenant.sink_url}, 8)
    assert take_job(db, job) is not None  # running: its upload stays
    gone = expire_uploads(db)
    assert old in gone and busy not in gone and fresh not in gone
    assert not Path(service.data, "uploads", old).exists()
    assert Path(service.data, "uploads", busy).exists()
    with service.client(token) as c:
        assert c.head(f"/uploads/{old}", headers=TUS).status_code == 404
        assert c.head(f"/uploads/{busy}", headers=TUS).status_code == 410  # expired, kept
    db.run(f"UPDATE {SCHEMA}.jobs SET state = 'done' WHERE id = %s", (job,))


def test_a_legacy_encoding_is_found_and_used(service: Service) -> None:
    token = service.tenant("legacy")
    body = "id,name\n1,Müller\n2,Søren\n".encode("cp1252")
    uid = service.upload(token, body, "names.csv")
    with service.client(token) as c:
        shown = c.get(f"/uploads/{uid}/preview").json()
    assert shown["encoding"] == "cp1252"
    assert [r["name"] for r in shown["rows"]] == ["Müller", "Søren"]
    view = service.wait(token, service.start_import(token, upload=uid, table="names"))
    assert view["state"] == "done" and view["report"]["rejected"] == 0
    assert view["options"]["encoding"] == "cp1252"
    got = table_rows(service.db, "legacy", "SELECT name FROM names ORDER BY id")
    assert got == [("Müller",), ("Søren",)]


def test_creation_with_upload_termination_and_another_token(service: Service) -> None:
    import subprocess
    import sys

    token = service.tenant("termin")
    body = b"id,v\n1,a\n"
    with service.client(token) as c:  # the first bytes in the creating POST
        r = c.post("/uploads", content=body[:4], headers={
            **TUS, "Upload-Length": str(len(body)),
            "Content-Type": "application/offset+octet-stream"})  # fmt: skip
    assert r.status_code == 201, r.text
    uid = r.headers["location"].rsplit("/", 1)[1]
    assert offset_of(service, token, uid) == 4
    assert service.patch(token, uid, 4, body[4:]).status_code == 204
    # a second token of the same tenant sees the same upload, and can delete it
    second = subprocess.run(
        [sys.executable, "-m", "chute", "tenant", "token", "termin"],
        env=service.env, capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    assert second.startswith("chute_") and second != token
    with service.client(second) as c:
        assert c.get(f"/uploads/{uid}/preview").json()["rows"] == [{"id": "1", "v": "a"}]
        assert c.delete(f"/uploads/{uid}", headers=TUS).status_code == 204
        assert c.head(f"/uploads/{uid}", headers=TUS).status_code == 404
    assert not Path(service.data, "uploads", uid).exists()
    missing = subprocess.run(
        [sys.executable, "-m", "chute", "tenant", "token", "nobody_here"],
        env=service.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 2 and "no tenant 'nobody_here'" in missing.stderr


def test_an_excel_upload_is_imported(service: Service, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "name", "price"])
    sheet.append([1, "Ann", 1.5])
    sheet.append([2, "Bo", 2.25])
    path = tmp_path / "prices.xlsx"
    book.save(path)
    token = service.tenant("excel")
    uid = service.upload(token, path.read_bytes(), "prices.xlsx")
    with service.client(token) as c:
        shown = c.get(f"/uploads/{uid}/preview").json()
        other = service.tenant("excel2")
        with service.client(other) as o:
            assert o.get(f"/uploads/{uid}/preview").status_code == 404
    assert shown["format"] == "xlsx"
    view = service.wait(token, service.start_import(token, upload=uid, table="prices"))
    assert view["state"] == "done", view
    got = table_rows(service.db, "excel", "SELECT id, name, price FROM prices ORDER BY id")
    assert [(i, n, float(p)) for i, n, p in got] == [(1, "Ann", 1.5), (2, "Bo", 2.25)]
