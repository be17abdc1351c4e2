"""Cheap first tests for the value checks' patterns (:class:`chute.engine.oracle.ValueCheck`).

Arrow runs a regular expression at a few hundred nanoseconds per value, more than the cast
it guards.  Each function here says, per value, whether it surely matches its pattern, with
Arrow kernels that cost a few nanoseconds per value (digits only, a known word); only the
values it is not sure of are tested with the pattern.  A test here answers true only where
the pattern matches (a unit test holds them to it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Quick = Callable[[pa.Array], pa.Array]


def unsigned_decimal(whole: int, fraction: int) -> Quick:
    """Surely ``^-?[0-9]{1,whole}(\\.[0-9]{1,fraction})?$``: digits, at most one point
    with digits on both sides, no more digits than allowed on either side (a sign sends the
    value on to the pattern).  Counted over the array's bytes with numpy."""

    def quick(array: pa.Array) -> pa.Array:
        if not fraction:  # two Arrow kernels
            return pc.and_(
                pc.ascii_is_decimal(array), pc.less_equal(pc.binary_length(array), whole)
            )
        n = len(array)
        buffers = array.buffers()
        if n == 0 or buffers[2] is None:
            return pa.array(np.zeros(n, dtype=bool))
        offsets = np.frombuffer(buffers[1], dtype=np.int32)[array.offset : array.offset + n + 1]
        data = np.frombuffer(buffers[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        start = (offsets[:-1] - offsets[0]).astype(np.int64)
        end = (offsets[1:] - offsets[0]).astype(np.int64)
        other = np.zeros(len(data) + 1, dtype=np.int64)
        np.cumsum((data < _ZERO) | (data > _NINE), out=other[1:])
        points = np.zeros(len(data) + 1, dtype=np.int64)
        is_point = data == _POINT
        np.cumsum(is_point, out=points[1:])
        point_count = points[end] - points[start]
        where = np.zeros(len(data) + 1, dtype=np.int64)
        np.cumsum(np.where(is_point, np.arange(len(data), dtype=np.int64), 0), out=where[1:])
        point_at = np.where(point_count == 1, where[end] - where[start], end)
        whole_digits = point_at - start
        fraction_digits = np.where(point_count == 1, end - point_at - 1, 1)
        ok = (other[end] - other[start] == point_count) & (point_count <= 1)
        ok &= (whole_digits >= 1) & (whole_digits <= whole)
        ok &= (fraction_digits >= 1) & (fraction_digits <= fraction)
        return pa.array(ok)

    return quick


_ZERO, _NINE, _POINT = ord("0"), ord("9"), ord(".")


def one_of(words: list[str]) -> Quick:
    """Surely matches: the value is one of ``words``."""
    value_set = pa.array(words, pa.string())

    def quick(array: pa.Array) -> pa.Array:
        return pc.is_in(array, value_set=value_set)

    return quick


def everything(array: pa.Array) -> pa.Array:
    """Every value (a check that refuses nothing)."""
    return pa.array(np.ones(len(array), dtype=bool))
