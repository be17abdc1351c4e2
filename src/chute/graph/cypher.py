"""The Cypher chute sends to a graph database, rendered for one mapping entry and mode.

Every data statement takes its rows as one list parameter and goes through it with
``UNWIND``: one statement per label or relationship type per batch.  A row is a list (the
key, then the properties in the mapping's order): lists travel and parse faster than maps.
Before a write, read-only statements tell which nodes exist and whether those have the same
properties, which ends of relationships are missing, and whether a relationship between
two ends that were there already exists (see :mod:`chute.graph.plan`): the counts come from
them, and the write leaves out what would change nothing.
Names come from a validated mapping (letters, digits, underscores) and are quoted all the
same.  The statements are the openCypher both Neo4j and FalkorDB run; the one thing they do
differently, making a key unique, each sink does its own way (:func:`neo4j_constraint` for
Neo4j; FalkorDB's client commands).
"""

from __future__ import annotations

from chute.graph.mapping import NodeSpec, Property, RelSpec
from chute.graph.shape import Shape
from chute.sinks.contract import Mode

#: the label of the nodes chute keeps a load's checkpoint in
CHECKPOINT_LABEL = "_ChuteCheckpoint"
#: the label of the node that keeps the record columns a load's mapping reads
SCHEMA_LABEL = "_ChuteTable"

#: a row's status, as the status statements return it (FILLED: a node that had nothing but
#: its key, a relationship's placeholder, and now gets properties)
NEW, SAME, CHANGED, FILLED = 0, 1, 2, 3


def q(name: str) -> str:
    """A quoted name (labels, types, properties)."""
    return "`" + name.replace("`", "``") + "`"


def _same(var: str, props: tuple[Property, ...], at: int) -> str:
    """True when ``var`` has the properties the row gives from ``r[at]`` on (a NULL given
    removes one)."""
    if not props:
        return "true"
    parts = [
        f"(coalesce({var}.{q(p.name)} = r[{at + j}], false) OR "
        f"({var}.{q(p.name)} IS NULL AND r[{at + j}] IS NULL))"
        for j, p in enumerate(props)
    ]
    return " AND ".join(parts)


def _status(var: str, props: tuple[Property, ...], at: int) -> str:
    same = _same(var, props, at)
    return f"CASE WHEN {var} IS NULL THEN {NEW} WHEN {same} THEN {SAME} ELSE {CHANGED} END"


def _set(var: str, props: tuple[Property, ...], at: int, how: str = "SET", row: str = "r") -> str:
    """Set the properties the row gives from ``row[at]`` on (a NULL removes one)."""
    if not props:
        return ""
    return f" {how} " + ", ".join(
        f"{var}.{q(p.name)} = {row}[{at + j}]" for j, p in enumerate(props)
    )


def missing_nodes(label: str, key: str, *, which: bool) -> str:
    """Rows ``[i, key]``: returns ``i`` of each key no node of ``label`` has (``which``),
    or how many they are."""
    return (
        f"UNWIND $rows AS r OPTIONAL MATCH (n:{q(label)} {{{q(key)}: r[1]}}) "
        f"WITH r, n WHERE n IS NULL RETURN {'r[0]' if which else 'count(r)'}"
    )


def node_status(spec: NodeSpec) -> str:
    """Rows ``[i, key, *properties]``: for each node that exists, one integer, ``4 * i`` plus
    its status (SAME, CHANGED or FILLED); a row not returned is new.  (One integer a row:
    a first load's placeholders, filled by their records, come back by the ten thousand.)"""
    return (
        f"UNWIND $rows AS r MATCH (n:{q(spec.label)} {{{q(spec.key_property)}: r[1]}}) "
        f"WITH r, {_status('n', spec.properties, 2)} AS s, size(keys(n)) = 1 AS bare "
        f"RETURN r[0] * 4 + CASE WHEN bare AND s = {CHANGED} THEN {FILLED} ELSE s END"
    )


