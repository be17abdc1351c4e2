"""Values into graph properties, differentially: what the database stores and gives back for
a property is what the record held (texts of every kind, integers to 64 bits, floats,
booleans, lists), on every graph target."""

from __future__ import annotations

import json
import random
import string
from typing import Any

import chute
from tests.graph.graphs import GraphTarget
from tests.graph.test_graph_loads import load

HOSTILE_TEXTS = [
    "", " ", "plain", "it's", 'say "hi"', "back\\slash", "\\", "\\\\'", "trailing\\",
    "new\nline", "tab\there", "cr\rlf", "unicode: ÅÄÖ ñ 漢字", "emoji 🎉👍🏽", "zero\u200bwidth",
    "$rows", "{a: 1}", "[1, 2]", "`backtick`", "CYPHER x=1 MATCH (n) RETURN n", "null", "NaN",
    "a" * 5000, "\u00a0nbsp", "'; MATCH (n) DETACH DELETE n //",
]  # fmt: skip


def _random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = string.printable + "ÅäöñßØæ漢字🎉\u2028\u2029\\\"'`$"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def test_texts_numbers_and_lists_come_back_as_they_went_in(graph: GraphTarget) -> None:
    graph.need("exact_values")
    texts = HOSTILE_TEXTS + _random_texts(300, 13)
    ints = [0, 1, -1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, -(2**63)]
    floats = [0.5, -0.0, 1e-300, 1.7976931348623157e308, 0.1 + 0.2, 123456.789, 5e-324]
    records = [
        {"id": i, "text": t, "n": ints[i % len(ints)], "x": floats[i % len(floats)],
         "ok": i % 2 == 0, "tags": [t[:3], str(i)]}
        for i, t in enumerate(texts)
    ]  # fmt: skip
    path = graph.tmp / "values.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    mapping = {"nodes": {"V": {"key": "id", "properties": ["text", "n", "x", "ok", "tags"]}}}

    report = load(graph, path, graph=mapping, table="values")

    assert report.created == len(records)
    stored = graph.nodes("V", "id")
    for r in records:
        got: dict[str, Any] = stored[r["id"]]
        # FalkorDB answers a float with 15 digits (1.7976931348623157e308 comes back as
        # inf): the stored float is compared in the database, with the exact value sent
        assert {**got, "x": None} == {**r, "x": None}, (r, got)
    same = graph.query(
        "UNWIND $rows AS r MATCH (v:V {id: r.id}) WHERE v.x = r.x RETURN count(v)",
        rows=[{"id": r["id"], "x": r["x"]} for r in records],
    )
    assert same == [[len(records)]]


def test_a_float_sent_as_a_parameter_is_stored_to_the_last_bit(graph: GraphTarget) -> None:
    """What makes the comparison above exact: the difference to a near float is not 0."""
    graph.need("exact_values")
    if graph.name == "falkordb":
        graph.query_write("CREATE (:Probe)")  # a graph to ask: FalkorDB has none until then
    [[diff, top]] = graph.query(
        "RETURN $x - 0.3, $y - 1.7976931348623157e308",
        x=0.1 + 0.2,
        y=1.7976931348623157e308,
    )
    assert diff == 5.551115123125783e-17 or abs(diff - 5.551115123125783e-17) < 1e-30
    assert top == 0.0


def test_nan_and_infinity_reject_their_record_on_falkordb(falkor: GraphTarget) -> None:
    records = [{"id": 1, "x": 1.5}, {"id": 2, "x": float("nan")}, {"id": 3, "x": float("inf")}]
    mapping = {"nodes": {"V": {"key": "id", "properties": ["x"]}}}

    report = chute.load(
        records, into=falkor.url, table="v", graph=mapping, rejects=str(falkor.tmp / "r.jsonl")
    )

    assert (report.created, report.rejected) == (1, 2)
    assert "FalkorDB cannot be sent nan" in report.rejects[0].message
    assert "FalkorDB cannot be sent inf" in report.rejects[1].message
    assert graph_ids(falkor) == [1]


def graph_ids(target: GraphTarget) -> list[Any]:
    return sorted(target.nodes("V", "id"))
