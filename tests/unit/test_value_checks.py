"""A value check's quick test is sure only where its pattern matches, and the two tiers
together answer exactly as the pattern."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chute.engine.oracle import ValueCheck
from chute.sinks.postgres_values import _plan
from chute.sinks.postgres_wire import PgColumn

CHECKS: dict[str, ValueCheck] = {}
for typname, typmod in [
    ("int2", -1),
    ("int4", -1),
    ("int8", -1),
    ("float4", -1),
    ("float8", -1),
    ("numeric", -1),
    ("numeric", ((12 << 16) | 2) + 4),
    ("numeric", ((5 << 16) | 0) + 4),
    ("bool", -1),
    ("date", -1),
    ("timestamp", -1),
    ("timestamp", 0),
    ("timestamp", 3),
    ("timestamptz", -1),
]:
    for utc in (True, False):
        plan = _plan(PgColumn("v", typname, typname, typmod), utc)
        assert plan is not None
        if plan.check.quick is not None:
            CHECKS[f"{typname}({typmod}, utc={utc})"] = plan.check

_PIECES = st.sampled_from(
    ["0", "1", "9", "5", "-", "+", ".", ":", "T", " ", "Z", "e", "a", "F", "2024", "-02-",
     "12", "23", "24", "59", "60", "00", "31", "13", "é", "1234567", "8-4", "abcdef"]
)  # fmt: skip
_STAMP = st.tuples(
    st.integers(0, 10000), st.integers(0, 13), st.integers(0, 32), st.sampled_from([" ", "T", "_"]),
    st.integers(0, 25), st.integers(0, 61), st.integers(0, 61),
    st.sampled_from(["", ".1", ".123456", ".1234567", "."]),
    st.sampled_from(["", "Z", "+05", "-0530", "+05:30", "+15", "+14:60", "+1", "z", "+05:3"]),
).map(
    lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}{t[3]}{t[4]:02d}:{t[5]:02d}:{t[6]:02d}"
    + t[7]
    + t[8]
)  # fmt: skip
TEXTS = st.one_of(
    st.lists(_PIECES, max_size=8).map("".join),
    _STAMP,
    _STAMP.map(lambda s: s[:10]),
    st.uuids().map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.text(max_size=12),
)


@pytest.mark.parametrize("name", list(CHECKS))
@settings(max_examples=25, derandomize=True, deadline=None)
@given(texts=st.lists(st.one_of(TEXTS, st.none()), max_size=40))
def test_quick_test_is_sure_only_where_the_pattern_matches(
    name: str, texts: list[str | None]
) -> None:
    check = CHECKS[name]
    assert check.quick is not None
    array = pa.array(texts, pa.string())
    if len(array) > 2:
        array = array.slice(1)  # an offset into the buffers
    regex = pc.fill_null(pc.match_substring_regex(array, check.pattern), True)
    sure = pc.fill_null(check.quick(array), False)
    assert not pc.any(pc.and_(sure, pc.invert(regex))).as_py(), name
    assert check.matches(array).to_pylist() == regex.to_pylist(), name
