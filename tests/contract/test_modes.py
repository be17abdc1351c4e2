"""Contract: the four write modes store the same rows and report the same counts on every
sink.  Counts are (read, created, updated, skipped, rejected); an upsert of a row whose
values do not change counts it as updated; a key repeated in the input: the last occurrence
wins in upsert, the first in ignore, whether the repeats share a batch or not."""

from __future__ import annotations

import pytest

from tests.contract.loading import counts, load, load_text, write
from tests.contract.targets import SinkTarget


def test_append_writes_every_record_on_every_load(target: SinkTarget) -> None:
    first = load_text(target, "id,name\n1,a\n2,b\n")
    second = load_text(target, "id,name\n1,a\n2,b\n")

    assert counts(first) == (2, 2, 0, 0, 0)
    assert counts(second) == (2, 2, 0, 0, 0)
    assert first.table_created and not second.table_created
    assert target.db.rows("t") == [(1, "a"), (1, "a"), (2, "b"), (2, "b")]


def test_upsert_creates_new_keys_and_updates_existing_ones(target: SinkTarget) -> None:
    first = load_text(target, "id,name\n1,a\n2,b\n3,c\n", mode="upsert", key="id")
    second = load_text(target, "id,name\n2,B\n3,\n4,D\n1,a\n", mode="upsert", key="id")

    assert counts(first) == (3, 3, 0, 0, 0)
    # (1, a) is stored as it was: an unchanged row counts as updated
    assert counts(second) == (4, 1, 3, 0, 0)
    assert target.db.rows("t") == [(1, "a"), (2, "B"), (3, None), (4, "D")]


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 100])
def test_upsert_key_repeated_within_and_across_batches_last_occurrence_wins(
    target: SinkTarget, batch_rows: int
) -> None:
    text = "id,name\n1,a\n2,b\n1,c\n1,d\n3,e\n2,f\n1,g\n"
    report = load_text(target, text, mode="upsert", key="id", batch_rows=batch_rows)

    assert counts(report) == (7, 3, 4, 0, 0)
    assert target.db.rows("t") == [(1, "g"), (2, "f"), (3, "e")]


def test_upsert_key_repeated_within_a_batch_of_an_existing_row(target: SinkTarget) -> None:
    load_text(target, "id,name\n1,a\n", mode="upsert", key="id")
    report = load_text(target, "id,name\n1,x\n1,y\n1,z\n2,q\n", mode="upsert", key="id")

    assert counts(report) == (4, 1, 3, 0, 0)
    assert target.db.rows("t") == [(1, "z"), (2, "q")]


@pytest.mark.parametrize("batch_rows", [2, 100])
def test_upsert_with_a_composite_text_key(target: SinkTarget, batch_rows: int) -> None:
    text = "region,sku,qty\neu,A,1\nus,A,2\neu,B,3\neu,A,4\nus,A,5\n"
    report = load_text(target, text, mode="upsert", key="region,sku", batch_rows=batch_rows)

    assert counts(report) == (5, 3, 2, 0, 0)
    assert target.db.rows("t") == [("eu", "A", 4), ("eu", "B", 3), ("us", "A", 5)]


def test_text_keys_differing_only_in_case_or_trailing_space_are_different_keys(
    target: SinkTarget,
) -> None:
    # MySQL/MariaDB's default collations compare 'a' = 'A' = 'a ': the sink must not
    text = 'code,n\na,1\nA,2\n"a ",3\nb,4\nB,5\na,6\n'
    report = load_text(target, text, mode="upsert", key="code")

    assert counts(report) == (6, 5, 1, 0, 0)
    assert target.db.rows("t") == [("A", 2), ("B", 5), ("a", 6), ("a ", 3), ("b", 4)]


def test_ignore_skips_existing_keys_and_counts_them_as_skipped(target: SinkTarget) -> None:
    first = load_text(target, "id,name\n1,a\n2,b\n", mode="ignore", key="id")
    second = load_text(target, "id,name\n2,B\n3,C\n1,A\n", mode="ignore", key="id")

    assert counts(first) == (2, 2, 0, 0, 0)
    assert counts(second) == (3, 1, 0, 2, 0)
    assert target.db.rows("t") == [(1, "a"), (2, "b"), (3, "C")]


@pytest.mark.parametrize("batch_rows", [1, 2, 100])
def test_ignore_key_repeated_in_the_input_keeps_the_first_occurrence(
    target: SinkTarget, batch_rows: int
) -> None:
    text = "id,name\n1,a\n1,b\n2,c\n1,d\n3,e\n2,f\n"
    report = load_text(target, text, mode="ignore", key="id", batch_rows=batch_rows)

    assert counts(report) == (6, 3, 0, 3, 0)
    assert target.db.rows("t") == [(1, "a"), (2, "c"), (3, "e")]


def test_replace_swaps_in_exactly_the_new_rows(target: SinkTarget) -> None:
    load_text(target, "id,name\n1,old\n2,old\n3,old\n")
    report = load_text(target, "id,name\n2,new\n4,new\n", mode="replace", batch_rows=1)

    assert counts(report) == (2, 2, 0, 0, 0)
    assert target.db.rows("t") == [(2, "new"), (4, "new")]


def test_upsert_into_an_existing_table_leaves_columns_the_input_lacks(target: SinkTarget) -> None:
    target.db.execute(
        "CREATE TABLE t (id bigint NOT NULL PRIMARY KEY, name varchar(20), note varchar(20))",
        "INSERT INTO t VALUES (1, 'old', 'keep')",
    )
    report = load_text(target, "id,name\n1,new\n2,b\n2,c\n", mode="upsert", key="id")

    assert counts(report) == (3, 1, 2, 0, 0)
    assert not report.table_created
    assert target.db.rows("t") == [(1, "new", "keep"), (2, "c", None)]


def test_many_small_batches_of_upserts_count_every_record(target: SinkTarget) -> None:
    lines = ["id,v"] + [f"{i % 150},{i}" for i in range(1_000)]
    path = write(target, "many.csv", "\n".join(lines) + "\n")

    report = load(target, path, mode="upsert", key="id", batch_rows=37)

    assert counts(report) == (1_000, 150, 850, 0, 0)
    assert report.batches == -(-1_000 // 37)
    assert target.db.rows("t") == sorted((k, max(range(k, 1_000, 150))) for k in range(150))
