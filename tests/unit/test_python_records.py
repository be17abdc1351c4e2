"""Python records into Arrow: the fast paths give what Arrow's own inference gives, and an
iterable's batches are cut by the records' bytes as well as by rows."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from chute.sources._records import TYPE_SAMPLE, _decimals, column_from_values, records_to_batch
from chute.sources.base import BatchSize
from chute.sources.iterable import IterableSource


def _decimal(rng: random.Random, late: bool) -> Decimal | None:
    if rng.random() < 0.05:
        return None
    if late and rng.random() < 0.002:
        return Decimal(rng.choice(["NaN", "Infinity", "-0", "-0.00", "1E+5", "0E-10", "1.2E-9"]))
    odd = late and rng.random() < 0.01  # more digits, more or fewer places than the start
    digits = rng.choice([1, 12, 20, 37]) if odd else rng.choice([1, 3, 6])
    places = rng.choice([-3, 0, 5, 10, 30]) if odd else rng.choice([0, 1, 2])
    return Decimal(rng.randrange(-(10**digits), 10**digits)).scaleb(-places)


def test_a_decimal_column_gets_the_type_and_values_of_inferring_it_whole() -> None:
    rng = random.Random(20261205)
    compared = fast = 0
    for _ in range(600):
        n = rng.choice([TYPE_SAMPLE + 1, 1000, 3000])
        values = [_decimal(rng, i >= TYPE_SAMPLE) for i in range(n)]
        try:
            want = pa.array(values, from_pandas=False)
        except (pa.ArrowInvalid, TypeError, OverflowError):
            continue  # NaN and the like: the general path, the same code either way
        got, is_json = column_from_values(values)
        assert not is_json
        assert got.type == want.type
        assert got.equals(want)
        compared += 1
        fast += _decimals(values) is not None
    assert compared > 300
    assert fast > 120  # the rest: a later value the start's type did not hold


def test_trailing_zeros_after_the_sample_widen_the_scale_as_inference_does() -> None:
    values = [Decimal("1.25")] * TYPE_SAMPLE + [Decimal("2.50000"), Decimal("0E-7")]
    got, _ = column_from_values(values)
    assert got.type == pa.decimal128(8, 7)
    assert got.to_pylist()[-2:] == [Decimal("2.5000000"), Decimal("0E-7")]


@pytest.mark.parametrize("zero", ["0", "-0"])
def test_a_zero_after_values_with_no_digit_before_the_point_widens_as_inference_does(
    zero: str,
) -> None:
    values = [Decimal("0.5")] * (TYPE_SAMPLE + 10) + [Decimal(zero)]
    got, _ = column_from_values(values)
    assert got.type == pa.array(values, from_pandas=False).type == pa.decimal128(2, 1)


def test_a_column_mixing_decimals_with_other_kinds_is_not_taken_for_decimals() -> None:
    values: list[Any] = [Decimal("1.5")] * (TYPE_SAMPLE + 10) + [7]
    got, is_json = column_from_values(values)
    assert not is_json
    assert got.equals(pa.array(values, from_pandas=False))  # Arrow takes the 7 as 7.0


def test_records_with_missing_fields_and_other_mappings_keep_their_values() -> None:
    class Row(dict[str, Any]):
        pass

    records = [{"a": 1, "b": "x"}, Row(a=2), {"b": "z"}]
    batch = records_to_batch(records, ["a", "b"])
    assert batch.to_pylist() == [{"a": 1, "b": "x"}, {"a": 2, "b": None}, {"a": None, "b": "z"}]


def _lengths(source: IterableSource, size: BatchSize) -> list[int]:
    return [b.data.num_rows for b in source.batches(lambda: size)]


def test_an_iterables_batches_are_cut_by_the_records_bytes() -> None:
    records = ({"id": i, "text": "x" * 1000} for i in range(20_000))
    lengths = _lengths(IterableSource(records), BatchSize(10_000, 256 << 10))
    assert sum(lengths) == 20_000
    # every batch, the first too (a few records are measured before it), is cut by bytes:
    # about 1,100 bytes a record in 256 KiB
    assert all(150 <= n <= 300 for n in lengths[:-1]), lengths[:5]


def test_without_a_byte_size_an_iterables_batches_are_cut_by_rows() -> None:
    records = ({"id": i, "text": "x" * 1000} for i in range(25_000))
    assert _lengths(IterableSource(records), BatchSize(10_000, 0)) == [10_000, 10_000, 5_000]


@pytest.mark.parametrize("bad", [None, {}, 5, "text"])
def test_the_fast_path_gives_way_to_counting_odd_items(bad: Any) -> None:
    items = [{"a": 1}, bad, {"a": 3, "b": 4}]
    source = IterableSource(items)
    (batch,) = list(source.batches())
    assert batch.records.tolist() == [1, 3]
    assert [r.position.record for r in batch.rejects] == [2]
    assert source.columns == ["a", "b"]
    assert batch.data.to_pylist() == [{"a": 1, "b": None}, {"a": 3, "b": 4}]


def test_new_fields_are_learnt_on_the_fast_path_in_the_order_they_appear() -> None:
    items = [{"a": 1}, {"c": 2, "a": 1}, {"b": 3}]
    source = IterableSource(items)
    (batch,) = list(source.batches())
    assert source.columns == ["a", "c", "b"]
    assert batch.records.tolist() == [1, 2, 3]


def test_values_json_has_no_type_for_keep_their_meaning() -> None:
    """A uuid inside a list is its text (Arrow cannot nest one); bytes are bytea's text;
    a NaN or an infinity stays itself (JSON libraries write null)."""
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    lists, is_json = column_from_values([[u], None])
    assert is_json and lists.to_pylist() == ['["12345678-1234-5678-1234-567812345678"]', None]
    raw, is_json = column_from_values([b"\x00\xff", None])
    assert not is_json and raw.to_pylist() == ["\\x00ff", None]
    numbers, _ = column_from_values([[1.5, float("nan"), float("-inf")], [None]])
    assert numbers.to_pylist() == ["[1.5, NaN, -Infinity]", "[null]"]
