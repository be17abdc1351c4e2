"""Tenants and their API tokens.

A token is shown once, when it is made, and stored only as its SHA-256 digest: a copy of
the service database gives no one a way in.  A tenant's imports go to its own schema of
the service database unless it was given a sink URL of its own.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import psycopg

from chute.errors import ConfigError
from chute.service import leases
from chute.service.state import (
    SCHEMA,
    ServiceDb,
    check_tenant_name,
    tenant_role,
    tenant_schema,
    tenant_sink_url,
)

#: a token's visible prefix, so that one found in a log or a repository is recognised
TOKEN_PREFIX = "chute_"


@dataclass(frozen=True)
class Tenant:
    id: int
    name: str
    sink_url: str
    max_upload_size: int | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_tenant(
    db: ServiceDb, name: str, *, sink_url: str | None = None, max_upload_size: int | None = None
) -> str:
    """Make tenant ``name``; its imports go to ``sink_url`` (a SQL database), by default
    to a schema of its own in the service database (made here); its first token."""
    check_tenant_name(name)
    if sink_url is not None:
        leases.check_sink(sink_url)
    db.setup()
    with db.connect() as conn:
        try:
            row = conn.execute(
                f"INSERT INTO {SCHEMA}.tenants (name, sink_url, max_upload_size) "
                "VALUES (%s, %s, %s) RETURNING id",
                (name, sink_url, max_upload_size),
            ).fetchone()
        except psycopg.errors.UniqueViolation:
            raise ConfigError(
                f"tenant {name!r} exists already",
                hint=f"chute tenant token {name} makes it another token",
            ) from None
        assert row is not None
        if sink_url is None:  # a schema of its own, owned by a role of its own
            role = tenant_role(name)
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE ROLE "{role}" NOLOGIN')
            conn.execute(f'GRANT "{role}" TO CURRENT_USER')  # so that the service may SET ROLE
            conn.execute(
                f'CREATE SCHEMA IF NOT EXISTS "{tenant_schema(name)}" AUTHORIZATION "{role}"'
            )
    return new_token(db, name)


def new_token(db: ServiceDb, name: str) -> str:
    """Another token for tenant ``name``."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.setup()
    row = db.one(
        f"INSERT INTO {SCHEMA}.tokens (digest, tenant_id) "
        f"SELECT %s, id FROM {SCHEMA}.tenants WHERE name = %s RETURNING tenant_id",
        (digest(token), name),
    )
    if row is None:
        raise ConfigError(f"no tenant {name!r}", hint="chute tenant create NAME makes one")
    return token


def tenant_of(db: ServiceDb, token: str) -> Tenant | None:
    """The tenant whose token ``token`` is (None: no such token)."""
    row = db.one(
        f"SELECT t.id, t.name, t.sink_url, t.max_upload_size FROM {SCHEMA}.tokens k "
        f"JOIN {SCHEMA}.tenants t ON t.id = k.tenant_id WHERE k.digest = %s",
        (digest(token),),
    )
    if row is None:
        return None
    return Tenant(
        id=row["id"],
        name=row["name"],
        sink_url=row["sink_url"] or tenant_sink_url(db.url, row["name"]),
        max_upload_size=row["max_upload_size"],
    )
