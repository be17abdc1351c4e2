"""Message bodies to records (no broker needed): which message each record and error is from."""

from __future__ import annotations

import pytest

from chute.amqp import DecodedBodies, decode_bodies, default_prefetch, prefetch_warning


def test_objects_decode_one_record_per_message() -> None:
    got = decode_bodies([b'{"a": 1}', b'{"a": 2, "b": [1, {"c": null}]}'])
    assert got == DecodedBodies([{"a": 1}, {"a": 2, "b": [1, {"c": None}]}], [0, 1], [])


def test_an_array_of_objects_gives_its_records_owned_by_its_message() -> None:
    got = decode_bodies([b'{"a": 1}', b'[{"a": 2}, {"a": 3}]', b"[]", b'{"a": 4}'])
    assert got.records == [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}]
    assert got.owners == [0, 1, 1, 3]
    assert got.errors == []


@pytest.mark.parametrize(
    ("body", "kind", "error"),
    [
        # orjson's own words follow (orjson 3.10: "invalid literal at character 1")
        (b"not json", "parse", "invalid JSON (invalid literal"),
        (b'{"a": 1', "parse", "invalid JSON"),
        (b"", "parse", "an empty message"),
        (b'{"a": "\xff"}', "decode", "bytes that are not valid utf-8"),
        (b"42", "shape", "expected a JSON object or an array of objects, found a number"),
        (b'"text"', "shape", "expected a JSON object or an array of objects, found a string"),
        (b"null", "shape", "expected a JSON object or an array of objects, found null"),
        (b'[{"a": 1}, 2]', "shape", "item 2 of the array is a number, not an object"),
        (b'[{"a": 1}, [3]]', "shape", "item 2 of the array is an array, not an object"),
        (b'{"a": 1},{"b": 2}', "parse", "invalid JSON"),
    ],
)
def test_a_bad_message_is_named_with_its_reason_and_the_others_decode(
    body: bytes, kind: str, error: str
) -> None:
    got = decode_bodies([b'{"ok": 1}', body, b'[{"ok": 3}]'])
    assert got.records == [{"ok": 1}, {"ok": 3}]
    assert got.owners == [0, 2]
    ((index, got_kind, got_error),) = got.errors
    assert (index, got_kind) == (1, kind)
    assert got_error.startswith(error)


def test_integers_past_64_bits_are_read_exactly() -> None:
    big = 123456789012345678901234567890
    got = decode_bodies([b'{"n": 1.5}', b'{"n": %d, "m": 7}' % big, b'[{"n": -%d}]' % big])
    assert got.records == [{"n": 1.5}, {"n": big, "m": 7}, {"n": -big}]
    assert got.owners == [0, 1, 2]


def test_no_bodies_no_records() -> None:
    assert decode_bodies([]) == DecodedBodies([], [], [])


def test_the_prefetch_default_fills_two_batches_and_starving_ones_are_warned() -> None:
    assert default_prefetch(500) == 1_000
    assert default_prefetch(50_000) == 65_535
    assert prefetch_warning(1_000, 500, 2.0) is None
    assert prefetch_warning(65_535, 50_000, 2.0) is None
    starving = prefetch_warning(10, 500, 2.0)
    assert starving is not None
    assert "--prefetch 10 is below --batch-rows 500" in starving
    assert "at most 10 messages are stored every 2 s" in starving
    assert "use --prefetch 1000 or more" in starving
    half = prefetch_warning(600, 500, 2.0)
    assert half is not None and "below twice --batch-rows 500" in half
    huge = prefetch_warning(65_535, 100_000, 1.0)
    assert huge is not None and "use --batch-rows 32767 or less" in huge
