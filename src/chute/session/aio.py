"""The writer session for asyncio: the same :class:`~chute.session.session.Session`, run on
one worker thread of its own, so the event loop never waits on the database and the sync
and async sessions share every line of the write path.

::

    async with chute.connect_async("postgresql://...") as db:
        async with db.transaction():
            counts = await db.write("transfers", events, mode="upsert", key="tx_hash")
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Self, TypeVar

from chute.config import DEFAULT_CONNECT_TIMEOUT
from chute.errors import SessionError
from chute.session.session import Session
from chute.session.tables import WriteResult
from chute.sinks.contract import Mode

T = TypeVar("T")


class AsyncSession:
    """A :class:`Session` for asyncio: ``await`` it (or ``async with`` it) to connect."""

    def __init__(self, url: str, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> None:
        self._url = url
        self._connect_timeout = connect_timeout
        # one thread: a transaction belongs to the thread that opened it
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="chute-session")
        self._session: Session | None = None

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(fn, *args, **kwargs))

    async def open(self) -> Self:
        if self._session is None:
            self._session = await self._call(
                Session, self._url, connect_timeout=self._connect_timeout
            )
        return self

    def __await__(self) -> Generator[Any, None, Self]:
        return self.open().__await__()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> Session:
        if self._session is None:
            raise SessionError("this session is not connected: await it or use async with")
        return self._session

    async def write(
        self,
        table: str,
        records: Any,
        *,
        mode: str | Mode = Mode.APPEND,
        key: str | Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
        on_error: str = "reject",
        add_columns: bool = False,
    ) -> WriteResult:
        """:meth:`Session.write`, awaited."""
        return await self._call(
            self.session.write,
            table,
            records,
            mode=mode,
            key=key,
            columns=columns,
            on_error=on_error,
            add_columns=add_columns,
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Self]:
        """:meth:`Session.transaction`, for ``async with``."""
        session = self.session
        await self._call(session.begin)
        try:
            yield self
        except BaseException:
            await self._call(session.rollback)
            raise
        await self._call(session.commit)

    async def forget(self, table: str) -> None:
        await self._call(self.session.forget, table)

    async def close(self) -> None:
        if self._session is not None:
            await self._call(self._session.close)
        self._thread.shutdown(wait=False)


def connect_async(url: str, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> AsyncSession:
    """An asyncio writer session: ``db = await connect_async(url)`` or
    ``async with connect_async(url) as db``."""
    return AsyncSession(url, connect_timeout=connect_timeout)
