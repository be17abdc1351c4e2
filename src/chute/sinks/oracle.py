"""What a sink's judge of values answers (see :mod:`chute.engine.oracle` for how the engine
uses it): the contract between the engine and a sink that can say, for texts going into an
existing table's typed columns, what the database would store or why it refuses them.

A sink that can judge values returns a :class:`ValueOracle` from ``Sink.value_oracle``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: a cheap first test: per value, true only where the check's pattern surely matches
Quick = Callable[[pa.Array], pa.Array]


@dataclass(frozen=True)
class ValueCheck:
    """How the texts of one column are checked.

    ``pattern`` (RE2): texts the fast path converts exactly (or, when ``storage`` is None,
    texts the database surely accepts).  ``storage``: the Arrow type of the values in
    :class:`Accepted` answers, cast from there to the column's type; None means the column
    always travels as its source texts and the database converts them.  ``verify``: with
    ``storage`` None, the texts matching ``pattern`` are accepted only if Arrow's cast to
    the column's type takes them all (else the batch's texts are asked).
    """

    pattern: str
    storage: pa.DataType | None
    verify: bool = False
    #: a cheaper test first, true only where ``pattern`` matches (:mod:`chute.engine.quick`)
    quick: Quick | None = None

    def matches(self, array: pa.Array) -> pa.Array:
        """Per value, whether it matches ``pattern`` (true for nulls)."""
        if self.quick is None:
            return pc.fill_null(pc.match_substring_regex(array, self.pattern), True)
        sure = pc.fill_null(self.quick(array), True)
        unsure = np.flatnonzero(~sure.to_numpy(zero_copy_only=False))
        if len(unsure) == 0:
            return sure
        found = pc.match_substring_regex(array.take(pa.array(unsure)), self.pattern)
        mask = np.zeros(len(array), dtype=bool)
        mask[unsure] = True
        return pc.fill_null(pc.replace_with_mask(sure, pa.array(mask), found), True)


@dataclass(frozen=True)
class Accepted:
    """The database takes the text; ``value`` is what it makes of it (in the check's
    storage type), or ``None`` when the text itself must travel (see :class:`ValueCheck`,
    and values Arrow cannot hold)."""

    value: object = None


@dataclass(frozen=True)
class Refused:
    """The database refuses the text, in its own words."""

    message: str
    sqlstate: str | None = None


Answer = Accepted | Refused


class ValueOracle(Protocol):
    """Judges texts for the typed columns of one existing table."""

    def check(self, column: str) -> ValueCheck | None:
        """How ``column``'s texts are checked; None: not at all (text columns, JSON, ...)."""

    def judge(self, column: str, texts: Sequence[str]) -> list[Answer]:
        """One answer per text, in order, in one round trip."""

    def close(self) -> None: ...
