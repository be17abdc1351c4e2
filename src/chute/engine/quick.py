"""Cheap first tests for the value checks' patterns (:class:`chute.engine.oracle.ValueCheck`).

Arrow runs a regular expression at 25-65 ns a value (RE2, in batches of 25,000), more than
the cast it guards.  Each function here says, per value, whether it surely matches its
pattern, with Arrow kernels that cost a few nanoseconds per value (digits only, a known
word); only the values it is not sure of are tested with the pattern.  A test here answers
true only where the pattern matches (a unit test holds them to it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Quick = Callable[[pa.Array], pa.Array]


def unsigned_integer(digits: int) -> Quick:
    """Surely ``^-?[0-9]{1,digits}$``: digits only, at most ``digits`` of them (a sign sends
    the value on to the pattern).  Two Arrow kernels.

    Decimals with a fraction have no quick test: RE2 matches them at about 30 ns a value
    (25,000-value batches), where counting their digits and points over the bytes with numpy
    took 70-90 ns (measured in benchmarks/RESULTS.md, issue 17, fourth pass)."""

    def quick(array: pa.Array) -> pa.Array:
        return pc.and_(pc.ascii_is_decimal(array), pc.less_equal(pc.binary_length(array), digits))

    return quick


def one_of(words: list[str]) -> Quick:
    """Surely matches: the value is one of ``words``."""
    value_set = pa.array(words, pa.string())

    def quick(array: pa.Array) -> pa.Array:
        return pc.is_in(array, value_set=value_set)

    return quick


def everything(array: pa.Array) -> pa.Array:
    """Every value (a check that refuses nothing)."""
    return pa.array(np.ones(len(array), dtype=bool))
