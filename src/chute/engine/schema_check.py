"""Input names against each other and against the table, before anything is written.

Two input names that would land in one column would make one value overwrite or drop the
other; such an input is refused with a :class:`~chute.errors.ConfigError` naming them.  For
an existing table an input name goes to the column of the same name, or else to the one
column equal to it but for case (on every database), so ``Name`` and ``NAME`` both go to a
column ``name``.  New columns named ``Name`` and ``NAME`` are one column on SQLite, which
ignores the case of names, and two on PostgreSQL, where chute quotes names.
"""

from __future__ import annotations

from collections.abc import Iterable

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
