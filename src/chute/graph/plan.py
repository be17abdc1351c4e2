"""A batch's plan: which of its nodes and relationships are new, changed or the same, what to
write, and how each record and each label or relationship type counts.

The database is asked as little as a first load needs (see :mod:`chute.graph.cypher`): per
label, which of the batch's nodes exist (a first load: none come back) and which ends of its
relationships outside the batch are missing; per relationship type, only for rows whose two
ends existed before the batch, whether the relationship does.  A relationship with an end the
batch makes is new.  What cannot be written (a duplicate in append mode, an end missing under
``--require-nodes``) raises a :class:`~chute.errors.RecordError` naming its record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from chute.errors import RecordError, Refusal
from chute.graph import cypher
from chute.graph.mapping import GraphMapping, NodeSpec, RelSpec
from chute.graph.project import NodeRows, Projection, RelRows, identity
from chute.graph.shape import Shape, shape_rows
from chute.sinks.contract import Mode

#: runs read-only statements with their parameters (at once, where the database can),
#: returning the rows of each (none for a statement of no rows)
Read = Callable[[list[tuple[str, dict[str, Any]]]], list[list[list[Any]]]]

#: what each record did: nothing new, changed something, made something
SKIPPED, UPDATED, CREATED = 0, 1, 2
#: the names counts are kept under, per label or relationship
COUNTS = ("created", "updated", "skipped", "placeholders")

Counts = dict[str, dict[str, int]]


def add_counts(into: Counts, more: Counts) -> None:
    """Add ``more`` (by label or relationship, by count name) to ``into``."""
    for kind, counts in more.items():
        total = into.setdefault(kind, dict.fromkeys(COUNTS, 0))
        for name, n in counts.items():
            total[name] += n


class Write(NamedTuple):
    #: what it writes: a label's nodes or a relationship's (None: several, a record shape)
    spec: NodeSpec | RelSpec | None
    query: str
    params: dict[str, Any]


@dataclass
class Plan:
    #: statements to run in the batch's transaction, nodes first
    writes: list[Write] = field(default_factory=list)
    #: by label or relationship: created, updated, skipped, placeholders
    counts: Counts = field(default_factory=dict)
    #: per record: SKIPPED, UPDATED or CREATED
    outcome: list[int] = field(default_factory=list)
    #: what a record shape writes instead of the statements per label and type (their rows
    #: are not made), and whether any of it changes
    covers: set[NodeSpec | RelSpec] = field(default_factory=set)
    covered_changes: bool = False

    def count(self, kind: str, name: str, n: int = 1) -> None:
        if not n:
            return  # a label or type with nothing to count is not in the counts
        counts = self.counts.get(kind)
        if counts is None:
            counts = self.counts[kind] = dict.fromkeys(COUNTS, 0)
        counts[name] += n

    def mark(self, record: int, what: int) -> None:
        if what > self.outcome[record]:
            self.outcome[record] = what


def plan_batch(
    mapping: GraphMapping,
    rows: Projection,
    records: int,
    mode: Mode,
    read: Read,
    *,
    require_nodes: bool,
    shape: Shape | None = None,
) -> Plan:
    """What to write of ``rows`` (``records`` records) and how it counts; with ``shape``,
    an upsert writes what the shape covers by record (:mod:`chute.graph.shape`)."""
    by_record = None  # the rows of the record shape's statement, when it writes this batch
    if shape is not None and mode is Mode.UPSERT and not require_nodes:
        by_record = rows.by_record if rows.shaped else shape_rows(shape, rows)
    covers = shape.covers if shape is not None and by_record is not None else set()
    plan = Plan(outcome=[SKIPPED] * records, covers=covers)
    keys = {n.label: n.key_property for n in mapping.nodes}
    batch = {n.spec.label: n for n in rows.nodes}
    # first, at once: each label's nodes, and the relationship ends outside the batch
    outside = {k: v for k, v in _outside(rows, batch).items() if v}
    first = [(cypher.node_status(n.spec), {"rows": _node_rows(n)}) for n in rows.nodes]
    first += [
        (cypher.missing_nodes(label, keys[label], which=require_nodes), {"rows": _keyed(w)})
        for label, w in outside.items()
    ]
    found = read(first)
    for nodes, there in zip(rows.nodes, found, strict=False):
        _nodes(plan, nodes, mode, there)
    missing = _missing(plan, outside, found[len(rows.nodes) :], which=require_nodes)
    # then, at once: the relationships whose two ends were there before the batch
    rels = [r for r in rows.rels if r.starts]
    befores = [_rels_before(r, batch, keys, missing, mode) for r in rels]
    statuses = read(
        [
            (cypher.rel_status(r.spec, keys), {"rows": b})
            for r, (_, b) in zip(rels, befores, strict=True)
        ]
    )
    for r, (order, _), there in zip(rels, befores, statuses, strict=True):
        _rels(plan, r, order, there, keys, mode, require_nodes)
    if shape is not None and by_record is not None and plan.covered_changes:
        # the other labels' nodes before it, the other relationships after
        node_writes = [w for w in plan.writes if isinstance(w.spec, NodeSpec)]
        rel_writes = [w for w in plan.writes if isinstance(w.spec, RelSpec)]
        by_shape = Write(None, cypher.shape_write(shape), {"rows": by_record})
        plan.writes = [*node_writes, by_shape, *rel_writes]
    return plan


def _node_rows(nodes: NodeRows) -> list[list[Any]]:
    return [[i, k, *p] for i, (k, p) in enumerate(zip(nodes.keys, nodes.props, strict=True))]


def _keyed(wanted: dict[Any, Any]) -> list[list[Any]]:
    return [[i, value] for i, value in enumerate(wanted.values())]


def _nodes(plan: Plan, nodes: NodeRows, mode: Mode, there: list[list[Any]]) -> None:
    """Count and write the batch's nodes of a label, given what its status read returned
    (one integer a node that is there: see :func:`cypher.node_status`)."""
    spec = nodes.spec
    label = spec.label
    found = {code // 4: code % 4 for (code,) in there}
    nodes.new = [i not in found for i in range(len(nodes.keys))]
    covered = spec in plan.covers  # written by the record shape: no rows of its own
    write = []
    fill = []  # placeholders their record fills in, in any mode
    created = updated = skipped = 0
    outcome = plan.outcome
    for i, (key, props, records) in enumerate(
        zip(nodes.keys, nodes.props, nodes.records, strict=True)
    ):
        state = found.get(i, cypher.NEW)
        if state == cypher.FILLED:  # a placeholder: its record makes the node
            created += 1
            outcome[records[0]] = CREATED
            if not covered:
                fill.append([key, *props])
            continue
        if mode is Mode.APPEND and (state != cypher.NEW or len(records) > 1):
            exists = state != cypher.NEW
            raise refused(
                f"node {label}: key {spec.key_property}={key!r} "
                + ("already exists" if exists else "appears earlier in the input"),
                records[0] if exists else records[1],
                spec.key.field,
                Refusal.DUPLICATE_KEY,
            )
        if state == cypher.NEW:
            created += 1
            outcome[records[0]] = CREATED
        elif state == cypher.CHANGED and mode is Mode.UPSERT:
            updated += 1
            plan.mark(records[-1], UPDATED)
        else:
            skipped += 1
            continue
        if not covered:
            write.append([key, *props])
    plan.covered_changes |= covered and created + updated > 0
    plan.count(label, "created", created)
    plan.count(label, "updated", updated)
    plan.count(label, "skipped", skipped)
    if write:
        plan.writes.append(Write(spec, cypher.node_write(spec, mode), {"rows": write}))
    if fill:
        plan.writes.append(Write(spec, cypher.node_write(spec, Mode.UPSERT), {"rows": fill}))


def _outside(rows: Projection, batch: dict[str, NodeRows]) -> dict[str, dict[Any, Any]]:
    """The relationship ends that are not nodes of the batch, by label (identity: value)."""
    outside: dict[str, dict[Any, Any]] = {}
    for rels in rows.rels:
        for end, values in ((rels.spec.start, rels.starts), (rels.spec.end, rels.ends)):
            at = batch[end.label]._at
            wanted = outside.setdefault(end.label, {})
            if _has_bools(values):
                for value in values:
                    ident = identity(value)
                    if ident not in at:
                        wanted.setdefault(ident, value)
            else:
                for value in values:
                    if value not in at and value not in wanted:
                        wanted[value] = value
    return outside


def _missing(
    plan: Plan,
    outside: dict[str, dict[Any, Any]],
    found: list[list[list[Any]]],
    *,
    which: bool,
) -> dict[str, set[Any]] | None:
    """Count the ends outside the batch that are not in the graph either (made as
    placeholders), from what the missing reads returned; with ``which``, return their
    identities by label (else None)."""
    missing: dict[str, set[Any]] = {}
    for (label, wanted), gone in zip(outside.items(), found, strict=True):
        if which:
            ids = list(wanted)
            missing[label] = {ids[r[0]] for r in gone}
            plan.count(label, "placeholders", len(missing[label]))
        else:
            plan.count(label, "placeholders", int(gone[0][0]) if gone else 0)
    return missing if which else None


def _rels_before(
    rels: RelRows,
    batch: dict[str, NodeRows],
    keys: dict[str, str],
    missing: dict[str, set[Any]] | None,
    mode: Mode,
) -> tuple[list[int], list[list[Any]]]:
    """The rows to write (see :func:`_distinct`), and those whose two ends were there
    before the batch, for the status read (``[i, start, end, *properties]``)."""
    spec = rels.spec
    order = _distinct(rels, mode)
    # rows whose two ends may have been there before the batch: their relationship may be
    there = [True] * len(order)
    for end, values in ((spec.start, rels.starts), (spec.end, rels.ends)):
        nodes = batch[end.label]
        at, new = nodes._at, nodes.new
        gone = missing.get(end.label, ()) if missing is not None else ()
        plain = not _has_bools(values)
        for i, j in enumerate(order):
            value = values[j]
            found = at.get(value if plain else identity(value))
            if found is not None:
                if new[found]:
                    there[i] = False
            elif gone and identity(value) in gone:
                raise refused(
                    f"relationship {spec.name}: no {end.label} node with "
                    f"{keys[end.label]}={value!r} (--require-nodes)",
                    rels.records[j],
                    end.path.field,
                )
    before = []
    if mode is not Mode.APPEND:
        starts, ends, props = rels.starts, rels.ends, rels.props
        before = [[i, starts[j], ends[j], *props[j]] for i, j in enumerate(order) if there[i]]
    return order, before


def _rels(
    plan: Plan,
    rels: RelRows,
    order: list[int],
    there: list[list[Any]],
    keys: dict[str, str],
    mode: Mode,
    require_nodes: bool,
) -> None:
    """Count and write the rows ``order`` of a relationship, given what its status read
    returned (``[i, status]`` of each that exists)."""
    spec = rels.spec
    found = {row[0]: row[1] for row in there}
    covered = spec in plan.covers  # written by the record shape: no rows of its own
    write = []
    created = updated = skipped = 0
    outcome = plan.outcome
    for i, j in enumerate(order):
        state = found.get(i, cypher.NEW)
        record = rels.records[j]
        if state == cypher.NEW or mode is Mode.APPEND:
            created += 1
            outcome[record] = CREATED
        elif state == cypher.CHANGED and mode is Mode.UPSERT:
            updated += 1
            plan.mark(record, UPDATED)
        else:
            skipped += 1
            continue
        if not covered:
            write.append([rels.starts[j], rels.ends[j], *rels.props[j]])
    plan.covered_changes |= covered and created + updated > 0
    plan.count(spec.name, "created", created)
    plan.count(spec.name, "updated", updated)
    plan.count(spec.name, "skipped", skipped)
    if write:
        query = cypher.rel_write(spec, keys, mode, require_nodes=require_nodes)
        plan.writes.append(Write(spec, query, {"rows": write}))


def _distinct(rels: RelRows, mode: Mode) -> list[int]:
    """The rows to write: in append every one; else one per pair of ends (the last wins,
    its properties merged over the earlier ones')."""
    if mode is Mode.APPEND:
        return list(range(len(rels.starts)))
    pairs: list[tuple[Any, Any]] = list(zip(rels.starts, rels.ends, strict=True))
    if _has_bools(rels.starts) or _has_bools(rels.ends):
        pairs = [(identity(a), identity(b)) for a, b in pairs]
    last = dict(zip(pairs, range(len(pairs)), strict=True))  # a later pair replaces
    return sorted(last.values())


def _has_bools(values: list[Any]) -> bool:
    """Whether a key is a boolean (Python holds True equal to 1: see ``identity``)."""
    return bool in set(map(type, values))


def refused(
    reason: str, row: int, column: str | None, refusal: Refusal = Refusal.VALUE
) -> RecordError:
    """The refusal of record ``row`` of the batch, for the isolator to set it aside."""
    err = RecordError(reason, column=column, refusal=refusal)
    err.row = row
    return err
