"""Hostile names: column names from headers and JSON keys, table names from --table and
from file names, and key columns.  A name is used exactly as given (quoted), or refused in
one line before anything is written; it never becomes SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import query
from tests.hostile.harness import Case, Reject, check, database, params

INVALID_TABLE = "is not a valid table name"


def columns_of(url: str, table: str) -> list[str]:
    if url.startswith("sqlite:"):
        return [r[1] for r in query(url, f'PRAGMA table_info("{table}")')]
    return [
        r[0]
        for r in query(
            url,
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_name = '{table}' ORDER BY ordinal_position",
        )
    ]


#: (case, the columns the created table must have)
COLUMN_CASES: list[tuple[Case, list[str]]] = [
    (
        Case("column_sql_injection", "column_sql_injection.csv", rows=[(1, "a")]),
        ["id", '"; DROP TABLE x; --'],
    ),
    (Case("column_quotes", "column_quotes.csv", rows=[(1, 2, 3)]), ["id", 'a"b', "'c'"]),
    (
        Case("column_spaces_kept_padding_trimmed", "column_spaces.csv", rows=[(1, 2, 3)]),
        ["id", "first name", "padded"],
    ),
    (Case("column_emoji", "column_emoji.csv", rows=[(1, 2, 3)]), ["id", "😀", "naïve"]),
    (
        Case("column_reserved_words", "column_reserved_words.csv", rows=[(1, 2, 3, 4, 5)]),
        ["select", "order", "from", "table", "user"],
    ),
    (
        Case(
            "column_backslashes_and_dots",
            "column_backslashes_and_dots.csv",
            rows=[(1, 2, 3, 4, 5)],
        ),
        ["id", "a\\b", "c\\", "a.b", "public.t"],
    ),
    (
        Case("column_names_are_numbers", "column_names_are_numbers.csv", rows=[(4, 5, 6)]),
        ["1", "2", "3"],
    ),
    (
        Case(
            "column_name_64_bytes_sqlite",
            "column_name_64_bytes.csv",
            rows=[(1, 2)],
            dbs=("sqlite",),
        ),
        ["id", "a" * 64],
    ),
]


@pytest.mark.parametrize(("case", "db"), params([c for c, _ in COLUMN_CASES]))
def test_column_name(case: Case, db: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = database(db, request, tmp_path)
    check(case, url, tmp_path)
    want = next(cols for c, cols in COLUMN_CASES if c is case)
    assert columns_of(url, case.table_name) == want


class _Named:
    """A file whose name is hostile, written at test time (git does not need to hold it)."""

    def __init__(self, text: bytes) -> None:
        self.text = text

    def __call__(self, path: Path) -> None:
        path.write_bytes(self.text)


ONE = _Named(b"id\n1\n")

CASES = [
    Case(
        "column_name_64_bytes_postgres",
        "column_name_64_bytes.csv",
        code=2,
        error=("63",),
        dbs=("postgres",),
    ),
    Case(
        "table_injection_via_option",
        "good.csv",
        args=("--table", "t; DROP TABLE x"),
        code=2,
        error=(INVALID_TABLE,),
    ),
    Case(
        "table_quote_via_option",
        "good.csv",
        args=("--table", 't"x'),
        code=2,
        error=(INVALID_TABLE,),
    ),
    Case(
        "table_schema_qualified_via_option",
        "good.csv",
        args=("--table", "pg_catalog.pg_class"),
        code=2,
        error=(INVALID_TABLE,),
    ),
    Case(
        "table_empty_via_option",
        "good.csv",
        args=("--table", ""),
        code=2,
        error=(INVALID_TABLE,),
    ),
    Case(
        "table_reserved_word_via_option",
        "good.csv",
        args=("--table", "select"),
        table="select",
        rows=[(1, "a"), (2, "b")],
    ),
    Case(
        "table_mixed_case_kept",
        "good.csv",
        args=("--table", "Orders"),
        table="Orders",
        rows=[(1, "a"), (2, "b")],
    ),
    Case(
        "table_reserved_chute_prefix",
        "good.csv",
        args=("--table", "_chute_stage_mine"),
        code=2,
        error=("_chute_",),
    ),
    Case(
        "table_injection_via_file_name",
        ONE,
        name='x"; DROP TABLE y; --.csv',
        setup=("CREATE TABLE y (a bigint)", "INSERT INTO y VALUES (7)"),
        table="x_drop_table_y",
        rows=[(1,)],
    ),
    Case(
        "table_from_emoji_file_name",
        ONE,
        name="😀.csv",
        code=2,
        error=("cannot make a table name",),
    ),
    Case("table_from_file_name_of_digits", ONE, name="2024.csv", table="t_2024", rows=[(1,)]),
    Case(
        "table_from_dotted_file_name",
        ONE,
        name="sales.2024.q1.csv",
        table="sales_2024_q1",
        rows=[(1,)],
    ),
    Case("table_from_dot_file", ONE, name=".csv", code=2, error=("cannot make a table name",)),
    Case(
        "table_from_70_char_file_name",
        ONE,
        name="a" * 70 + ".csv",
        table="a" * 63,
        rows=[(1,)],
    ),
    Case(
        "key_naming_a_column_twice",
        "good.csv",
        args=("--mode", "upsert", "--key", "id,id"),
        code=2,
        error=("key names a column twice",),
    ),
    Case(
        "key_differing_by_case",
        "good.csv",
        args=("--mode", "upsert", "--key", "id,ID"),
        code=2,
        error=("not in the input: ID",),
    ),
    Case(
        "key_of_only_commas",
        "good.csv",
        args=("--mode", "upsert", "--key", ",,"),
        code=2,
        error=("needs key columns",),
    ),
    Case(
        "key_with_spaces_around",
        "good.csv",
        args=("--mode", "upsert", "--key", " id "),
        rows=[(1, "a"), (2, "b")],
    ),
    Case(
        "key_with_nulls_upsert",
        "keys_with_nulls.csv",
        args=("--mode", "upsert", "--key", "id"),
        code=6,
        rejects=(
            Reject(3, "constraint", column="id", sqlstate="23502"),
            Reject(4, "constraint", column="id", sqlstate="23502"),
        ),
        rows=[(1, "a"), (2, "d")],
    ),
    Case(
        "key_with_nulls_ignore",
        "keys_with_nulls.csv",
        args=("--mode", "ignore", "--key", "id"),
        code=6,
        rejects=(
            Reject(3, "constraint", column="id", sqlstate="23502"),
            Reject(4, "constraint", column="id", sqlstate="23502"),
        ),
        rows=[(1, "a"), (2, "d")],
    ),
    Case(
        "key_null_and_repeated_in_replace",
        "key_repeated_in_replace.csv",
        args=("--mode", "replace", "--key", "id"),
        code=6,
        rejects=(Reject(3, "constraint", column="id", sqlstate="23502"), Reject(4, "database")),
        rows=[(1, "a")],
    ),
    Case(
        "composite_key_with_a_null_part",
        "composite_key_null_part.csv",
        args=("--mode", "upsert", "--key", "a,b"),
        code=6,
        rejects=(Reject(3, "constraint", column="b", sqlstate="23502"),),
        rows=[(1, 1, "x"), (2, 2, "z")],
    ),
]


@pytest.mark.parametrize(("case", "db"), params(CASES))
def test_hostile_name(case: Case, db: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = database(db, request, tmp_path)
    check(case, url, tmp_path)
    if case.id == "table_injection_via_file_name":
        assert query(url, "SELECT a FROM y") == [(7,)]
