"""Column names from a sheet's header row: empty cells and repeated names named sensibly,
and each renaming said."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openpyxl.utils import get_column_letter

from chute.errors import SourceError


def name_header(
    values: list[Any], merges: Callable[[], list[tuple[int, int]]], *, row: int
) -> tuple[list[str], list[str]]:
    """The names of header cells ``values`` (row ``row``) up to the last non-empty one (or
    the end of a cell merged from it), and notes of what was renamed.  ``merges`` gives the
    column ranges merged across the row."""
    texts = [_text(v) for v in values]
    width = len(texts)
    while width and not texts[width - 1]:
        width -= 1
    if not width:
        raise SourceError(f"the header row {row} is empty")
    spans = merges()
    for first, last in spans:  # a merged cell at the right end: its columns are columns
        if first <= width and texts[first - 1]:
            width = max(width, last)
    texts = (texts + [""] * width)[:width]
    notes: list[str] = []
    names: list[str] = list(texts)
    if not all(texts):
        for i, text in enumerate(texts):
            if text:
                continue
            column = i + 1
            span = next((s for s in spans if s[0] < column <= s[1] and texts[s[0] - 1]), None)
            cell = f"{get_column_letter(column)}{row}"
            if span is not None:
                first = span[0] - 1
                names[i] = f"{texts[first]}_{column - span[0] + 1}"
                notes.append(
                    f"header cell {cell} is merged with {get_column_letter(span[0])}{row}: "
                    f"named {names[i]}"
                )
            else:
                names[i] = f"column_{get_column_letter(column)}"
                notes.append(f"header cell {cell} is empty: named {names[i]}")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        key = name.lower()
        if key in seen:
            n = 2
            while f"{key}_{n}" in seen or any(x.lower() == f"{key}_{n}" for x in names):
                n += 1
            names[i] = f"{name}_{n}"
            notes.append(
                f"header cell {get_column_letter(i + 1)}{row} repeats {name!r}: named {names[i]}"
            )
        seen[names[i].lower()] = i
    return names, notes


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
