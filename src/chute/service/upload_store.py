"""Where tus uploads live: bytes in files under the service's data folder, offsets, upload
info and locks in the service database (:mod:`tuspyserver` speaks the protocol).

Several ``chute serve`` instances behind a load balancer share uploads with no sticky
sessions: the offset a client resumes from is the one in the database, and the lock on an
upload is a row there (whichever instance serves the request).  The data folder
must be one folder for all of them (a shared disk), as for the workers that read it.

A PATCH takes the upload's lock row (no connection held while its body arrives; the lock
lapses after 30 s unless renewed, so a dead instance does not keep it).  A PATCH body goes
to its file chunk by chunk as it arrives, never whole into memory.  The
offset is advanced in the database only after the bytes are flushed to disk; bytes beyond
the recorded offset (a PATCH cut off before it was recorded) are cut away before the next
PATCH appends, so the file always holds exactly the bytes the offset promises.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import hashlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any

from fastapi import HTTPException
from psycopg.types.json import Jsonb
from tuspyserver.lock import LockTimeoutError
from tuspyserver.storage import TusStorage

from chute.service.state import SCHEMA, ServiceDb

#: the tenant of the request being served (set by the service's authentication)
CURRENT_TENANT: contextvars.ContextVar[int] = contextvars.ContextVar("chute_tenant")
#: the checksum the PATCH being served declares (tus checksum extension): algorithm, digest
EXPECTED_CHECKSUM: contextvars.ContextVar[tuple[str, bytes] | None] = contextvars.ContextVar(
    "chute_checksum", default=None
)
#: the most bytes the upload being served may reach (the tenant's limit)
UPLOAD_LIMIT: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "chute_upload_limit", default=None
)
#: seconds an upload's lock lasts unless renewed (a request renews it as bytes arrive)
LOCK_LEASE = 30
#: seconds a request waits for an upload another request is writing, then 503
LOCK_WAIT = 5.0
#: tus checksum algorithms, by their names in ``Upload-Checksum``
CHECKSUMS = ("sha1", "md5", "sha256")
#: the status tus gives a PATCH whose body does not match its checksum
CHECKSUM_MISMATCH = 460


def parse_checksum(header: str) -> tuple[str, bytes]:
    """``Upload-Checksum: ALGORITHM BASE64`` (400 if malformed or unknown)."""
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise HTTPException(400, f"checksum algorithm {algorithm!r} is not one of {CHECKSUMS}")
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise HTTPException(400, "Upload-Checksum's digest is not base64") from None


class UploadStore(TusStorage):
    """tus uploads of all tenants: files in ``folder``, the rest in ``db``."""

    def __init__(self, db: ServiceDb, folder: Path) -> None:
        self.db = db
        self.folder = folder.resolve()
        self._open: dict[str, IO[bytes]] = {}
        self._hashing: dict[str, tuple[Any, bytes, int]] = {}  # hasher, digest, start
        self._locks: dict[str, tuple[str, float]] = {}  # token, when taken or renewed

    def location(self, uid: str) -> str:
        if not uid.isalnum():
            raise ValueError(f"not an upload id: {uid!r}")
        return str(self.folder / uid)

    # -- data ------------------------------------------------------------------------------

    async def create(self, uid: str) -> None:
        tenant = CURRENT_TENANT.get()

        def make() -> None:
            self.folder.mkdir(parents=True, exist_ok=True)
            Path(self.location(uid)).touch()
            self.db.run(
                f"INSERT INTO {SCHEMA}.uploads (id, tenant_id, path) VALUES (%s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING",
                (uid, tenant, self.location(uid)),
            )

        await asyncio.to_thread(make)

    async def exists(self, uid: str) -> bool:
        row = await asyncio.to_thread(
            self.db.one, f"SELECT 1 AS x FROM {SCHEMA}.uploads WHERE id = %s", (uid,)
        )
        return row is not None

    async def size(self, uid: str) -> int:
        row = await asyncio.to_thread(
            self.db.one, f"SELECT size FROM {SCHEMA}.uploads WHERE id = %s", (uid,)
        )
        return int(row["size"]) if row else 0

    async def append(self, uid: str, chunk: bytes) -> None:
        handle = self._open.get(uid)
        if handle is None:
            handle = await asyncio.to_thread(self._open_at_offset, uid)
            self._open[uid] = handle
            expected = EXPECTED_CHECKSUM.get()
            if expected is not None:
                algorithm, digest = expected
                self._hashing[uid] = (hashlib.new(algorithm), digest, handle.tell())
        limit = UPLOAD_LIMIT.get()
        if limit is not None and handle.tell() + len(chunk) > limit:
            raise HTTPException(413, f"the upload is larger than the limit ({limit} bytes)")
        hashing = self._hashing.get(uid)
        if hashing is not None:
            hashing[0].update(chunk)
        await asyncio.to_thread(handle.write, chunk)
        await self._renew(uid)

    def _open_at_offset(self, uid: str) -> IO[bytes]:
        """The upload's file, cut to the recorded offset, positioned at its end."""
        row = self.db.one(f"SELECT info FROM {SCHEMA}.uploads WHERE id = %s", (uid,))
        offset = int(((row or {}).get("info") or {}).get("offset") or 0)
        handle = open(self.location(uid), "r+b")  # noqa: SIM115 (closed by flush)
        handle.truncate(offset)
        handle.seek(offset)
        return handle

    async def flush(self, uid: str) -> None:
        handle = self._open.pop(uid, None)
        hashing = self._hashing.pop(uid, None)
        if handle is None:
            return
        if hashing is not None and hashing[0].digest() != hashing[1]:
            # the body is not what the client sent: none of it is kept (tus: 460)
            def discard() -> None:
                with handle:
                    handle.truncate(hashing[2])

            await asyncio.to_thread(discard)
            raise HTTPException(CHECKSUM_MISMATCH, "Checksum Mismatch: the chunk was discarded")

        def durable() -> None:
            with handle:
                handle.flush()
                os.fsync(handle.fileno())

        await asyncio.to_thread(durable)

    async def finalize(self, uid: str) -> None:
        return None

    async def read(self, uid: str) -> bytes | None:
        # tuspyserver reads whole uploads only to concatenate them, which this service
        # does not offer (an upload of GBs is never read into memory)
        return None

    async def delete(self, uid: str) -> None:
        def remove() -> None:
            self.db.run(f"DELETE FROM {SCHEMA}.uploads WHERE id = %s", (uid,))
            Path(self.location(uid)).unlink(missing_ok=True)

        handle = self._open.pop(uid, None)
        self._hashing.pop(uid, None)
        if handle is not None:
            handle.close()
        await asyncio.to_thread(remove)

    # -- info ------------------------------------------------------------------------------

    async def read_info(self, uid: str) -> dict[str, Any] | None:
        row = await asyncio.to_thread(
            self.db.one, f"SELECT info FROM {SCHEMA}.uploads WHERE id = %s", (uid,)
        )
        return None if row is None else row["info"]

    async def write_info(self, uid: str, data: dict[str, Any]) -> None:
        info = json.loads(json.dumps(data, default=str))
        # tus makes Upload-Metadata optional; tuspyserver's HEAD wants a file name and type:
        # an upload made without them (curl) gets neutral ones, so that it can be resumed
        metadata = info.setdefault("metadata", {})
        metadata.setdefault("filename", "upload")
        metadata.setdefault("filetype", "application/octet-stream")
        await asyncio.to_thread(
            self.db.run,
            f"UPDATE {SCHEMA}.uploads SET info = %s, size = %s WHERE id = %s",
            (Jsonb(info), int(info.get("offset") or 0), uid),
        )

    async def list_uids(self) -> list[str]:
        rows = await asyncio.to_thread(self.db.all, f"SELECT id FROM {SCHEMA}.uploads")
        return [r["id"] for r in rows]

    @asynccontextmanager
    async def lock(self, uid: str) -> AsyncIterator[None]:  # type: ignore[override]
        """The upload, for this request alone: a lock row in the database (any instance of
        the service honours it) that holds no connection while the body arrives, and
        lapses if the instance dies.  A request that cannot have it within
        :data:`LOCK_WAIT` seconds is answered 503 (tuspyserver's LockTimeoutError)."""
        token = secrets.token_hex(16)
        deadline = time.monotonic() + LOCK_WAIT
        while not await asyncio.to_thread(self._take_lock, uid, token):
            if time.monotonic() > deadline:
                raise LockTimeoutError(f"upload {uid} is being written by another request")
            await asyncio.sleep(0.1)
        self._locks[uid] = (token, time.monotonic())
        try:
            yield
        finally:
            self._locks.pop(uid, None)
            # a request that failed before flush (400, 413) leaves its handle: the bytes it
            # wrote past the recorded offset are cut away by the next request
            handle = self._open.pop(uid, None)
            self._hashing.pop(uid, None)
            if handle is not None:
                await asyncio.to_thread(handle.close)
            await asyncio.to_thread(
                self.db.run,
                f"UPDATE {SCHEMA}.uploads SET lock_token = NULL, locked_until = NULL "
                "WHERE id = %s AND lock_token = %s",
                (uid, token),
            )

    def _take_lock(self, uid: str, token: str) -> bool:
        return (
            self.db.run(
                f"UPDATE {SCHEMA}.uploads SET lock_token = %s, "
                "locked_until = now() + make_interval(secs => %s) WHERE id = %s AND "
                "(locked_until IS NULL OR locked_until < now())",
                (token, LOCK_LEASE, uid),
            )
            == 1
        )

    async def _renew(self, uid: str) -> None:
        """Keep the lock of a long request (renewed every third of its lease)."""
        held = self._locks.get(uid)
        if held is None or time.monotonic() - held[1] < LOCK_LEASE / 3:
            return
        token = held[0]
        renewed = await asyncio.to_thread(
            self.db.run,
            f"UPDATE {SCHEMA}.uploads SET locked_until = now() + make_interval(secs => %s) "
            "WHERE id = %s AND lock_token = %s",
            (LOCK_LEASE, uid, token),
        )
        if renewed != 1:  # lapsed and taken: this request's bytes are not kept
            raise HTTPException(409, "the upload was taken over by another request")
        self._locks[uid] = (token, time.monotonic())


def expire_uploads(db: ServiceDb, now: datetime | None = None) -> list[str]:
    """Delete the uploads whose tus expiry has passed (their files too), unless a job that
    is queued or running reads them; the ids deleted."""
    now = now or datetime.now(UTC)
    rows = db.all(
        f"SELECT u.id, u.path, u.info->>'expires' AS expires FROM {SCHEMA}.uploads u "
        "WHERE u.info->>'expires' IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
        f"{SCHEMA}.jobs j WHERE j.upload_id = u.id AND j.state IN ('queued', 'running'))"
    )
    gone = []
    for row in rows:
        try:
            expires = parsedate_to_datetime(row["expires"])
        except (TypeError, ValueError):
            continue
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        if expires < now:
            db.run(f"DELETE FROM {SCHEMA}.uploads WHERE id = %s", (row["id"],))
            Path(row["path"]).unlink(missing_ok=True)
            gone.append(row["id"])
    return gone
