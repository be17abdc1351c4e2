"""Converting a batch as read into the table's column types, widening where allowed.

For a table this load created, a value that does not fit its column's type widens the
column (see :func:`chute.engine.columns.widen_number` and :func:`~chute.engine.columns.widen`)
to a type that holds every value seen; values must be in the type's canonical spelling, so
``007`` never becomes ``7``, and a double column takes only values a double holds exactly.
For an existing table the column's type is the table's, and a value that cannot be
converted is refused: a text is stored as the database's own text input would store it, or
its record is refused with the database's reason (:mod:`chute.engine.oracle`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chute.engine import columns as ct
from chute.engine import numbers
from chute.engine.columns import ColumnType, Kind
from chute.engine.oracle import ValueOracle, judge_column
from chute.sources._records import json_text
from chute.sources.base import SourceBatch

# What a text value must look like to be stored in a column of a created table.
_CANONICAL: dict[Kind, str] = {
    Kind.BIGINT: ct._INT,
    Kind.NUMERIC: f"{ct._DECIMAL}|{ct._EXPONENT}",
    Kind.DOUBLE: ct._NUMBER,  # and exact as a double: see _fits
    Kind.BOOLEAN: ct._BOOL,
    Kind.DATE: ct._DATE,
    Kind.TIMESTAMP: ct._TIMESTAMP,
    Kind.TIMESTAMPTZ: ct._TIMESTAMPTZ,
    Kind.UUID: ct._UUID,
}


@dataclass(frozen=True)
class Widening:
    column: str
    old: ColumnType
    new: ColumnType
    line_or_record: str
    example: str


@dataclass(frozen=True)
class Refusal:
    """Why a record cannot be stored, found before the database."""

    column: str
    message: str
    sqlstate: str | None = None
    #: ``conversion``: the value is not one of the column's type; ``constraint``: NOT NULL,
    #: a text longer than its ``varchar(n)``
    category: str = "conversion"


class Converter:
    """Converts batches to ``targets``; owns the column types while a load runs."""

    def __init__(
        self,
        targets: dict[str, ColumnType],
        *,
        may_widen: bool,
        numbers_from_text: bool,
        rename: dict[str, str] | None = None,
        not_null: set[str] | None = None,
        max_length: dict[str, int] | None = None,
        stores: ct.Stores = ct.EXACT_DECIMALS,
        empty_table: bool = False,
        declared: dict[str, str] | None = None,
        oracle: ValueOracle | None = None,
    ) -> None:
        self.targets = dict(targets)
        self.may_widen = may_widen
        self.numbers_from_text = numbers_from_text
        #: what the database stores exactly (inference and widening choose among it)
        self.stores = stores
        # Per bigint/numeric column of a created table: the most digits before the point of
        # any value converted for it, which says what a widening must hold.  Known only for
        # a table that started empty in this load (``empty_table``), else None.
        self._empty_table = empty_table
        self._whole: dict[str, int | None] = {}
        self.rename = rename or {}
        #: checked here rather than by a failing database statement (same SQLSTATEs)
        self.not_null = not_null or set()
        self.max_length = max_length or {}
        self.declared = declared or {}
        #: judges the texts going into an existing table (``may_widen`` false)
        self.oracle = oracle

    def close(self) -> None:
        if self.oracle is not None:
            self.oracle.close()

    def convert(
        self, batch: SourceBatch
    ) -> tuple[pa.RecordBatch, list[Widening], dict[int, Refusal]]:
        """The batch in the target types, the widenings made, and the rows that won't go.

        Rows that won't go map to a :class:`Refusal`: a value that does not convert to an
        existing table's type (a created table widens instead), a NULL in a NOT NULL column,
        a text longer than its ``varchar(n)``.  Their values are NULL in the returned batch.
        """
        arrays = []
        names = []
        widenings: list[Widening] = []
        refused: dict[int, Refusal] = {}
        data = batch.data
        for field, array in zip(data.schema, data.columns, strict=True):
            name = self.rename.get(field.name, field.name)
            target = self.targets[name]
            if self.oracle is not None and _zone_less(array.type, target):
                # read in the database's own time zone, as its text input reads them
                array = pc.cast(array, pa.string())
            judged = self._judge(name, array, target, refused)
            if judged is not None:
                arrays.append(self._check_constraints(name, judged, refused))
                names.append(name)
                continue
            while True:
                converted, bad = _convert(
                    field,
                    array,
                    target,
                    strict=self.may_widen,
                    text_is_json=self.numbers_from_text,
                )
                if bad is None:
                    break
                if not self.may_widen:
                    rows = _failing_rows(array, target, lenient=True)
                    for row in rows:
                        value = str(array[row].as_py())[:80]
                        refused.setdefault(
                            row, Refusal(name, f"cannot store {value!r} as {target}")
                        )
                    mask = np.zeros(len(array), dtype=bool)
                    mask[rows] = True
                    array = pc.if_else(pa.array(mask), pa.scalar(None, array.type), array)
                    continue
                wider = self._wider(name, field, array, target)
                if wider == target:  # never loop: text holds anything
                    wider = ct.JSON if target.kind is Kind.JSON else ct.TEXT
                widenings.append(
                    Widening(
                        name,
                        target,
                        wider,
                        batch.position(bad).describe(),
                        str(array[bad].as_py())[:40],
                    )
                )
                target = self.targets[name] = wider
            if self.may_widen:
                self._hold(name, converted)
            arrays.append(self._check_constraints(name, converted, refused))
            names.append(name)
        fields = [
            pa.field(name, a.type, metadata=field.metadata if _json_text(field, a) else None)
            for name, a, field in zip(names, arrays, data.schema, strict=True)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields)), widenings, refused

    def _judge(
        self, name: str, array: pa.Array, target: ColumnType, refused: dict[int, Refusal]
    ) -> pa.Array | None:
        """An existing table's column of texts, as the database would store them (refused
        rows are NULL); ``None`` when the oracle does not check this column."""
        if self.may_widen or self.oracle is None or not pa.types.is_string(array.type):
            return None
        check = self.oracle.check(name)
        if check is None:
            return None
        judged = judge_column(
            self.oracle,
            check,
            name,
            array,
            target.arrow,
            lambda texts: _cast(texts, target, lenient=True),
        )
        for row, why in judged.refused.items():
            refused.setdefault(row, Refusal(name, why.message, why.sqlstate))
        return judged.values

    def _check_constraints(
        self, name: str, values: pa.Array, refused: dict[int, Refusal]
    ) -> pa.Array:
        if name in self.not_null and values.null_count:
            for row in np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False)):
                refused.setdefault(
                    int(row),
                    Refusal(
                        name,
                        f'null value in column "{name}" violates not-null constraint',
                        "23502",
                        "constraint",
                    ),
                )
        limit = self.max_length.get(name)
        if limit is not None and pa.types.is_string(values.type):
            too_long = pc.fill_null(pc.greater(pc.utf8_length(values), limit), False)
            if not pc.any(too_long).as_py():
                return values
            # like PostgreSQL: spaces beyond the limit are cut, anything else is refused
            spaces_only = pc.less_equal(pc.utf8_length(pc.utf8_rtrim(values, " ")), limit)
            cut = pc.and_(too_long, pc.fill_null(spaces_only, False))
            type_name = self.declared.get(name, f"character varying({limit})")
            for row in np.flatnonzero(pc.and_not(too_long, cut).to_numpy(zero_copy_only=False)):
                refused.setdefault(
                    int(row),
                    Refusal(name, f"value too long for type {type_name}", "22001", "constraint"),
                )
            values = pc.if_else(cut, pc.utf8_slice_codeunits(values, 0, limit), values)
        return values

    def _wider(self, name: str, field: pa.Field, array: pa.Array, target: ColumnType) -> ColumnType:
        """The type to widen ``target`` to so that it holds ``array`` and what it held."""
        valid = _fits(array, target)
        failing = array.filter(pc.invert(valid)) if valid is not None else array
        if valid is not None and len(failing) == 0:
            # all look right but some do not cast (more decimals than the scale, ...)
            failing = array.take(pa.array(_failing_rows(array, target), pa.int64()))
        seen = ct.infer(
            field,
            failing,
            numbers_from_text=self.numbers_from_text,
            stores=self.stores,
        )
        if (
            target.kind in ct.NUMBER_KINDS
            and seen.kind in ct.NUMBER_KINDS
            and not pa.types.is_decimal(failing.type)
            and not ct.is_json_text(field)
        ):
            present = pc.drop_null(failing)
            held = self._held_whole(name, array)
            shape = numbers.shape(present)
            # floats (typed sources) stay doubles: they never go into an exact type
            exact_decimals = self.stores.exact_decimals and not pa.types.is_floating(failing.type)
            return ct.widen_number(target, shape, held, exact_decimals=exact_decimals)
        return ct.widen(target, seen)

    def _held_whole(self, name: str, array: pa.Array) -> int | None:
        """Most digits before the point of what the column holds and of ``array``'s numbers
        (all of them go into the column once it is widened)."""
        held = self._whole.get(name, 0 if self._empty_table else None)
        if held is None:
            return None
        present = pc.drop_null(array)
        if pa.types.is_string(present.type):
            present = present.filter(pc.match_substring_regex(present, ct._NUMBER))
        return max(held, numbers.whole_digits(present))

    def _hold(self, name: str, converted: pa.Array) -> None:
        """Remember the most digits before the point the column now holds."""
        if self.targets[name].kind not in (Kind.BIGINT, Kind.NUMERIC):
            return
        held = self._whole.get(name, 0 if self._empty_table else None)
        if held is not None:
            self._whole[name] = max(held, numbers.whole_digits(converted))


def _fits(array: pa.Array, target: ColumnType) -> pa.Array | None:
    """Per value: whether a text value is in the canonical form of ``target`` (or null)."""
    if not pa.types.is_string(array.type) or target.kind not in _CANONICAL:
        return None
    if target.kind is Kind.UUID:
        return pc.fill_null(ct.canonical_uuids(array), True)
    ok = pc.fill_null(pc.match_substring_regex(array, _CANONICAL[target.kind]), True)
    if target.kind is Kind.DOUBLE:  # a number a double would change does not fit
        numbers_only = ok.false_count == 0
        as_number = array if numbers_only else pc.if_else(ok, array, pa.scalar(None, pa.string()))
        exact = numbers.double_exact(as_number)
        ok = pc.and_(ok, exact if exact.null_count == 0 else pc.fill_null(exact, True))
    return ok


def _json_text(field: pa.Field, array: pa.Array) -> bool:
    """Whether a converted column is still the JSON texts its source marked it as holding
    (so a sink can tell a list's JSON from text in its own syntax, as PostgreSQL arrays)."""
    return ct.is_json_text(field) and pa.types.is_string(array.type)


def _convert(
    field: pa.Field, array: pa.Array, target: ColumnType, *, strict: bool, text_is_json: bool
) -> tuple[pa.Array, int | None]:
    """``array`` as ``target``'s Arrow type, or the index of the first value that won't go."""
    t = array.type
    kind = target.kind
    if kind is Kind.JSON:
        if ct.is_json_text(field) or (text_is_json and pa.types.is_string(t)):
            return array, None
        return pa.array([json_text(v) for v in array.to_pylist()], pa.string()), None
    if kind is Kind.TEXT:
        if pa.types.is_string(t):
            return array, None
        return pc.cast(array, pa.string()), None
    if kind is Kind.UUID and strict:  # a string type: check the spelling before anything
        fits = _fits(array, target)
        if fits is None:  # not strings: never uuids
            valid = np.flatnonzero(array.is_valid().to_numpy(zero_copy_only=False))
            return array, (int(valid[0]) if len(valid) else None)
        if not pc.all(fits, min_count=0).as_py():
            return array, int(np.flatnonzero(~fits.to_numpy(zero_copy_only=False))[0])
        return array, None
    if t == target.arrow:
        return array, None
    if strict and not ct.is_json_text(field):
        fits = _fits(array, target)
        if fits is not None and not pc.all(fits, min_count=0).as_py():
            return array, int(np.flatnonzero(~fits.to_numpy(zero_copy_only=False))[0])
        if pa.types.is_floating(t) and kind in (Kind.BIGINT, Kind.NUMERIC):
            valid = np.flatnonzero(array.is_valid().to_numpy(zero_copy_only=False))
            if len(valid):  # a float column never narrows to an exact type
                return array, int(valid[0])
    lenient = not strict
    try:
        return _cast(array, target, lenient=lenient), None
    except _CAST_ERRORS:
        failing = _failing_rows(array, target, lenient=lenient)
        return array, failing[0] if failing else 0


def _zone_less(t: pa.DataType, target: ColumnType) -> bool:
    """A typed date or zone-less timestamp going into a column with a zone."""
    zone_less = pa.types.is_date(t) or (pa.types.is_timestamp(t) and t.tz is None)
    return target.kind is Kind.TIMESTAMPTZ and zone_less


_CAST_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)
_ZONE = r"(Z|[-+][0-9]{2}(:?[0-9]{2})?)$"


