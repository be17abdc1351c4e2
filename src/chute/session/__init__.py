"""Writer sessions: :func:`connect` (and :func:`connect_async`) for many small writes into
several tables, in transactions of the caller's.  See :mod:`chute.session.session`."""

from chute.session.aio import AsyncSession, connect_async
from chute.session.session import Session, connect
from chute.session.tables import WriteResult

__all__ = ["AsyncSession", "Session", "WriteResult", "connect", "connect_async"]
