"""An upsert into FalkorDB writes a record's node with what hangs off it in one statement
(graph/shape.py); it must store and count exactly what the statements per label and type
store and count.  Random small loads, each run both ways into a graph of its own, then
compared: every node and relationship with its properties, and every load's report."""

from __future__ import annotations

import copy
import json
import random
import uuid
from typing import Any

import pytest

import chute
from chute.errors import NothingStoredError
from chute.sinks.falkordb import FalkorSink

MAPPING: dict[str, Any] = {
    "nodes": {
        "Artist": {"key": "id", "properties": ["name", "country"]},
        "Release": {"key": "releases[].rid", "properties": ["releases[].title"]},
        "Tag": {"key": "tags[]"},
    },
    "relationships": [
        {
            "type": "RELEASED",
            "from": {"Artist": "id"},
            "to": {"Release": "releases[].rid"},
            "properties": ["releases[].role"],
        },
        {
            "type": "MEMBER_OF",
            "from": {"Artist": "members[].id"},
            "to": {"Artist": "id"},
            "properties": ["members[].since"],
        },
        {"type": "TAGGED", "from": {"Artist": "id"}, "to": {"Tag": "tags[]"}},
        {
            "type": "LIKES",
            "from": {"Artist": "id"},
            "to": {"Release": "likes[]"},
            "properties": ["country"],
        },
        {
            "type": "FEAT",
            "from": {"Release": "releases[].rid"},
            "to": {"Artist": "releases[].feat"},
        },
    ],
}
SEEDS = 20


def _record(r: random.Random) -> dict[str, Any]:
    def pick(xs: list[Any]) -> Any:
        return r.choice(xs)

    return {
        "id": r.randint(1, 6),
        "name": pick([None, "a", "b"]),
        "country": pick([None, "x", "y"]),
        "releases": [
            {
                "rid": r.randint(100, 105),
                "title": pick([None, "t1", "t2"]),
                "role": pick([None, "r1"]),
                "feat": pick([None, r.randint(1, 8)]),
            }
            for _ in range(r.randint(0, 2))
        ],
        "members": [
            {"id": r.randint(1, 8), "since": pick([None, 1, 2])} for _ in range(r.randint(0, 2))
        ],
        "tags": [pick(["k1", "k2"]) for _ in range(r.randint(0, 2))],
        "likes": [r.randint(100, 108) for _ in range(r.randint(0, 2))],
    }


def _loads(seed: int) -> tuple[list[list[dict[str, Any]]], int]:
    """A first load, another, the first again, the first changed a little, the first again;
    and the batch size."""
    r = random.Random(seed)
    first = [_record(r) for _ in range(r.randint(1, 8))]
    second = [_record(r) for _ in range(r.randint(1, 8))]
    changed = copy.deepcopy(first)
    for record in changed:
        if r.random() < 0.3:
            record["name"] = r.choice([None, "zz"])
        for member in record["members"]:
            if r.random() < 0.5:
                member["since"] = r.choice([None, 7])
        for release in record["releases"]:
            if r.random() < 0.3:
                release["title"] = r.choice([None, "tt"])
            if r.random() < 0.3:
                release["role"] = r.choice([None, "rr"])
        if r.random() < 0.1:
            record["id"] = {"bad": 1}  # rejected: a map is no key
    return [first, second, copy.deepcopy(first), changed, copy.deepcopy(first)], r.choice(
        [2, 3, 50]
    )


def _graph(url: str) -> tuple[list[str], list[str]]:
    from falkordb import FalkorDB

    host, port = url.split("//")[1].split("/")[0].split(":")
    graph = FalkorDB(host=host, port=int(port)).select_graph(url.rsplit("/", 1)[1])
    nodes = graph.ro_query(
        "MATCH (n) WHERE NOT labels(n)[0] STARTS WITH '_' RETURN labels(n)[0], properties(n)"
    ).result_set
    rels = graph.ro_query(
        "MATCH (a)-[e]->(b) WHERE NOT labels(a)[0] STARTS WITH '_' "
        "RETURN labels(a)[0], properties(a), type(e), properties(e), labels(b)[0], properties(b)"
    ).result_set
    graph.delete()

    def spelt(row: list[Any]) -> str:
        return json.dumps(row, sort_keys=True, default=dict)

    return sorted(map(spelt, nodes)), sorted(map(spelt, rels))


@pytest.mark.parametrize("seed", range(SEEDS))
def test_writing_by_record_stores_and_counts_what_writing_by_label_does(
    seed: int, falkordb: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads, batch_rows = _loads(seed)
    seen = {}
    for by_record in (False, True):
        monkeypatch.setattr(FalkorSink, "writes_by_record", by_record)
        url = falkordb.url(f"shape_{uuid.uuid4().hex[:8]}")
        reports = []
        for records in loads:
            try:
                report = chute.load(
                    records,
                    into=url,
                    table="t",
                    graph=MAPPING,
                    batch_rows=batch_rows,
                    rejects=str(tmp_path / "rejects.jsonl"),
                )
            except NothingStoredError as exc:  # every record rejected: the same both ways
                assert exc.report is not None
                report = exc.report
            assert report.read == report.written + report.skipped + report.rejected
            reports.append((report.graph, report.created, report.updated, report.rejected))
        seen[by_record] = (_graph(url), reports)
    assert seen[True] == seen[False]
