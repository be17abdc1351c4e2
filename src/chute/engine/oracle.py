"""The database as the judge of text going into an existing table's typed columns.

For a table chute did not create, the value stored from a piece of text must be the one the
database's own text input (``COPY ... FORMAT csv`` on PostgreSQL, type affinity on SQLite)
would store, or the record is rejected with the database's reason.  Arrow's casts accept
spellings no database does (``0x10``, ``1e400``) and refuse some a database accepts (``t``,
``yes``), so they are used only where they provably agree:

- each checked column has a :class:`ValueCheck`: a strict pattern, a subset of the
  database's grammar on which Arrow's cast gives the database's value (``^-?[0-9]{1,18}$``
  for a ``bigint``).  Texts that match it are cast by Arrow, as fast as ever;
- every other distinct text of the batch is asked of the database (:class:`ValueOracle`),
  in one round trip per batch and column, and answered :class:`Accepted` (with the value
  the database made of it) or :class:`Refused` (with the database's message and SQLSTATE).
  A value the database accepts that Arrow cannot hold (an ``infinity`` date) sends the
  column's source texts for that batch, for the database to convert while storing.

A sink that can judge values returns a :class:`ValueOracle` from ``Sink.value_oracle``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chute.engine.quick import Quick


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


@dataclass
class Judged:
    """A string column judged for its target: the array to store and the refused rows."""

    values: pa.Array
    refused: dict[int, Refused]


def judge_column(
    oracle: ValueOracle,
    check: ValueCheck,
    column: str,
    array: pa.Array,
    target: pa.DataType,
    fast_cast: Callable[[pa.Array], pa.Array],
) -> Judged:
    """``array`` (text) converted to ``target`` as the database would, and the refused rows.

    ``fast_cast(texts) -> array``: Arrow's cast to ``target``, used on the texts matching
    the check's pattern (and nulls).
    """
    valid = array.is_valid()
    matches = check.matches(array)
    slow = pc.and_(valid, pc.invert(matches))
    typed: pa.Array | None = None
    if check.storage is not None:
        if not pc.any(slow).as_py():
            try:
                return Judged(fast_cast(array), {})
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                slow = valid  # e.g. 2024-02-30 fits the pattern: the database decides
        else:
            try:
                typed = fast_cast(pc.if_else(slow, pa.scalar(None, array.type), array))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                slow = valid
    elif check.verify:
        try:
            fast_cast(pc.if_else(slow, pa.scalar(None, array.type), array))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            slow = valid
        if not pc.any(slow).as_py():
            return Judged(array, {})
    elif not pc.any(slow).as_py():
        return Judged(array, {})
    rows = np.flatnonzero(slow.to_numpy(zero_copy_only=False))
    texts = array.take(pa.array(rows, pa.int64()))
    distinct = pc.unique(texts)
    answers = oracle.judge(column, distinct.to_pylist())
    where = pc.index_in(texts, value_set=distinct).to_numpy(zero_copy_only=False)
    refused: dict[int, Refused] = {}
    values: list[object] = []
    keep_text = check.storage is None
    for row, i in zip(rows.tolist(), where.tolist(), strict=True):
        answer = answers[i]
        if isinstance(answer, Refused):
            refused[row] = answer
            values.append(None)
        else:
            values.append(answer.value)
            keep_text = keep_text or answer.value is None
    refused_mask = np.zeros(len(array), dtype=bool)
    refused_mask[list(refused)] = True
    if keep_text:
        text = pc.if_else(pa.array(refused_mask), pa.scalar(None, array.type), array)
        return Judged(text, refused)
    assert check.storage is not None
    if typed is None:
        typed = pa.nulls(len(array), target)
    try:
        answered = pa.array(values, check.storage).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
        text = pc.if_else(pa.array(refused_mask), pa.scalar(None, array.type), array)
        return Judged(text, refused)  # a value Arrow cannot hold: the database converts
    mask = np.zeros(len(array), dtype=bool)
    mask[rows] = True
    return Judged(pc.replace_with_mask(typed, pa.array(mask), answered), refused)
