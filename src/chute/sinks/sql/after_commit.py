"""DDL after the commit, for databases whose DDL commits the open transaction (MySQL,
Snowflake).

A staged load's merge must commit with its completion mark, before the stage goes: so a
drop or a swap asked for inside a transaction waits for :meth:`DdlAfterCommit.commit` and
runs just after it.  A crash between the two leaves a stage the next run drops, or the old
table and a completion mark for a token no table has, so the next run loads again (never
half of each).  A rollback forgets them.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING


class DdlAfterCommit:
    """Holds the drops and the swap asked for inside a transaction until it commits.  A sink
    mixes it in before :class:`~chute.sinks.sql.SqlSink` and gives the three hooks."""

    _pending_drops: list[str]
    _pending_swap: tuple[str, str] | None

    def _reset_pending(self) -> None:
        self._pending_drops = []
        self._pending_swap = None

    @abstractmethod
    def _in_open_transaction(self) -> bool: ...

    @abstractmethod
    def _drop_now(self, table: str) -> None: ...

    @abstractmethod
    def _swap(self, table: str, stage: str) -> None: ...

    if TYPE_CHECKING:  # the sink's own (Sink.forget_table)

        def forget_table(self, table: str) -> None: ...

    def drop_table(self, table: str) -> None:
        """Drop ``table``; inside a transaction, once it commits."""
        if self._in_open_transaction():
            self._pending_drops.append(table)
        else:
            self._drop_now(table)
        self.forget_table(table)

    def swap_in(self, table: str, stage: str) -> None:
        """Put ``stage`` in place of ``table``; inside a transaction, once it commits."""
        if self._in_open_transaction():
            self._pending_swap = (table, stage)
            return
        self._swap(table, stage)

    def _marked_table(self, table: str) -> str:
        """The table a mark made now is for: the stage, when it is to replace ``table``."""
        swap = self._pending_swap
        return swap[1] if swap is not None and swap[0] == table else table

    def _after_commit(self) -> None:
        swap, self._pending_swap = self._pending_swap, None
        if swap is not None:
            self._swap(*swap)
        drops, self._pending_drops = self._pending_drops, []
        for table in drops:  # a crash before this leaves a stage the next run drops
            self._drop_now(table)
