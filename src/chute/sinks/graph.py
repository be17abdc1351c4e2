"""The graph sinks' common part: records in, nodes and relationships out, through the sink
contract without SQL.

The engine sees a graph as a table of records: it reads, batches, converts, isolates bad
records and checkpoints as for any table.  :meth:`GraphSink.write_rows` turns a batch into
the rows of each label and relationship type (:mod:`chute.graph.project`, in the reader's
thread), asks the database only what can exist of them (:mod:`chute.graph.plan`), names
every record that cannot be written (one :class:`~chute.errors.RecordError`, with
``others``), and writes the nodes, then the relationships, one ``UNWIND`` statement each
(:mod:`chute.graph.cypher`).  Checkpoints are ``_ChuteCheckpoint`` nodes written in the
batch's transaction; counts per label and relationship type go with them
(:mod:`chute.sinks.graph_books`).

A driver subclass (:mod:`chute.sinks.falkordb`, :mod:`chute.sinks.neo4j`) says how a
statement is read or written and what a transaction is.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import uuid
from abc import abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from chute.coltypes import ColumnType, Kind, Stores
from chute.errors import ConfigError, RecordError
from chute.graph import cypher
from chute.graph.mapping import GraphMapping
from chute.graph.plan import CREATED, SKIPPED, UPDATED, Counts, add_counts, plan_batch, refused
from chute.graph.project import Adapt, BadRecord, Projection, project
from chute.graph.shape import Shape, record_shape, shape_rows
from chute.sinks.contract import (
    Capabilities,
    Mode,
    Sink,
    TableColumn,
    WriteCounts,
)
from chute.sinks.graph_books import GraphCheckpoints, GraphRejects


class GraphSink(Sink):
    """A graph database written through a :class:`~chute.graph.mapping.GraphMapping`."""

    # no exact decimals (a property is an integer, a float or a text), like SQLite; batches
    # start at 5,000 records: a batch's projection (reader's thread) and plan (writer's)
    # overlap the database's work on the batch before (inventory: 2.7 s, against 3.2 s
    # starting at 20,000)
    capabilities = Capabilities(stores=Stores(exact_decimals=False), start_batch_rows=5_000)
    #: upserts write each record's node with what hangs off it in one statement
    #: (:mod:`chute.graph.shape`), where that was measured faster
    writes_by_record = False

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.mapping: GraphMapping | None = None
        self._shape: Shape | None = None
        self.require_nodes = False
        #: the load's mode (FalkorDB makes keys unique by a constraint only for append)
        self.mode = Mode.UPSERT
        #: committed counts, by label and relationship (see :data:`COUNTS`)
        self.counts: Counts = {}
        self._pending: Counts = {}
        #: the record columns of each "table" (a load's records), as the engine converts them
        self._columns: dict[str, dict[str, ColumnType]] = {}
        #: what the sink did besides writing (constraints made), for the report
        self.notes: list[str] = []
        #: batches projected in the reader's thread, by id (the batch is kept: ids reuse)
        #: (and the version of the column types they were projected with)
        self._prepared: dict[int, tuple[pa.RecordBatch, Projection, dict[int, BadRecord], int]] = {}
        #: the piece a write refused records of, less them, its projection, the records left
        #: out and the column types' version: the isolator writes it next
        self._refused: tuple[pa.RecordBatch, Projection, list[int], int] | None = None
        #: bumped whenever a "table"'s column types change (a batch projected before is
        #: projected again: a column widened to JSON holds texts to parse)
        self._columns_seen = 0

    def another(self) -> GraphSink:
        other = super().another()
        if self.mapping is not None:
            other.use_graph(self.mapping, require_nodes=self.require_nodes, mode=self.mode)
        return other

    # -- what a subclass provides

    @abstractmethod
    def _read(self, query: str, params: dict[str, Any]) -> list[list[Any]]:
        """Run a read-only statement (inside the open transaction where there is one)."""

    def _read_all(self, statements: list[tuple[str, dict[str, Any]]]) -> list[list[list[Any]]]:
        """Run read-only statements (one after the other here; at once where a subclass
        can), the rows of each; a statement given no rows returns none unasked."""
        return [self._read(q, p) if p.get("rows") != [] else [] for q, p in statements]

    @abstractmethod
    def _write(self, query: str, params: dict[str, Any]) -> None:
        """Run a statement in the open transaction (or, where a transaction is one
        statement, add it to the one sent at commit)."""

    @abstractmethod
    def _ensure_unique(self, label: str, prop: str) -> str | None:
        """Make ``label``'s ``prop`` unique (a constraint, or an index where the database has
        no constraint or needs none) if it is not already; what was made now, if anything
        ("unique", "indexed")."""

    def _check_values(self, batch: pa.RecordBatch, bad: dict[int, BadRecord]) -> None:
        """Put in ``bad`` the records holding a value the database cannot be sent (none
        here)."""
        return None

    def _adapter(self, schema: pa.Schema) -> Adapt:
        """What turns a property value of a batch of ``schema`` into what the driver sends
        (None: values go as they are)."""
        return None

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _rollback(self) -> None: ...

    # -- the mapping

    def use_graph(
        self, mapping: GraphMapping, *, require_nodes: bool = False, mode: Mode = Mode.UPSERT
    ) -> None:
        """Write records through ``mapping`` in ``mode``; with ``require_nodes``, a
        relationship whose end is in neither the graph nor the batch rejects its record (else
        a node with just its key is made)."""
        self.mapping = mapping
        self.require_nodes = require_nodes
        self.mode = mode
        # by record: upserts only (MERGE then SET), with every end MERGEd
        by_record = self.writes_by_record and mode is Mode.UPSERT and not require_nodes
        self._shape = record_shape(mapping) if by_record else None

    def prepare_batch(self, table: str, batch: pa.RecordBatch) -> None:
        """Project the batch in the reader's thread; its write finds it done."""
        version = self._columns_seen
        self._prepared[id(batch)] = (batch, *self._project(table, batch), version)

    def _project(
        self, table: str, batch: pa.RecordBatch
    ) -> tuple[Projection, dict[int, BadRecord]]:
        """The batch's rows, and the records that give none, by index."""
        bad: dict[int, BadRecord] = {}
        self._check_values(batch, bad)
        records = self._records(table, batch)
        rows = project(self._graph(), records, self._adapter(batch.schema), bad)
        if self._shape is not None:
            rows.by_record, rows.shaped = shape_rows(self._shape, rows), True
        return rows, bad

    def _graph(self) -> GraphMapping:
        if self.mapping is None:
            raise ConfigError(
                f"{self.display_url} is a graph database: records need a graph mapping",
                hint="pass --graph mapping.yml (see docs/graphs.md)",
            )
        return self.mapping

    def load_identity(self) -> str:
        mapping = self._graph()
        described = json.dumps(mapping.describe(), sort_keys=True)
        how = f"{described}\0{self.require_nodes}"
        return hashlib.sha256(how.encode()).hexdigest()[:16]

    def ensure_keys(self) -> None:
        """Make each label's key unique before the first write, idempotently."""
        for node in self._graph().nodes:
            made = self._ensure_unique(node.label, node.key_property)
            if made:
                self.notes.append(f"made {node.label}.{node.key_property} {made}")

    def counts_by_kind(self) -> Counts:
        return {k: dict(v) for k, v in self.counts.items()}

    # -- tables: a load's records

    def describe(self, table: str) -> list[TableColumn] | None:
        # records have no table: every load infers its columns from its first batch
        return None

    def create_table(self, table: str, columns: dict[str, ColumnType], key: list[str]) -> None:
        """Check the mapping against the first batch's fields; make the keys unique."""
        mapping = self._graph()
        missing = sorted(mapping.fields() - set(columns))
        keys = sorted({n.key.field for n in mapping.nodes if not n.key.arrays} & set(missing))
        if keys:  # every record would be rejected
            raise ConfigError(
                f"{mapping.origin} keys nodes by field(s) {', '.join(keys)}, which no record "
                "of the input's first batch has",
                hint=f"the records have: {', '.join(columns)}",
            )
        if missing:  # JSON records may leave optional fields out: said, not refused
            self.notes.append(
                f"{mapping.origin} reads field(s) {', '.join(missing)}, which no record of "
                "the first batch has: check their spelling"
            )
        self._columns[table] = dict(columns)
        self._columns_seen += 1
        self.ensure_keys()

    def alter_column(
        self,
        table: str,
        column: str,
        new_type: ColumnType,
        columns: dict[str, ColumnType],
        key: list[str],
    ) -> None:
        """Properties read from ``column`` take its wider type from now on, and those
        already stored are converted (to text or to a float)."""
        self._columns.setdefault(table, {})[column] = new_type
        self._columns_seen += 1
        to = {Kind.TEXT: "toString", Kind.DOUBLE: "toFloat"}.get(new_type.kind)
        if to is None:
            return
        for label, prop in self._properties_from(column):
            self._write(
                f"MATCH (n:{cypher.q(label)}) WHERE n.{cypher.q(prop)} IS NOT NULL "
                f"SET n.{cypher.q(prop)} = {to}(n.{cypher.q(prop)})",
                {},
            )

    def _properties_from(self, column: str) -> Iterator[tuple[str, str]]:
        for node in self._graph().nodes:
            for p in node.properties:
                if p.path.field == column and len(p.path.parts) == 1:
                    yield node.label, p.name

    def add_column(self, table: str, column: str, new_type: ColumnType) -> None:
        self._columns.setdefault(table, {})[column] = new_type
        self._columns_seen += 1

    def drop_table(self, table: str) -> None:
        self._columns.pop(table, None)
        self._columns_seen += 1

    def primary_key(self, table: str) -> list[str]:
        return []

    def unique_keys(self, table: str) -> list[list[str]]:
        return []

    def existing_keys(self, table: str, key: list[str], batch: pa.RecordBatch) -> list[int]:
        return []

    def table_token(self, table: str) -> str | None:
        rows = self._read(cypher.find_node(cypher.SCHEMA_LABEL, "name"), {"k": table})
        return str(rows[0][0].get("token")) if rows else None

    def mark_table(self, table: str) -> str | None:
        token = self.table_token(table)
        if token is None:
            token = uuid.uuid4().hex
            self._write(
                cypher.keep_node(label=cypher.SCHEMA_LABEL, key="name"),
                {"rows": [{"k": table, "p": {"name": table, "token": token}}]},
            )
        return token

    # -- transactions: counts become committed with the writes they count

    def begin(self) -> None:
        self._pending = {}
        self._begin()

    def commit(self) -> None:
        self._commit()
        add_counts(self.counts, self._pending)
        self._pending = {}

    def rollback(self) -> None:
        self._pending = {}
        self._rollback()

    # -- writing

    def write_rows(
        self, table: str, batch: pa.RecordBatch, mode: Mode, key: list[str]
    ) -> WriteCounts:
        mapping = self._graph()
        done = self._prepared.pop(id(batch), None)
        again, self._refused = self._refused, None
        left_out: list[int] = []  # records of the projection that are not in the batch
        # projected in the reader's thread, with the column types of now (a batch that widens
        # a column, or one read before that batch was written, is projected again)
        current = self._columns_seen
        if done is not None and done[0] is batch and done[3] == current:
            rows, bad = done[1], done[2]
        elif (
            again is not None
            and again[3] == current
            and again[0].num_rows == batch.num_rows
            and again[0].equals(batch)
        ):
            _, rows, left_out, _ = again  # a refused piece without the records it named
            bad = {}
        else:
            rows, bad = self._project(table, batch)
        if bad:  # every record that gives no row is named at once, none written
            kept = batch.filter(_without(batch.num_rows, bad))
            self._refused = (kept, rows, sorted(bad), current)
            first, *more = sorted(bad)
            error = refused(bad[first].reason, first, bad[first].column)
            error.others = {i: refused(bad[i].reason, i, bad[i].column) for i in more}
            raise error
        try:
            plan = plan_batch(
                mapping,
                rows,
                batch.num_rows + len(left_out),
                mode,
                self._read_all,
                require_nodes=self.require_nodes,
                shape=self._shape,
            )
        except RecordError as exc:  # its place in this batch, not in the projected one
            if left_out and exc.row is not None:
                exc.row -= bisect.bisect_left(left_out, exc.row)
            raise
        for write in plan.writes:  # nodes first, then relationships
            self._write(write.query, write.params)
        add_counts(self._pending, plan.counts)
        outcome = plan.outcome
        return WriteCounts(
            created=outcome.count(CREATED),
            updated=outcome.count(UPDATED),
            skipped=outcome.count(SKIPPED) - len(left_out),  # those gave no rows: skipped
        )

    def _records(self, table: str, batch: pa.RecordBatch) -> list[dict[str, Any]]:
        used = self._graph().fields()
        batch = batch.select([c for c in batch.schema.names if c in used])
        records: list[dict[str, Any]] = batch.to_pylist()
        types = self._columns.get(table, {})
        as_json = [
            c for c in batch.schema.names if types.get(c, ColumnType(Kind.TEXT)).kind is Kind.JSON
        ]
        for record in records:
            for column in as_json:
                text = record.get(column)
                if isinstance(text, str):
                    record[column] = orjson.loads(text)
        return records

    # -- the engine's bookkeeping, as nodes in the graph

    def checkpoint_store(self) -> GraphCheckpoints:
        return GraphCheckpoints(self)

    def reject_store(self, table: str) -> GraphRejects:
        return GraphRejects(self, table)


def _without(n: int, bad: dict[int, Any]) -> pa.Array:
    """A mask of ``n`` records without those of ``bad``."""
    mask = np.ones(n, dtype=bool)
    mask[list(bad)] = False
    return pa.array(mask)
