"""Hostile values: odd dates, timestamps, booleans, numbers and text, into a table chute
creates (inference keeps the source's text when no type gives it back exactly) and into
existing typed PostgreSQL tables (the database's own input rules decide: stored as it would
store them, or rejected with its reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.harness import Case, Reject, check, database, params

PG = ("postgres",)
#: chute's converter refuses it, or (once it hands the text over) the database does
CONV = "conversion|database"

INFERRED = [
    Case(
        "dates_feb_29_leap_and_not_stay_text",
        "dates_feb_29.csv",
        rows=[(1, "2024-02-29"), (2, "2023-02-29")],
    ),
    Case(
        "timestamps_with_offset_24_stay_text",
        "timestamps_offset_24.csv",
        rows=[(1, "2024-01-01T10:00:00+24:00"), (2, "2024-01-01T10:00:00+14:00")],
    ),
    Case(
        "booleans_canonical_spellings",
        "booleans_canonical.csv",
        rows=[(1, 1), (2, 1), (3, 1), (4, 0)],
        sql="SELECT id, CASE WHEN b THEN 1 ELSE 0 END FROM data ORDER BY id",
    ),
    Case(
        "booleans_mixed_spellings_stay_text",
        "booleans_mixed_spellings.csv",
        rows=[(1, "true"), (2, "yes"), (3, "1")],
    ),
    Case(
        "thousands_separators_stay_text",
        "thousands_separators.csv",
        rows=[(1, "1,000"), (2, "2000")],
    ),
    Case(
        "float_overflow_1e999_not_stored_as_infinity",
        "float_overflow_1e999.csv",
        rows=[(1, "1e999"), (2, "1.5e3")],
        sql="SELECT id, CAST(x AS TEXT) FROM data ORDER BY id",
    ),
    Case(
        "bigint_edges_widen_to_numeric",
        "bigint_edges.csv",
        rows=[(1, "9223372036854775807"), (2, "9223372036854775808"), (3, "-9223372036854775808")],
        sql="SELECT id, CAST(n AS TEXT) FROM data ORDER BY id",
    ),
]

EXISTING = [
    Case(
        "date_column_refuses_feb_29_of_2023_and_month_13",
        "dates_into_date_column.csv",
        setup=("CREATE TABLE data (id bigint, d date)",),
        code=6,
        rejects=(Reject(3, CONV, column="d"), Reject(4, CONV, column="d")),
        rows=[(1, "2024-02-29")],
        sql="SELECT id, CAST(d AS TEXT) FROM data",
        dbs=PG,
    ),
    Case(
        "timestamptz_offsets_plus_24_refused_plus_14_stored",
        "timestamptz_offsets.csv",
        setup=("CREATE TABLE data (id bigint, t timestamptz)",),
        code=6,
        rejects=(Reject(2, CONV, column="t"),),
        rows=[(2, "2023-12-31 20:00:00")],
        sql="SELECT id, CAST(t AT TIME ZONE 'UTC' AS TEXT) FROM data",
        dbs=PG,
    ),
    Case(
        "timestamptz_hour_24_is_next_midnight",
        "timestamptz_hour_24.csv",
        setup=("CREATE TABLE data (id bigint, t timestamptz)",),
        rows=[(1, "2024-01-02 00:00:00")],
        sql="SELECT id, CAST(t AT TIME ZONE 'UTC' AS TEXT) FROM data",
        dbs=PG,
    ),
    Case(
        "boolean_column_spellings_and_maybe",
        "booleans_into_boolean_column.csv",
        setup=("CREATE TABLE data (id bigint, b boolean)",),
        code=6,
        rejects=(Reject(7, CONV, column="b"),),
        rows=[(1, True), (2, True), (3, True), (4, True), (5, False)],
        dbs=PG,
    ),
    Case(
        "boolean_column_padded_and_prefix_spellings",
        "booleans_padded_and_prefixes.csv",
        setup=("CREATE TABLE data (id bigint, b boolean)",),
        rows=[(1, True), (2, False), (3, False), (4, True)],
        dbs=PG,
    ),
    Case(
        "bigint_column_refuses_thousands_separators",
        "thousands_into_bigint.csv",
        setup=("CREATE TABLE data (id bigint, n bigint)",),
        code=6,
        rejects=(
            Reject(2, CONV, column="n"),
            Reject(4, CONV, column="n"),
            Reject(5, CONV, column="n"),
        ),
        rows=[(2, 2000)],
        dbs=PG,
    ),
    Case(
        "integer_column_overflow",
        "integer_overflow.csv",
        setup=("CREATE TABLE data (id bigint, n integer)",),
        code=6,
        rejects=(Reject(3, "conversion", sqlstate="22003"),),
        rows=[(1, 2147483647)],
        dbs=PG,
    ),
    Case(
        "integer_column_holds_64_bits_in_sqlite",
        "integer_overflow.csv",
        setup=("CREATE TABLE data (id bigint, n integer)",),
        rows=[(1, 2147483647), (2, 2147483648)],
        dbs=("sqlite",),
    ),
    Case(
        "smallint_column_overflow",
        "smallint_overflow.csv",
        setup=("CREATE TABLE data (id bigint, n smallint)",),
        code=6,
        rejects=(Reject(3, "conversion", sqlstate="22003"),),
        rows=[(1, 32767)],
        dbs=PG,
    ),
    Case(
        "varchar_counts_characters_not_bytes",
        "varchar_multibyte.csv",
        setup=("CREATE TABLE data (id bigint, s varchar(3))",),
        code=6,
        rejects=(Reject(4, "constraint", column="s", sqlstate="22001"),),
        rows=[(1, "abc"), (2, "ééé")],
        dbs=PG,
    ),
    Case(
        "uuid_column_spellings",
        "uuid_spellings.csv",
        setup=("CREATE TABLE data (id bigint, u uuid)",),
        code=6,
        rejects=(Reject(3, "database", sqlstate="22P02"),),
        rows=[
            (1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            (3, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ],
        sql="SELECT id, CAST(u AS TEXT) FROM data ORDER BY id",
        dbs=PG,
    ),
    Case(
        "bigint_column_edges",
        "bigint_edges.csv",
        setup=("CREATE TABLE data (id bigint, n bigint)",),
        code=6,
        rejects=(Reject(3, CONV, column="n"),),
        rows=[(1, 9223372036854775807), (3, -9223372036854775808)],
    ),
    Case(
        "not_null_column_empty_and_quoted_empty",
        "not_null_empty_and_quoted_empty.csv",
        setup=("CREATE TABLE data (id bigint, n text NOT NULL)",),
        code=6,
        rejects=(Reject(2, "constraint", column="n", sqlstate="23502"),),
        rows=[(2, "")],
    ),
    Case(
        "check_constraint_postgres",
        "check_constraint.csv",
        setup=("CREATE TABLE data (id bigint, n bigint CHECK (n > 0))",),
        code=6,
        rejects=(Reject(3, "database", sqlstate="23514"),),
        rows=[(1, 5)],
        dbs=PG,
    ),
    Case(
        "check_constraint_sqlite",
        "check_constraint.csv",
        setup=("CREATE TABLE data (id bigint, n bigint CHECK (n > 0))",),
        code=6,
        rejects=(Reject(3, "database", sqlstate="SQLITE_CONSTRAINT_CHECK"),),
        rows=[(1, 5)],
        dbs=("sqlite",),
    ),
    Case(
        "interval_column_spellings",
        "interval_spellings.csv",
        setup=("CREATE TABLE data (id bigint, i interval)",),
        code=6,
        rejects=(Reject(4, "database", sqlstate="22007"),),
        rows=[(1, "1 day"), (2, "1 day")],
        sql="SELECT id, CAST(i AS TEXT) FROM data ORDER BY id",
        dbs=PG,
    ),
    Case(
        "numeric_column_overflow",
        "numeric_overflow.csv",
        setup=("CREATE TABLE data (id bigint, n numeric(6,2))",),
        code=6,
        rejects=(Reject(3, "conversion", column="n", sqlstate="22003"),),
        rows=[(1, "9999.99")],
        sql="SELECT id, CAST(n AS TEXT) FROM data",
        dbs=PG,
    ),
]


@pytest.mark.parametrize(("case", "db"), params(INFERRED))
def test_inferred_value(
    case: Case, db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    check(case, database(db, request, tmp_path), tmp_path)


@pytest.mark.parametrize(("case", "db"), params(EXISTING))
def test_value_into_existing_column(
    case: Case, db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    check(case, database(db, request, tmp_path), tmp_path)