def _cast(array: pa.Array, target: ColumnType, *, lenient: bool) -> pa.Array:
    """Cast to ``target``; floats never round into integers.  ``lenient`` (an existing
    table's column): a timestamp without a zone going into a timestamptz column is UTC."""
    if pa.types.is_floating(array.type) and target.kind in (Kind.BIGINT, Kind.NUMERIC):
        return pc.cast(array, target.arrow, safe=True)
    if pa.types.is_decimal(array.type) and target.kind is Kind.DOUBLE:
        # through the decimal's text: Arrow's own cast is not correctly rounded
        return pc.cast(pc.cast(array, pa.string()), target.arrow)
    if lenient and target.kind is Kind.TIMESTAMPTZ and pa.types.is_string(array.type):
        try:  # every text with its zone (Arrow refuses one without): no pattern needed
            return pc.cast(array, target.arrow)
        except _CAST_ERRORS:
            zoned = pc.fill_null(pc.match_substring_regex(array, _ZONE), True)
            if pc.all(zoned, min_count=0).as_py():
                raise  # a text with its zone that Arrow refuses: not a zone's matter
        none = pa.scalar(None, pa.string())
        with_zone = pc.cast(pc.if_else(zoned, array, none), target.arrow)
        naive = pc.cast(pc.if_else(zoned, none, array), pa.timestamp("us"))
        return pc.coalesce(with_zone, pc.cast(naive, target.arrow))
    return pc.cast(array, target.arrow)


def _failing_rows(
    array: pa.Array, target: ColumnType, offset: int = 0, *, lenient: bool = False
) -> list[int]:
    """Every value that cannot be cast, found by casting halves: O(b log n) casts."""
    if len(array) == 0:
        return []
    try:
        _cast(array, target, lenient=lenient)
        return []
    except _CAST_ERRORS:
        if len(array) == 1:
            return [offset]
    mid = len(array) // 2
    return _failing_rows(array.slice(0, mid), target, offset, lenient=lenient) + _failing_rows(
        array.slice(mid), target, offset + mid, lenient=lenient
    )
