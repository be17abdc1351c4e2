"""MySQL/MariaDB column types: what chute creates, and what an existing column holds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chute.coltypes import MAX_DECIMAL_PRECISION, TEXT, ColumnType, Kind
from chute.sinks.contract import TableColumn

#: the comment of a DATETIME(6) column that holds zoned timestamps, in UTC
TIMESTAMPTZ_COMMENT = "chute: timestamptz, UTC"
#: InnoDB indexes at most 3072 bytes per key; utf8mb4 takes up to 4 bytes a character
_KEY_BYTES = 3072

_CREATE = {
    Kind.BIGINT: "BIGINT",
    Kind.DOUBLE: "DOUBLE",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.DATE: "DATE",
    Kind.TIMESTAMP: "DATETIME(6)",
    Kind.TIMESTAMPTZ: f"DATETIME(6) COMMENT '{TIMESTAMPTZ_COMMENT}'",
    Kind.JSON: "JSON",
    Kind.UUID: "CHAR(36)",
    Kind.TEXT: "LONGTEXT",
}

_INTEGERS = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"}
_TEXTS = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"}


def column_ddl(quoted: str, t: ColumnType, *, key: bool, keys: int) -> str:
    """``quoted``'s definition for CREATE/ALTER TABLE; a key column is NOT NULL, and a text
    key a VARCHAR short enough for InnoDB to index (a longer value is refused, 1406)."""
    if t.kind is Kind.NUMERIC:
        declared = f"DECIMAL({MAX_DECIMAL_PRECISION},{t.scale})"
    elif key and t.kind in (Kind.TEXT, Kind.JSON):
        declared = f"VARCHAR({_KEY_BYTES // 4 // max(keys, 1)})"
    else:
        declared = _CREATE[t.kind]
    if key:
        declared = (
            declared.replace(" COMMENT", " NOT NULL COMMENT")
            if " COMMENT" in declared
            else declared + " NOT NULL"
        )
    return f"{quoted} {declared}"


def table_options(mariadb: bool) -> str:
    """InnoDB, utf8mb4, and a collation that compares exactly (no case folding, no pad)."""
    collation = "utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin"
    return f"ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = {collation}"


@dataclass(frozen=True)
class MysqlColumn:
    name: str
    data_type: str  # int, varchar, datetime, ...
    column_type: str  # int(11) unsigned, varchar(20), tinyint(1), ...
    nullable: bool
    has_default: bool
    generated: bool
    max_length: int | None
    precision: int | None
    scale: int | None
    comment: str
    json: bool

    @property
    def type(self) -> ColumnType:
        d = self.data_type
        if d == "tinyint" and self.column_type.startswith("tinyint(1)"):
            return ColumnType(Kind.BOOLEAN)
        if d in _INTEGERS:
            return ColumnType(Kind.BIGINT)
        if d == "decimal":
            if (self.precision or 0) > MAX_DECIMAL_PRECISION:
                return TEXT
            return ColumnType(Kind.NUMERIC, self.scale or 0)
        if d in ("double", "float", "real"):
            return ColumnType(Kind.DOUBLE)
        if d == "date":
            return ColumnType(Kind.DATE)
        if d == "datetime":
            tz = self.comment.startswith(TIMESTAMPTZ_COMMENT)
            return ColumnType(Kind.TIMESTAMPTZ if tz else Kind.TIMESTAMP)
        if d == "timestamp":  # stored in UTC, read in the session's zone (UTC)
            return ColumnType(Kind.TIMESTAMPTZ)
        if d == "json" or self.json:
            return ColumnType(Kind.JSON)
        if d == "uuid":
            return ColumnType(Kind.UUID)
        return TEXT

    def table_column(self) -> TableColumn:
        return TableColumn(
            self.name,
            self.type,
            self.column_type,
            nullable=self.nullable,
            has_default=self.has_default,
            max_length=self.max_length if self.data_type in ("char", "varchar") else None,
            generated=self.generated,
        )


Query = Callable[[str, Sequence[Any] | None], list[tuple[Any, ...]]]


def mysql_columns(query: Query, table: str) -> dict[str, MysqlColumn]:
    """The columns of ``table`` in the current database (empty: no such table)."""
    rows = query(
        "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, "
        "EXTRA, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, COLUMN_COMMENT "
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s "
        "ORDER BY ORDINAL_POSITION",
        [table],
    )
    rows = [r for r in rows if r[0] == table]  # information_schema ignores case
    if not rows:
        return {}
    checks = query(
        "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
        "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = %s",
        [table],
    )
    json_checked = {str(c[0]).replace(" ", "").lower() for c in checks}
    out = {}
    for _t, name, dtype, ctype, nullable, default, extra, maxlen, prec, scale, comment in rows:
        extra = (extra or "").upper()
        generated = "GENERATED" in extra and "DEFAULT_GENERATED" not in extra
        out[name] = MysqlColumn(
            name=name,
            data_type=str(dtype).lower(),
            column_type=str(ctype).lower(),
            nullable=nullable == "YES",
            has_default=default is not None or "AUTO_INCREMENT" in extra or generated,
            generated=generated,
            max_length=int(maxlen) if maxlen is not None else None,
            precision=int(prec) if prec is not None else None,
            scale=int(scale) if scale is not None else None,
            comment=comment or "",
            json=f"json_valid(`{name}`)".lower() in json_checked,
        )
    return out


def unique_indexes(query: Query, table: str) -> list[tuple[str, list[str]]]:
    """``table``'s primary key (``PRIMARY``) and unique indexes on whole columns."""
    rows = query(
        "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND NON_UNIQUE = 0 "
        "AND SUB_PART IS NULL ORDER BY INDEX_NAME, SEQ_IN_INDEX",
        [table],
    )
    found: dict[str, list[str]] = {}
    for name, index, column in rows:
        if name == table:  # information_schema compares names without case
            found.setdefault(index, []).append(column)
    return list(found.items())


def table_comment(query: Query, table: str) -> str | None:
    """``table``'s comment ('' for none), or None when there is no such table."""
    rows = query(
        "SELECT TABLE_NAME, TABLE_COMMENT FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
        [table],
    )
    return next((str(c or "") for n, c in rows if n == table), None)
