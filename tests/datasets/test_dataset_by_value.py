"""A keyed import on PostgreSQL compares the stage with the head value by value and takes
digests of the changed rows only; comparing every row's digest is the oracle.  Each version
is imported both ways into datasets of their own: commits, counts, views and every stored
digest must agree."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import chute
import chute.datasets.importer as importer
from tests.helpers import query

#: values that are equal and print differently (double -0.0 and 0.0, jsonb 1.0 and 1: the
#: types compared as text), spellings of one value, and plain changes
SPELLINGS: dict[str, list[Any]] = {
    "w": [0.0, -0.0, 1.5, 1000.0, None, 0.1],
    "j": [{"a": 1.0}, {"a": 1}, {"a": 1.00, "b": []}, {"b": [], "a": 1}, None, [1, 2]],
    "p": ["1.10", "1.1", "2", "2.00", None, "-0.00"],
    "at": ["2023-01-01T00:00:00+01:00", "2022-12-31T23:00:00Z", "2023-01-01 00:00:00+00", None],
    "flag": [True, False, None],
    "note": ["a", "a ", "A", "", "é", None],
}
TYPES = {
    "id": "bigint", "w": "double precision", "j": "jsonb", "p": "text",
    "at": "timestamp with time zone", "flag": "text", "note": "text",
}  # fmt: skip


def _import(url: str, path: Path, rows: list[dict[str, Any]], dataset: str) -> dict[str, Any]:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = chute.load(
        str(path), into=url, dataset=dataset, key="id", rejects=str(path) + ".rejects.jsonl"
    )
    assert report.dataset is not None
    return report.dataset


def _version(rng: random.Random, rows: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    for i in rng.sample(sorted(rows), k=len(rows) // 3):  # change a third
        column = rng.choice(list(SPELLINGS))
        rows[i][column] = rng.choice(SPELLINGS[column])
    for i in rng.sample(sorted(rows), k=2):
        del rows[i]
    for _ in range(2):
        new = max(rows) + 1
        rows[new] = {"id": new, **{c: rng.choice(s) for c, s in SPELLINGS.items()}}
    return [rows[i] for i in sorted(rows)]


@pytest.mark.parametrize("seed", [1, 2])
def test_changes_by_value_equal_changes_by_digest(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    rows = {i: {"id": i, **{c: rng.choice(s) for c, s in SPELLINGS.items()}} for i in range(1, 41)}
    by_value = 0
    real = importer._changes_by_value

    def counted(*args: object, **kwargs: object) -> str:
        nonlocal by_value
        by_value += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importer, "_changes_by_value", counted)
    same = importer._same_columns
    for n in range(8):
        version = _version(rng, rows) if n else [rows[i] for i in sorted(rows)]
        if n == 6:  # a word among the booleans: the column is retyped to text
            version[0]["flag"] = "maybe"
        path = tmp_path / f"v{n}.jsonl"
        fast = _import(pg_url, path, version, "fast")
        monkeypatch.setattr(importer, "_same_columns", lambda *a: False)
        slow = _import(pg_url, path, version, "slow")
        monkeypatch.setattr(importer, "_same_columns", same)
        for field in ("added", "changed", "removed", "unchanged"):
            assert fast[field] == slow[field], (n, field)
    # the imports after the first took the path by value until a column was retyped: then
    # the versions table holds it as text, the file as jsonb, and digests decide
    assert by_value == 5
    declared = "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
    declared += "attrelid = '_chute_v_fast'::regclass AND attnum > 0 AND attname NOT LIKE '\\_%'"
    assert dict(query(pg_url, declared)) == TYPES  # the types the comparison is about
    for table in ("_chute_v_fast", "_chute_v_slow"):
        assert query(pg_url, f"SELECT count(*) FROM {table} WHERE _h IS NULL") == [(0,)]
    stored = "SELECT _id, _h, _from, _to FROM {} ORDER BY _id, _from"
    assert query(pg_url, stored.format("_chute_v_fast")) == query(
        pg_url, stored.format("_chute_v_slow")
    )
    assert query(pg_url, "SELECT * FROM fast ORDER BY id") == query(
        pg_url, "SELECT * FROM slow ORDER BY id"
    )


def test_versions_taken_by_a_merge_carry_digests_an_import_would_give(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge takes versions from a side with other columns: their digests are taken again
    over the merge commit's columns, so comparing by value (which trusts the head's digests)
    and by digest agree on the next import."""
    same = importer._same_columns
    v1 = [{"id": i, "a": f"x{i}"} for i in range(1, 5)]
    wide = [{**r, "b": None} for r in v1]  # main gains column b, empty
    side = [{**r, "a": "changed"} if r["id"] == 2 else r for r in v1]
    merged = [{**r, "a": "changed"} if r["id"] == 2 else r for r in wide]
    got = {}
    for name, by_value in (("fast", True), ("slow", False)):
        monkeypatch.setattr(importer, "_same_columns", same if by_value else lambda *a: False)
        _import(pg_url, tmp_path / "v1.jsonl", v1, name)
        with chute.dataset(pg_url, name) as ds:
            ds.branch("x")
        chute.load(str(_write(tmp_path / "s.jsonl", side)), into=pg_url, dataset=name,
                   key="id", branch="x")  # fmt: skip
        _import(pg_url, tmp_path / "wide.jsonl", wide, name)
        with chute.dataset(pg_url, name) as ds:
            assert ds.merge("x", prefer="theirs")["changed"] == 1
        got[name] = _import(pg_url, tmp_path / "again.jsonl", merged, name)
    counts = ("added", "changed", "removed", "unchanged")
    assert [got["fast"][c] for c in counts] == [got["slow"][c] for c in counts] == [0, 0, 0, 4]
    stored = "SELECT _id, _h, _from, _to FROM {} ORDER BY _id, _from"
    assert query(pg_url, stored.format("_chute_v_fast")) == query(
        pg_url, stored.format("_chute_v_slow")
    )


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("seed", [1, 2])
def test_changes_by_value_equal_changes_by_digest_on_sqlite(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """SQLite compares values with ``IS`` and their storage classes, and asks the digest
    itself for real zeros (0.0 and -0.0): the same change sets as comparing digests."""
    rng = random.Random(seed)
    rows = {i: {"id": i, **{c: rng.choice(s) for c, s in SPELLINGS.items()}} for i in range(1, 41)}
    by_value = 0
    real = importer._changes_by_value

    def counted(*args: object, **kwargs: object) -> str:
        nonlocal by_value
        by_value += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importer, "_changes_by_value", counted)
    same = importer._same_columns
    for n in range(8):
        version = _version(rng, rows) if n else [rows[i] for i in sorted(rows)]
        if n == 6:
            version[0]["flag"] = "maybe"
        path = tmp_path / f"v{n}.jsonl"
        fast = _import(sqlite_url, path, version, "fast")
        monkeypatch.setattr(importer, "_same_columns", lambda *a: False)
        slow = _import(sqlite_url, path, version, "slow")
        monkeypatch.setattr(importer, "_same_columns", same)
        for field in ("added", "changed", "removed", "unchanged"):
            assert fast[field] == slow[field], (n, field)
    assert by_value >= 5
    stored = "SELECT _id, _h, _from, _to FROM {} ORDER BY _id, _from"
    assert query(sqlite_url, stored.format("_chute_v_fast")) == query(
        sqlite_url, stored.format("_chute_v_slow")
    )
