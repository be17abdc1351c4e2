"""Message bodies to records: one JSON object, or an array of objects, per message.

Measured (``benchmarks/consume_clients.py --decode``): orjson per body is the fastest way
that still says which message is bad.  Joining bodies into one JSON array or JSON Lines
document and parsing it once saves only the calls, and cannot tell a bad message from its
neighbours (a body ``{"a":1},{"b":2}`` would read as two records of the array).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson

#: every digit becomes "0" and every other byte a space: 19 digits in a row are then a plain
#: substring, found 10x faster than by the regex ``[0-9]{19}`` (0.4 against 3-4 µs a body)
_ZEROS = bytes(0x30 if 0x30 <= c <= 0x39 else 0x20 for c in range(256))
_RUN = b"0" * 19


def long_digits(data: bytes) -> bool:
    """Whether ``data`` has 19 digits in a row (an integer orjson might not read exactly)."""
    return _RUN in data.translate(_ZEROS)


class DecodedBodies(NamedTuple):
    #: the records of every message that could be read, in message order
    records: list[dict[str, Any]]
    #: for each record, the index (in the bodies given) of the message it came from
    owners: list[int]
    #: the messages that could not be read: (index, kind, error); kind is parse, decode or
    #: shape, as for rejected lines of JSON Lines files
    errors: list[tuple[int, str, str]]


def decode_bodies(bodies: Sequence[bytes]) -> DecodedBodies:
    """Parse each body with orjson; integers of 19 digits or more are read exactly."""
    loads = orjson.loads
    long_ints = long_digits(b"\n".join(bodies))
    if not long_ints:  # the usual case: one object per message, all good
        try:
            values = [loads(body) for body in bodies]
        except orjson.JSONDecodeError:
            pass
        else:
            if set(map(type, values)) <= {dict}:
                return DecodedBodies(values, list(range(len(values))), [])
    records: list[dict[str, Any]] = []
    owners: list[int] = []
    errors: list[tuple[int, str, str]] = []
    for i, body in enumerate(bodies):
        try:
            # orjson reads integers past 64 bits as floats: json reads them exactly
            value = json.loads(body) if long_ints and long_digits(body) else loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # orjson's: a subclass
            errors.append((i, *_why(body, exc)))
            continue
        if type(value) is dict:
            records.append(value)
            owners.append(i)
        elif type(value) is list:
            bad = next((j for j, v in enumerate(value) if type(v) is not dict), None)
            if bad is not None:
                what = _kind(value[bad])
                errors.append((i, "shape", f"item {bad + 1} of the array is {what}, not an object"))
                continue
            records += value
            owners += [i] * len(value)
        else:
            errors.append(
                (i, "shape", f"expected a JSON object or an array of objects, found {_kind(value)}")
            )
    return DecodedBodies(records, owners, errors)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    kinds = {
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "an array",
    }
    return kinds.get(type(value), type(value).__name__)


def _why(body: bytes, exc: ValueError) -> tuple[str, str]:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "decode", "bytes that are not valid utf-8"
    if not body.strip():
        return "parse", "an empty message"
    if isinstance(exc, json.JSONDecodeError):  # orjson's is a subclass
        return "parse", f"invalid JSON ({exc.msg} at character {exc.pos + 1})"
    return "parse", "invalid JSON"
