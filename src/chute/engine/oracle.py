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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# their home is chute.sinks.oracle (the sinks' side of the contract)
from chute.sinks.oracle import Accepted as Accepted
from chute.sinks.oracle import Answer as Answer
from chute.sinks.oracle import Refused as Refused
from chute.sinks.oracle import ValueCheck as ValueCheck
from chute.sinks.oracle import ValueOracle as ValueOracle


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
