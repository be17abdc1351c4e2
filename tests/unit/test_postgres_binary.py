"""IPv4 addresses in inet's binary form, and the spellings left to the server."""

from __future__ import annotations

import pyarrow as pa
import pytest

from chute.sinks.postgres_binary import inet_array


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
