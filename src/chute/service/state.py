"""The service's own state in PostgreSQL: tenants, tokens, uploads and import jobs.

Everything lives in schema ``chute_service`` of the service database (procrastinate's
job tables too), so several ``chute serve`` and ``chute worker`` processes on several
machines share it.  A tenant's tables go to a schema of its own in the same database
(``tenant_<name>``), or to a database of its own (``chute tenant create --sink URL``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.rows import dict_row

from chute.errors import ConfigError, SinkUnavailableError
from chute.urls import with_param

SCHEMA = "chute_service"

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.tenants (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    sink_url text,
    max_upload_size bigint,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.tokens (
    digest text PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES {SCHEMA}.tenants ON DELETE CASCADE,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.uploads (
    id text PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES {SCHEMA}.tenants ON DELETE CASCADE,
    path text NOT NULL,
    size bigint NOT NULL DEFAULT 0,
    info jsonb,
    lock_token text,
    locked_until timestamptz,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.jobs (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES {SCHEMA}.tenants ON DELETE CASCADE,
    upload_id text NOT NULL,
    spec jsonb NOT NULL,
    state text NOT NULL DEFAULT 'queued',
    lease bigint NOT NULL DEFAULT 0,
    -- the job's name in the sink's lease table (chute.service.leases)
    key text NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text),
    cancel boolean NOT NULL DEFAULT false,
    bytes_total bigint,
    bytes_done bigint NOT NULL DEFAULT 0,
    rows_done bigint NOT NULL DEFAULT 0,
    report jsonb,
    error text,
    created timestamptz NOT NULL DEFAULT now(),
    started timestamptz,
    finished timestamptz
);
CREATE INDEX IF NOT EXISTS jobs_tenant ON {SCHEMA}.jobs (tenant_id, id);
-- columns added after the first release of these tables
ALTER TABLE {SCHEMA}.uploads ADD COLUMN IF NOT EXISTS lock_token text;
ALTER TABLE {SCHEMA}.uploads ADD COLUMN IF NOT EXISTS locked_until timestamptz;
ALTER TABLE {SCHEMA}.jobs ADD COLUMN IF NOT EXISTS
    key text NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text);
"""

#: a tenant's name: it names its schema, so a plain identifier
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def check_tenant_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"tenant name {name!r} is not allowed",
            hint="use 1-40 lower-case letters, digits and _, starting with a letter",
        )
    return name


def tenant_schema(name: str) -> str:
    return f"tenant_{check_tenant_name(name)}"


def tenant_role(name: str) -> str:
    return f"chute_tenant_{check_tenant_name(name)}"


def tenant_sink_url(db_url: str, name: str) -> str:
    """The default sink of tenant ``name``: its own schema of the service database, used
    as its own role (no superuser, no rights outside that schema: a table name such as
    ``pg_authid`` cannot reach the catalogue)."""
    options = f"-csearch_path={tenant_schema(name)} -crole={tenant_role(name)}"
    return with_param(db_url, "options", quote(options, safe=""))


class ServiceDb:
    """Connections to the service database (``db_url``, a ``postgresql://`` URL); with
    ``pool`` (the most connections at once), through a pool kept open (``chute serve`` and
    ``chute worker``: a new connection costs more than most of their queries)."""

    def __init__(self, db_url: str, *, pool: int = 0) -> None:
        if not db_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                f"the service keeps its state in PostgreSQL, not {db_url.split(':', 1)[0]}",
                hint="pass --db postgresql://...",
            )
        self.url = db_url
        self._pool: Any = None
        if pool:
            from psycopg_pool import ConnectionPool

            self._pool = ConnectionPool(
                db_url,
                min_size=1,
                max_size=pool,
                kwargs={"row_factory": dict_row, "connect_timeout": 10},
                open=True,
                name="chute-service",
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """A connection, committed when the block ends without an error (rolled back
        otherwise)."""
        if self._pool is not None:
            from psycopg_pool import PoolTimeout

            try:
                with self._pool.connection(timeout=10) as conn:
                    yield conn
            except PoolTimeout as exc:
                raise _unavailable(exc) from exc
            return
        try:
            conn = psycopg.connect(self.url, row_factory=dict_row, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from exc
        with conn:
            yield conn

    def setup(self) -> None:
        """Make the service's tables (idempotent; concurrent callers wait for each other)."""
        with self.connect() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('chute_service setup'))")
            conn.execute(_DDL)

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchone()

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Execute ``sql``; the number of rows it touched."""
        with self.connect() as conn:
            return conn.execute(sql, params).rowcount


def _unavailable(exc: Exception) -> SinkUnavailableError:
    return SinkUnavailableError(
        f"cannot connect to the service database: {str(exc).strip().splitlines()[0]}",
        hint="is PostgreSQL running, and is --db right?",
    )
