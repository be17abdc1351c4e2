"""PostgreSQL binary forms decoded from text (inet, interval, integer and string lists), and
the spellings left to the server."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest

from chute.engine.columns import JSON_FIELD_META
from chute.sinks.postgres_arrays import array_text
from chute.sinks.postgres_binary import inet_array, interval_array, uuid_array
from chute.sinks.postgres_values import _plan
from chute.sinks.postgres_wire import PgColumn, wire_batch


def test_dotted_addresses_encode_family_bits_and_bytes() -> None:
    out = inet_array(pa.array(["10.0.0.1", None, "192.168.1.7/24"]))
    assert out is not None
    assert out.to_pylist() == [
        bytes([2, 32, 0, 4, 10, 0, 0, 1]),
        None,
        bytes([2, 24, 0, 4, 192, 168, 1, 7]),
    ]


@pytest.mark.parametrize(
    "other", ["::1", "010.0.0.1", "256.0.0.1", "1.2.3.4/33", "1.2.3", " 1.2.3.4", "1.2.3.4/08"]
)
def test_any_other_spelling_leaves_the_batch_to_the_server(other: str) -> None:
    assert inet_array(pa.array(["10.0.0.1", other])) is None


def test_canonical_uuids_become_their_16_bytes_in_either_case() -> None:
    texts = [str(u) for u in (uuid.uuid4(), uuid.uuid4())]
    decoded = uuid_array(pa.array([texts[0], None, texts[1].upper()]))
    assert decoded is not None
    assert decoded.storage.to_pylist() == [
        uuid.UUID(texts[0]).bytes,
        None,
        uuid.UUID(texts[1]).bytes,
    ]


@pytest.mark.parametrize(
    "other",
    [
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1 ",  # 36 characters, a space among them
        "a0eebc99-\t0b-4ef8-bb6d-6bb9bd380a11",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g",
        "a0eebc999c0b-4ef8-bb6d-6bb9bd380a11-",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380aé",  # 36 bytes, not ASCII
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
    ],
)
def test_any_other_uuid_spelling_leaves_the_batch_to_the_server(other: str) -> None:
    assert uuid_array(pa.array([str(uuid.uuid4()), other])) is None


def test_durations_in_chutes_spellings_become_intervals() -> None:
    out = interval_array(
        pa.array(["PT90.5S", "PT-3S", None, "1 day, 2:03:04.000005", "0:00:03", "PT0.000001S"])
    )
    assert out is not None and out.type == pa.month_day_nano_interval()
    assert [None if v is None else tuple(v) for v in out.to_pylist()] == [
        (0, 0, 90_500_000_000),
        (0, 0, -3_000_000_000),
        None,
        (0, 1, (7384 * 1_000_000 + 5) * 1000),
        (0, 0, 3_000_000_000),
        (0, 0, 1000),
    ]


@pytest.mark.parametrize(
    "other",
    [
        "1 day",  # the server's own spellings
        "P1D",
        "-1 day, 23:59:57",  # a leading minus: read by the server's IntervalStyle
        "PT0.0000001S",  # a 7th digit: the server rounds it
        "PT1000000000S",  # beyond 64 bits of nanoseconds
        "24:00:00",  # not Python's: hours of a timedelta stop at 23
        "1 day, 2:03:04.5",  # Python writes 6 digits of fraction
        " PT1S",
    ],
)
def test_other_duration_spellings_leave_the_batch_to_the_server(other: str) -> None:
    assert interval_array(pa.array(["PT1S", other])) is None


def test_the_wire_sends_spelled_intervals_in_binary_and_others_as_text() -> None:
    wait = PgColumn("wait", "interval", "interval", -1)
    batch = pa.record_batch({"wait": pa.array(["PT1S", "0:00:02"])})
    wire, casts = wire_batch(batch, {"wait": wait})
    assert casts == {} and wire.schema.field("wait").type == pa.month_day_nano_interval()
    wire, casts = wire_batch(pa.record_batch({"wait": pa.array(["1 day"])}), {"wait": wait})
    assert casts == {"wait": "interval"} and wire.schema.field("wait").type == pa.string()


def _arrays(json: bool, values: list[str | None], typname: str) -> tuple[pa.Array, dict]:
    field = pa.field("a", pa.string(), metadata=JSON_FIELD_META if json else None)
    batch = pa.RecordBatch.from_arrays([pa.array(values, pa.string())], schema=pa.schema([field]))
    element = typname.removeprefix("_")
    column = PgColumn("a", typname, element + "[]", -1, base=element + "[]", element=element)
    wire, casts = wire_batch(batch, {"a": column})
    return wire.column(0), casts


def test_integer_arrays_go_as_lists_in_the_syntax_of_their_source() -> None:
    lists, casts = _arrays(False, ["{1,NULL}", None, "{}"], "_int4")
    assert casts == {} and lists.type == pa.list_(pa.int32())
    assert lists.to_pylist() == [[1, None], None, []]
    lists, casts = _arrays(True, ["[1,null]", "[]"], "_int8")
    assert casts == {} and lists.to_pylist() == [[1, None], []]


@pytest.mark.parametrize(
    ("json", "value", "sent"),
    [
        (False, "[1,2]", "[1,2]"),  # JSON in a text file's cell: the server refuses it
        (False, "{1, 2}", "{1, 2}"),
        (True, "{1,2}", "not a list: {1,2}"),  # no JSON list: the server refuses it
        (True, "{}", "not a list: {}"),  # an empty dict, not an empty array
        (True, '"{1,2}"', "{1,2}"),  # a string beside lists: its text, as from a file
        (True, "[40000]", "{40000}"),  # out of range: the server says so
        (True, "[[1,2],[3,null]]", "{{1,2},{3,NULL}}"),
    ],
)
def test_other_integer_arrays_go_as_text_in_the_servers_syntax(
    json: bool, value: str, sent: str
) -> None:
    text, casts = _arrays(json, [value], "_int2")
    assert casts == {"a": "int2[]"} and text.to_pylist() == [sent]


@pytest.mark.parametrize("typname", ["_text", "_varchar"])
def test_a_typed_sources_lists_of_strings_go_as_lists_or_in_the_servers_syntax(
    typname: str,
) -> None:
    lists, casts = _arrays(True, ['["a","b,c"]', '[""]', "[]", None], typname)
    assert casts == {} and lists.to_pylist() == [["a", "b,c"], [""], [], None]
    text, casts = _arrays(True, ['["a\\"b",null]', '["x\\ny"]'], typname)
    assert casts == {"a": typname.removeprefix("_") + "[]"}
    # the last, with an escape the array syntax lacks, written again in Python
    assert text.to_pylist() == ['{"a\\"b",null}', '{"x\ny"}']
    text, casts = _arrays(False, ['["a"]'], typname)
    assert text.to_pylist() == ['["a"]']


def test_a_type_named_like_an_array_is_not_one() -> None:
    """An enum may be named ``_mood``: only an element type makes an array."""
    mood = PgColumn("m", "_mood", "_mood", -1, typtype="e")
    wire, casts = wire_batch(pa.record_batch({"m": pa.array(["happy"])}), {"m": mood})
    assert casts == {} and wire.column(0).to_pylist() == ["happy"]


def test_staged_text_is_cast_to_the_type_without_its_modifier() -> None:
    """So the INSERT applies ``varchar(3)`` as the text input does (refusing ``abcd``),
    where an explicit cast to ``varchar(3)[]`` would cut it."""
    column = PgColumn(
        "v", "_varchar", "character varying(3)[]", 7, base="character varying[]",
        element="varchar",
    )  # fmt: skip
    _, casts = wire_batch(pa.record_batch({"v": pa.array(["{abcd,NULL}"])}), {"v": column})
    assert casts == {"v": "character varying[]"}


def test_the_interval_spellings_decoded_in_binary_are_not_asked_of_the_server() -> None:
    """The value oracle takes them as surely accepted (the differential test in
    tests/integration/test_postgres_types.py stores each as the server reads it); any other
    spelling is asked."""
    plan = _plan(PgColumn("wait", "interval", "interval", -1), True)
    assert plan is not None
    texts = pa.array(["PT90.5S", "1 day, 2:03:04.000005", None, "1 day", "-1 day, 0:00:01"])
    assert plan.check.matches(texts).to_pylist() == [True, True, True, False, False]


def test_plain_decimals_go_as_one_decimal_type_and_others_to_the_server() -> None:
    raw = PgColumn("raw", "numeric", "numeric", -1, base="numeric")
    batch = pa.record_batch({"raw": pa.array(["-12.5", "7", None, "0.0001"])})
    wire, casts = wire_batch(batch, {"raw": raw})
    assert casts == {} and wire.schema.field("raw").type == pa.decimal128(38, 4)
    for other in ["1.50", "1e5", "NaN", "+3", ".5", "1.", "9" * 36 + ".123"]:
        wire, casts = wire_batch(pa.record_batch({"raw": pa.array(["1", other])}), {"raw": raw})
        assert casts == {"raw": "numeric"}, other


def test_lists_written_in_python_spell_numbers_as_their_json_did() -> None:
    """A list the Arrow rewrite cannot take (a string with a newline) is written in Python;
    its numbers keep the spelling of the list's JSON, as the Arrow path keeps it."""
    texts = pa.array(['[1e-7,0.1,-0.0,12345678901234567890,"a\\nb",true,null]', "[1e-7]"])
    assert array_text(texts).to_pylist() == [
        '{1e-7,0.1,-0.0,12345678901234567890,"a\nb",true,NULL}',
        "{1e-7}",
    ]
