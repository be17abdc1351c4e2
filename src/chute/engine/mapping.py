"""Column mapping: the input's columns renamed or skipped on their way to the table, and
the types a new table is made with, chosen instead of inferred (``--rename``, ``--skip``,
``--type``; the import service's preview and mapping).

Renames and skips apply to every batch as it leaves the source, so everything after
(the table, the key, the report) sees the mapped names; a rejected record keeps its input
text as it was.  A column named in a mapping that the input does not have is an error that
lists the input's columns, before anything is written.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence

from chute.coltypes import MAX_DECIMAL_PRECISION, ColumnType, Kind
from chute.errors import ConfigError
from chute.sources.base import SourceBatch

_NUMERIC = re.compile(r"numeric\((\d+),\s*(\d+)\)")


@dataclasses.dataclass(frozen=True)
class ColumnMap:
    """What becomes of the input's columns: ``rename`` (input name → column), ``skip``
    (input names left out)."""

    rename: Mapping[str, str] = dataclasses.field(default_factory=dict)
    skip: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.rename or self.skip)

    def names(self, columns: Sequence[str]) -> list[str]:
        """The table's names of the input's ``columns``, checked."""
        self.check(columns)
        return [self.rename.get(c, c) for c in columns if c not in self.skip]

    def check(self, columns: Sequence[str]) -> None:
        unknown = [c for c in [*self.rename, *sorted(self.skip)] if c not in columns]
        if unknown:
            raise ConfigError(
                f"the input has no column {', '.join(map(repr, unknown))} to rename or skip",
                hint=f"the input's columns: {', '.join(columns)}",
            )
        both = sorted(set(self.rename) & self.skip)
        if both:
            raise ConfigError(f"column {both[0]!r} is both renamed and skipped")
        kept = [self.rename.get(c, c) for c in columns if c not in self.skip]
        twice = sorted({n for n in kept if kept.count(n) > 1})
        if twice:
            raise ConfigError(
                f"the mapping gives two columns the name {twice[0]!r}",
                hint="rename or skip one of them",
            )
        if not kept:
            raise ConfigError("the mapping skips every column of the input")

    def apply(self, batches: Iterator[SourceBatch]) -> Iterator[SourceBatch]:
        """``batches`` with their columns mapped."""
        checked: tuple[str, ...] | None = None
        for batch in batches:
            data = batch.data
            if not data.num_columns:  # only rejects: nothing to map
                yield batch
                continue
            names = tuple(data.schema.names)
            if names != checked:
                self.check(names)
                checked = names
            kept = [n for n in names if n not in self.skip]
            mapped = data.select(kept).rename_columns([self.rename.get(n, n) for n in kept])
            yield dataclasses.replace(batch, data=mapped)


def parse_types(types: Mapping[str, str]) -> dict[str, ColumnType]:
    """Column types as ``--type`` gives them (``bigint``, ``numeric(38,2)``, ``text``...)."""
    parsed = {}
    for column, name in types.items():
        text = name.strip().lower()
        numeric = _NUMERIC.fullmatch(text)
        if numeric and int(numeric[1]) <= MAX_DECIMAL_PRECISION:
            scale = int(numeric[2])
            if scale <= int(numeric[1]):
                parsed[column] = ColumnType(Kind.NUMERIC, scale)
                continue
        try:
            kind = Kind(text)
        except ValueError:
            kind = None
        if kind is None or kind is Kind.NUMERIC:
            raise ConfigError(
                f"unknown column type {name!r} for column {column!r}",
                hint=f"use one of {', '.join(k.value for k in Kind if k is not Kind.NUMERIC)}"
                f" or numeric(P,S) with P up to {MAX_DECIMAL_PRECISION}",
            )
        parsed[column] = ColumnType(kind)
    return parsed


def parse_pairs(values: Sequence[str], option: str) -> dict[str, str]:
    """``NAME=VALUE`` options (``--rename a=b``) as a dict."""
    pairs = {}
    for value in values:
        name, sep, target = value.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise ConfigError(f"{option} takes NAME=VALUE, not {value!r}")
        pairs[name.strip()] = target.strip()
    return pairs
