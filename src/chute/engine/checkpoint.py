"""Checkpoints: where a load got to, committed in the same transaction as the rows.

A load is identified by its source file and its target table.  Each committed batch updates
the load's checkpoint in the destination's :class:`~chute.sinks.contract.CheckpointStore`
(for a SQL database, one row of ``_chute_checkpoints``), in the batch's own transaction, so
after a crash at any instant the table and the checkpoint agree: the next run with the same
source and table goes on exactly after the last committed record.  The checkpoint is marked
completed at the end: running the same load again on the same, unchanged file does nothing
(``--restart`` loads it again); a changed file starts a new load.
"""

from __future__ import annotations

import hashlib
import os

from chute.engine.faults import fault
from chute.sinks.contract import Checkpoint as Checkpoint
from chute.sinks.contract import Sink


class Checkpoints:
    """The checkpoint of one load (source file + table) in the destination."""

    def __init__(self, sink: Sink, source: str, table: str, how: str = "") -> None:
        """``how`` (mode and key) is part of the load's identity with source and table."""
        self.sink = sink
        self.source = os.path.abspath(source)
        self.table = table
        identity = f"{self.source}\0{table}\0{how}"
        self.key = hashlib.sha256(identity.encode()).hexdigest()[:32]

    def load(self) -> Checkpoint | None:
        """The checkpoint of an interrupted earlier run, if any (creates the table)."""
        return self.sink.checkpoint_store().load(self.key)

    def save(self, checkpoint: Checkpoint, sink: Sink | None = None) -> None:
        """Record ``checkpoint`` in the open transaction (of ``sink``, by default the
        checkpoints' own)."""
        (sink or self.sink).checkpoint_store().save(self.key, checkpoint)

    def mark_completed(self) -> None:
        """In the open transaction: the load is done; running it again on the same file
        does nothing, as long as the table is the same table (not dropped and made again)."""
        fault("completion-mark")
        token = self.sink.mark_table(self.table)
        self.sink.checkpoint_store().mark_completed(self.key, token)

    def complete(self) -> None:
        """:meth:`mark_completed` in a transaction of its own."""
        with self.sink.transaction():
            self.mark_completed()

    def clear(self) -> None:
        """Forget the load (``--restart``, or its file changed), in its own transaction."""
        self.sink.checkpoint_store().clear(self.key)
