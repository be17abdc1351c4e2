"""``chute serve``: the HTTP API of the import service (FastAPI), and its web page.

Every endpoint but ``/``, ``/static``, ``/healthz`` and ``/metrics`` takes
``Authorization: Bearer TOKEN``; the token names a tenant, and a tenant sees only its own
uploads, jobs, tables and datasets (:mod:`chute.service.context`).  Uploads speak tus 1.0
at ``/uploads`` (:mod:`chute.service.upload_store`); ``POST /imports`` makes an upload into
an import job that a ``chute worker`` runs (:mod:`chute.service.worker`).
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from tuspyserver import create_tus_router

from chute.errors import ChuteError, SinkUnavailableError
from chute.service import routes_data, routes_files, routes_imports
from chute.service.context import ServiceContext, upload_access
from chute.service.metrics import render_metrics
from chute.service.state import ServiceDb
from chute.service.upload_store import CHECKSUMS, UploadStore
from chute.service.worker import ensure_queue_schema, queue_app

DEFAULT_MAX_UPLOAD = 20 << 30
STATIC = Path(__file__).parent / "static"
#: the most connections to the service database one ``chute serve`` holds (an upload's
#: PATCH holds one for its lock while its body arrives)
POOL = 32


def create_app(db_url: str, folder: Path, max_upload_size: int = DEFAULT_MAX_UPLOAD) -> FastAPI:
    """The service's ASGI app: state in ``db_url``, uploaded files in ``folder``."""
    db = ServiceDb(db_url, pool=POOL)
    store = UploadStore(db, folder / "uploads")
    ctx = ServiceContext(db, folder, store, queue_app(db), max_upload_size)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(ensure_queue_schema, db, ctx.queue)
        try:
            async with ctx.queue.open_async():
                yield
        finally:
            db.close()

    app = FastAPI(title="chute import service", version="1", lifespan=lifespan)
    app.state.chute = ctx
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
    app.include_router(routes_imports.router)
    app.include_router(routes_data.router)
    app.include_router(routes_files.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def checksum_extension(request: Request, call_next: Any) -> Response:
        """tus OPTIONS: the checksum extension is offered too (:mod:`upload_store`), and
        concatenation is not (it would read whole uploads into memory)."""
        response: Response = await call_next(request)
        extensions = response.headers.get("tus-extension")
        if request.method == "OPTIONS" and extensions is not None:
            offered = [e for e in extensions.split(",") if e != "concatenation"]
            response.headers["Tus-Extension"] = ",".join([*offered, "checksum"])
            response.headers["Tus-Checksum-Algorithm"] = ",".join(CHECKSUMS)
        return response

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict[str, str]:
        await asyncio.to_thread(db.one, "SELECT 1 AS ok")
        return {"status": "ok"}

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        body, content_type = await asyncio.to_thread(render_metrics, db)
        return Response(body, media_type=content_type)

    @app.exception_handler(ChuteError)
    async def chute_error(_: Request, exc: ChuteError) -> JSONResponse:
        """A refused request (422), or the service database away or busy (503)."""
        if isinstance(exc, SinkUnavailableError):
            return JSONResponse({"detail": "the service's database is not answering"}, 503)
        return JSONResponse({"detail": str(exc), "hint": exc.hint}, status_code=422)

    return app
