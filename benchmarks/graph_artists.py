"""Report 03's artists for ``graph_consume.py``: the messages (seeded: artist ``id`` 1..N, a
name and a country, 0-4 ``members`` and 1-5 ``releases``; one in ``bad_every`` bad), chute's
mapping for them, the hand-written query, and what a correct consumer stores."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

SEED = 13
BAD_ID_FROM = 1_000_000_000  # bad messages' ids, where no good one is
COUNTRIES = ("GB", "US", "DE", "FR", "JP", "SE", "BR", "NG", "AU", "CA")
MAPPING: dict[str, Any] = {
    "nodes": {
        "Artist": {"key": "id", "properties": ["name", "country"]},
        "Release": {"key": "releases[].id", "properties": ["releases[].title", "releases[].year"]},
    },
    "relationships": [
        {"type": "RELEASED", "from": {"Artist": "id"}, "to": {"Release": "releases[].id"}},
        {"type": "MEMBER_OF", "from": {"Artist": "members[].id"}, "to": {"Artist": "id"}},
    ],
}
INDEXES = ("CREATE INDEX FOR (a:Artist) ON (a.id)", "CREATE INDEX FOR (r:Release) ON (r.id)")
UNWIND = (
    "UNWIND $rows AS r MERGE (a:Artist {id: r.id}) SET a.name = r.name, a.country = r.country "
    "FOREACH (x IN r.releases | MERGE (l:Release {id: x.id}) SET l.title = x.title, "
    "l.year = x.year MERGE (a)-[:RELEASED]->(l)) "
    "FOREACH (m IN r.members | MERGE (p:Artist {id: m.id}) MERGE (p)-[:MEMBER_OF]->(a))"
)


# -- the messages and what a correct consumer stores ----------------------------------------


def generate(n: int, bad_every: int, seed: int = SEED) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    space = n + max(1, n // 100)  # members beyond n never get a message: placeholders
    for i in range(1, n + 1):
        members = rnd.sample(range(1, space + 1), rnd.randint(0, 4))
        country = COUNTRIES[rnd.randrange(len(COUNTRIES))]
        releases = [
            {"id": i * 10 + k, "title": f"record {i}-{k}", "year": rnd.randint(1960, 2026)}
            for k in range(rnd.randint(1, 5))
        ]
        crew = [{"id": m, "name": f"artist {m}"} for m in members if m != i]
        out.append({"id": i, "name": f"artist {i}", "country": country, "members": crew})
        out[-1]["releases"] = releases
    bad = [
        {"name": f"nameless {j}", "releases": [{"id": BAD_ID_FROM + j, "title": "x"}]}
        if j % 2
        else {"id": BAD_ID_FROM + j, "name": f"bad {j}", "releases": "not an array"}
        for j in range(n // bad_every if bad_every else 0)
    ]
    for b in bad:
        out.insert(rnd.randrange(len(out) + 1), b)
    return out


def is_good(m: dict[str, Any]) -> bool:
    return m.get("id") is not None and isinstance(m.get("releases"), list)


@dataclass
class Expected:
    artists: int
    releases: int
    released: int
    member_of: int
    bad: int

    @classmethod
    def of(cls, messages: list[dict[str, Any]]) -> Expected:
        good = [m for m in messages if is_good(m)]
        artists = {m["id"] for m in good} | {p["id"] for m in good for p in m["members"]}
        released = {(m["id"], r["id"]) for m in good for r in m["releases"]}
        member_of = {(p["id"], m["id"]) for m in good for p in m["members"]}
        bad = len(messages) - len(good)
        return cls(len(artists), len({r for _, r in released}), len(released), len(member_of), bad)
