"""Contract: a column chute created widens when a later batch holds a value its type cannot,
on every sink: the report says so, the catalog agrees, and no row or digit is lost."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.contract.expected import declared_ok
from tests.contract.loading import load_text
from tests.contract.targets import SinkTarget


def _json(value: object) -> object:
    """A json column's value as data (a driver may return it as JSON text)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _number(value: object) -> Decimal:
    """A stored number (int, float, Decimal, or its text) as the exact decimal it reads as."""
    return Decimal(repr(value) if isinstance(value, float) else str(value))


@pytest.mark.parametrize("batch_rows", [2, 3])
def test_json_int_then_float_then_string_widens_to_double_then_json_across_batches(
    target: SinkTarget, batch_rows: int
) -> None:
    # typed input: a JSON string among JSON numbers makes the column json (CSV: text, below)
    values: list[object] = [1, 2, 3, 2.5, -0.125, 4, "n/a", 5]
    text = "".join(json.dumps({"n": n, "a": v}) + "\n" for n, v in enumerate(values, 1))
    report = load_text(target, text, name="in.jsonl", batch_rows=batch_rows)

    assert report.read == report.written == len(values)
    assert report.columns["a"] == "json"
    assert declared_ok(target.name, "json", target.db.column_types("t")["a"])
    widened = [c for c in report.changes if "widened" in c]
    assert len(widened) == 2, report.changes
    assert "from bigint to double" in widened[0]
    assert "from double to json" in widened[1]
    stored = [_json(r[1]) for r in target.db.rows("t", "n, a")]
    assert stored[6] == "n/a"
    assert [_number(v) for i, v in enumerate(stored) if i != 6] == [
        _number(v) for i, v in enumerate(values) if i != 6
    ]


def test_csv_integers_widen_to_decimals_then_text_over_many_small_batches(
    target: SinkTarget,
) -> None:
    values = [str(i) for i in range(1, 1_001)]
    values[399] = "400.5"
    values[799] = "unknown"
    text = "n,a\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values, 1))
    report = load_text(target, text, batch_rows=25)

    assert (report.read, report.written, report.batches) == (1_000, 1_000, 40)
    middle = "numeric(38,1)" if target.spec.exact_decimals else "double"
    widened = [c for c in report.changes if "widened" in c]
    assert len(widened) == 2, report.changes
    assert f"from bigint to {middle}" in widened[0] and "'400.5'" in widened[0]
    assert f"from {middle} to text" in widened[1] and "'unknown'" in widened[1]
    assert report.columns == {"n": "bigint", "a": "text"}
    stored = [r[1] for r in target.db.rows("t", "n, a")]
    assert stored[799] == "unknown"
    assert [_number(v) for i, v in enumerate(stored) if i != 799] == [
        Decimal(v) for i, v in enumerate(values) if i != 799
    ]


def test_a_date_column_widens_to_text_keeping_the_dates_as_written(target: SinkTarget) -> None:
    text = "n,d\n1,2024-01-31\n2,2024-02-29\n3,soon\n4,1999-12-31\n"
    report = load_text(target, text, batch_rows=2)

    assert report.columns["d"] == "text"
    assert [r[1] for r in target.db.rows("t", "n, d")] == [
        "2024-01-31",
        "2024-02-29",
        "soon",
        "1999-12-31",
    ]


@pytest.mark.parametrize("batch_rows", [1, 2, 100])
def test_widening_the_upsert_key_column_keeps_upserting(
    target: SinkTarget, batch_rows: int
) -> None:
    text = "id,v\n1,a\n2,b\nA-1,c\n1,d\n2,e\n"
    report = load_text(target, text, mode="upsert", key="id", batch_rows=batch_rows)

    assert (report.read, report.created, report.updated) == (5, 3, 2)
    assert report.columns["id"] == "text"
    assert target.db.rows("t") == [("1", "d"), ("2", "e"), ("A-1", "c")]


def test_a_later_load_into_a_widened_table_uses_its_wider_type(target: SinkTarget) -> None:
    load_text(target, "id,a\n1,1\n2,x\n", batch_rows=1)
    report = load_text(target, "id,a\n3,3\n4,y\n")

    assert not report.table_created
    assert report.changes == []
    assert target.db.rows("t") == [(1, "1"), (2, "x"), (3, "3"), (4, "y")]
