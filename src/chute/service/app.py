"""``chute serve``: the HTTP API of the import service (FastAPI).

Every endpoint but ``/healthz`` and ``/metrics`` takes ``Authorization: Bearer TOKEN``; the
token names a tenant, and a tenant sees only its own uploads and jobs: another tenant's ids
answer 404, as ids that do not exist.  Uploads speak tus 1.0 at ``/uploads``
(:mod:`chute.service.upload_store`); ``POST /imports`` makes an upload into an import job
that a ``chute worker`` runs (:mod:`chute.service.worker`).
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse
from tuspyserver import create_tus_router

from chute.config import parse_mode
from chute.errors import ChuteError
from chute.service import jobs
from chute.service.metrics import render_metrics
from chute.service.sniff import sniff
from chute.service.state import SCHEMA, ServiceDb
from chute.service.tenants import Tenant, tenant_of
from chute.service.upload_store import CURRENT_TENANT, UploadStore
from chute.service.worker import TASK, ensure_queue_schema, queue_app, rejects_path
from chute.sinks.names import check_table_name

DEFAULT_MAX_UPLOAD = 20 << 30
#: how often the events stream looks at a job (seconds)
EVENT_POLL = 0.5


class ImportRequest(BaseModel):
    """``POST /imports``: an upload into a table or a dataset."""

    upload: str
    table: str | None = None
    dataset: str | None = None
    mode: str | None = None
    key: list[str] | None = None
    branch: str | None = None
    message: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class Created(BaseModel):
    id: int


def create_app(db_url: str, folder: Path, max_upload_size: int = DEFAULT_MAX_UPLOAD) -> FastAPI:
    """The service's ASGI app: state in ``db_url``, uploaded files in ``folder``."""
    db = ServiceDb(db_url)
    store = UploadStore(db, folder / "uploads")
    queue = queue_app(db)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(ensure_queue_schema, db, queue)
        async with queue.open_async():
            yield

    app = FastAPI(title="chute import service", version="1", lifespan=lifespan)

    async def tenant(request: Request) -> Tenant:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        found = None
        if scheme.lower() == "bearer" and token.strip():
            found = await asyncio.to_thread(tenant_of, db, token.strip())
        if found is None:
            raise HTTPException(
                401, "a valid API token is needed", headers={"WWW-Authenticate": "Bearer"}
            )
        CURRENT_TENANT.set(found.id)
        return found

    Authed = Annotated[Tenant, Depends(tenant)]

    async def upload_access(request: Request, who: Authed) -> None:
        """The tus routes: the upload must be the tenant's; a declared length over the
        limit is refused before the body is read."""
        uid = request.path_params.get("uuid")
        if uid is not None and not await asyncio.to_thread(_owns_upload, db, who.id, uid):
            raise HTTPException(404, "no such upload")
        if request.method == "POST":
            limit = min(max_upload_size, who.max_upload_size or max_upload_size)
            declared = request.headers.get("upload-length") or request.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise HTTPException(413, f"the upload is larger than the limit ({limit} bytes)")

    app.include_router(
        create_tus_router(
            prefix="uploads",
            files_dir=str(store.folder),
            max_size=max_upload_size,
            storage=store,
            tags=["uploads"],
        ),
        # before any dependency of tuspyserver's routes: its PATCH reads the body in a
        # dependency listed ahead of its own ``auth``
        dependencies=[Depends(upload_access)],
    )

    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict[str, str]:
        await asyncio.to_thread(db.one, "SELECT 1 AS ok")
        return {"status": "ok"}

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        body, content_type = await asyncio.to_thread(render_metrics, db)
        return Response(body, media_type=content_type)

    @app.post("/imports", status_code=201, tags=["imports"])
    async def create_import(body: ImportRequest, who: Authed) -> Created:
        spec = _spec_of(body, who)
        upload = await asyncio.to_thread(
            db.one,
            f"SELECT path, size, info FROM {SCHEMA}.uploads WHERE id = %s AND tenant_id = %s",
            (body.upload, who.id),
        )
        if upload is None:
            raise HTTPException(404, "no such upload")
        info = upload["info"] or {}
        if info.get("size") is None or int(info["size"]) != int(upload["size"]):
            raise HTTPException(409, "the upload is not complete: finish it, then import it")
        name = str((info.get("metadata") or {}).get("filename", ""))
        found = await asyncio.to_thread(sniff, Path(upload["path"]), name)
        if found is None:
            raise HTTPException(
                415, "not a file chute imports (CSV, TSV, JSON Lines, JSON, .xlsx, .gz)"
            )
        spec["options"].setdefault("format", found)
        job = await asyncio.to_thread(
            jobs.create_job, db, who.id, body.upload, spec, int(upload["size"])
        )
        await queue.configure_task(TASK).defer_async(job=job)
        return Created(id=job)

    @app.get("/imports", tags=["imports"])
    async def list_imports(who: Authed) -> list[dict[str, Any]]:
        rows = await asyncio.to_thread(jobs.list_jobs, db, who.id)
        return [jobs.job_view(r) for r in rows]

    async def the_job(job: int, who: Authed) -> dict[str, Any]:
        row = await asyncio.to_thread(jobs.get_job, db, who.id, job)
        if row is None:
            raise HTTPException(404, "no such import")
        return row

    Job = Annotated[dict[str, Any], Depends(the_job)]

    @app.get("/imports/{job}", tags=["imports"])
    async def get_import(row: Job) -> dict[str, Any]:
        return jobs.job_view(row)

    @app.delete("/imports/{job}", tags=["imports"])
    async def cancel_import(row: Job, who: Authed) -> dict[str, Any]:
        await asyncio.to_thread(jobs.cancel_job, db, who.id, row["id"])
        again = await asyncio.to_thread(jobs.get_job, db, who.id, row["id"])
        assert again is not None
        return jobs.job_view(again)

    @app.get("/imports/{job}/rejects", tags=["imports"])
    async def rejects(row: Job) -> Response:
        path = rejects_path(folder, row["id"])
        if not path.exists():
            return Response(b"", media_type="application/x-ndjson")
        return FileResponse(path, media_type="application/x-ndjson", filename=path.name)

    @app.get("/imports/{job}/events", tags=["imports"])
    async def events(row: Job, who: Authed) -> EventSourceResponse:
        async def stream() -> AsyncIterator[dict[str, str]]:
            last = None
            while True:
                current = await asyncio.to_thread(jobs.get_job, db, who.id, row["id"])
                if current is None:
                    return
                view = jobs.job_view(current)
                text = json.dumps(view, default=str)
                if text != last:
                    yield {"event": "progress", "data": text}
                    last = text
                if view["state"] in jobs.FINISHED:
                    yield {"event": "end", "data": text}
                    return
                await asyncio.sleep(EVENT_POLL)

        return EventSourceResponse(stream())

    @app.exception_handler(ChuteError)
    async def chute_error(_: Request, exc: ChuteError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "hint": exc.hint}, status_code=422)

    return app


