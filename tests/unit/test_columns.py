from __future__ import annotations

import pyarrow as pa
import pytest

from chute.engine import numbers
from chute.engine.columns import (
    JSON,
    JSON_FIELD_META,
    TEXT,
    ColumnType,
    Kind,
    Stores,
    infer,
    widen,
    widen_number,
)

DOUBLE = ColumnType(Kind.DOUBLE)
BIGINT = ColumnType(Kind.BIGINT)


def _infer(
    values: list[str | None], numbers_from_text: bool = True, exact_decimals: bool = True
) -> ColumnType:
    return infer(
        pa.field("c", pa.string()),
        pa.array(values, pa.string()),
        numbers_from_text=numbers_from_text,
        stores=Stores(exact_decimals=exact_decimals),
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "-2", "0", None], ColumnType(Kind.BIGINT)),
        (["00123", "1"], TEXT),  # leading zeros would be lost
        (["+5"], TEXT),
        (["-0"], TEXT),
        (["12.50", "3.1"], ColumnType(Kind.NUMERIC, 2)),  # a trailing zero: fixed point
        (["12.25", "3.99", "7"], ColumnType(Kind.NUMERIC, 2)),  # money: one scale of 1-4
        (["34.02505165179919", "9.5"], DOUBLE),  # measurements: exact as doubles
        (["0.000000123", "-0.000000001", "1.5"], DOUBLE),
        (["1.2345678901234567890123e5", "1"], ColumnType(Kind.NUMERIC, 17)),  # not a double
        (["0.10000000000000001"], ColumnType(Kind.NUMERIC, 17)),
        (["12345678901234567890"], ColumnType(Kind.NUMERIC, 0)),  # too big for bigint
        (["1" * 39], TEXT),  # too big for numeric(38)
        (["1e-400"], TEXT),  # neither a double nor a numeric(38) holds it
        (["1e5", "-2.5E-3", "nan"], DOUBLE),
        (["1.5", "2e3"], DOUBLE),  # decimals and exponents together
        (["true", "FALSE"], ColumnType(Kind.BOOLEAN)),
        (["yes", "no"], TEXT),
        (["2024-02-29", "1999-12-31"], ColumnType(Kind.DATE)),
        (["2024-02-30"], TEXT),  # looks like a date, is not one
        (["2024-01-01 10:00:00", "2024-01-01T10:00:00.5"], ColumnType(Kind.TIMESTAMP)),
        (["2024-01-01 10:00:00Z", "2024-01-01T10:00:00+02:00"], ColumnType(Kind.TIMESTAMPTZ)),
        (["2024-01-01 10:00:00Z", "2024-01-01 10:00:00"], TEXT),  # mixed zone and none
        ([None, None], TEXT),
        (["", "x"], TEXT),
        (["1", "n/a"], TEXT),
    ],
)
def test_inference_picks_the_narrowest_exact_type(
    values: list[str | None], expected: ColumnType
) -> None:
    assert _infer(values) == expected


def test_typed_sources_recognise_only_dates_and_timestamps_in_strings() -> None:
    assert _infer(["123"], numbers_from_text=False) == TEXT
    assert _infer(["2024-01-01"], numbers_from_text=False) == ColumnType(Kind.DATE)


