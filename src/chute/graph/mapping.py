"""A graph mapping: how records become nodes and relationships.

Read from YAML or JSON (``--graph mapping.yml``) or given as the same structure from Python::

    nodes:
      Artist:  {key: artist_id, properties: [name, country]}
      Release: {key: release_id, properties: [title, year]}
    relationships:
      - {type: RELEASED, from: {Artist: artist_id}, to: {Release: release_id}, properties: [role]}
      - {type: MEMBER_OF, from: {Artist: "members[].id"}, to: {Artist: artist_id}}

A *path* names a field of the record: ``name``, ``address.city`` (a field of an object), or
``members[].id`` (the field ``id`` of each element of the array ``members``; ``tags[]`` is
each element itself).  A node's key property is named after the last part of its key path
(``artist_id``, or ``id`` for ``members[].id``); a property is named after the last part of
its path, or given a name: ``properties: {title: release.name}``.  Every problem is a
:class:`~chute.errors.ConfigError` naming the place in the mapping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from chute.errors import ConfigError

#: labels, relationship types and property names: what needs no quoting anywhere
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: labels and types chute keeps its own bookkeeping under
RESERVED_PREFIX = "_Chute"


@dataclass(frozen=True)
class FieldPath:
    """A path into a record: its parts, and which of them are arrays to go through."""

    text: str
    parts: tuple[str, ...]
    #: for each part, whether it is an array whose elements the path goes through
    each: tuple[bool, ...]

    @classmethod
    def parse(cls, text: str, where: str) -> FieldPath:
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{where}: a field path is a non-empty text, not {text!r}")
        parts, each = [], []
        for part in text.strip().split("."):
            many = part.endswith("[]")
            name = part[:-2] if many else part
            if not name or "[" in name or "]" in name:
                raise ConfigError(
                    f"{where}: cannot read the field path {text!r}",
                    hint="write fields as name, parent.child or items[].child",
                )
            parts.append(name)
            each.append(many)
        return cls(text.strip(), tuple(parts), tuple(each))

    @property
    def field(self) -> str:
        """The record's top-level field."""
        return self.parts[0]

    @property
    def name(self) -> str:
        """The last part: the property name it gives by default."""
        return self.parts[-1]

    @cached_property
    def arrays(self) -> tuple[str, ...]:
        """The array prefixes the path goes through, outermost first (``members[]``)."""
        out = []
        for i, many in enumerate(self.each):
            if many:
                out.append(self.prefix(i + 1))
        return tuple(out)

    @cached_property
    def simple(self) -> bool:
        """A top-level field, no array: the value is ``record.get(field)``."""
        return len(self.parts) == 1 and not self.each[0]

    def prefix(self, n: int) -> str:
        """The first ``n`` parts, as a path's text."""
        return self.prefixes[n - 1]

    @cached_property
    def prefixes(self) -> tuple[str, ...]:
        spelt = [p + ("[]" if m else "") for p, m in zip(self.parts, self.each, strict=True)]
        return tuple(".".join(spelt[:n]) for n in range(1, len(spelt) + 1))


@dataclass(frozen=True)
class Property:
    name: str
    path: FieldPath


@dataclass(frozen=True)
class NodeSpec:
    label: str
    key: FieldPath
    properties: tuple[Property, ...]

    @property
    def key_property(self) -> str:
        return self.key.name


@dataclass(frozen=True)
class End:
    """One end of a relationship: a node of ``label`` whose key is the value at ``path``."""

    label: str
    path: FieldPath


@dataclass(frozen=True)
class RelSpec:
    type: str
    start: End
    end: End
    properties: tuple[Property, ...]

    @property
    def name(self) -> str:
        """How counts and messages name it: ``(Artist)-[RELEASED]->(Release)``."""
        return f"({self.start.label})-[{self.type}]->({self.end.label})"


@dataclass(frozen=True)
class GraphMapping:
    nodes: tuple[NodeSpec, ...]
    relationships: tuple[RelSpec, ...] = ()
    #: where it was read from, for messages
    origin: str = "the graph mapping"

    @cached_property
    def labels(self) -> dict[str, NodeSpec]:
        """Each node's spec by its label."""
        return {n.label: n for n in self.nodes}

    def fields(self) -> set[str]:
        """Every top-level field the mapping reads."""
        paths = [n.key for n in self.nodes] + [p.path for n in self.nodes for p in n.properties]
        for r in self.relationships:
            paths += [r.start.path, r.end.path] + [p.path for p in r.properties]
        return {p.field for p in paths}

    def key_fields(self) -> set[str]:
        """The top-level fields node keys and relationship ends are read from."""
        paths = [n.key for n in self.nodes]
        for r in self.relationships:
            paths += [r.start.path, r.end.path]
        return {p.field for p in paths}

    def describe(self) -> dict[str, Any]:
        """The mapping as plain data (for the report and the checkpoint's fingerprint)."""
        return {
            "nodes": {
                n.label: {
                    "key": n.key.text,
                    "properties": {p.name: p.path.text for p in n.properties},
                }
                for n in self.nodes
            },
            "relationships": [
                {
                    "type": r.type,
                    "from": {r.start.label: r.start.path.text},
                    "to": {r.end.label: r.end.path.text},
                    "properties": {p.name: p.path.text for p in r.properties},
                }
                for r in self.relationships
            ],
        }


