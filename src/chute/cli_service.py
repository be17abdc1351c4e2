"""``chute serve``, ``chute worker`` and ``chute tenant``: the import service (the service
extra: ``pip install 'chute[service]'``)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from chute.cli_common import app, print_error
from chute.config import parse_size
from chute.errors import ChuteError, ConfigError
from chute.exits import exit_code

#: what the service needs beyond chute: the service extra
SERVICE_MODULES = frozenset(
    {"fastapi", "starlette", "uvicorn", "tuspyserver", "procrastinate", "sse_starlette",
     "prometheus_client", "psycopg_pool", "asgiref"}
)  # fmt: skip

ServiceDbUrl = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="CHUTE_SERVICE_DB",
        help="The service's PostgreSQL database (its state; tenants' schemas by default).",
    ),
]
DataDir = Annotated[
    Path,
    typer.Option(
        envvar="CHUTE_SERVICE_DATA",
        help="Folder of uploaded files and reject files (one folder shared by every "
        "serve and worker process).",
    ),
]
DEFAULT_DATA = Path("chute-data")

tenant_app = typer.Typer(help="Tenants of the import service and their API tokens.")
app.add_typer(tenant_app, name="tenant")


def _fail(exc: ChuteError) -> typer.Exit:
    print_error(str(exc), exc.hint)
    return typer.Exit(exit_code(exc))


def _missing_extra(exc: ModuleNotFoundError) -> typer.Exit:
    if (exc.name or "").split(".")[0] not in SERVICE_MODULES:
        raise exc
    print_error(
        f"the import service needs the service extra ({exc.name} is missing)",
        "pip install 'chute[service]'",
    )
    return typer.Exit(ConfigError.exit_code)


@app.command("serve")
def serve_command(
    db: ServiceDbUrl,
    data_dir: DataDir = DEFAULT_DATA,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    max_upload_size: Annotated[
        str, typer.Option(help="Largest upload taken (a size: 20GiB, 500MB).")
    ] = "20GiB",
) -> None:
    """Run the import service's HTTP API (uploads, imports, progress)."""
    try:
        import uvicorn

        from chute.service.app import create_app
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from None
    try:
        service = create_app(db, data_dir.resolve(), parse_size(max_upload_size))
    except ChuteError as exc:
        raise _fail(exc) from None
    uvicorn.run(service, host=host, port=port, log_level="info")


@app.command("worker")
def worker_command(
    db: ServiceDbUrl,
    data_dir: DataDir = DEFAULT_DATA,
    concurrency: Annotated[int, typer.Option(help="Jobs run at once.")] = 1,
) -> None:
    """Run import jobs (as many workers on as many machines as wanted)."""
    try:
        import asyncio

        from chute.service.state import ServiceDb
        from chute.service.worker import run_worker
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from None
    logging.basicConfig(
        level=os.environ.get("CHUTE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if concurrency < 1:
        raise _fail(ConfigError("--concurrency is at least 1"))
    try:
        service_db = ServiceDb(db, pool=concurrency + 2)
        try:
            asyncio.run(run_worker(service_db, data_dir.resolve(), concurrency))
        finally:
            service_db.close()
    except ChuteError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        pass


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Argument(help="The tenant's name (its schema: tenant_NAME).")],
    db: ServiceDbUrl,
    max_upload_size: Annotated[
        str | None, typer.Option(help="This tenant's largest upload (a size).")
    ] = None,
    sink: Annotated[
        str | None,
        typer.Option(
            help="The database this tenant's imports go to (a SQL database URL; default: "
            "schema tenant_NAME of the service database)."
        ),
    ] = None,
) -> None:
    """Make a tenant; print its first API token on stdout."""
    from chute.service.state import ServiceDb
    from chute.service.tenants import create_tenant

    try:
        limit = parse_size(max_upload_size) if max_upload_size is not None else None
        typer.echo(create_tenant(ServiceDb(db), name, sink_url=sink, max_upload_size=limit))
    except ChuteError as exc:
        raise _fail(exc) from None


@tenant_app.command("token")
def tenant_token(
    name: Annotated[str, typer.Argument(help="The tenant.")],
    db: ServiceDbUrl,
) -> None:
    """Make another API token for a tenant; print it on stdout."""
    from chute.service.state import ServiceDb
    from chute.service.tenants import new_token

    try:
        typer.echo(new_token(ServiceDb(db), name))
    except ChuteError as exc:
        raise _fail(exc) from None