def node_write(spec: NodeSpec, mode: Mode) -> str:
    """Rows ``[key, *properties]``: create or update the nodes."""
    node = f"(n:{q(spec.label)} {{{q(spec.key_property)}: r[0]}})"
    props = spec.properties
    if mode is Mode.APPEND:
        return f"UNWIND $rows AS r CREATE {node}" + _set("n", props, 1)
    if mode is Mode.IGNORE:
        return f"UNWIND $rows AS r MERGE {node}" + _set("n", props, 1, "ON CREATE SET")
    return f"UNWIND $rows AS r MERGE {node}" + _set("n", props, 1)


def _ends(spec: RelSpec, keys: dict[str, str], match: str, at: int) -> str:
    """The two ends of ``spec``'s rows, whose keys are ``r[at]`` and ``r[at + 1]``."""
    start, end = spec.start.label, spec.end.label
    return (
        f"{match} (a:{q(start)} {{{q(keys[start])}: r[{at}]}}) "
        f"{match} (b:{q(end)} {{{q(keys[end])}: r[{at + 1}]}}) "
    )


def rel_status(spec: RelSpec, keys: dict[str, str]) -> str:
    """Rows ``[i, start, end, *properties]`` (both ends there): returns ``i`` and the
    status of the first relationship of the type between the ends, for the rows that have
    one (a row not returned is new)."""
    return (
        f"UNWIND $rows AS r {_ends(spec, keys, 'MATCH', 1)}"
        f"MATCH (a)-[x:{q(spec.type)}]->(b) "
        f"WITH r, collect(x)[0] AS x "
        f"RETURN r[0], {_status('x', spec.properties, 3)}"
    )


def rel_write(spec: RelSpec, keys: dict[str, str], mode: Mode, *, require_nodes: bool) -> str:
    """Rows ``[start, end, *properties]``: the ends (placeholders made unless
    ``require_nodes``), then the relationship."""
    head = "UNWIND $rows AS r " + _ends(spec, keys, "MATCH" if require_nodes else "MERGE", 0)
    rel = f"(a)-[x:{q(spec.type)}]->(b)"
    props = spec.properties
    if mode is Mode.APPEND:
        return head + f"CREATE {rel}" + _set("x", props, 2)
    if mode is Mode.IGNORE:
        return head + f"MERGE {rel}" + _set("x", props, 2, "ON CREATE SET")
    return head + f"MERGE {rel}" + _set("x", props, 2)


def keep_node(param: str = "rows", label: str = CHECKPOINT_LABEL, key: str = "load_key") -> str:
    """Rows of one bookkeeping node: make it, and set its properties to the given ones."""
    return f"UNWIND ${param} AS r MERGE (c:{q(label)} {{{q(key)}: r.k}}) SET c = r.p"


def find_node(label: str, key: str = "load_key") -> str:
    return f"MATCH (c:{q(label)} {{{q(key)}: $k}}) RETURN properties(c)"


def drop_node(label: str, key: str = "load_key") -> str:
    return f"MATCH (c:{q(label)} {{{q(key)}: $k}}) DELETE c"


def neo4j_constraint(label: str, prop: str) -> str:
    name = f"chute_{label}_{prop}"
    return (
        f"CREATE CONSTRAINT {q(name)} IF NOT EXISTS "
        f"FOR (n:{q(label)}) REQUIRE n.{q(prop)} IS UNIQUE"
    )


def shape_write(shape: Shape) -> str:
    """Rows of :func:`chute.graph.shape.shape_rows`: each record's node, then each arm's
    other ends (their properties where the arm fills them) and relationships, under it."""
    anchor = shape.anchor
    out = (
        f"UNWIND $rows AS r MERGE (a:{q(anchor.label)} {{{q(anchor.key_property)}: r[0]}})"
        + _set("a", anchor.properties, 1)
    )
    for n, arm in enumerate(shape.arms, start=1 + len(anchor.properties)):
        other = arm.other
        out += (
            f" FOREACH (x IN r[{n}] | MERGE (b:{q(other.label)} {{{q(other.key_property)}: x[0]}})"
        )
        at = 1
        if arm.fills:
            out += _set("b", other.properties, at, row="x")
            at += len(other.properties)
        rel = (
            f"(a)-[e:{q(arm.rel.type)}]->(b)" if arm.outward else f"(b)-[e:{q(arm.rel.type)}]->(a)"
        )
        out += f" MERGE {rel}" + _set("e", arm.rel.properties, at, row="x") + ")"
    return out
