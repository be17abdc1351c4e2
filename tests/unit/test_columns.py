from __future__ import annotations

import pyarrow as pa
import pytest

from chute.engine.columns import JSON, JSON_FIELD_META, TEXT, ColumnType, Kind, infer, widen


def _infer(values: list[str | None], numbers_from_text: bool = True) -> ColumnType:
    return infer(
        pa.field("c", pa.string()),
        pa.array(values, pa.string()),
        numbers_from_text=numbers_from_text,
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "-2", "0", None], ColumnType(Kind.BIGINT)),
        (["00123", "1"], TEXT),  # leading zeros would be lost
        (["+5"], TEXT),
        (["-0"], TEXT),
        (["12.50", "3.1"], ColumnType(Kind.NUMERIC, 2)),
        (["12345678901234567890"], ColumnType(Kind.NUMERIC, 0)),  # too big for bigint
        (["1e5", "-2.5E-3", "nan"], ColumnType(Kind.DOUBLE)),
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
        (ColumnType(Kind.BIGINT), ColumnType(Kind.DOUBLE), ColumnType(Kind.DOUBLE)),
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
