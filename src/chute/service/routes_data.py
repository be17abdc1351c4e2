"""What a tenant looks at before and after an import: an upload's first rows with the types
chute would give them, a table's columns (to map an upload onto), and a dataset's log and
diffs."""

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from chute.datasets.dataset import dataset
from chute.datasets.store import DatasetError
from chute.errors import ChuteError
from chute.preview import DEFAULT_ROWS, MAX_ROWS, preview
from chute.service.context import Authed, Upload, complete, file_name, tenant_table
from chute.service.sniff import UNKNOWN_FORMAT, sniff
from chute.sinks import open_sink
from chute.urls import redact

router = APIRouter()

#: changed rows a diff shows at most
DIFF_LIMIT = 1000


@router.get("/uploads/{upload}/preview", tags=["uploads"])
async def upload_preview(
    upload: Upload,
    who: Authed,
    rows: Annotated[int, Query(ge=1, le=MAX_ROWS)] = DEFAULT_ROWS,
    sheet: str | None = None,
    encoding: str | None = None,
) -> dict[str, Any]:
    """The first rows of a finished upload and the type each column would get."""
    complete(upload)
    path = Path(upload["path"])
    found = await asyncio.to_thread(sniff, path, file_name(upload))
    if found is None:
        raise HTTPException(415, UNKNOWN_FORMAT)
    try:
        shown = await asyncio.to_thread(
            preview, path, into=who.sink_url, rows=rows, format=found.format, sheet=sheet,
            encoding=encoding or found.encoding or "utf-8",
        )  # fmt: skip
    except ChuteError as exc:
        shown_as = file_name(upload) or "the upload"
        raise HTTPException(422, str(exc).replace(str(path), shown_as)) from None
    return {"format": found.format, "encoding": found.encoding, **shown.to_dict()}


def _describe(url: str, table: str) -> list[dict[str, str]] | None:
    sink = open_sink(url, connect_timeout=10)
    sink.connect()
    try:
        found = sink.describe(table)
    finally:
        sink.close()
    if found is None:
        return None
    return [{"name": c.name, "type": c.declared} for c in found if not c.generated]


@router.get("/tables/{table}", tags=["tables"])
async def table_columns(table: str, who: Authed) -> dict[str, Any]:
    """The columns of one of the tenant's tables (to map an upload onto)."""
    columns = await asyncio.to_thread(_describe, who.sink_url, tenant_table(table))
    if columns is None:
        raise HTTPException(404, "no such table")
    return {"table": table, "columns": columns}


def _log(url: str, name: str, limit: int) -> list[dict[str, Any]]:
    with dataset(url, name) as ds:
        return ds.log(limit=limit)


def _diff(url: str, name: str, a: str, b: str, limit: int) -> dict[str, Any]:
    with dataset(url, name) as ds:
        changes = ds.diff(a, b)
        records = changes.records()
        shown = records[:limit]
        return {"stat": changes.stat(), "changes": shown, "truncated": len(records) > limit}


def _private(text: str, url: str) -> str:
    """``text`` without the tenant's database URL (the service's host and user)."""
    return text.replace(url, "your database").replace(redact(url), "your database")


@router.get("/datasets/{name}/log", tags=["datasets"])
async def dataset_log(
    name: str, who: Authed, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    try:
        return await asyncio.to_thread(_log, who.sink_url, tenant_table(name), limit)
    except DatasetError as exc:
        raise HTTPException(404, _private(str(exc), who.sink_url)) from None


@router.get("/datasets/{name}/diff", tags=["datasets"])
async def dataset_diff(
    name: str,
    a: str,
    b: str,
    who: Authed,
    limit: Annotated[int, Query(ge=1, le=DIFF_LIMIT)] = 100,
) -> dict[str, Any]:
    """The rows that differ between revisions ``a`` and ``b`` (at most ``limit`` of them,
    with the counts of all)."""
    try:
        return await asyncio.to_thread(_diff, who.sink_url, tenant_table(name), a, b, limit)
    except DatasetError as exc:
        raise HTTPException(404, _private(str(exc), who.sink_url)) from None
