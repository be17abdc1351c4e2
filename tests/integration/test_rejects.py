"""Bad records are isolated and kept: each kind is rejected with its line, the rest stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import chute
from tests.helpers import execute, query


def rejects_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def load(path: Path, url: str, **kw: Any) -> chute.LoadReport:
    report = chute.load(path, into=url, **kw)
    assert report.read == report.written + report.skipped + report.rejected
    assert report.written == report.created + report.updated
    return report


def test_row_with_an_extra_field_is_rejected_with_its_line(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text('id,name\n1,Ann\n2,"Bob\nSmith"\n3,Cy,EXTRA\n4,Di\n')
    report = load(path, db_url, batch_rows=2)
    assert (report.read, report.written, report.rejected) == (4, 3, 1)
    assert query(db_url, "SELECT id FROM people ORDER BY id") == [(1,), (2,), (4,)]
    [reject] = rejects_of(tmp_path / "people.rejects.jsonl")
    assert reject["line"] == 5  # the quoted newline on line 3 counts
    assert reject["record_number"] == 3
    assert reject["raw"] == "3,Cy,EXTRA"
    assert reject["error"] == "parse"
    assert reject["message"] == "expected 2 fields, found 3"
    assert reject["offset"] == len(b'id,name\n1,Ann\n2,"Bob\nSmith"\n')
    assert report.rejects_to == str(tmp_path / "people.rejects.jsonl")
    assert report.rejects[0].position.line == 5


def test_bytes_that_do_not_decode_are_rejected(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_bytes(b"id,name\n1,ok\n2,caf\xe9\n3,fine\n")
    report = load(path, db_url)
    assert (report.written, report.rejected) == (2, 1)
    [reject] = rejects_of(tmp_path / "names.rejects.jsonl")
    assert (reject["line"], reject["error"]) == (3, "decode")
    assert "not valid utf-8" in reject["message"]
    assert query(db_url, "SELECT name FROM names ORDER BY id") == [("ok",), ("fine",)]


def test_text_in_an_integer_column_of_an_existing_table(db_url: str, tmp_path: Path) -> None:
    execute(db_url, "CREATE TABLE stock (sku text, qty integer)")
    path = tmp_path / "stock.csv"
    path.write_text("sku,qty\na,1\nb,n/a\nc,3\nd,\n")
    report = load(path, db_url)
    assert (report.written, report.rejected) == (3, 1)
    [reject] = rejects_of(tmp_path / "stock.rejects.jsonl")
    assert (reject["line"], reject["column"], reject["error"]) == (3, "qty", "conversion")
    assert reject["record"] == {"sku": "b", "qty": "n/a"}
    assert query(db_url, "SELECT sku, qty FROM stock ORDER BY sku") == [
        ("a", 1),
        ("c", 3),
        ("d", None),
    ]


def test_impossible_date_in_a_date_column(db_url: str, tmp_path: Path) -> None:
    execute(db_url, "CREATE TABLE events (id integer, day date)")
    path = tmp_path / "events.csv"
    path.write_text("id,day\n1,2024-02-29\n2,31/02/2024\n3,2024-02-30\n4,2024-03-01\n")
    report = load(path, db_url)
    assert (report.written, report.rejected) == (2, 2)
    assert [r["line"] for r in rejects_of(tmp_path / "events.rejects.jsonl")] == [3, 4]
    assert [r[0] for r in query(db_url, "SELECT id FROM events ORDER BY id")] == [1, 4]


def _too_long_table(url: str) -> None:
    if url.startswith("sqlite"):
        execute(url, "CREATE TABLE codes (id integer, code text CHECK (length(code) <= 20))")
    else:
        execute(url, "CREATE TABLE codes (id integer, code varchar(20))")


def test_value_too_long_for_its_column(db_url: str, tmp_path: Path) -> None:
    _too_long_table(db_url)
    path = tmp_path / "codes.csv"
    rows = [f"{i},{'x' * (25 if i in (7, 60) else 5)}" for i in range(1, 101)]
    path.write_text("id,code\n" + "\n".join(rows) + "\n")
    report = load(path, db_url)
    assert (report.written, report.rejected) == (98, 2)
    rejects = rejects_of(tmp_path / "codes.rejects.jsonl")
    assert [r["line"] for r in rejects] == [8, 61]
    if db_url.startswith("sqlite"):  # a CHECK constraint: only the database knows
        assert all(r["error"] == "database" for r in rejects)
    else:  # varchar(20): checked before sending, with PostgreSQL's own SQLSTATE
        assert all((r["error"], r["sqlstate"]) == ("constraint", "22001") for r in rejects)
        assert rejects[0]["message"] == "value too long for type character varying(20)"
    assert query(db_url, "SELECT count(*) FROM codes WHERE id IN (7, 60)") == [(0,)]


def test_null_in_a_not_null_column(db_url: str, tmp_path: Path) -> None:
    execute(db_url, "CREATE TABLE users (id integer, email text NOT NULL)")
    path = tmp_path / "users.csv"
    path.write_text('id,email\n1,a@x\n2,\n3,""\n')
    report = load(path, db_url)
    assert (report.written, report.rejected) == (2, 1)
    [reject] = rejects_of(tmp_path / "users.rejects.jsonl")
    assert reject["line"] == 3
    assert (reject["error"], reject["sqlstate"], reject["column"]) == (
        "constraint",
        "23502",
        "email",
    )
    assert query(db_url, "SELECT id, email FROM users ORDER BY id") == [(1, "a@x"), (3, "")]


def test_a_required_column_missing_from_the_input_is_a_config_error(
    db_url: str, tmp_path: Path
) -> None:
    execute(
        db_url,
        "CREATE TABLE req (id integer NOT NULL, name text NOT NULL, note text NOT NULL DEFAULT '')",
    )
    path = tmp_path / "req.csv"
    path.write_text("id\n1\n")
    with pytest.raises(chute.ConfigError, match=r"needs column\(s\) name \(NOT NULL"):
        chute.load(path, into=db_url)
    assert query(db_url, "SELECT count(*) FROM req") == [(0,)]


def test_duplicate_key_in_append_mode(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("id,v\n1,a\n2,b\n1,c\n3,d\n2,e\n")
    report = load(path, db_url, key="id")
    assert (report.written, report.rejected) == (3, 2)
    assert [r["line"] for r in rejects_of(tmp_path / "items.rejects.jsonl")] == [4, 6]
    assert query(db_url, "SELECT id, v FROM items ORDER BY id") == [(1, "a"), (2, "b"), (3, "d")]


def test_foreign_key_that_points_nowhere(db_url: str, tmp_path: Path) -> None:
    execute(
        db_url,
        "CREATE TABLE parents (id integer PRIMARY KEY)",
        "INSERT INTO parents VALUES (1), (2)",
        "CREATE TABLE children (id integer, parent integer REFERENCES parents (id))",
    )
    path = tmp_path / "children.csv"
    path.write_text("id,parent\n10,1\n11,99\n12,2\n")
    report = load(path, db_url)
    assert (report.written, report.rejected) == (2, 1)
    [reject] = rejects_of(tmp_path / "children.rejects.jsonl")
    assert reject["line"] == 3
    assert query(db_url, "SELECT id FROM children ORDER BY id") == [(10,), (12,)]


def test_deferred_constraint_that_fails_only_at_commit(db_url: str, tmp_path: Path) -> None:
    execute(
        db_url,
        "CREATE TABLE parents (id integer PRIMARY KEY)",
        "INSERT INTO parents VALUES (1), (2)",
        "CREATE TABLE children (id integer, parent integer REFERENCES parents (id) "
        "DEFERRABLE INITIALLY DEFERRED)",
    )
    path = tmp_path / "children.csv"
    path.write_text(
        "id,parent\n"
        + "\n".join(f"{i},{99 if i in (5, 17) else 1 + i % 2}" for i in range(1, 41))
        + "\n"
    )
    report = load(path, db_url)
    assert (report.written, report.rejected) == (38, 2)
    rejects = rejects_of(tmp_path / "children.rejects.jsonl")
    assert [r["line"] for r in rejects] == [6, 18]
    if not db_url.startswith("sqlite"):
        assert {r["sqlstate"] for r in rejects} == {"23503"}
    assert query(db_url, "SELECT count(*) FROM children WHERE parent = 99") == [(0,)]


def test_rejects_in_upsert_and_ignore_modes(db_url: str, tmp_path: Path) -> None:
    execute(
        db_url,
        "CREATE TABLE t (id integer PRIMARY KEY, n integer NOT NULL)",
        "INSERT INTO t VALUES (1, 10)",
    )
    path = tmp_path / "t.csv"
    path.write_text("id,n\n1,11\n2,\n3,x\n4,40\n")
    report = load(path, db_url, mode="upsert", key="id")
    assert (report.created, report.updated, report.rejected) == (1, 1, 2)
    assert query(db_url, "SELECT id, n FROM t ORDER BY id") == [(1, 11), (4, 40)]
    report = load(path, db_url, mode="ignore", key="id", rejects=str(tmp_path / "r2.jsonl"))
    assert (report.created, report.skipped, report.rejected) == (0, 2, 2)
    assert [r["line"] for r in rejects_of(tmp_path / "r2.jsonl")] == [3, 4]


def test_json_lines_and_iterables_reject_what_they_cannot_read(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    path.write_text('{"id": 1}\n{"id": 2,}\n\n[3]\n{"id": 4}\n')
    report = load(path, db_url)
    assert (report.read, report.written, report.rejected) == (4, 2, 2)
    rejects = rejects_of(tmp_path / "ev.rejects.jsonl")
    assert [(r["line"], r["error"]) for r in rejects] == [(2, "parse"), (4, "shape")]
    assert rejects[0]["raw"] == '{"id": 2,}'
    out = tmp_path / "it.jsonl"
    report = chute.load([{"id": 1}, "oops", {"id": 3}], into=db_url, table="it", rejects=str(out))
    assert (report.written, report.rejected) == (2, 1)
    [reject] = rejects_of(out)
    assert (reject["record_number"], reject["error"], reject["raw"]) == (2, "shape", "'oops'")


def test_rejects_can_go_to_a_table(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,name\n1,a\n2,b,c\n")
    report = load(path, db_url, rejects="table:p_rejects")
    assert report.rejects_to == "table p_rejects"
    assert not (tmp_path / "p.rejects.jsonl").exists()
    assert query(db_url, "SELECT line, error, raw FROM p_rejects") == [(3, "parse", "2,b,c")]


def test_a_fixed_reject_file_loads_again(db_url: str, tmp_path: Path) -> None:
    execute(db_url, "CREATE TABLE stock (sku text, qty integer)")
    path = tmp_path / "stock.csv"
    path.write_text("sku,qty\na,1\nb,n/a\n")
    load(path, db_url)
    reject_file = tmp_path / "stock.rejects.jsonl"
    fixed = [dict(r, record={**r["record"], "qty": "2"}) for r in rejects_of(reject_file)]
    reject_file.write_text("".join(json.dumps(r) + "\n" for r in fixed))
    report = load(reject_file, db_url)  # table name: stock
    assert (report.table, report.written, report.rejected) == ("stock", 1, 0)
    assert query(db_url, "SELECT sku, qty FROM stock ORDER BY sku") == [("a", 1), ("b", 2)]


def test_bisection_costs_log_n_statements(sqlite_url: str, tmp_path: Path) -> None:
    execute(sqlite_url, "CREATE TABLE n (v integer CHECK (v <> 777))")
    path = tmp_path / "n.csv"
    path.write_text("v\n" + "\n".join(str(i) for i in range(1024)) + "\n")
    report = load(path, sqlite_url, batch_rows=1024)
    assert (report.written, report.rejected) == (1023, 1)
    # SQLite does not say which row failed: halving finds it in 2 * log2(1024) + 1 tries
    assert report.write_attempts <= 21


@pytest.mark.postgres
def test_copy_names_the_bad_row_so_one_retry_is_enough(pg_url: str, tmp_path: Path) -> None:
    execute(pg_url, "CREATE TABLE n (v integer CHECK (v <> 777))")
    path = tmp_path / "n.csv"
    path.write_text("v\n" + "\n".join(str(i) for i in range(1024)) + "\n")
    report = load(path, pg_url, batch_rows=1024)
    assert (report.written, report.rejected) == (1023, 1)
    assert report.write_attempts == 4  # the batch, then before / the row alone / after


def test_after_a_duplicate_key_later_batches_are_checked_first(db_url: str, tmp_path: Path) -> None:
    execute(db_url, "CREATE TABLE d (id integer PRIMARY KEY, v text)")
    path = tmp_path / "d.csv"
    ids = list(range(1, 401))
    for at in (50, 150, 151, 250, 399):  # each repeats an id seen earlier
        ids[at] = ids[at - 40]
    path.write_text("id,v\n" + "".join(f"{i},x\n" for i in ids))
    # one writer: with two, the next batch is in flight before the first refusal is seen
    report = load(path, db_url, batch_rows=100, workers=1, rejects=str(tmp_path / "r.jsonl"))
    assert (report.written, report.rejected) == (395, 5)
    assert [r.position.line for r in report.rejects] == [52, 152, 153, 252, 401]
    assert all(
        "duplicate key" in r.message or "UNIQUE" in r.message.upper() for r in report.rejects
    )
    # the first duplicate costs split statements (PostgreSQL names the row: 4; SQLite halves:
    # at most 2 log2(100) + 1); later batches are checked first and go in 2 + 2 + 1 pieces
    assert report.write_attempts <= (9 if db_url.startswith("postgres") else 20)
    assert query(db_url, "SELECT count(*), count(DISTINCT id) FROM d") == [(395, 395)]


def test_raw_text_of_a_database_refusal_is_read_back_from_the_file(
    db_url: str, tmp_path: Path
) -> None:
    """Batches of a plain UTF-8 file keep where their text is, not the text: the raw text
    of a record the database refuses is read back from the file, exactly, past a
    byte-order mark, CRLF line ends and earlier batches; a batch that dropped blank lines
    keeps its text as read."""
    execute(db_url, "CREATE TABLE checked (id integer, name text CHECK (name <> 'bad'))")
    lines = ["id,name"] + [f"{i},n{i}" for i in range(1, 40)]
    lines[17] = '17,"bad"'
    lines[30] = "30,bad"
    lines[33] = "33,bad"
    lines.insert(30, "")  # a blank line in the batch of records 25-32
    path = tmp_path / "checked.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    report = load(path, db_url, batch_rows=8)
    assert (report.read, report.written, report.rejected) == (39, 36, 3)
    rejects = rejects_of(tmp_path / "checked.rejects.jsonl")
    assert [(r["line"], r["raw"]) for r in rejects] == [
        (18, '17,"bad"'),
        (32, "30,bad"),
        (35, "33,bad"),
    ]
    assert all("check constraint" in r["message"].lower() for r in rejects)
