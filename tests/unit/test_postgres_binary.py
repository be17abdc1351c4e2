"""IPv4 addresses in inet's binary form, and the spellings left to the server."""

from __future__ import annotations

import pyarrow as pa
import pytest

from chute.sinks.postgres_binary import inet_array, interval_array
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