def _owns_upload(db: ServiceDb, tenant: int, uid: str) -> bool:
    row = db.one(
        f"SELECT 1 AS x FROM {SCHEMA}.uploads WHERE id = %s AND tenant_id = %s", (uid, tenant)
    )
    return row is not None


def _spec_of(body: ImportRequest, who: Tenant) -> dict[str, Any]:
    """A job's spec from the request, checked as ``chute load`` checks its options (a
    ChuteError is a 422 with the reason)."""
    if (body.table is None) == (body.dataset is None):
        raise HTTPException(422, "give one of table and dataset")
    if not who.own_schema:
        raise HTTPException(422, "this tenant's imports go to a database jobs cannot be fenced in")
    unknown = sorted(set(body.options) - set(jobs.LOAD_OPTIONS))
    if unknown:
        raise HTTPException(
            422, f"unknown options {unknown}: the options are {list(jobs.LOAD_OPTIONS)}"
        )
    spec: dict[str, Any] = {"into": who.sink_url, "options": dict(body.options)}
    if body.table is not None:
        spec["table"] = check_table_name(body.table)
    else:
        spec["dataset"] = check_table_name(body.dataset or "")
        spec["branch"] = body.branch or "main"
        spec["message"] = body.message or ""
    if body.mode is not None:
        spec["mode"] = parse_mode(body.mode).value
    if body.key:
        spec["key"] = list(body.key)
    return spec
