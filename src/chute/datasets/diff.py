"""What changed between two revisions: the rows, as an Arrow table, and a summary.

Only rows touched by the commits that one revision has and the other has not are read
(:meth:`~chute.datasets.state.StateSql.touched`), so a diff costs what changed between the
two, not the size of the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from chute.datasets.revs import History, Position
from chute.datasets.state import StateSql
from chute.sinks.sql.sql_sink import StreamsRows

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass
class Diff:
    """The rows that differ between ``a`` and ``b``: ``change`` is added, removed or
    changed; ``values`` are the row at ``b`` (at ``a`` for a removed row); ``old`` the row
    at ``a`` for a changed one."""

    columns: list[str]
    changes: list[str] = field(default_factory=list)
    values: list[tuple[Any, ...]] = field(default_factory=list)
    old: list[tuple[Any, ...] | None] = field(default_factory=list)
    columns_a: list[tuple[str, str]] = field(default_factory=list)
    columns_b: list[tuple[str, str]] = field(default_factory=list)

    def table(self) -> pa.Table:
        """One row per change: ``_change``, the columns, then ``_old_<column>`` (the value
        before, for changed rows)."""
        data: dict[str, pa.Array] = {"_change": pa.array(self.changes, pa.string())}
        for i, c in enumerate(self.columns):
            data[c] = _array([v[i] for v in self.values])
        for i, c in enumerate(self.columns):
            data[f"_old_{c}"] = _array([o[i] if o is not None else None for o in self.old])
        return pa.table(data)

    def records(self) -> list[dict[str, Any]]:
        out = []
        for change, values, old in zip(self.changes, self.values, self.old, strict=True):
            rec: dict[str, Any] = {
                "change": change,
                "row": dict(zip(self.columns, values, strict=True)),
            }
            if old is not None:
                rec["before"] = {
                    c: o for c, o, v in zip(self.columns, old, values, strict=True) if o != v
                }
            out.append(rec)
        return out

    def stat(self) -> dict[str, Any]:
        """The counts, the columns each changed row changed in, and the schema changes."""
        by_column: dict[str, int] = {}
        for values, old in zip(self.values, self.old, strict=True):
            if old is not None:
                for c, o, v in zip(self.columns, old, values, strict=True):
                    if o != v:
                        by_column[c] = by_column.get(c, 0) + 1
        a, b = dict(self.columns_a), dict(self.columns_b)
        return {
            ADDED: self.changes.count(ADDED),
            CHANGED: self.changes.count(CHANGED),
            REMOVED: self.changes.count(REMOVED),
            "changed_by_column": by_column,
            "columns_added": [c for c in b if c not in a],
            "columns_removed": [c for c in a if c not in b],
            "columns_retyped": [
                {"column": c, "from": a[c], "to": b[c]}
                for c in a
                if c in b and a[c].lower() != b[c].lower()
            ],
        }


def diff(state: StateSql, history: History, a: Position, b: Position) -> Diff:
    """The rows that differ between positions ``a`` and ``b``."""
    cols_a, cols_b = history.columns(a.seq), history.columns(b.seq)
    names = [c for c, _ in cols_a] + [c for c, _ in cols_b if c not in dict(cols_a)]
    result = Diff(names, columns_a=cols_a, columns_b=cols_b)
    only = state.touched(history, a, b)
    if only is None:
        return result
    in_a, in_b = set(dict(cols_a)), set(dict(cols_b))
    n = len(names)
    assert isinstance(state.sink, StreamsRows)
    rows = [r for _, page in state.sink.stream(state.diff(a, b, names, only)) for r in page]
    for row in rows:
        ha, hb = row[1], row[2]
        va = tuple(v if c in in_a else None for c, v in zip(names, row[3 : 3 + n], strict=True))
        vb = tuple(v if c in in_b else None for c, v in zip(names, row[3 + n :], strict=True))
        if ha is None:
            result.changes.append(ADDED)
            result.values.append(vb)
            result.old.append(None)
        elif hb is None:
            result.changes.append(REMOVED)
            result.values.append(va)
            result.old.append(None)
        else:
            result.changes.append(CHANGED)
            result.values.append(vb)
            result.old.append(va)
    return result


def _array(values: list[Any]) -> pa.Array:
    """An Arrow array of ``values``; values of mixed types (a column whose type changed
    between the two revisions) as their text."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
