"""``POST /files``: a small file in one streaming request, for scripts that do not speak tus
(``curl --data-binary @orders.csv``).  The body goes to disk as it arrives; the upload is
recorded once every byte is there, so an upload cut off leaves nothing behind."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import IO, Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from psycopg.types.json import Jsonb
from pydantic import BaseModel
from tuspyserver.params import TusUploadParams

from chute.service.context import Authed, Ctx
from chute.service.state import SCHEMA

router = APIRouter(tags=["uploads"])

#: days an upload is kept (as tus uploads: their Upload-Expires)
UPLOAD_DAYS = 5


class PlainUpload(BaseModel):
    upload: str
    size: int


@router.post("/files", status_code=201)
async def plain_upload(
    request: Request,
    who: Authed,
    ctx: Ctx,
    filename: Annotated[str, Query(max_length=255)] = "upload",
) -> PlainUpload:
    """The request's body as a finished upload (for ``POST /imports``)."""
    limit = ctx.limit_for(who)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the upload is larger than the limit ({limit} bytes)")
    uid = uuid.uuid4().hex
    path = Path(ctx.store.location(uid))
    part = path.with_suffix(".part")
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    handle: IO[bytes] = await asyncio.to_thread(part.open, "wb")
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"the upload is larger than the limit ({limit} bytes)")
            await asyncio.to_thread(handle.write, chunk)
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(part.rename, path)
    except BaseException:
        handle.close()
        part.unlink(missing_ok=True)
        raise
    now = datetime.now(UTC)
    info = TusUploadParams(  # as tus uploads have it: HEAD, DELETE and expiry work alike
        metadata={"filename": filename, "filetype": "application/octet-stream"},
        size=size,
        offset=size,
        upload_part=1,
        created_at=str(now),
        expires=format_datetime(now + timedelta(days=UPLOAD_DAYS), usegmt=True),
    ).model_dump()
    await asyncio.to_thread(
        ctx.db.run,
        f"INSERT INTO {SCHEMA}.uploads (id, tenant_id, path, size, info) "
        "VALUES (%s, %s, %s, %s, %s)",
        (uid, who.id, str(path), size, Jsonb(info)),
    )
    return PlainUpload(upload=uid, size=size)
