"""Contract: bad records are rejected with their exact line (counting newlines inside quoted
fields), the rest of their batch is stored, and the report adds up, on every sink."""

from __future__ import annotations

import pytest

from tests.contract.expected import NOT_ENFORCED
from tests.contract.loading import counts, load, rejects_of, write
from tests.contract.targets import SinkTarget

#: a typed table the records go into; portable DDL, read by every sink's database
STOCK = (
    "CREATE TABLE stock (id bigint NOT NULL PRIMARY KEY, qty integer, day date, "
    "price decimal(10,2), code varchar(5), note varchar(40))"
)


def test_bad_values_into_an_existing_typed_table_are_rejected_with_their_lines(
    target: SinkTarget,
) -> None:
    target.db.execute(STOCK)
    text = (
        "id,qty,day,price,code,note\n"
        '1,10,2024-01-31,1.50,A,"two\nlines"\n'  # lines 2-3
        "2,n/a,2024-01-31,1.50,B,bad qty\n"  # line 4
        "3,30,2024-02-30,1.50,C,impossible date\n"  # line 5
        "4,40,2024-02-29,12x,D,bad price\n"  # line 6
        "5,50,,,E,\n"  # line 7: NULLs are fine
        "6,60,2024-03-01,2.25,TOOLONG,too long for varchar(5)\n"  # line 8
        "7,3.5,2024-03-01,2.25,G,fraction in an integer\n"  # line 9
        "8,80,2024-03-01,99999999999.99,H,too big for its decimal\n"  # line 10
        "9,90,2024-03-01,2.25,I,fine\n"  # line 11
    )
    path = write(target, "stock.csv", text)
    rejects = target.tmp / "stock.rejects.jsonl"
    report = load(target, path, table="stock", batch_rows=3, rejects=str(rejects))

    # line -> (column, its declared type); a sink stores what it does not enforce
    bad = {4: "qty", 5: "day", 6: "price", 8: "code", 9: "qty", 10: "price"}
    declared = {"qty": "integer", "day": "date", "price": "decimal", "code": "varchar"}
    lax = NOT_ENFORCED[target.name]
    bad_lines = {line: c for line, c in bad.items() if declared[c] not in lax}
    found = rejects_of(rejects)
    assert [r["line"] for r in found] == sorted(bad_lines)
    assert report.rejected == len(bad_lines)
    assert report.written == 9 - len(bad_lines)
    assert not report.table_created
    for r in found:
        assert r["column"] in (bad_lines[r["line"]], None), r
        # the header and record 1's two lines come before: line = record number + 2
        assert r["line"] == r["record_number"] + 2, r
        assert str(r["record"]["id"]) == str(r["record_number"]), r
    stored = [r[0] for r in target.db.rows("stock", "id")]
    assert stored == [n for n in range(1, 10) if n + 2 not in bad_lines]
    assert target.db.query("SELECT note FROM stock WHERE id = 1") == [("two\nlines",)]


@pytest.mark.parametrize("batch_rows", [2, 100])
def test_duplicate_keys_in_append_into_a_table_with_a_primary_key(
    target: SinkTarget, batch_rows: int
) -> None:
    target.db.execute(
        "CREATE TABLE items (id bigint NOT NULL PRIMARY KEY, v varchar(10))",
        "INSERT INTO items VALUES (9, 'old')",
    )
    # repeated within a batch and across batches, and a key already in the table
    text = 'id,v\n1,a\n2,"b\nb"\n1,c\n3,d\n9,e\n2,f\n4,g\n4,h\n'
    path = write(target, "items.csv", text)
    rejects = target.tmp / "items.rejects.jsonl"
    report = load(target, path, table="items", batch_rows=batch_rows, rejects=str(rejects))

    assert counts(report) == (8, 4, 0, 0, 4)
    found = rejects_of(rejects)
    assert [(r["line"], r["record_number"]) for r in found] == [(5, 3), (7, 5), (8, 6), (10, 8)]
    assert {r["error"] for r in found} <= {"database", "constraint"}
    assert [r["raw"] for r in found] == ["1,c", "9,e", "2,f", "4,h"]
    assert target.db.rows("items") == [(1, "a"), (2, "b\nb"), (3, "d"), (4, "g"), (9, "old")]


def test_append_with_a_key_creates_a_primary_key_and_rejects_repeats(target: SinkTarget) -> None:
    text = "id,v\n1,a\n2,b\n1,c\n3,d\n2,e\n"
    path = write(target, "keyed.csv", text)
    report = load(target, path, table="keyed", key="id", batch_rows=2)

    assert counts(report) == (5, 3, 0, 0, 2)
    found = rejects_of(target.tmp / "keyed.rejects.jsonl")
    assert [r["line"] for r in found] == [4, 6]
    assert target.db.rows("keyed") == [(1, "a"), (2, "b"), (3, "d")]


def test_null_into_a_not_null_column_and_a_parse_error_are_rejected(target: SinkTarget) -> None:
    target.db.execute("CREATE TABLE users (id bigint NOT NULL, email varchar(40) NOT NULL)")
    path = write(target, "users.csv", 'id,email\n1,a@x\n2,\n3,""\n4,d@x,EXTRA\n5,e@x\n')
    report = load(target, path, table="users", batch_rows=2)

    found = rejects_of(target.tmp / "users.rejects.jsonl")
    assert [(r["line"], r["error"]) for r in found] == [(3, "constraint"), (5, "parse")]
    assert counts(report) == (5, 3, 0, 0, 2)
    assert target.db.rows("users") == [(1, "a@x"), (3, ""), (5, "e@x")]


def test_rejects_in_upsert_and_ignore_modes_keep_their_lines(target: SinkTarget) -> None:
    target.db.execute(
        "CREATE TABLE t (id bigint NOT NULL PRIMARY KEY, n integer NOT NULL)",
        "INSERT INTO t VALUES (1, 10)",
    )
    path = write(target, "t.csv", "id,n\n1,11\n2,\n3,x\n4,40\n")
    report = load(target, path, mode="upsert", key="id", rejects=str(target.tmp / "r1.jsonl"))
    assert counts(report) == (4, 1, 1, 0, 2)
    assert [r["line"] for r in rejects_of(target.tmp / "r1.jsonl")] == [3, 4]
    assert target.db.rows("t") == [(1, 11), (4, 40)]

    again = load(target, path, mode="ignore", key="id", rejects=str(target.tmp / "r2.jsonl"))
    assert counts(again) == (4, 0, 0, 2, 2)
    assert [r["line"] for r in rejects_of(target.tmp / "r2.jsonl")] == [3, 4]


def test_rejects_can_go_to_a_table_in_the_target(target: SinkTarget) -> None:
    path = write(target, "p.csv", "id,name\n1,a\n2,b,c\n3,c\n")
    report = load(target, path, table="p", rejects="table:p_rejects", batch_rows=1)

    assert report.rejects_to == "table p_rejects"
    assert counts(report) == (3, 2, 0, 0, 1)
    assert target.db.query("SELECT line, error, raw FROM p_rejects") == [(3, "parse", "2,b,c")]
