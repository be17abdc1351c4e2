"""Hostile JSON Lines files: each line is stored exactly, rejected with its reason, or the
load is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.harness import Case, Reject, check, database, params

J = "data.jsonl"
DEEP_1000 = (
    "outside the named classes: a value nested ~1000 levels deep parses but neither orjson "
    "(254 levels) nor json (the recursion limit) writes it back: internal error (exit 1)"
)

CASES = [
    Case(
        "nested_10000_levels_of_arrays",
        "deep_array_10000.jsonl",
        name=J,
        code=6,
        rejects=(Reject(1, "parse", message="depth"),),
        rows=[(2, 3)],
    ),
    Case(
        "nested_10000_levels_of_objects",
        "deep_object_10000.jsonl",
        name=J,
        code=6,
        rejects=(Reject(1, "parse", message="depth"),),
        rows=[(2, 3)],
    ),
    Case(
        "nested_500_levels_stored_whole",
        "deep_array_500.jsonl",
        name=J,
        rows=[(1, "[" * 500 + "]" * 500)],
        sql="SELECT id, CAST(v AS TEXT) FROM data",
    ),
    Case(
        "nested_1000_levels_stored_whole",
        "deep_array_1000.jsonl",
        name=J,
        rows=[(1, "[" * 1000 + "]" * 1000), (2, "[]")],
        sql="SELECT id, CAST(v AS TEXT) FROM data ORDER BY id",
        xfail={"*": DEEP_1000},
    ),
    Case(
        "duplicate_keys_in_one_object",
        "duplicate_keys_in_one_object.jsonl",
        name=J,
        code=6,
        rejects=(Reject(1, "shape", message="v"),),
        rows=[(2, "c")],
        xfail={
            "*": "outside the named classes: the last of two values for one key wins "
            "silently (orjson keeps the last); refusing it needs a duplicate-aware parse"
        },
    ),
    Case(
        "nan_literal",
        "nan_literal.jsonl",
        name=J,
        code=6,
        rejects=(Reject(1, "parse", message="invalid JSON"),),
        rows=[(2, 1.5)],
    ),
    Case(
        "infinity_literals",
        "infinity_literals.jsonl",
        name=J,
        code=6,
        rejects=(Reject(1, "parse"), Reject(2, "parse")),
        rows=[(3, 1.5)],
    ),
    Case(
        "number_1e999",
        "number_1e999.jsonl",
        name=J,
        code=6,
        rejects=(Reject(1, "parse", message="infinity"),),
        rows=[(2, 1.5)],
    ),
    Case(
        "negative_zero_keeps_its_sign_postgres",
        "negative_zero.jsonl",
        name=J,
        rows=[(1, "-0"), (2, "0.5")],
        sql="SELECT id, CAST(v AS TEXT) FROM data ORDER BY id",
        dbs=("postgres",),
    ),
    Case(
        # SQLite itself stores a REAL -0.0 as 0 (its own rule, not chute's)
        "negative_zero_as_sqlite_stores_it",
        "negative_zero.jsonl",
        name=J,
        rows=[(1, 0.0), (2, 0.5)],
        dbs=("sqlite",),
    ),
    Case(
        "lone_surrogate",
        "lone_surrogate.jsonl",
        name=J,
        code=6,
        rejects=(Reject(1, "parse", message="surrogate"),),
        rows=[(2, "ok")],
    ),
    Case(
        "raw_surrogate_bytes",
        "raw_surrogate_utf8.jsonl",
        name=J,
        code=6,
        rejects=(Reject(1, "decode"),),
        rows=[(2, "ok")],
    ),
    Case("surrogate_pair_is_one_emoji", "surrogate_pair.jsonl", name=J, rows=[(1, "😀")]),
    Case(
        "nul_escape_in_string_sqlite",
        "nul_escape_in_string.jsonl",
        name=J,
        rows=[(1, "a\x00b"), (2, "ok")],
        dbs=("sqlite",),
    ),
    Case(
        "nul_escape_in_string_postgres",
        "nul_escape_in_string.jsonl",
        name=J,
        code=6,
        rejects=(Reject(1, "database", column="v", sqlstate="22021"),),
        rows=[(2, "ok")],
        dbs=("postgres",),
    ),
    Case(
        "nul_escape_in_nested_value_sqlite",
        "nul_escape_in_nested_value.jsonl",
        name=J,
        rows=[(1, '{"k":"a\\u0000b"}'), (2, '{"k":"ok"}')],
        dbs=("sqlite",),
    ),
    Case(
        "nul_escape_in_nested_value_postgres",
        "nul_escape_in_nested_value.jsonl",
        name=J,
        code=6,
        rejects=(Reject(1, "database", column="v", sqlstate="22P05"),),
        rows=[(2, '{"k": "ok"}')],
        sql="SELECT id, CAST(v AS TEXT) FROM data",
        dbs=("postgres",),
    ),
    Case(
        "nul_escape_in_key",
        "nul_escape_in_key.jsonl",
        name=J,
        code=2,
        error=("NUL",),
    ),
    Case(
        "empty_key_postgres",
        "empty_key.jsonl",
        name=J,
        code=2,
        error=("empty",),
        dbs=("postgres",),
        xfail={
            "postgres": "issue 10 class E: an empty column name found by the database is "
            "an input problem, not exit 5"
        },
    ),
    Case(
        "trailing_line_without_newline",
        "trailing_line_without_newline.jsonl",
        name=J,
        rows=[(1,), (2,)],
    ),
    Case("crlf_line_endings", "crlf_line_endings.jsonl", name=J, rows=[(1,), (2,)]),
    Case(
        "whitespace_only_line_is_a_bad_record",
        "whitespace_only_line.jsonl",
        name=J,
        code=6,
        rejects=(Reject(3, "parse"),),
        rows=[(1,), (2,)],
    ),
    Case("bom_at_start", "bom_at_start.jsonl", name=J, rows=[(1,), (2,)]),
    Case(
        "bom_in_the_middle",
        "bom_in_the_middle.jsonl",
        name=J,
        code=6,
        rejects=(Reject(2, "parse", message="BOM"),),
        rows=[(1,)],
    ),
    Case(
        "scalars_instead_of_objects",
        "scalars_instead_of_objects.jsonl",
        name=J,
        code=6,
        rejects=(
            Reject(2, "shape", message="found int"),
            Reject(3, "shape", message="found str"),
            Reject(4, "shape"),
        ),
        rows=[(1,)],
    ),
    Case(
        "bool_and_int_in_one_column_stay_json",
        "bool_and_int_in_one_column.jsonl",
        name=J,
        rows=[(1, "true"), (2, "1")],
        sql="SELECT id, CAST(v AS TEXT) FROM data ORDER BY id",
    ),
    Case(
        "string_and_number_in_one_column_stay_json",
        "string_and_number_in_one_column.jsonl",
        name=J,
        rows=[(1, '"1"'), (2, "1")],
        sql="SELECT id, CAST(v AS TEXT) FROM data ORDER BY id",
    ),
    Case(
        "integer_beyond_64_bits_alone_in_its_column",
        "integer_beyond_64_bits.jsonl",
        name=J,
        rows=[(1, "18446744073709551616"), (2, "1")],
        sql="SELECT id, CAST(n AS TEXT) FROM data ORDER BY id",
    ),
    Case(
        "nonjson_literals_beside_long_integers",
        "nonjson_literals_beside_long_integers.jsonl",
        name=J,
        code=6,
        rejects=(
            Reject(1, "parse", message="NaN"),
            Reject(2, "parse", message="infinity"),
            Reject(3, "parse", message="Infinity"),
        ),
        rows=[(4, "12345678901234567890123", 1.5)],
        sql="SELECT id, CAST(big AS TEXT), v FROM data",
    ),
    Case(
        "keys_differing_by_case_postgres",
        "keys_differing_by_case.jsonl",
        name=J,
        rows=[(1, "a", None), (2, None, "b")],
        sql='SELECT id, "Name", name FROM data ORDER BY id',
        dbs=("postgres",),
    ),
    Case(
        "keys_differing_by_case_sqlite",
        "keys_differing_by_case.jsonl",
        name=J,
        code=2,
        error=("name",),
        dbs=("sqlite",),
    ),
    Case(
        "empty_object_line",
        "empty_object_line.jsonl",
        name=J,
        code=6,
        rejects=(Reject(1, "shape", message="empty"),),
        rows=[(1,)],
    ),
    Case(
        "only_empty_objects",
        "only_empty_objects.jsonl",
        name=J,
        code=4,  # every record read was rejected: nothing stored
        rejects=(Reject(1, "shape", message="empty"), Reject(2, "shape", message="empty")),
    ),
    Case(
        "float_with_21_digits_postgres",
        "float_with_21_digits.jsonl",
        name=J,
        rows=[(1, "12345678901234567890.5")],
        sql="SELECT id, CAST(v AS TEXT) FROM data",
        dbs=("postgres",),
        xfail={
            "postgres": "issue 10 class B: a JSON number with more digits than a double "
            "holds is stored rounded (1.2345678901234567e19)"
        },
    ),
]


@pytest.mark.parametrize(("case", "db"), params(CASES))
def test_jsonl_file(case: Case, db: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    check(case, database(db, request, tmp_path), tmp_path)


def _fifty_mib_string(path: Path) -> None:
    with path.open("wb") as f:
        f.write(b'{"id":1,"blob":"' + b"x" * (50 << 20) + b'"}\n{"id":2,"blob":"y"}\n')


BIG = [
    Case(
        "fifty_mib_string",
        _fifty_mib_string,
        name=J,
        rows=[(1, 50 << 20), (2, 1)],
        sql="SELECT id, length(blob) FROM data ORDER BY id",
    ),
]


@pytest.mark.parametrize(("case", "db"), params(BIG))
def test_big_jsonl_input(
    case: Case, db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    check(case, database(db, request, tmp_path), tmp_path)