def load_mapping(spec: str | Path | Mapping[str, Any] | GraphMapping) -> GraphMapping:
    """A mapping from a YAML or JSON file, a dict of the same structure, or as it is."""
    if isinstance(spec, GraphMapping):
        return spec
    if isinstance(spec, Mapping):
        return parse_mapping(spec, "the graph mapping")
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the graph mapping {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the graph mapping {path} is not UTF-8 text: {exc.reason}") from None
    data = _read_text(text, path)
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"the graph mapping {path} holds a {type(data).__name__}, not nodes and relationships",
            hint="see docs/graphs.md for the format",
        )
    return parse_mapping(data, str(path))


def _read_text(text: str, path: Path) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"the graph mapping {path} is not valid JSON: {exc.msg} at line {exc.lineno}"
            ) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"the graph mapping {path} is not valid YAML{where}: {problem}") from None


def parse_mapping(data: Mapping[str, Any], origin: str) -> GraphMapping:
    unknown = set(data) - {"nodes", "relationships"}
    if unknown:
        raise ConfigError(
            f"{origin}: unknown section(s) {', '.join(sorted(map(str, unknown)))}",
            hint="a graph mapping has nodes and relationships",
        )
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, Mapping) or not raw_nodes:
        raise ConfigError(
            f"{origin}: no nodes",
            hint="e.g. nodes: {Artist: {key: artist_id, properties: [name]}}",
        )
    nodes = tuple(_node(label, spec, origin) for label, spec in raw_nodes.items())
    raw_rels = data.get("relationships") or []
    if not isinstance(raw_rels, list):
        raise ConfigError(f"{origin}: relationships is a list, not {type(raw_rels).__name__}")
    labels = {n.label: n for n in nodes}
    rels = tuple(_relationship(i, r, labels, origin) for i, r in enumerate(raw_rels))
    return GraphMapping(nodes, rels, origin)


def _name(value: Any, what: str, where: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(
            f"{where}: {what} {value!r} is not a name of letters, digits and underscores"
        )
    if value.startswith(RESERVED_PREFIX):
        raise ConfigError(f"{where}: {what} {value!r} is reserved for chute's own bookkeeping")
    return value


def _properties(raw: Any, where: str, key: FieldPath | None = None) -> tuple[Property, ...]:
    if raw is None:
        return ()
    if isinstance(raw, list):
        pairs = [(None, p) for p in raw]
    elif isinstance(raw, Mapping):
        pairs = list(raw.items())
    else:
        raise ConfigError(f"{where}: properties are a list of fields or a map of names to fields")
    out: list[Property] = []
    for name, text in pairs:
        path = FieldPath.parse(text, where)
        prop = _name(name if name is not None else path.name, "property", where)
        out.append(Property(prop, path))
    names = [p.name for p in out] + ([key.name] if key is not None else [])
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{where}: property {', '.join(twice)} is given twice")
    return tuple(out)


def _check_within(path: FieldPath, arrays: tuple[str, ...], where: str) -> None:
    """A property may go through the arrays its node or relationship goes through, no more."""
    extra = [a for a in path.arrays if a not in arrays]
    if extra:
        raise ConfigError(
            f"{where}: {path.text} goes through the array {extra[0]}, which the key does not",
            hint="a property has one value per node or relationship",
        )


def _node(label: Any, spec: Any, origin: str) -> NodeSpec:
    where = f"{origin}, node {label}"
    label = _name(label, "label", where)
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: give a key and properties, e.g. {{key: id}}")
    unknown = set(spec) - {"key", "properties"}
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(map(str, unknown)))}")
    if "key" not in spec:
        raise ConfigError(f"{where}: no key", hint="every node needs a key field, e.g. key: id")
    key = FieldPath.parse(spec["key"], where)
    _name(key.name, "key property", where)
    props = _properties(spec.get("properties"), where, key)
    for p in props:
        _check_within(p.path, key.arrays, where)
    return NodeSpec(label, key, props)


def _end(raw: Any, side: str, labels: dict[str, NodeSpec], where: str) -> End:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise ConfigError(f"{where}: {side} is one label and its key field, e.g. {{Artist: id}}")
    ((label, path),) = raw.items()
    if label not in labels:
        raise ConfigError(
            f"{where}: {side} names the label {label!r}, which the mapping has no node for",
            hint=f"the nodes are: {', '.join(labels)}",
        )
    return End(label, FieldPath.parse(path, f"{where}, {side}"))


def _relationship(i: int, spec: Any, labels: dict[str, NodeSpec], origin: str) -> RelSpec:
    where = f"{origin}, relationship {i + 1}"
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: give type, from and to")
    unknown = set(spec) - {"type", "from", "to", "properties"}
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(map(str, unknown)))}")
    missing = [k for k in ("type", "from", "to") if k not in spec]
    if missing:
        raise ConfigError(f"{where}: no {', '.join(missing)}")
    kind = _name(spec["type"], "type", where)
    start = _end(spec["from"], "from", labels, where)
    end = _end(spec["to"], "to", labels, where)
    props = _properties(spec.get("properties"), where)
    arrays = start.path.arrays + end.path.arrays
    for p in props:
        _check_within(p.path, arrays, where)
    return RelSpec(kind, start, end, props)
