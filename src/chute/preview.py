"""A look at a file before it is loaded: its first records and the type chute would give
each column in a new table of the target database (the import service's preview, and
``chute.preview``).  Nothing is written anywhere."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from chute.config import DEFAULT_ENCODING, LoadOptions
from chute.engine import columns as ct
from chute.errors import ConfigError
from chute.sinks import sink_class
from chute.sources import open_source
from chute.sources.base import HasNotes

#: records shown by default, and at most
DEFAULT_ROWS = 20
MAX_ROWS = 1000


@dataclass
class Preview:
    """The first ``rows`` of a file, its ``columns`` with their inferred ``types``."""

    columns: list[str]
    types: dict[str, str]
    rows: list[dict[str, Any]]
    #: records among the first that could not be read (their line and reason)
    unreadable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [{"name": c, "type": self.types[c]} for c in self.columns],
            "rows": self.rows,
            "unreadable": self.unreadable,
            "notes": self.notes,
        }


def preview(
    source: str | os.PathLike[str],
    *,
    into: str = "sqlite://",
    rows: int = DEFAULT_ROWS,
    format: str | None = None,
    delimiter: str | None = None,
    encoding: str = DEFAULT_ENCODING,
    header: bool = True,
    sheet: str | int | None = None,
) -> Preview:
    """The first ``rows`` records of ``source`` and the types a new table of the database
    at ``into`` (only its scheme matters; nothing is connected) would get from them."""
    if not 1 <= rows <= MAX_ROWS:
        raise ConfigError(f"a preview shows 1 to {MAX_ROWS} records, not {rows}")
    stores = sink_class(into.split(":", 1)[0].lower()).capabilities.stores
    options = LoadOptions(
        into=into,
        format=format,
        delimiter=delimiter,
        encoding=encoding,
        header=header,
        sheet=None if sheet is None else str(sheet),
        batch_rows=rows,
    )
    src = open_source(source, options)
    try:
        batch = next(iter(src.batches()), None)
        notes = list(src.notes) if isinstance(src, HasNotes) else []
    finally:
        src.close()
    if batch is None:
        return Preview([], {}, [], notes=notes)
    data = batch.data
    types = {
        name: str(
            ct.infer(
                data.schema.field(name),
                data.column(name),
                numbers_from_text=src.numbers_from_text,
                stores=stores,
            )
        )
        for name in data.schema.names
    }
    unreadable = [f"{r.position.describe()}: {r.message}" for r in batch.rejects]
    return Preview(list(data.schema.names), types, data.to_pylist(), unreadable, notes)
