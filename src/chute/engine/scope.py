"""Where a batch's transaction begins and ends.

A load writes each batch (or each piece of a refused batch) in a transaction of its own:
:data:`OWN`.  A writer session's write inside ``db.transaction()`` must not commit the
caller's transaction: there each of those transactions is a savepoint in it
(:data:`NESTED`), released where a load would commit and rolled back to where a load would
roll back, so a refused record is set aside and the rest of the caller's transaction goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

from chute.sinks.contract import Savepoints, Sink


@dataclass(frozen=True)
class Scope:
    """How the engine opens and ends the transaction of a batch."""

    #: inside the caller's transaction (savepoints), rather than one of its own
    nested: bool = False

    @contextmanager
    def open(self, sink: Sink) -> Iterator[None]:
        """Begin (or set a savepoint); undo it if the block raises.  The block ends it with
        :meth:`commit`."""
        if not self.nested:
            with sink.transaction(commit=False):
                yield
            return
        savepoints = cast(Savepoints, sink)  # the session checked it (isinstance is slow)
        savepoints.savepoint()
        try:
            yield
        except BaseException:
            savepoints.rollback_to_savepoint()
            raise

    def commit(self, sink: Sink) -> None:
        """Commit (or release the savepoint)."""
        if not self.nested:
            sink.commit()
            return
        cast(Savepoints, sink).release_savepoint()


#: a transaction per batch (loads, and session writes outside ``db.transaction()``)
OWN = Scope()
#: a savepoint per batch inside the caller's open transaction
NESTED = Scope(nested=True)
