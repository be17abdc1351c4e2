"""Input names against each other and against the table, before anything is written.

Two input names that would land in one column would make one value overwrite or drop the
other; such an input is refused with a :class:`~chute.errors.ConfigError` naming them.  For
an existing table an input name goes to the column of the same name, or else to the one
column equal to it but for case (on every database), so ``Name`` and ``NAME`` both go to a
column ``name``.  New columns named ``Name`` and ``NAME`` are one column on SQLite, which
ignores the case of names, and two on PostgreSQL, where chute quotes names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pyarrow as pa

from chute.coltypes import ColumnType, Kind
from chute.engine.columns import infer
from chute.errors import ConfigError


def target_column(name: str, existing: Iterable[str]) -> str | None:
    """The column of an existing table that input column ``name`` goes to, if any."""
    names = list(existing)
    if name in names:
        return name
    folded = [c for c in names if c.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


def check_distinct(
    names: list[str], existing: Iterable[str] = (), *, table: str, ignore_case: bool
) -> None:
    """Refuse input ``names`` of which two go to one column of ``table`` (``existing``: the
    columns it has, if it exists; ``ignore_case``: the database takes names equal but for
    case as one, else new columns named so are distinct)."""
    columns = list(existing)
    groups: dict[str, list[str]] = {}
    for name in names:
        target = target_column(name, columns)
        new = name.lower() if ignore_case else name
        slot = f"={target}" if target is not None else f"~{new}"
        groups.setdefault(slot, []).append(name)
    clashes = [(slot, group) for slot, group in groups.items() if len(group) > 1]
    if not clashes:
        return
    slot, group = clashes[0]
    column = slot[1:] if slot[0] == "=" else group[0]
    raise ConfigError(
        f"input columns {', '.join(group)} would all go to column {column} of {table}; "
        "names equal but for case are one column",
        hint="rename or drop all but one of them in the input",
    )


def check_new_name(name: str, known: Iterable[str], *, table: str, where: str) -> None:
    """Refuse a name first seen later in the input (at ``where``) that is equal but for
    case to a column the load already has."""
    same = [k for k in known if k.lower() == name.lower() and k != name]
    if same:
        raise ConfigError(
            f"{where}: input column {name} and column {same[0]} of {table} are equal but "
            "for case, so they would be one column",
            hint="rename it in the input, or use the column's own name",
        )


_NUMBERS = {Kind.BIGINT, Kind.NUMERIC, Kind.DOUBLE, Kind.TEXT, Kind.JSON}
#: a declared (file) type -> the kinds of table column that take its values; a string
#: goes anywhere (the database's text input judges it)
_TAKES: dict[Kind, set[Kind]] = {
    Kind.BIGINT: _NUMBERS,
    Kind.NUMERIC: _NUMBERS,
    Kind.DOUBLE: {Kind.DOUBLE, Kind.TEXT, Kind.JSON},  # never rounded into an exact type
    Kind.BOOLEAN: {Kind.BOOLEAN, Kind.TEXT, Kind.JSON},
    Kind.DATE: {Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ, Kind.TEXT, Kind.JSON},
    Kind.TIMESTAMP: {Kind.TIMESTAMP, Kind.TIMESTAMPTZ, Kind.TEXT, Kind.JSON},
    Kind.TIMESTAMPTZ: {Kind.TIMESTAMPTZ, Kind.TEXT, Kind.JSON},
    Kind.UUID: {Kind.UUID, Kind.TEXT},
    Kind.JSON: {Kind.JSON, Kind.TEXT},  # nested values: JSON, or its text
}


def check_declared_types(
    schema: pa.Schema,
    declared: Mapping[str, str],
    table_types: Mapping[str, tuple[ColumnType, str]],
    *,
    table: str,
    lists_into_arrays: bool = False,
) -> None:
    """Refuse an input whose declared column types (a Parquet file's) the table's columns
    cannot take, naming every such column with both types.  ``schema``: the input's
    batches (with chute's markers); ``table_types``: input column -> the type of the table
    column it goes to and that column's own type name; ``lists_into_arrays``: the sink's
    array columns take lists (:attr:`Capabilities.lists_into_arrays`)."""
    problems = []
    for field in schema:
        if field.name not in table_types:
            continue  # a new column: made from the file's type
        have = infer(field, pa.array([], field.type), numbers_from_text=False)
        want, declared_as = table_types[field.name]
        takes = have.kind is Kind.TEXT or want.kind in _TAKES.get(have.kind, set())
        # a column the engine sees as text may be an array, an inet...: not for nested values
        if takes and (
            have.kind is not Kind.JSON or want.kind is not Kind.TEXT or _textual(declared_as)
        ):
            continue
        file_type = declared.get(field.name, str(field.type))
        why = "nested values need a JSON (or text) column" if have.kind is Kind.JSON else ""
        if lists_into_arrays and _LIST.match(file_type) and declared_as.endswith("]"):
            if "struct<" in file_type or "map<" in file_type:
                why = "an array takes a list of values, not of structs or maps"
            elif "[ns" in file_type:  # Python's datetime and timedelta hold microseconds
                why = "nanoseconds inside a list would be cut to microseconds"
            else:
                continue  # a list into an array: the database judges each element
        problems.append(
            f"{field.name} is {file_type} in the file and {declared_as} in the table"
            + (f" ({why})" if why else "")
        )
    if problems:
        raise ConfigError(
            f"the input's column types do not fit table {table}: " + "; ".join(problems),
            hint="cast those columns when writing the file, or load into a new table",
        )


#: an Arrow list type's name (``list<element: int64>``, ``large_list<…>``, ``fixed_size_list<…>``)
_LIST = re.compile(r"(large_|fixed_size_)?list<")


def _textual(declared: str) -> bool:
    """Whether a column's own type name is one of text (not an array, inet, ...)."""
    name = declared.lower()
    return not name.endswith("]") and any(w in name for w in ("char", "text", "string", "clob"))
