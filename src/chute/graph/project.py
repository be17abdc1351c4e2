"""Projection: a batch of records becomes the rows of each node label and relationship type.

Each node row and relationship row remembers the records it came from, so that what the
database refuses or what is missing is pinned on a record.  Node rows of one label are
merged by key within the batch (properties of later records win, as the writes would in
order); relationship rows are kept one per record and pair of ends.  A record whose node
key is missing, or whose array field is not an array, raises :class:`BadRecord` naming the
record and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from chute.graph.mapping import FieldPath, GraphMapping, NodeSpec, Property, RelSpec

#: a value a node key may be: what every graph database matches exactly
KEY_TYPES = (str, int, float, bool)


class BadRecord(Exception):
    """Record ``row`` of the batch cannot become its nodes and relationships."""

    def __init__(self, row: int, reason: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.row = row
        self.reason = reason
        self.column = column


@dataclass
class NodeRows:
    """The nodes of one label in a batch, one per key."""

    spec: NodeSpec
    keys: list[Any] = field(default_factory=list)
    #: each node's properties, in the mapping's order
    props: list[list[Any]] = field(default_factory=list)
    #: the records each node came from (first to last)
    records: list[list[int]] = field(default_factory=list)
    #: whether each node is new to the graph (the sink finds out)
    new: list[bool] = field(default_factory=list)
    _at: dict[Any, int] = field(default_factory=dict)

    def add(self, key: Any, props: list[Any], record: int) -> None:
        found = self._at.get(identity(key))
        if found is None:
            self._at[identity(key)] = len(self.keys)
            self.keys.append(key)
            self.props.append(props)
            self.records.append([record])
            return
        self.props[found] = props  # a record gives every property: the later one wins
        if self.records[found][-1] != record:
            self.records[found].append(record)

    def has(self, key: Any) -> bool:
        return identity(key) in self._at

    def find(self, key: Any) -> int | None:
        """The place of the node of ``key`` among the batch's, if it is one of them."""
        return self._at.get(identity(key))


@dataclass
class RelRows:
    """The relationships of one mapping entry in a batch."""

    spec: RelSpec
    starts: list[Any] = field(default_factory=list)
    ends: list[Any] = field(default_factory=list)
    #: each relationship's properties, in the mapping's order
    props: list[list[Any]] = field(default_factory=list)
    records: list[int] = field(default_factory=list)


@dataclass
class Projection:
    nodes: list[NodeRows]
    rels: list[RelRows]
    #: the rows by record (:func:`chute.graph.shape.shape_rows`), when made beforehand
    #: (``shaped``) in the reader's thread; None: the shape does not fit this batch
    by_record: list[list[Any]] | None = None
    shaped: bool = False


class _Bool(tuple[bool]):
    """A boolean key, apart from the numbers Python holds equal to it."""


def identity(key: Any) -> Any:
    """Keys equal for the database are one node: 1 and 1.0 alike (as for Python); True is
    not 1 (as it is for Python)."""
    return key if type(key) is not bool else _Bool((key,))


Adapt = Callable[[Any], Any] | None


def project(
    mapping: GraphMapping,
    records: Sequence[dict[str, Any]],
    adapt: Adapt = None,
    bad: dict[int, BadRecord] | None = None,
) -> Projection:
    """The node and relationship rows of ``records``; ``adapt`` turns a property value into
    what the database's driver takes (None: as it is).  A record that cannot be projected
    raises :class:`BadRecord`, or with ``bad`` is kept there (by its index) and gives no
    row at all."""
    nodes = [NodeRows(spec) for spec in mapping.nodes]
    rels = [RelRows(spec) for spec in mapping.relationships]
    rel_arrays = [
        tuple(
            FieldPath.parse(a, "") for a in dict.fromkeys(r.start.path.arrays + r.end.path.arrays)
        )
        for r in mapping.relationships
    ]
    node_arrays = [tuple(FieldPath.parse(a, "") for a in n.key.arrays) for n in mapping.nodes]
    node_ways = [
        _simple_node(n) or partial(_node_rows, n, arrays)
        for n, arrays in zip(mapping.nodes, node_arrays, strict=True)
    ]
    rel_ways = [
        _simple_rel(r) or partial(_rel_rows, r, arrays)
        for r, arrays in zip(mapping.relationships, rel_arrays, strict=True)
    ]
    for i, record in enumerate(records):
        if bad is not None and i in bad:
            continue  # refused already
        try:  # every row of the record, before any is kept
            node_rows = [way(record, i, adapt) for way in node_ways]
            rel_rows = [way(record, i, adapt) for way in rel_ways]
        except BadRecord as exc:
            if bad is None:
                raise
            bad[i] = exc
            continue
        for rows, found in zip(nodes, node_rows, strict=True):
            for key, props in found:
                rows.add(key, props, i)
        for rel, found_rels in zip(rels, rel_rows, strict=True):
            for start, end, props in found_rels:
                rel.starts.append(start)
                rel.ends.append(end)
                rel.props.append(props)
                rel.records.append(i)
    return Projection(nodes, rels)


def _node_rows(
    spec: NodeSpec, arrays: tuple[FieldPath, ...], record: dict[str, Any], i: int, adapt: Adapt
) -> list[tuple[Any, list[Any]]]:
    return [
        (
            _key(_value(record, spec.key, binding, i), spec.key, f"node {spec.label}", i),
            _props(record, spec.properties, binding, i, adapt),
        )
        for binding in _bindings(record, arrays, i)
    ]


