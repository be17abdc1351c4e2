"""Column types as sinks and the engine share them: the bottom of the import graph.

:class:`ColumnType` is a column's logical type (what chute infers and what a sink creates),
:class:`Stores` what a database keeps exactly (so inference may choose it).  Inference and
widening live in :mod:`chute.engine.columns`; this module imports nothing of chute's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pyarrow as pa

#: the most digits of a ``numeric`` (Arrow's decimal128, PostgreSQL's default cap for chute)
MAX_DECIMAL_PRECISION = 38


class Kind(enum.StrEnum):
    BIGINT = "bigint"
    NUMERIC = "numeric"
    DOUBLE = "double"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    TIMESTAMPTZ = "timestamptz"
    JSON = "json"
    UUID = "uuid"
    TEXT = "text"


@dataclass(frozen=True)
class Stores:
    """What a database stores exactly, so that inference may choose it (a sink's
    ``Capabilities.stores``)."""

    #: a ``numeric(38,s)`` keeps every digit (PostgreSQL; SQLite has no exact decimal)
    exact_decimals: bool = True
    #: a ``uuid`` type, chosen for columns of canonical lowercase uuids
    uuid: bool = False


#: the default: exact decimals, no uuid type
EXACT_DECIMALS = Stores()


@dataclass(frozen=True)
class ColumnType:
    """A column's logical type; ``scale`` is the digits after the point of a numeric."""

    kind: Kind
    scale: int = 0

    def __str__(self) -> str:
        if self.kind is Kind.NUMERIC:
            return f"numeric({MAX_DECIMAL_PRECISION},{self.scale})"
        return self.kind.value

    @property
    def arrow(self) -> pa.DataType:
        """The Arrow type values of this column travel as inside the engine."""
        return (
            _ARROW[self.kind]
            if self.kind is not Kind.NUMERIC
            else pa.decimal128(MAX_DECIMAL_PRECISION, self.scale)
        )


_ARROW: dict[Kind, pa.DataType] = {
    Kind.BIGINT: pa.int64(),
    Kind.DOUBLE: pa.float64(),
    Kind.BOOLEAN: pa.bool_(),
    Kind.DATE: pa.date32(),
    Kind.TIMESTAMP: pa.timestamp("us"),
    Kind.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
    Kind.JSON: pa.string(),
    Kind.UUID: pa.string(),
    Kind.TEXT: pa.string(),
}

TEXT = ColumnType(Kind.TEXT)
JSON = ColumnType(Kind.JSON)
