"""``/imports``: an upload made into an import job, its progress, report and rejects."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from chute.config import parse_mode
from chute.engine.mapping import ColumnMap, parse_types
from chute.preview import preview
from chute.service import jobs
from chute.service.context import Authed, Ctx, Job, complete, file_name, tenant_table, the_upload
from chute.service.sniff import UNKNOWN_FORMAT, sniff
from chute.service.tenants import Tenant
from chute.service.worker import TASK, rejects_path

router = APIRouter(prefix="/imports", tags=["imports"])

#: how often the events stream looks at a job (seconds)
EVENT_POLL = 0.5


class ImportRequest(BaseModel):
    """An upload into a table or a dataset, with ``chute load``'s options."""

    upload: str
    table: str | None = None
    dataset: str | None = None
    mode: str | None = None
    key: list[str] | None = None
    branch: str | None = None
    message: str | None = None
    #: input column -> table column; input columns left out; a new table's column types
    rename: dict[str, str] = Field(default_factory=dict)
    skip: list[str] = Field(default_factory=list)
    types: dict[str, str] = Field(default_factory=dict)
    options: "ImportOptions" = Field(default_factory=lambda: ImportOptions())


class ImportOptions(BaseModel):
    """``chute load``'s options an import may set (others are refused: 422)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "tsv", "jsonl", "json", "xlsx", "parquet"] | None = None
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    quote: str | None = Field(default=None, max_length=1)
    encoding: str | None = Field(default=None, max_length=40)
    header: bool | None = None
    sheet: str | int | None = None
    max_errors: int | None = Field(default=None, ge=0)
    add_columns: bool | None = None
    atomic: bool | None = None
    batch_rows: int | None = Field(default=None, ge=1, le=10_000_000)


class Created(BaseModel):
    id: int


@router.post("", status_code=201)
async def create_import(body: ImportRequest, who: Authed, ctx: Ctx) -> Created:
    spec = _spec_of(body, who)
    upload = await the_upload(body.upload, who, ctx)
    complete(upload)
    path = Path(upload["path"])
    found = await asyncio.to_thread(sniff, path, file_name(upload))
    if found is None:
        raise HTTPException(415, UNKNOWN_FORMAT)
    spec["options"].setdefault("format", found.format)
    if found.encoding is not None:
        spec["options"].setdefault("encoding", found.encoding)
    if body.rename or body.skip:  # checked against the file's columns now, not in the job
        seen = await asyncio.to_thread(_columns_of, path, spec["options"])
        ColumnMap(body.rename, frozenset(body.skip)).check(seen)
    job = await asyncio.to_thread(
        jobs.create_job, ctx.db, who.id, body.upload, spec, int(upload["size"])
    )
    await ctx.queue.configure_task(TASK).defer_async(job=job)
    return Created(id=job)


def _columns_of(path: Path, options: dict[str, Any]) -> list[str]:
    keep = ("format", "delimiter", "encoding", "header", "sheet")
    return preview(path, rows=1, **{k: v for k, v in options.items() if k in keep}).columns


@router.get("")
async def list_imports(who: Authed, ctx: Ctx) -> list[dict[str, Any]]:
    rows = await asyncio.to_thread(jobs.list_jobs, ctx.db, who.id)
    return [jobs.job_view(r) for r in rows]


@router.get("/{job}")
async def get_import(row: Job) -> dict[str, Any]:
    return jobs.job_view(row)


@router.delete("/{job}")
async def cancel_import(row: Job, who: Authed, ctx: Ctx) -> dict[str, Any]:
    await asyncio.to_thread(jobs.cancel_job, ctx.db, who.id, row["id"])
    again = await asyncio.to_thread(jobs.get_job, ctx.db, who.id, row["id"])
    assert again is not None
    return jobs.job_view(again)


@router.get("/{job}/rejects")
async def rejects(row: Job, ctx: Ctx) -> Response:
    path = rejects_path(ctx.folder, row["id"])
    if not path.exists():
        return Response(b"", media_type="application/x-ndjson")
    return FileResponse(path, media_type="application/x-ndjson", filename=path.name)


@router.get("/{job}/events")
async def events(row: Job, who: Authed, ctx: Ctx) -> EventSourceResponse:
    """Server-Sent Events: ``progress`` whenever the job changes, ``end`` once finished."""

    async def stream() -> AsyncIterator[dict[str, str]]:
        last = None
        while True:
            current = await asyncio.to_thread(jobs.get_job, ctx.db, who.id, row["id"])
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


def _spec_of(body: ImportRequest, who: Tenant) -> dict[str, Any]:
    """A job's spec from the request, checked as ``chute load`` checks its options (a
    ChuteError is a 422 with the reason)."""
    if (body.table is None) == (body.dataset is None):
        raise HTTPException(422, "give one of table and dataset")
    parse_types(body.types)
    options = body.options.model_dump(exclude_none=True)
    spec: dict[str, Any] = {"into": who.sink_url, "options": options}
    if body.table is not None:
        spec["table"] = tenant_table(body.table)
    else:
        spec["dataset"] = tenant_table(body.dataset or "")
        spec["branch"] = body.branch or "main"
        spec["message"] = body.message or ""
    if body.mode is not None:
        spec["mode"] = parse_mode(body.mode).value
    if body.key:
        spec["key"] = list(body.key)
    if body.rename:
        spec["rename"] = body.rename
    if body.skip:
        spec["skip"] = body.skip
    if body.types:
        spec["types"] = body.types
    return spec


ImportRequest.model_rebuild()