def _rel_rows(
    spec: RelSpec, arrays: tuple[FieldPath, ...], record: dict[str, Any], i: int, adapt: Adapt
) -> list[tuple[Any, Any, list[Any]]]:
    out = []
    for binding in _bindings(record, arrays, i):
        start = _value(record, spec.start.path, binding, i)
        end = _value(record, spec.end.path, binding, i)
        if start is None or end is None:
            continue  # no end: no relationship (a node key is checked with its node)
        out.append(
            (
                _key(start, spec.start.path, f"relationship {spec.name}", i),
                _key(end, spec.end.path, f"relationship {spec.name}", i),
                _props(record, spec.properties, binding, i, adapt),
            )
        )
    return out


# -- the same for the paths most mappings are made of, a third of the time: a node keyed by
#    a top-level field, a relationship from one to the elements of a top-level array


def _simple_fields(props: tuple[Property, ...]) -> tuple[str, ...] | None:
    return tuple(p.path.field for p in props) if all(p.path.simple for p in props) else None


def _simple_node(spec: NodeSpec) -> Callable[[dict[str, Any], int, Adapt], Any] | None:
    """``_node_rows`` for a node keyed by a top-level field with top-level properties."""
    fields = _simple_fields(spec.properties)
    if not spec.key.simple or fields is None:
        return None
    key_field, what = spec.key.field, f"node {spec.label}"

    def rows(record: dict[str, Any], i: int, adapt: Adapt) -> list[tuple[Any, list[Any]]]:
        key = record.get(key_field)
        if key is None or type(key) not in _KEY_TYPES:
            _key(key, spec.key, what, i)
        props = [record.get(f) for f in fields]
        return [(key, props if adapt is None else [adapt(v) for v in props])]

    return rows


def _simple_rel(spec: RelSpec) -> Callable[[dict[str, Any], int, Adapt], Any] | None:
    """``_rel_rows`` for a relationship with top-level properties between a top-level field
    and the elements of a top-level array (``tags[]``), either way round."""
    fields = _simple_fields(spec.properties)
    start, end = spec.start.path, spec.end.path
    if fields is None or not (
        (_is_elements(start) and end.simple) or (start.simple and _is_elements(end))
    ):
        return None
    one, many = (start, end) if start.simple else (end, start)
    what = f"relationship {spec.name}"

    def rows(record: dict[str, Any], i: int, adapt: Adapt) -> list[tuple[Any, Any, list[Any]]]:
        items = record.get(many.field)
        if items is None:
            return []
        if type(items) is not list:
            raise BadRecord(i, f"field {many.field} is a {_kind(items)}, not an array", many.field)
        own = record.get(one.field)
        if own is None:
            return []
        props = [record.get(f) for f in fields]
        if adapt is not None:
            props = [adapt(v) for v in props]
        out = []
        for item in items:
            if item is None:
                continue  # no end: no relationship
            pair = (own, item) if start is one else (item, own)
            if type(own) not in _KEY_TYPES or type(item) not in _KEY_TYPES:
                _key(pair[0], start, what, i)  # the start's first, as the long way
                _key(pair[1], end, what, i)
            out.append((*pair, props))
        return out

    return rows


def _is_elements(path: FieldPath) -> bool:
    return len(path.parts) == 1 and path.each[0]


#: the types of :data:`KEY_TYPES` exactly (their subclasses go the long way)
_KEY_TYPES = frozenset(KEY_TYPES)


def _key(value: Any, path: FieldPath, what: str, i: int) -> Any:
    if value is None:
        raise BadRecord(i, f"{what}: no value for its key {path.text}", path.field)
    if not isinstance(value, KEY_TYPES):
        raise BadRecord(
            i, f"{what}: its key {path.text} is a {_kind(value)}, not a text or number", path.field
        )
    return value


def _props(
    record: dict[str, Any],
    props: tuple[Property, ...],
    binding: dict[str, Any],
    i: int,
    adapt: Adapt,
) -> list[Any]:
    if adapt is None:
        return [_value(record, p.path, binding, i) for p in props]
    return [adapt(_value(record, p.path, binding, i)) for p in props]


#: the one binding of a path through no array
_NO_ARRAYS: list[dict[str, Any]] = [{}]


def _bindings(
    record: dict[str, Any], arrays: tuple[FieldPath, ...], i: int
) -> list[dict[str, Any]]:
    """One binding (array prefix -> element) per combination of the arrays' elements; arrays
    shared by two paths go together (one element each), others multiply."""
    if not arrays:
        return _NO_ARRAYS
    out: list[dict[str, Any]] = [{}]
    for path in arrays:
        array = path.text
        grown: list[dict[str, Any]] = []
        for binding in out:
            items = _value(record, path, binding, i, whole=True)
            if items is None:
                continue
            if not isinstance(items, list):
                raise BadRecord(
                    i, f"field {array[:-2]} is a {_kind(items)}, not an array", path.field
                )
            grown.extend({**binding, array: item} for item in items)
        out = grown
    return out


def _value(
    record: dict[str, Any], path: FieldPath, binding: dict[str, Any], i: int, *, whole: bool = False
) -> Any:
    """The value at ``path`` under ``binding``; with ``whole``, the array the path's last part
    names itself (not its elements)."""
    if path.simple:
        return record.get(path.parts[0])
    start = 0
    value: Any = record
    prefixes = path.prefixes
    for n in range(len(prefixes), 0, -1):  # the deepest array already bound
        prefix = prefixes[n - 1]
        if prefix in binding and not (whole and n == len(prefixes)):
            start, value = n, binding[prefix]
            break
    for part in path.parts[start:]:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise BadRecord(
                i, f"field {path.text}: {part!r} is inside a {_kind(value)}", path.field
            )
        value = value.get(part)
    return value


_KINDS: dict[type, str] = {dict: "map", list: "array", str: "text"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)
