"""Type inference for tables chute creates from CSV, and widening when later data disagrees.

Types come from the first batch and only canonical spellings get a typed column (``00123``
and ``+5`` stay text).  A number column's type holds every value exactly: read back with an
independent driver, each value is numerically the source's (a double as its shortest
spelling), and text is the source's text.  A later value that does not fit widens the column
to a type that holds every value seen; the report's ``changes`` says so and no row is lost.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import chute
from tests.helpers import query, write
from tests.integration.readback import (
    check_identity,
    expect_types,
    is_pg,
    load_in_subprocess,
    load_text,
)


def column(url: str, name: str = "a", table: str = "t", order: str = "") -> list[object]:
    """The values of one column, in input order (``order`` names an ordering column)."""
    by = order or ("ctid" if is_pg(url) else "rowid")
    return [r[0] for r in query(url, f"SELECT {name} FROM {table} ORDER BY {by}")]


def numbered(values: list[str], name: str = "a") -> str:
    """A CSV with columns ``n`` (1, 2, ...) and ``name`` holding ``values``."""
    return f"n,{name}\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values, 1))


def exact(value: object) -> Decimal:
    """A stored number (int, float, Decimal or number text) as the exact decimal a reader
    gets: a float is its shortest spelling."""
    return Decimal(repr(value) if isinstance(value, float) else str(value))


def typeofs(url: str, name: str = "a") -> set[str]:
    return {r[0] for r in query(url, f"SELECT DISTINCT typeof({name}) FROM t")}


# -- inference --------------------------------------------------------------------------


def test_created_table_gets_one_type_per_kind_of_canonical_value(
    db_url: str, tmp_path: Path
) -> None:
    text = (
        "n,x,f,b,d,ts,tz,s\n"
        "42,12.50,1.5e3,true,2024-01-31,2024-01-31 10:00:00,2024-01-31T10:00:00+02:00,hello\n"
        "-7,0.05,-2E-3,False,1999-12-31,2024-06-30T23:59:59.123456,2023-12-31T23:00:00-09:00,"
        "world\n"
    )
    report = load_text(tmp_path, text, db_url)

    expected_types = {
        "n": "bigint",
        # fixed point: exact numeric where there is one; SQLite stores the REAL numbers
        "x": "numeric(38,2)" if is_pg(db_url) else "double",
        "f": "double",
        "b": "boolean",
        "d": "date",
        "ts": "timestamp",
        "tz": "timestamptz",
        "s": "text",
    }
    assert report.table_created
    assert report.columns == expected_types
    assert report.changes == []
    expect_types(db_url, "t", expected_types)
    rows = query(db_url, "SELECT n, x, f, b, d, ts, tz, s FROM t ORDER BY n DESC")
    if is_pg(db_url):
        assert rows == [
            (
                42,
                Decimal("12.50"),
                1500.0,
                True,
                date(2024, 1, 31),
                datetime(2024, 1, 31, 10),
                datetime(2024, 1, 31, 8, tzinfo=UTC),
                "hello",
            ),
            (
                -7,
                Decimal("0.05"),
                -0.002,
                False,
                date(1999, 12, 31),
                datetime(2024, 6, 30, 23, 59, 59, 123456),
                datetime(2024, 1, 1, 8, tzinfo=UTC),
                "world",
            ),
        ]
        assert [str(r[1]) for r in rows] == ["12.50", "0.05"]
    else:
        assert rows == [
            (
                42,
                12.5,
                1500.0,
                1,
                "2024-01-31",
                "2024-01-31 10:00:00",
                "2024-01-31 08:00:00+00:00",
                "hello",
            ),
            (
                -7,
                0.05,
                -0.002,
                0,
                "1999-12-31",
                "2024-06-30 23:59:59.123456",
                "2024-01-01 08:00:00+00:00",
                "world",
            ),
        ]


def test_integers_with_leading_zeros_or_a_plus_sign_stay_text_verbatim(
    db_url: str, tmp_path: Path
) -> None:
    text = "n,zip,plus,mixed\n1,00123,+5,1\n2,04567,+60,007\n"
    report = load_text(tmp_path, text, db_url)

    assert report.columns == {"n": "bigint", "zip": "text", "plus": "text", "mixed": "text"}
    assert query(db_url, "SELECT zip, plus, mixed FROM t ORDER BY n") == [
        ("00123", "+5", "1"),
        ("04567", "+60", "007"),
    ]


def test_canonical_integers_including_zero_and_negatives_become_bigint(
    db_url: str, tmp_path: Path
) -> None:
    values = ["0", "-17", "123456789012345678", "-123456789012345678", "5"]
    report = load_text(tmp_path, numbered(values), db_url)

    assert report.columns == {"n": "bigint", "a": "bigint"}
    assert column(db_url, order="n") == [int(v) for v in values]


def test_fixed_point_decimals_become_numeric_with_the_largest_scale_and_stay_exact(
    db_url: str, tmp_path: Path
) -> None:
    # the trailing zero of 12.50 says the writer kept a scale: numeric on PostgreSQL
    report = load_text(tmp_path, numbered(["12.50", "3.1", "-0.75", "1000000"]), db_url)

    stored = column(db_url, order="n")
    if is_pg(db_url):
        assert report.columns == {"n": "bigint", "a": "numeric(38,2)"}
        assert [str(v) for v in stored] == ["12.50", "3.10", "-0.75", "1000000.00"]
    else:  # SQLite has no exact decimal: REAL, each value exact as one
        assert report.columns == {"n": "bigint", "a": "double"}
        assert stored == [12.5, 3.1, -0.75, 1000000.0]
        assert query(db_url, "SELECT DISTINCT typeof(a) FROM t") == [("real",)]
    expect_types(db_url, "t", report.columns)


def test_numerics_are_kept_to_the_last_digit(db_url: str, tmp_path: Path) -> None:
    values = ["12345678901234567890.123456789", "-99999999999999999999.999999999", "100.5"]
    report = load_text(tmp_path, numbered(values), db_url)

    assert [Decimal(str(v)) for v in column(db_url, order="n")] == [Decimal(v) for v in values]
    if not is_pg(db_url):  # no exact decimal, and not exact as REALs: the source's text
        assert report.columns["a"] == "text"
        assert column(db_url, order="n") == values
        return
    assert report.columns["a"] == "numeric(38,9)"
    assert query(db_url, "SELECT CAST(a AS TEXT) FROM t ORDER BY n") == [
        ("12345678901234567890.123456789",),
        ("-99999999999999999999.999999999",),
        ("100.500000000",),
    ]


def test_small_fixed_point_decimals_are_stored_in_plain_notation(
    db_url: str, tmp_path: Path
) -> None:
    values = ["0.000000123", "-0.000000001", "1.500000000"]
    report = load_text(tmp_path, numbered(values), db_url)

    if is_pg(db_url):
        assert report.columns["a"] == "numeric(38,9)"
        assert query(db_url, "SELECT CAST(a AS TEXT) FROM t ORDER BY n") == [
            ("0.000000123",),
            ("-0.000000001",),
            ("1.500000000",),
        ]
    else:
        assert report.columns["a"] == "double"
        assert column(db_url, order="n") == [1.23e-7, -1e-9, 1.5]


def test_zero_among_decimals_is_numeric_not_text(db_url: str, tmp_path: Path) -> None:
    # "0" is the canonical spelling of zero, like "0" in an integer column.
    report = load_text(tmp_path, numbered(["0", "12.50", "-3.25"]), db_url)

    assert report.columns["a"] == ("numeric(38,2)" if is_pg(db_url) else "double")
    assert [Decimal(str(v)) for v in column(db_url, order="n")] == [
        Decimal("0"),
        Decimal("12.50"),
        Decimal("-3.25"),
    ]


def test_exponent_floats_become_double(db_url: str, tmp_path: Path) -> None:
    report = load_text(tmp_path, numbered(["1.5e3", "-2E-3", "6.02e23", "1e-300"]), db_url)

    assert report.columns["a"] == "double"
    expect_types(db_url, "t", {"n": "bigint", "a": "double"})
    assert column(db_url, order="n") == [1500.0, -0.002, 6.02e23, 1e-300]


def test_nan_and_infinities_become_double_and_are_not_stored_as_null(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, numbered(["NaN", "inf", "-Infinity", "1e10"]), db_url)

    assert report.columns["a"] == "double"
    assert query(db_url, "SELECT count(*) FROM t WHERE a IS NULL") == [(0,)]
    values = column(db_url, order="n")
    assert values[1:] == [float("inf"), float("-inf"), 1e10]
    if is_pg(db_url):
        assert isinstance(values[0], float) and values[0] != values[0]  # NaN
    else:  # SQLite cannot hold a NaN REAL (it would become NULL): kept as the text 'NaN'
        assert values[0] == "NaN"


def test_true_and_false_in_any_usual_case_become_boolean(db_url: str, tmp_path: Path) -> None:
    text = "n,a,yn\n1,true,yes\n2,FALSE,no\n3,True,yes\n4,,no\n"
    report = load_text(tmp_path, text, db_url)

    assert report.columns == {"n": "bigint", "a": "boolean", "yn": "text"}
    expect_types(db_url, "t", report.columns)
    values = column(db_url, order="n")
    assert values == ([True, False, True, None] if is_pg(db_url) else [1, 0, 1, None])


def test_iso_dates_become_date_and_impossible_dates_stay_text(db_url: str, tmp_path: Path) -> None:
    text = "n,d,bad,us\n1,2024-01-31,2024-02-30,01/31/2024\n2,2024-02-29,2024-01-01,02/01/2024\n"
    report = load_text(tmp_path, text, db_url)

    assert report.columns == {"n": "bigint", "d": "date", "bad": "text", "us": "text"}
    rows = query(db_url, "SELECT d, bad, us FROM t ORDER BY n")
    d = [date(2024, 1, 31), date(2024, 2, 29)]
    if not is_pg(db_url):
        d = [x.isoformat() for x in d]
    assert rows == [
        (d[0], "2024-02-30", "01/31/2024"),
        (d[1], "2024-01-01", "02/01/2024"),
    ]


def test_timestamps_without_a_zone_are_timestamp_as_written(db_url: str, tmp_path: Path) -> None:
    values = ["2024-01-01 10:00:00", "2024-06-30T23:59:59.123456", "1970-01-01 00:00:00.5"]
    report = load_text(tmp_path, numbered(values), db_url)

    assert report.columns["a"] == "timestamp"
    expected = [
        datetime(2024, 1, 1, 10),
        datetime(2024, 6, 30, 23, 59, 59, 123456),
        datetime(1970, 1, 1, 0, 0, 0, 500000),
    ]
    if is_pg(db_url):
        assert column(db_url, order="n") == expected
    else:
        assert column(db_url, order="n") == [
            "2024-01-01 10:00:00",
            "2024-06-30 23:59:59.123456",
            "1970-01-01 00:00:00.5",
        ]


def test_timestamps_with_a_zone_are_stored_as_the_instant(db_url: str, tmp_path: Path) -> None:
    values = [
        "2024-01-01T10:00:00+02:00",
        "2024-01-01T08:00:00Z",
        "2024-01-01T13:30:00+05:30",
        "2023-12-31T23:00:00-09:00",
        "2024-01-01 03:00:00-0500",
        "2024-01-01T08:00:00.5Z",
    ]
    report = load_text(tmp_path, numbered(values), db_url)

    assert report.columns["a"] == "timestamptz"
    eight = datetime(2024, 1, 1, 8, tzinfo=UTC)
    if is_pg(db_url):
        assert column(db_url, order="n") == [eight] * 5 + [eight.replace(microsecond=500000)]
        utc = "to_char(a AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
        assert set(column(db_url, utc, order="n")) == {"2024-01-01 08:00:00"}
    else:
        assert column(db_url, order="n") == ["2024-01-01 08:00:00+00:00"] * 5 + [
            "2024-01-01 08:00:00.5+00:00"
        ]


def test_mixed_kinds_of_values_and_all_null_columns_are_text(db_url: str, tmp_path: Path) -> None:
    text = "n,mixed,empty,tsmix\n1,1,,2024-01-01 10:00:00\n2,abc,,2024-01-01T10:00:00Z\n"
    report = load_text(tmp_path, text, db_url)

    assert report.columns == {"n": "bigint", "mixed": "text", "empty": "text", "tsmix": "text"}
    assert query(db_url, "SELECT mixed, empty, tsmix FROM t ORDER BY n") == [
        ("1", None, "2024-01-01 10:00:00"),
        ("abc", None, "2024-01-01T10:00:00Z"),
    ]


def test_types_come_from_the_first_batch_only(db_url: str, tmp_path: Path) -> None:
    text = numbered(["1", "2", "abc"])
    whole = load_text(tmp_path, text, db_url, table="whole")
    split = load_text(tmp_path, text, db_url, table="split", batch_rows=2)

    assert whole.columns["a"] == "text"
    assert whole.changes == []
    assert split.columns["a"] == "text"
    assert len(split.changes) == 1
    assert "bigint to text" in split.changes[0]
    assert column(db_url, table="whole", order="n") == ["1", "2", "abc"]
    assert column(db_url, table="split", order="n") == ["1", "2", "abc"]


def test_text_column_never_narrows_when_later_values_are_numbers(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, numbered(["abc", "1", "2.5"]), db_url, batch_rows=1)

    assert report.columns["a"] == "text"
    assert report.changes == []
    assert column(db_url, order="n") == ["abc", "1", "2.5"]


# -- widening ---------------------------------------------------------------------------


def test_integer_column_widens_to_numeric_when_a_decimal_arrives_in_a_later_batch(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, numbered(["1", "2", "3", "12.5", "6"]), db_url, batch_rows=2)

    check_identity(report)
    assert report.read == report.written == 5
    # SQLite: to REAL, as every value (integers of at most 15 digits) is exact as one
    wider = "numeric(38,1)" if is_pg(db_url) else "double"
    assert report.columns == {"n": "bigint", "a": wider}
    expect_types(db_url, "t", report.columns)
    assert len(report.changes) == 1
    change = report.changes[0]
    assert f"column a widened from bigint to {wider}" in change
    assert "line 5" in change and "'12.5'" in change
    assert [Decimal(str(v)) for v in column(db_url, order="n")] == [
        Decimal(v) for v in ["1", "2", "3", "12.5", "6"]
    ]


def test_numeric_column_widens_to_text_when_n_a_arrives_and_no_row_is_lost(
    db_url: str, tmp_path: Path
) -> None:
    values = ["1", "2", "12.5", "7", "n/a", "8"]
    report = load_text(tmp_path, numbered(values), db_url, batch_rows=2)

    check_identity(report)
    assert report.read == report.written == 6
    assert report.columns["a"] == "text"
    expect_types(db_url, "t", report.columns)
    assert len(report.changes) == 2
    wider = "numeric(38,1)" if is_pg(db_url) else "double"
    assert f"from bigint to {wider}" in report.changes[0]
    assert f"from {wider} to text" in report.changes[1]
    assert "line 6" in report.changes[1] and "'n/a'" in report.changes[1]
    stored = column(db_url, order="n")
    assert stored[4] == "n/a"
    # the numbers written before the column became text keep their value
    numbers = [Decimal(str(v)) for i, v in enumerate(stored) if i != 4]
    assert numbers == [Decimal(v) for i, v in enumerate(values) if i != 4]


def test_leading_zero_value_later_widens_integer_column_to_text_keeping_the_zeros(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, numbered(["1", "2", "00123", "4"]), db_url, batch_rows=2)

    check_identity(report)
    assert report.columns["a"] == "text"
    assert report.changes and "from bigint to text" in report.changes[0]
    assert "'00123'" in report.changes[0]
    assert column(db_url, order="n") == ["1", "2", "00123", "4"]


def test_numeric_scale_widens_when_a_later_value_has_more_decimal_places(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, numbered(["1.5", "2.5", "1.25", "3.125"]), db_url, batch_rows=2)

    check_identity(report)
    # SQLite: REAL from the start (no exact decimal), which holds them all
    assert report.columns["a"] == ("numeric(38,3)" if is_pg(db_url) else "double")
    expect_types(db_url, "t", report.columns)
    assert [Decimal(str(v)) for v in column(db_url, order="n")] == [
        Decimal(v) for v in ["1.5", "2.5", "1.25", "3.125"]
    ]


def test_integer_too_long_for_bigint_widens_to_numeric_with_every_digit(
    db_url: str, tmp_path: Path
) -> None:
    big = "123456789012345678901234567"
    report = load_text(tmp_path, numbered(["1", "2", big]), db_url, batch_rows=2)

    assert report.columns["a"] == ("numeric(38,0)" if is_pg(db_url) else "text")
    assert query(db_url, "SELECT CAST(a AS TEXT) FROM t ORDER BY n") == [("1",), ("2",), (big,)]


def test_integer_column_widens_on_an_exponent_value_to_a_type_holding_both(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, numbered(["1", "2", "1e3"]), db_url, batch_rows=2)

    # PostgreSQL: numeric holds every bigint; SQLite: small integers are exact as REALs
    wider = "numeric(38,0)" if is_pg(db_url) else "double"
    assert report.columns["a"] == wider
    assert f"from bigint to {wider}" in report.changes[0]
    assert [exact(v) for v in column(db_url, order="n")] == [1, 2, 1000]


def test_date_column_widens_to_text_on_a_non_date(db_url: str, tmp_path: Path) -> None:
    report = load_text(
        tmp_path, numbered(["2024-01-01", "2024-01-02", "soon"]), db_url, batch_rows=2
    )

    assert report.columns["a"] == "text"
    assert column(db_url, order="n") == ["2024-01-01", "2024-01-02", "soon"]


def test_several_widenings_over_many_batches_keep_every_row(db_url: str, tmp_path: Path) -> None:
    values = [str(i) for i in range(1, 10)] + ["10.5"] + [str(i) for i in range(11, 16)]
    values += ["unknown"] + [str(i) for i in range(17, 21)]
    text = numbered(values) + "\n"  # plus a trailing blank line
    report = load_text(tmp_path, text, db_url, batch_rows=3)

    check_identity(report)
    assert report.read == report.written == 20
    assert report.batches == 7
    assert report.columns["a"] == "text"
    assert len(report.changes) == 2
    assert query(db_url, "SELECT count(*), min(n), max(n) FROM t") == [(20, 1, 20)]
    stored = column(db_url, order="n")
    at = values.index("unknown")
    assert stored[at] == "unknown"
    assert [Decimal(str(v)) for i, v in enumerate(stored) if i != at] == [
        Decimal(v) for i, v in enumerate(values) if i != at
    ]


def test_zero_in_a_later_batch_of_a_numeric_column_does_not_hang(tmp_path: Path) -> None:
    # The engine bug this guards against does not depend on the database.
    path = write(tmp_path / "in.csv", numbered(["1.5", "2.5", "0", "4.5"]))
    url = f"sqlite:///{tmp_path / 'x.db'}"

    report = load_in_subprocess(repr(str(path)), url, table="t", batch_rows=2)

    assert report["status"] == "completed"
    assert report["read"] == report["written"] == 4
    assert report["columns"]["a"] == "double"
    assert column(url, order="n") == [1.5, 2.5, 0.0, 4.5]


@pytest.mark.parametrize("batch_rows", [1, 2, 100])
def test_widening_the_upsert_key_column_keeps_upserting(
    db_url: str, tmp_path: Path, batch_rows: int
) -> None:
    text = "id,v\n1,a\n2,b\nA-1,c\n1,d\n"
    report = load_text(tmp_path, text, db_url, mode="upsert", key="id", batch_rows=batch_rows)

    check_identity(report)
    assert (report.read, report.created, report.updated) == (4, 3, 1)
    assert report.columns["id"] == "text"
    assert sorted(query(db_url, "SELECT id, v FROM t")) == [("1", "d"), ("2", "b"), ("A-1", "c")]


# -- numbers are stored exactly: issue 10, classes B and B2 --------------------------------


BEYOND_2_53 = [
    "9007199254740993",  # 2^53 + 1
    "9007199254740992",
    "12345678901234567",
    "12345678901234568",
    "12345678901234569",
    "99999999999999999",
]


@pytest.mark.parametrize("batch_rows", [2, 3, 100])
def test_widening_an_integer_column_keeps_every_digit_of_integers_beyond_2_53(
    db_url: str, tmp_path: Path, batch_rows: int
) -> None:
    # The exponent value arrives in a later batch (2, 3) or with the integers (100).
    values = [*BEYOND_2_53, "1e3", "7"]
    report = load_text(tmp_path, numbered(values), db_url, batch_rows=batch_rows)

    check_identity(report)
    assert report.read == report.written == len(values)
    # PostgreSQL: numeric holds them all; SQLite: a double would not, so they are text
    assert report.columns["a"] == ("numeric(38,0)" if is_pg(db_url) else "text")
    expect_types(db_url, "t", report.columns)
    stored = column(db_url, order="n")
    assert [exact(v) for v in stored] == [Decimal(v) for v in values]
    assert query(db_url, "SELECT count(DISTINCT a) FROM t") == [(len(values),)]
    if not is_pg(db_url):  # text is the source's text; the integers are theirs too
        assert stored == values


def test_a_bigint_column_widens_to_double_only_when_its_integers_are_exact_as_doubles(
    sqlite_url: str, tmp_path: Path
) -> None:
    small = load_text(tmp_path, numbered(["1", "2", "0.5"]), sqlite_url, batch_rows=2, table="s")
    big = load_text(
        tmp_path, numbered(["1", "9007199254740993", "0.5"]), sqlite_url, batch_rows=2, table="b"
    )

    assert small.columns["a"] == "double"
    assert column(sqlite_url, table="s", order="n") == [1.0, 2.0, 0.5]
    assert big.columns["a"] == "text"
    assert column(sqlite_url, table="b", order="n") == ["1", "9007199254740993", "0.5"]


@pytest.mark.parametrize("batch_rows", [2, 100])
def test_values_with_17_or_more_significant_digits_are_never_rounded_through_a_double(
    db_url: str, tmp_path: Path, batch_rows: int
) -> None:
    # In the first batch (100), or widening a bigint column in a later one (2).
    values = ["1", "2", "2.5e3", "1.2345678901234567890123e5", "-3.14159265358979323846", "0.1"]
    report = load_text(tmp_path, numbered(values), db_url, batch_rows=batch_rows)

    check_identity(report)
    stored = column(db_url, order="n")
    assert [exact(v) for v in stored] == [Decimal(v) for v in values]
    if is_pg(db_url):
        assert report.columns["a"] == "numeric(38,20)"
    else:  # kept as the source's text, not reformatted
        assert report.columns["a"] == "text"
        assert stored == values


def test_a_double_column_widens_when_a_later_value_would_be_rounded(
    db_url: str, tmp_path: Path
) -> None:
    values = ["1.5e3", "0.30000000000000004", "1.2345678901234567890123e5", "2"]
    report = load_text(tmp_path, numbered(values), db_url, batch_rows=2)

    check_identity(report)
    assert report.columns["a"] == "text"
    assert "from double to text" in report.changes[0] and "line 4" in report.changes[0]
    stored = column(db_url, order="n")
    # stored doubles become their shortest exact spelling; later values are the source text
    first = "1500" if is_pg(db_url) else "1500.0"
    assert stored == [first, "0.30000000000000004", *values[2:]]
    assert [exact(v) for v in stored] == [Decimal(v) for v in values]


def test_measurements_that_survive_a_double_are_stored_as_numbers_and_sort_as_numbers(
    db_url: str, tmp_path: Path
) -> None:
    # float-looking values of varying length: double precision / REAL, never numeric(38,20)
    # or text; later batches with more decimals widen nothing and reformat nothing
    values = ["34.02505165179919", "9.5", "100.125", "-0.000123", "10.000000000000002", "2"]
    report = load_text(tmp_path, numbered(values, "score"), db_url, batch_rows=2)

    check_identity(report)
    assert report.columns["score"] == "double"
    assert report.changes == []
    expect_types(db_url, "t", report.columns)
    stored = column(db_url, "score", order="n")
    assert all(isinstance(v, float) for v in stored)
    assert [exact(v) for v in stored] == [Decimal(v) for v in values]
    ordered = [r[0] for r in query(db_url, "SELECT score FROM t ORDER BY score")]
    assert ordered == sorted(float(v) for v in values)
    if not is_pg(db_url):
        assert typeofs(db_url, "score") == {"real"}


def test_fixed_point_money_is_numeric_on_postgresql_and_real_on_sqlite(
    db_url: str, tmp_path: Path
) -> None:
    values = ["12.25", "3.99", "0.10", "1000.00", "7"]
    report = load_text(tmp_path, numbered(values, "price"), db_url)

    check_identity(report)
    stored = column(db_url, "price", order="n")
    assert [exact(v) for v in stored] == [Decimal(v) for v in values]
    if is_pg(db_url):
        assert report.columns["price"] == "numeric(38,2)"
        assert [str(v) for v in stored] == ["12.25", "3.99", "0.10", "1000.00", "7.00"]
    else:  # SQLite has no exact decimal: the numbers are REALs, numerically the same
        assert report.columns["price"] == "double"
        assert typeofs(db_url, "price") == {"real"}
    ordered = [exact(r[0]) for r in query(db_url, "SELECT price FROM t ORDER BY price")]
    assert ordered == sorted(Decimal(v) for v in values)


def test_widening_a_number_column_to_text_keeps_the_source_spelling_of_stored_numbers(
    db_url: str, tmp_path: Path
) -> None:
    # On main, SQLite rewrote these as 1.50 / 34.025051651799190000 (zero padded) or kept 15
    # digits (34.0250516517992).
    values = ["1.5", "34.02505165179919", "2.25", "n/a", "0.1"]
    report = load_text(tmp_path, numbered(values), db_url, batch_rows=3)

    check_identity(report)
    assert report.columns["a"] == "text"
    assert column(db_url, order="n") == values


def test_text_columns_of_sqlite_hold_the_source_text_of_numbers_that_are_not_exact_reals(
    sqlite_url: str, tmp_path: Path
) -> None:
    values = ["12345678901234567890.123456789", "0.50", "1e-400", "-99999999999999999999.5"]
    report = load_text(tmp_path, numbered(values), sqlite_url)

    assert report.columns["a"] == "text"
    assert column(sqlite_url, order="n") == values
    assert typeofs(sqlite_url) == {"text"}


def test_a_json_number_in_a_json_column_of_sqlite_stays_its_text(
    sqlite_url: str, tmp_path: Path
) -> None:
    text = '{"n": 1, "a": 1.50}\n{"n": 2, "a": [1, 2]}\n{"n": 3, "a": 12345678901234567890.5}\n'
    report = load_text(tmp_path, text, sqlite_url, name="in.jsonl")

    check_identity(report)
    assert report.columns["a"] == "json"
    assert typeofs(sqlite_url) == {"text"}
    stored = column(sqlite_url, order="n")
    assert stored[1] == "[1,2]"
    assert exact(stored[0]) == Decimal("1.5")


def test_postgresql_widening_of_doubles_to_text_is_exact_whatever_the_session_rounding(
    pg_url: str, tmp_path: Path
) -> None:
    # A server or role set to extra_float_digits = 0 prints doubles with 15 digits; the
    # widening's USING cast must not depend on it.
    rounding = pg_url + "?options=-c%20extra_float_digits%3D0"
    values = ["34.02505165179919", "0.30000000000000004", "n/a"]
    report = load_text(tmp_path, numbered(values), rounding, batch_rows=2)

    check_identity(report)
    assert report.columns["a"] == "text"
    assert column(pg_url, order="n") == values


UUIDS = [
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-4fff-bfff-ffffffffffff",
]


def test_canonical_lowercase_uuids_are_uuid_on_postgresql_and_their_text_on_sqlite(
    db_url: str, tmp_path: Path
) -> None:
    report = load_text(tmp_path, numbered([*UUIDS, ""]), db_url)

    check_identity(report)
    assert report.columns["a"] == ("uuid" if is_pg(db_url) else "text")
    expect_types(db_url, "t", report.columns)
    stored = column(db_url, order="n")
    if is_pg(db_url):
        assert stored == [uuid.UUID(u) for u in UUIDS] + [None]
    assert query(db_url, "SELECT CAST(a AS TEXT) FROM t ORDER BY n") == [
        *((u,) for u in UUIDS),
        (None,),
    ]


def test_uuids_in_another_spelling_stay_text_as_written(db_url: str, tmp_path: Path) -> None:
    values = ["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"]
    report = load_text(tmp_path, numbered([UUIDS[0], *values]), db_url)

    assert report.columns["a"] == "text"
    assert column(db_url, order="n") == [UUIDS[0], *values]


def test_a_uuid_column_widens_to_text_when_a_later_value_is_not_one(
    pg_url: str, tmp_path: Path
) -> None:
    values = [UUIDS[0], UUIDS[1], "not-a-uuid", UUIDS[2]]
    report = load_text(tmp_path, numbered(values), pg_url, batch_rows=2)

    check_identity(report)
    assert report.read == report.written == 4
    assert report.columns["a"] == "text"
    assert "from uuid to text" in report.changes[0] and "line 4" in report.changes[0]
    assert column(pg_url, order="n") == values


def test_typed_integers_then_floats_widen_to_double_only_when_the_integers_are_exact(
    db_url: str,
) -> None:
    small = chute.load([{"a": 1}, {"a": 2}, {"a": 2.5}], into=db_url, table="s", batch_rows=2)
    big = [{"a": 1}, {"a": 2**53 + 1}, {"a": 2.5}]
    wide = chute.load(big, into=db_url, table="b", batch_rows=2)

    assert small.columns["a"] == "double"
    assert column(db_url, table="s") == [1.0, 2.0, 2.5]
    assert wide.columns["a"] == "text"  # a double would make 2^53 + 1 into 2^53
    assert column(db_url, table="b") == ["1", "9007199254740993", "2.5"]
