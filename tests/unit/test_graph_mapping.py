"""Graph mappings: what is read, what is refused and how, and how records project onto
nodes and relationships (no database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chute.errors import ConfigError
from chute.graph.mapping import load_mapping
from chute.graph.project import BadRecord, project
from chute.sinks.falkordb import _one_query

MAPPING: dict[str, Any] = {
    "nodes": {
        "Artist": {"key": "artist_id", "properties": ["name", "address.city"]},
        "Member": {"key": "members[].id", "properties": {"who": "members[].name", "band": "name"}},
    },
    "relationships": [
        {"type": "MEMBER_OF", "from": {"Member": "members[].id"}, "to": {"Artist": "artist_id"},
         "properties": {"since": "members[].since"}},
    ],
}  # fmt: skip


def test_a_yaml_and_a_json_file_and_a_dict_read_alike(tmp_path: Path) -> None:
    yml = tmp_path / "m.yml"
    yml.write_text(
        "nodes:\n  Artist: {key: artist_id, properties: [name, address.city]}\n"
        "  Member: {key: 'members[].id', properties: {who: 'members[].name', band: name}}\n"
        "relationships:\n  - {type: MEMBER_OF, from: {Member: 'members[].id'}, "
        "to: {Artist: artist_id}, properties: {since: 'members[].since'}}\n"
    )
    js = tmp_path / "m.json"
    import json

    js.write_text(json.dumps(MAPPING))
    assert (
        load_mapping(yml).describe()
        == load_mapping(js).describe()
        == load_mapping(MAPPING).describe()
    )
    assert load_mapping(MAPPING).labels["Member"].key_property == "id"


@pytest.mark.parametrize(
    "mapping, message",
    [
        ({}, "no nodes"),
        ({"nodes": {"A": {"properties": ["x"]}}}, "node A: no key"),
        ({"nodes": {"A": {"key": "id", "colour": 1}}}, "unknown setting.s. colour"),
        ({"nodes": {"A b": {"key": "id"}}}, "label 'A b' is not a name"),
        ({"nodes": {"_ChuteX": {"key": "id"}}}, "reserved for chute"),
        ({"nodes": {"A": {"key": "id", "properties": ["id"]}}}, "property id is given twice"),
        ({"nodes": {"A": {"key": "id", "properties": ["tags[]"]}}},
         "goes through the array tags.., which the key does not"),
        ({"nodes": {"A": {"key": "a..b"}}}, "cannot read the field path"),
        ({"nodes": {"A": {"key": "id"}}, "relationships": [{"type": "T", "from": {"A": "id"}}]},
         "relationship 1: no to"),
        ({"nodes": {"A": {"key": "id"}},
          "relationships": [{"type": "T", "from": {"A": "id"}, "to": {"B": "b"}}]},
         "to names the label 'B', which the mapping has no node for"),
        ({"nodes": {"A": {"key": "id"}}, "edges": []}, "unknown section.s. edges"),
    ],
)  # fmt: skip
def test_a_wrong_mapping_is_one_config_error_naming_the_place(
    mapping: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_mapping(mapping)


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "m.yml"
    bad.write_text("nodes: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_mapping(bad)
    with pytest.raises(ConfigError, match="cannot read the graph mapping"):
        load_mapping(tmp_path / "missing.yml")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="holds a list, not nodes and relationships"):
        load_mapping(listed)


def test_records_project_to_nodes_merged_by_key_and_one_relationship_per_element() -> None:
    records = [
        {"artist_id": 1, "name": "Band", "address": {"city": "Oslo"},
         "members": [{"id": 7, "name": "Ann", "since": 1999}, {"id": 8, "name": "Bo"}]},
        {"artist_id": 2, "name": "Duo", "address": None,
         "members": [{"id": 7, "name": "Ann B.", "since": 2010}]},
    ]  # fmt: skip

    rows = project(load_mapping(MAPPING), records)

    artists, members = rows.nodes
    assert artists.keys == [1, 2]
    assert artists.props == [["Band", "Oslo"], ["Duo", None]]  # name, city
    assert members.keys == [7, 8]  # 7 twice: one node, the later record's values win
    assert members.props == [["Ann B.", "Duo"], ["Bo", "Band"]]  # who, band
    assert members.records == [[0, 1], [0]]
    (member_of,) = rows.rels
    rows_of = zip(member_of.starts, member_of.ends, member_of.props, member_of.records, strict=True)
    assert list(rows_of) == [
        (7, 1, [1999], 0),
        (8, 1, [None], 0),
        (7, 2, [2010], 1),
    ]


@pytest.mark.parametrize(
    "record, reason",
    [
        ({"name": "x"}, "node Artist: no value for its key artist_id"),
        ({"artist_id": {"a": 1}}, "its key artist_id is a map, not a text or number"),
        ({"artist_id": 1, "members": {"id": 1}}, "field members is a map, not an array"),
        ({"artist_id": 1, "members": [{"name": "no id"}]}, "node Member: no value for its key"),
        ({"artist_id": 1, "address": "Oslo"}, "field address.city: 'city' is inside a text"),
    ],
)
def test_a_record_that_cannot_be_projected_names_itself_and_why(
    record: dict[str, Any], reason: str
) -> None:
    with pytest.raises(BadRecord) as caught:
        project(load_mapping(MAPPING), [{"artist_id": 0}, record])
    assert caught.value.row == 1
    assert reason in caught.value.reason


def test_keys_equal_for_the_database_are_one_node_and_true_is_not_1() -> None:
    mapping = load_mapping({"nodes": {"A": {"key": "k"}}})
    rows = project(mapping, [{"k": 1}, {"k": 1.0}, {"k": True}, {"k": "1"}])
    assert rows.nodes[0].keys == [1, True, "1"]


def test_statements_of_one_transaction_become_one_query_with_their_parameters_apart() -> None:
    query, params = _one_query(
        [("UNWIND $rows AS r CREATE (n {k: r.k})", {"rows": [1]}),
         ("MATCH (c {k: $k}) SET c += $p", {"k": "x", "p": {"a": 1}})]
    )  # fmt: skip
    assert query == (
        "CALL { UNWIND $p0_rows AS r CREATE (n {k: r.k}) } "
        "CALL { MATCH (c {k: $p1_k}) SET c += $p1_p } RETURN 1"
    )
    assert params == {"p0_rows": [1], "p1_k": "x", "p1_p": {"a": 1}}


def test_a_record_shape_hangs_relationships_with_one_end_at_the_record_node() -> None:
    from chute.graph.cypher import shape_write
    from chute.graph.shape import record_shape

    mapping = load_mapping(
        {
            "nodes": {
                "Artist": {"key": "id", "properties": ["name"]},
                "Release": {"key": "releases[].id", "properties": ["releases[].title"]},
                "Label": {"key": "label.id"},
            },
            "relationships": [
                {"type": "RELEASED", "from": {"Artist": "id"}, "to": {"Release": "releases[].id"}},
                {"type": "MEMBER_OF", "from": {"Artist": "members[]"}, "to": {"Artist": "id"}},
                {"type": "SELF", "from": {"Artist": "id"}, "to": {"Artist": "id"}},
                {"type": "ON", "from": {"Release": "releases[].id"}, "to": {"Label": "label.id"}},
            ],
        }
    )

    shape = record_shape(mapping)

    assert shape is not None and shape.anchor.label == "Artist"
    assert [(a.rel.type, a.outward, a.other.label, a.fills) for a in shape.arms] == [
        ("RELEASED", True, "Release", True),
        ("MEMBER_OF", False, "Artist", False),
    ]
    assert {getattr(s, "label", getattr(s, "type", None)) for s in shape.covers} == {
        "Artist", "Release", "RELEASED", "MEMBER_OF",
    }  # fmt: skip
    assert shape_write(shape) == (
        "UNWIND $rows AS r MERGE (a:`Artist` {`id`: r[0]}) SET a.`name` = r[1] "
        "FOREACH (x IN r[2] | MERGE (b:`Release` {`id`: x[0]}) SET b.`title` = x[1] "
        "MERGE (a)-[e:`RELEASED`]->(b)) "
        "FOREACH (x IN r[3] | MERGE (b:`Artist` {`id`: x[0]}) MERGE (b)-[e:`MEMBER_OF`]->(a))"
    )
    no_record_node = load_mapping({"nodes": {"Release": {"key": "releases[].id"}}})
    assert record_shape(no_record_node) is None


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.sampled_from(["a", "b", ""]),
    st.just({"k": 1}),
    st.just([1]),
)
_RECORDS = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "id": _VALUES,
            "name": _VALUES,
            "tags": st.one_of(_VALUES, st.lists(_VALUES, max_size=4)),
        },
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(records=_RECORDS)
def test_the_short_ways_of_projecting_give_what_the_long_way_gives(
    records: list[dict[str, Any]],
) -> None:
    """Nodes keyed by a top-level field and relationships to a top-level array's elements
    take a short way (graph/project.py); it must agree with the general one, bad records
    and their reasons included."""
    from chute.graph import project as projecting

    node = {"A": {"key": "id", "properties": ["name"]}}
    mappings = [
        {
            "nodes": node,
            "relationships": [
                {"type": "T", "from": {"A": "id"}, "to": {"A": "tags[]"}, "properties": ["name"]},
                {"type": "U", "from": {"A": "tags[]"}, "to": {"A": "id"}},
            ],
        },
        # an end that is no node's key: which end is checked first shows
        {
            "nodes": node,
            "relationships": [{"type": "W", "from": {"A": "tags[]"}, "to": {"A": "name"}}],
        },
    ]

    def seen(rows: Any, bad: dict[int, Any]) -> Any:
        nodes = [(n.keys, n.props, n.records) for n in rows.nodes]
        rels = [(r.starts, r.ends, r.props, r.records) for r in rows.rels]
        return repr((nodes, rels, {i: (b.reason, b.column) for i, b in bad.items()}))

    for spec in mappings:
        mapping = load_mapping(spec)
        short: dict[int, Any] = {}
        short_rows = project(mapping, records, None, short)
        with pytest.MonkeyPatch.context() as m:
            m.setattr(projecting, "_simple_node", lambda spec: None)
            m.setattr(projecting, "_simple_rel", lambda spec: None)
            long: dict[int, Any] = {}
            long_rows = project(mapping, records, None, long)
        assert seen(short_rows, short) == seen(long_rows, long)
