"""What every route of the service shares (the database, the data folder, the job queue)
and the dependencies that authenticate a request and find the tenant's own objects.

A tenant's token opens only its own uploads and jobs: an id of another tenant's answers
404, exactly as an id that does not exist.
"""

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import procrastinate
from fastapi import Depends, HTTPException, Request

from chute.service import jobs
from chute.service.state import SCHEMA, ServiceDb
from chute.service.tenants import Tenant, tenant_of
from chute.service.upload_store import (
    CURRENT_TENANT,
    EXPECTED_CHECKSUM,
    UPLOAD_LIMIT,
    UploadStore,
    parse_checksum,
)
from chute.sinks.names import check_table_name

#: the most bytes a tus creation may carry (creation-with-upload): tuspyserver reads them
#: into memory; the rest of an upload goes by PATCH, streamed to disk
CREATION_BODY = 4 << 20


@dataclass
class ServiceContext:
    db: ServiceDb
    folder: Path
    store: UploadStore
    queue: procrastinate.App
    max_upload_size: int

    def limit_for(self, tenant: Tenant) -> int:
        """The largest upload ``tenant`` may make: its own limit within the service's."""
        return min(self.max_upload_size, tenant.max_upload_size or self.max_upload_size)


def tenant_table(name: str) -> str:
    """A table or dataset name a tenant may use: chute's rules, and never a name of the
    database's own catalogue (``pg_*``; the tenant's role could not write there anyway)."""
    check_table_name(name)
    if name.lower().startswith(("pg_", "sqlite_")) or name.lower() == "information_schema":
        raise HTTPException(422, f"{name!r} is a name of the database's own catalogue")
    return name


def context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.chute
    return ctx


Ctx = Annotated[ServiceContext, Depends(context)]


async def tenant(request: Request, ctx: Ctx) -> Tenant:
    """The tenant whose token the request carries (401 without a valid one)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    found = None
    if scheme.lower() == "bearer" and token.strip():
        found = await asyncio.to_thread(tenant_of, ctx.db, token.strip())
    if found is None:
        raise HTTPException(
            401, "a valid API token is needed", headers={"WWW-Authenticate": "Bearer"}
        )
    CURRENT_TENANT.set(found.id)
    return found


Authed = Annotated[Tenant, Depends(tenant)]


async def the_upload(upload: str, who: Authed, ctx: Ctx) -> dict[str, Any]:
    """Upload ``upload`` of the tenant (404 if it is not one of its own)."""
    row = await asyncio.to_thread(
        ctx.db.one,
        f"SELECT id, path, size, info FROM {SCHEMA}.uploads WHERE id = %s AND tenant_id = %s",
        (upload, who.id),
    )
    if row is None:
        raise HTTPException(404, "no such upload")
    return row


Upload = Annotated[dict[str, Any], Depends(the_upload)]


def complete(upload: dict[str, Any]) -> None:
    """409 unless every byte of ``upload`` has arrived."""
    info = upload["info"] or {}
    if info.get("size") is None or int(info["size"]) != int(upload["size"]):
        raise HTTPException(409, "the upload is not complete: finish it first")


def file_name(upload: dict[str, Any]) -> str:
    return str(((upload["info"] or {}).get("metadata") or {}).get("filename", ""))


async def the_job(job: int, who: Authed, ctx: Ctx) -> dict[str, Any]:
    """Import job ``job`` of the tenant (404 if it is not one of its own)."""
    row = await asyncio.to_thread(jobs.get_job, ctx.db, who.id, job)
    if row is None:
        raise HTTPException(404, "no such import")
    return row


Job = Annotated[dict[str, Any], Depends(the_job)]


async def upload_access(request: Request, who: Authed, ctx: Ctx) -> None:
    """The tus routes: the upload must be the tenant's; a declared length over the limit
    is refused before the body is read (413)."""
    uid = request.path_params.get("uuid")
    if uid is not None:
        await the_upload(uid, who, ctx)  # 404 unless it is the tenant's
    limit = ctx.limit_for(who)
    UPLOAD_LIMIT.set(limit)  # checked as a PATCH's bytes arrive (a deferred length too)
    checksum = request.headers.get("upload-checksum")
    if checksum is not None and request.method == "PATCH":
        EXPECTED_CHECKSUM.set(parse_checksum(checksum))
    if request.method == "POST":
        _check_creation(request, limit)


def _check_creation(request: Request, limit: int) -> None:
    """A tus creation: its declared length within the limit (413 before the body is read);
    bytes sent with it (creation-with-upload, which tuspyserver reads whole) at most
    :data:`CREATION_BODY` and no more than the upload's length."""
    headers = request.headers
    if "upload-concat" in headers:
        raise HTTPException(400, "tus concatenation is not offered by this service")
    declared = _number(headers.get("upload-length"), "Upload-Length")
    body = _number(headers.get("content-length"), "Content-Length")
    if declared is not None and declared > limit:
        raise HTTPException(413, f"the upload is larger than the limit ({limit} bytes)")
    if body is None:
        if "transfer-encoding" in headers:
            raise HTTPException(411, "send the first bytes with a Content-Length, or by PATCH")
        return
    if declared is not None and body > declared:
        raise HTTPException(400, "the request's body is longer than its Upload-Length")
    if body > min(limit, CREATION_BODY):
        raise HTTPException(
            413, f"send at most {CREATION_BODY} bytes with the creation; the rest by PATCH"
        )


def _number(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise HTTPException(400, f"{name} must be a whole number of bytes")
    return int(value)
