"""The engine against the in-memory sink: modes, counts, dedupe, widening, errors."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import chute
from chute.errors import ConfigError, TooManyRejectsError
from chute.sinks.memory import MemorySink


@pytest.fixture
def mem() -> str:
    return f"memory://{uuid.uuid4().hex}"


def rows(url: str, table: str) -> list[dict]:
    return MemorySink.databases[url.split("://", 1)[1]][table].rows


def test_iterable_is_loaded_with_exact_counts(mem: str) -> None:
    report = chute.load(
        ({"id": i, "v": f"x{i}"} for i in range(10)), into=mem, table="t", batch_rows=3
    )
    assert report.status == "completed"
    assert (report.read, report.written, report.created, report.batches) == (10, 10, 10, 4)
    assert [r["id"] for r in rows(mem, "t")] == list(range(10))


def test_upsert_last_record_of_a_key_wins_within_and_across_batches(mem: str) -> None:
    data = [
        {"id": 1, "v": "a"},
        {"id": 2, "v": "b"},
        {"id": 1, "v": "c"},
        {"id": 3, "v": "d"},
        {"id": 1, "v": "e"},
    ]
    report = chute.load(data, into=mem, table="t", mode="upsert", key="id", batch_rows=3)
    assert {r["id"]: r["v"] for r in rows(mem, "t")} == {1: "e", 2: "b", 3: "d"}
    # as if applied one by one: 3 created, then 1 updated twice
    assert (report.created, report.updated, report.skipped) == (3, 2, 0)
    assert report.read == report.written + report.skipped + report.rejected


def test_ignore_skips_existing_keys_and_counts_them(mem: str) -> None:
    chute.load([{"id": 1, "v": "old"}], into=mem, table="t", mode="ignore", key="id")
    report = chute.load(
        [{"id": 1, "v": "new"}, {"id": 2, "v": "x"}], into=mem, table="t", mode="ignore", key="id"
    )
    assert (report.created, report.skipped) == (1, 1)
    assert {r["id"]: r["v"] for r in rows(mem, "t")} == {1: "old", 2: "x"}


def test_a_refused_record_is_rejected_and_the_rest_committed(mem: str, tmp_path: Path) -> None:
    data = [{"id": i} for i in range(5)] + [{"id": 2}] + [{"id": 9}]
    report = chute.load(
        data, into=mem, table="t", key="id", batch_rows=5, rejects=str(tmp_path / "r.jsonl")
    )
    assert (report.status, report.read, report.written, report.rejected) == ("completed", 7, 6, 1)
    [reject] = report.rejects
    assert reject.position.record == 6
    assert reject.record == {"id": 2}
    assert [r["id"] for r in rows(mem, "t")] == [0, 1, 2, 3, 4, 9]


def test_max_errors_stops_after_the_batch_that_passed_it(mem: str, tmp_path: Path) -> None:
    data = [{"id": i % 3} for i in range(9)]
    with pytest.raises(TooManyRejectsError, match="more than --max-errors 2") as info:
        chute.load(
            data,
            into=mem,
            table="t",
            key="id",
            batch_rows=3,
            max_errors=2,
            rejects=str(tmp_path / "r.jsonl"),
        )
    report = info.value.report
    assert report is not None
    assert (report.status, report.read, report.written, report.rejected) == ("failed", 6, 3, 3)


def test_csv_columns_widen_when_later_batches_disagree(mem: str, tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("n,z\n1,1\n2,2\n12.5,007\n3,3\nn/a,4\n")
    report = chute.load(path, into=mem, table="w", batch_rows=2)
    assert report.columns == {"n": "text", "z": "text"}
    # stored values keep their column's scale: 3 became 3.0 while the column was numeric(38,1)
    assert [r["n"] for r in rows(mem, "w")] == ["1", "2", "12.5", "3.0", "n/a"]
    assert [r["z"] for r in rows(mem, "w")] == ["1", "2", "007", "3", "4"]
    assert report.changes == [
        f"column n widened from bigint to numeric(38,1) at {path}, line 4 (value '12.5')",
        f"column z widened from bigint to text at {path}, line 4 (value '007')",
        f"column n widened from numeric(38,1) to text at {path}, line 6 (value 'n/a')",
    ]


def test_key_that_is_not_in_the_data_is_a_config_error(mem: str) -> None:
    with pytest.raises(ConfigError, match=r"key column.*nope"):
        chute.load([{"id": 1}], into=mem, table="t", mode="upsert", key="nope")


def test_upsert_without_key_is_a_config_error(mem: str) -> None:
    with pytest.raises(ConfigError, match="needs key columns"):
        chute.load([{"id": 1}], into=mem, table="t", mode="upsert")


def test_unknown_mode_scheme_and_table_names_are_config_errors(mem: str) -> None:
    with pytest.raises(ConfigError, match="unknown mode"):
        chute.load([{"id": 1}], into=mem, table="t", mode="merge")
    with pytest.raises(ConfigError, match="unknown database scheme 'oracle'"):
        chute.load([{"id": 1}], into="oracle://x", table="t")
    with pytest.raises(ConfigError, match="not a valid table name"):
        chute.load([{"id": 1}], into=mem, table="t; drop table x")
    with pytest.raises(ConfigError, match="malformed database URL"):
        chute.load([{"id": 1}], into="nonsense", table="t")


def test_records_that_are_not_dicts_are_rejected(mem: str, tmp_path: Path) -> None:
    report = chute.load([{"id": 1}, 5], into=mem, table="t", rejects=str(tmp_path / "r.jsonl"))
    assert (report.written, report.rejected) == (1, 1)
    assert report.rejects[0].message == "expected a dict, found int"


def test_empty_iterable_creates_nothing_and_says_so(mem: str) -> None:
    report = chute.load([], into=mem, table="t")
    assert report.read == 0 and report.status == "completed"
    assert "t" not in MemorySink.databases.get(mem.split("://")[1], {})
    assert report.changes == ["the input holds no records; nothing was written"]
