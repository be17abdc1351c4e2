"""The Cypher chute sends to a graph database, rendered for one mapping entry and mode.

Every data statement takes its rows as one list parameter and goes through it with
``UNWIND``: one statement per label or relationship type per batch.  Before a write, a
read-only *status* statement tells for each row whether its node or relationship is new,
there with the same properties, or there with others (and, for a relationship, whether its
ends exist): the counts come from it, and the write leaves out what would change nothing.
Names come from a validated mapping (letters, digits, underscores) and are quoted all the
same.  The statements are the openCypher both Neo4j and FalkorDB run; where the two differ,
:class:`Dialect` says how.
"""

from __future__ import annotations

from dataclasses import dataclass

from chute.graph.mapping import NodeSpec, Property, RelSpec
from chute.sinks.contract import Mode

#: the label of the nodes chute keeps a load's checkpoint in
CHECKPOINT_LABEL = "_ChuteCheckpoint"
#: the label of the node that keeps the record columns a load's mapping reads
SCHEMA_LABEL = "_ChuteTable"

#: a row's status, as the status statements return it
NEW, SAME, CHANGED = 0, 1, 2


@dataclass(frozen=True)
class Dialect:
    name: str
    #: ``CREATE CONSTRAINT … IF NOT EXISTS`` (Neo4j); else an index and a constraint made
    #: through the database's own commands (FalkorDB)
    constraint_statements: bool


NEO4J = Dialect("neo4j", constraint_statements=True)
FALKORDB = Dialect("falkordb", constraint_statements=False)


def q(name: str) -> str:
    """A quoted name (labels, types, properties)."""
    return "`" + name.replace("`", "``") + "`"


def _same(var: str, props: tuple[Property, ...], given: str = "r.p") -> str:
    """True when ``var`` has the properties ``given`` sets (a NULL given removes one)."""
    if not props:
        return "true"
    parts = [
        f"(coalesce({var}.{q(p.name)} = {given}.{q(p.name)}, false) OR "
        f"({var}.{q(p.name)} IS NULL AND {given}.{q(p.name)} IS NULL))"
        for p in props
    ]
    return " AND ".join(parts)


def _status(var: str, props: tuple[Property, ...]) -> str:
    same = _same(var, props)
    return f"CASE WHEN {var} IS NULL THEN {NEW} WHEN {same} THEN {SAME} ELSE {CHANGED} END"


def node_status(spec: NodeSpec) -> str:
    """Rows ``{i, k, p}``: returns ``i`` and the status of the nodes that exist (a row not
    returned is new: a first load returns nothing)."""
    return (
        f"UNWIND $rows AS r MATCH (n:{q(spec.label)} {{{q(spec.key_property)}: r.k}}) "
        f"RETURN r.i, {_status('n', spec.properties)}"
    )


def node_write(spec: NodeSpec, mode: Mode, param: str = "rows") -> str:
    """Rows ``{k, p}``: create or update the nodes (the status said which need it)."""
    node = f"(n:{q(spec.label)} {{{q(spec.key_property)}: r.k}})"
    head = f"UNWIND ${param} AS r "
    if mode is Mode.APPEND:
        return head + f"CREATE {node} SET n += r.p"
    if mode is Mode.IGNORE:
        return head + f"MERGE {node} ON CREATE SET n += r.p"
    return head + f"MERGE {node} SET n += r.p"


def _ends(spec: RelSpec, keys: dict[str, str], match: str) -> str:
    """The two ends of ``spec``'s rows; ``keys``: each label's key property."""
    start, end = spec.start.label, spec.end.label
    return (
        f"{match} (a:{q(start)} {{{q(keys[start])}: r.s}}) "
        f"{match} (b:{q(end)} {{{q(keys[end])}: r.e}}) "
    )


def missing_nodes(label: str, key: str) -> str:
    """Rows ``{i, k}``: returns ``i`` of each key no node of ``label`` has."""
    return (
        f"UNWIND $rows AS r OPTIONAL MATCH (n:{q(label)} {{{q(key)}: r.k}}) "
        "WITH r, n WHERE n IS NULL RETURN r.i"
    )


def rel_status(spec: RelSpec, keys: dict[str, str]) -> str:
    """Rows ``{i, s, e, p}`` (both ends there): returns ``i`` and the status of the first
    relationship of the type between the ends, for the rows that have one (a row not
    returned is new)."""
    return (
        f"UNWIND $rows AS r {_ends(spec, keys, 'MATCH')}"
        f"MATCH (a)-[x:{q(spec.type)}]->(b) "
        f"WITH r, collect(x)[0] AS x "
        f"RETURN r.i, {_status('x', spec.properties)}"
    )


def rel_write(
    spec: RelSpec, keys: dict[str, str], mode: Mode, *, require_nodes: bool, param: str = "rows"
) -> str:
    """Rows ``{s, e, p}``: the ends (placeholders made unless ``require_nodes``), then the
    relationship."""
    head = f"UNWIND ${param} AS r " + _ends(spec, keys, "MATCH" if require_nodes else "MERGE")
    rel = f"(a)-[x:{q(spec.type)}]->(b)"
    if mode is Mode.APPEND:
        return head + f"CREATE {rel} SET x += r.p"
    if mode is Mode.IGNORE:
        return head + f"MERGE {rel} ON CREATE SET x += r.p"
    return head + f"MERGE {rel} SET x += r.p"


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