def test_arrow_types_map_directly() -> None:
    assert infer(pa.field("c", pa.int64()), pa.array([1]), numbers_from_text=False) == ColumnType(
        Kind.BIGINT
    )
    assert infer(
        pa.field("c", pa.float64()), pa.array([1.5]), numbers_from_text=False
    ) == ColumnType(Kind.DOUBLE)
    field = pa.field("c", pa.string(), metadata=JSON_FIELD_META)
    assert infer(field, pa.array(['{"a":1}']), numbers_from_text=False) == JSON


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (ColumnType(Kind.BIGINT), ColumnType(Kind.NUMERIC, 1), ColumnType(Kind.NUMERIC, 1)),
        (ColumnType(Kind.NUMERIC, 3), ColumnType(Kind.NUMERIC, 1), ColumnType(Kind.NUMERIC, 3)),
        (ColumnType(Kind.BIGINT), ColumnType(Kind.DOUBLE), TEXT),  # numbers: widen_number
        (ColumnType(Kind.NUMERIC, 2), ColumnType(Kind.DOUBLE), TEXT),
        (ColumnType(Kind.DATE), ColumnType(Kind.BOOLEAN), TEXT),
        (JSON, ColumnType(Kind.BIGINT), JSON),
        (TEXT, JSON, TEXT),
    ],
)
def test_widening_never_loses_information(
    a: ColumnType, b: ColumnType, expected: ColumnType
) -> None:
    assert widen(a, b) == expected
    assert widen(b, a) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["12.50", "3.1", "7"], DOUBLE),  # formatting is not worth a TEXT column
        (["34.02505165179919"], DOUBLE),
        (["12345678901234567890"], TEXT),  # not exact as a REAL: the source's text
        (["1.2345678901234567890123e5"], TEXT),
        (["1", "2"], BIGINT),
    ],
)
def test_without_exact_decimals_numbers_are_integers_reals_or_their_text(
    values: list[str], expected: ColumnType
) -> None:
    assert _infer(values, exact_decimals=False) == expected


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("0.1", True),
        ("34.02505165179919", True),
        ("0.30000000000000004", True),  # 17 digits, the shortest spelling of its double
        ("0.30000000000000005", False),  # reads back as 0.30000000000000004
        ("0.10000000000000001", False),  # reads back as 0.1
        ("9007199254740992", True),
        ("9007199254740993", False),  # 2^53 + 1
        ("1.2345678901234567890123e5", False),
        ("1e16", True),
        ("1e-400", False),  # underflows to 0
        ("1e400", False),  # overflows to infinity
        ("-0.0", True),
        ("nan", True),
        ("-Infinity", True),
    ],
)
def test_a_number_is_exact_as_a_double_when_its_shortest_spelling_is_the_same_number(
    text: str, exact: bool
) -> None:
    assert numbers.double_exact(pa.array([text, None])).to_pylist() == [exact, None]


def _shape(*values: str) -> numbers.Shape:
    return numbers.shape(pa.array(values, pa.string()))


@pytest.mark.parametrize(
    ("current", "seen", "held", "exact_decimals", "expected"),
    [
        # PostgreSQL: numeric holds every bigint and the new decimals
        (BIGINT, _shape("12.5"), 17, True, ColumnType(Kind.NUMERIC, 1)),
        (BIGINT, _shape("1e3"), 17, True, ColumnType(Kind.NUMERIC, 0)),
        (BIGINT, _shape("12.5"), None, True, ColumnType(Kind.NUMERIC, 1)),  # 19 digits fit
        (BIGINT, _shape("0." + "1" * 22), 17, True, TEXT),  # 17 + 22 digits: too wide
        (BIGINT, _shape("0." + "1" * 20), 3, True, ColumnType(Kind.NUMERIC, 20)),
        (ColumnType(Kind.NUMERIC, 2), _shape("1.125"), 30, True, ColumnType(Kind.NUMERIC, 3)),
        (ColumnType(Kind.NUMERIC, 2), _shape("1.125"), 36, True, TEXT),
        (ColumnType(Kind.NUMERIC, 2), _shape("1.125"), None, True, TEXT),  # held unknown
        (BIGINT, _shape("nan"), 3, True, DOUBLE),
        # SQLite: a double only when the integers held are exact as doubles
        (BIGINT, _shape("12.5"), 15, False, DOUBLE),
        (BIGINT, _shape("12.5"), 16, False, TEXT),
        (BIGINT, _shape("12.5"), None, False, TEXT),
        (BIGINT, _shape("0.10000000000000001"), 1, False, TEXT),
        # a double never becomes a numeric of unknown scale
        (DOUBLE, _shape("0.10000000000000001"), None, True, TEXT),
    ],
)
def test_number_widening_goes_to_a_type_holding_every_value(
    current: ColumnType,
    seen: numbers.Shape,
    held: int | None,
    exact_decimals: bool,
    expected: ColumnType,
) -> None:
    assert widen_number(current, seen, held, exact_decimals=exact_decimals) == expected
