"""A record's shape: one statement that writes a record's node with everything hanging off it.

Most mappings have a node that *is* the record (its key is a top-level field: an artist, a
resource) and relationships from or to it (its releases, its members).  Written one label and
one relationship type at a time, every relationship looks its record's node up again by key;
written per record, the node is looked up once and its relationships and their other ends
are made under it::

    UNWIND $rows AS r
    MERGE (a:Artist {id: r[0]}) SET a.name = r[1]
    FOREACH (x IN r[2] | MERGE (b:Release {id: x[0]}) SET b.title = x[1]
                         MERGE (a)-[e:RELEASED]->(b))

Measured on report 03's artists (20,000 records, integer keys, FalkorDB): 1.9 s of server
time against 5.7 s for the statements per label and type (``benchmarks/RESULTS.md``).

The rows come from the batch's :class:`~chute.graph.project.Projection`, so what is stored
is what the statements per label would store: one row per record node (records with the same
key merged, the later properties winning), under it one item per relationship (one per pair
of ends, the later winning), each item with its other end's properties when that end is a
node of the mapping keyed by the same path.  Only upserts are written so (``MERGE`` then
``SET``); the counts still come from :mod:`chute.graph.plan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chute.graph.mapping import GraphMapping, NodeSpec, RelSpec
from chute.graph.project import NodeRows, Projection, RelRows, identity


@dataclass(frozen=True)
class Arm:
    """A relationship with the record's node at one end."""

    rel: RelSpec
    #: the record's node is the start (else the end)
    outward: bool
    #: the other end's node
    other: NodeSpec
    #: the mapping keys the other end's node by the same path: the arm writes its properties
    fills: bool


@dataclass(frozen=True)
class Shape:
    anchor: NodeSpec
    arms: tuple[Arm, ...]

    @property
    def covers(self) -> set[NodeSpec | RelSpec]:
        """The labels and relationships whose writes the shape's statement makes."""
        out: set[NodeSpec | RelSpec] = {self.anchor}
        for arm in self.arms:
            out.add(arm.rel)
            if arm.fills:
                out.add(arm.other)
        return out


def record_shape(mapping: GraphMapping) -> Shape | None:
    """The shape of ``mapping``'s records: its first node keyed by a top-level field, and the
    relationships with exactly one end at that node (None when no relationship has)."""
    anchor = next((n for n in mapping.nodes if not n.key.arrays), None)
    if anchor is None:
        return None
    arms: list[Arm] = []
    filled: set[str] = set()
    for rel in mapping.relationships:
        at_start = rel.start.label == anchor.label and rel.start.path == anchor.key
        at_end = rel.end.label == anchor.label and rel.end.path == anchor.key
        if at_start == at_end:
            continue  # not anchored, or a loop on the record's node: written on its own
        other = rel.end if at_start else rel.start
        node = mapping.labels[other.label]
        fills = node.key == other.path and node.label not in filled
        if fills:
            filled.add(node.label)
        arms.append(Arm(rel, at_start, node, fills))
    return Shape(anchor, tuple(arms)) if arms else None


def shape_rows(shape: Shape, rows: Projection) -> list[list[Any]] | None:
    """One row per record node of the batch: its key, its properties, then per arm the list
    of ``[other key, *other's properties (if it fills them), *relationship properties]``.
    None when a node the shape fills is not the end of one of its arms in this batch (then
    the statements per label write it)."""
    by_spec: dict[Any, Any] = {n.spec: n for n in rows.nodes} | {r.spec: r for r in rows.rels}
    anchor: NodeRows = by_spec[shape.anchor]
    out = [[key, *props] for key, props in zip(anchor.keys, anchor.props, strict=True)]
    for arm in shape.arms:
        rels: RelRows = by_spec[arm.rel]
        filled: NodeRows | None = by_spec[arm.other] if arm.fills else None
        mine, theirs = (rels.starts, rels.ends) if arm.outward else (rels.ends, rels.starts)
        items: list[dict[Any, list[Any]]] = [{} for _ in out]
        reached: set[int] = set()
        for own, other, props in zip(mine, theirs, rels.props, strict=True):
            at = anchor.find(own)
            if at is None:
                return None  # cannot be: the relationship's end is its record's node
            item = [other]
            if filled is not None:
                found = filled.find(other)
                if found is None:
                    return None  # cannot be: the arm's end is keyed by the node's path
                reached.add(found)
                item += filled.props[found]
            # one per pair of ends, the later winning (as one statement per type writes)
            items[at][identity(other)] = item + props
        if filled is not None and len(reached) < len(filled.keys):
            return None
        for row, found_items in zip(out, items, strict=True):
            row.append(list(found_items.values()))
    return out
