"""Versioned datasets against a model: random versions of a table imported one after
another (on main and on branches), then every commit checked out and random pairs diffed,
compared with what the files themselves say.  The files are the oracle."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import chute
from tests.datasets.conftest import import_rows

COLUMNS = ["id", "name", "qty"]


def _next_version(rng: random.Random, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    out = {k: dict(v) for k, v in rows.items()}
    for k in list(out):
        r = rng.random()
        if r < 0.15:
            del out[k]
        elif r < 0.35:
            out[k]["qty"] = rng.randint(0, 5)
        elif r < 0.4:
            out[k]["name"] = rng.choice(["a", "b", None, "c d"])
    for _ in range(rng.randint(0, 4)):
        k = rng.randint(1, 40)
        out.setdefault(k, {"id": k, "name": rng.choice(["x", "y", None]), "qty": rng.randint(0, 5)})
    return out


def _as_rows(version: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [version[k] for k in sorted(version)]


def _diff(a: dict[int, dict[str, Any]], b: dict[int, dict[str, Any]]) -> set[tuple[str, int]]:
    out = {("added", k) for k in b if k not in a}
    out |= {("removed", k) for k in a if k not in b}
    out |= {("changed", k) for k in a if k in b and a[k] != b[k]}
    return out


def _checkout(ds: chute.Dataset, rev: str, path: Path) -> dict[int, dict[str, Any]]:
    ds.checkout(rev, to=str(path))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    path.unlink()
    return {r["id"]: r for r in rows}


@pytest.mark.parametrize("seed", range(4))
def test_every_commit_checks_out_as_its_file_and_diffs_match_the_files(
    db_url: str, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    version: dict[int, dict[str, Any]] = {
        k: {"id": k, "name": rng.choice(["a", "b", None]), "qty": rng.randint(0, 5)}
        for k in range(1, 25)
    }
    versions: list[dict[int, dict[str, Any]]] = []  # by main's commits, oldest first
    for i in range(6):
        report = import_rows(db_url, tmp_path / f"v{i}.csv", COLUMNS, _as_rows(version))
        if i == 0 or _diff(versions[-1], version):
            assert report.dataset is not None and report.dataset["commit"] is not None
            versions.append(version)
        else:
            assert report.dataset is not None and report.dataset["commit"] is None
        version = _next_version(rng, version)

    # a branch from a commit in the middle, with two versions of its own
    fork = rng.randrange(len(versions))
    back = len(versions) - 1 - fork
    with chute.dataset(db_url, "orders") as ds:
        ds.branch("side", f"main~{back}")
    side = [versions[fork]]
    for i in range(2):
        v = _next_version(rng, side[-1])
        import_rows(db_url, tmp_path / f"s{i}.csv", COLUMNS, _as_rows(v), branch="side")
        if _diff(side[-1], v):
            side.append(v)

    with chute.dataset(db_url, "orders") as ds:
        log = ds.log()
        assert len(log) == len(versions)
        for back, expected in enumerate(reversed(versions)):
            assert _checkout(ds, f"main~{back}", tmp_path / "c.jsonl") == expected
            assert _checkout(ds, log[back]["id"][:8], tmp_path / "c.jsonl") == expected
        assert _checkout(ds, "side", tmp_path / "c.jsonl") == side[-1]
        for _ in range(8):
            i, j = rng.randrange(len(versions)), rng.randrange(len(versions))
            d = ds.diff(f"main~{len(versions) - 1 - i}", f"main~{len(versions) - 1 - j}")
            got = {(c, v[0]) for c, v in zip(d.changes, d.values, strict=True)}
            assert got == _diff(versions[i], versions[j]), (i, j)
        d = ds.diff("main", "side")
        got = {(c, v[0]) for c, v in zip(d.changes, d.values, strict=True)}
        assert got == _diff(versions[-1], side[-1])
        d = ds.diff("side", "main")
        got = {(c, v[0]) for c, v in zip(d.changes, d.values, strict=True)}
        assert got == _diff(side[-1], versions[-1])
