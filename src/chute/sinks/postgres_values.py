"""PostgreSQL judges the texts going into an existing table (see :mod:`chute.engine.oracle`).

Per column type: the fast pattern (a subset of PostgreSQL's input grammar on which Arrow's
cast gives PostgreSQL's value), and, for every other text, one call per batch and column of
a temporary PL/pgSQL function on a connection of the oracle's own.  The function casts
each text with the column's declared type (the type's input function, as ``COPY`` calls
it, typmod included, in the session's default ``TimeZone`` and ``DateStyle``) and returns
the value rendered in a form Python reads exactly (integers, days and microseconds since
1970, ``float8`` text, ``numeric`` text), or the SQLSTATE and message of the refusal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from chute.engine import quick
from chute.sinks.oracle import Accepted, Answer, Refused, ValueCheck
from chute.sinks.postgres_binary import INTERVAL_SPELLINGS

if TYPE_CHECKING:
    from chute.sinks.postgres_wire import PgColumn
    from chute.sinks.sql.sql_sink import SqlSink

# matches no text at all: every value is asked
_NOTHING = r"[^\x00-\x{10FFFF}]"
_YEAR = r"(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_DATE = _YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
_ZONE = r"(Z|[-+](0[0-9]|1[0-4])(:?[0-5][0-9])?)"
_BOOLEAN_WORDS = ["true", "false", "TRUE", "FALSE", "True", "False", "1", "0"]
#: what Arrow's cast reads as PostgreSQL does (``tRuE`` and ``yes`` are asked)
_BOOLEAN = ValueCheck(
    f"^({'|'.join(_BOOLEAN_WORDS)})$", pa.bool_(), quick=quick.one_of(_BOOLEAN_WORDS)
)
_UTC_NAMES = frozenset(
    {"utc", "etc/utc", "gmt", "etc/gmt", "uct", "etc/uct", "universal", "etc/universal"}
    | {"zulu", "etc/zulu", "gmt0", "etc/gmt0", "greenwich", "etc/greenwich"}
)

_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.chute_judge(texts json, typ text, render text)
RETURNS TABLE(ord int, value text, state text, message text)
LANGUAGE plpgsql AS $f$
DECLARE
  vals text[];
  t text;
  i int := 0;
  v text;
BEGIN
  BEGIN  -- all at once, the usual case when no text is refused
    EXECUTE format('SELECT array_agg(%s ORDER BY o) FROM (SELECT u.t::%s AS x, u.o '
                   'FROM json_array_elements_text($1) WITH ORDINALITY u(t, o)) s',
                   render, typ) INTO vals USING texts;
    RETURN QUERY SELECT w.o::int, w.v, NULL::text, NULL::text
      FROM unnest(vals) WITH ORDINALITY w(v, o);
    RETURN;
  EXCEPTION WHEN OTHERS THEN
    NULL;  -- one at a time below
  END;
  FOR t IN SELECT json_array_elements_text(texts) LOOP
    i := i + 1;
    BEGIN
      EXECUTE format('SELECT %s FROM (SELECT $1::%s AS x) s', render, typ) INTO v USING t;
      ord := i; value := v; state := NULL; message := NULL;
    EXCEPTION WHEN OTHERS THEN
      ord := i; value := NULL; state := SQLSTATE; message := SQLERRM;
    END;
    RETURN NEXT;
  END LOOP;
END
$f$
"""


def _epoch_micros(text: str) -> int | None:
    value = Decimal(text)
    return int(value) if value.is_finite() else None  # +-infinity: not in Arrow


def _decimal(text: str) -> Decimal | None:
    value = Decimal(text)
    return value if value.is_finite() else None  # NaN, Infinity: not in Arrow


class _Plan:
    """What one column's texts are checked with, rendered as and read back by."""

    def __init__(
        self,
        check: ValueCheck,
        render: str = "NULL::text",
        read: Callable[[str], object] | None = None,
    ) -> None:
        self.check = check
        self.render = render  # SQL of the value ``x`` as text
        self.read = read


def _plan(c: PgColumn, zone_is_utc: bool) -> _Plan | None:
    t = c.typname
    if t in ("int2", "int4", "int8"):
        digits = {"int2": 4, "int4": 9, "int8": 18}[t]
        check = ValueCheck(
            rf"^-?[0-9]{{1,{digits}}}$", pa.int64(), quick=quick.unsigned_integer(digits)
        )
        return _Plan(check, "x::text", int)
    if t == "float8":
        # plain decimals; exponents are asked (a pattern with them cost more than it saved)
        pattern = r"^-?[0-9]{1,17}(\.[0-9]{1,17})?$"
        check = ValueCheck(pattern, pa.float64())
        return _Plan(check, "x::text", float)
    if t == "float4":
        # at most 7 whole and 8 fraction digits: reading through a double rounds the same
        pattern = r"^-?[0-9]{1,7}(\.[0-9]{1,8})?$"
        check = ValueCheck(pattern, pa.float64())
        return _Plan(check, "x::float8::text", float)
    if t == "numeric":
        if c.typmod < 0:
            pattern = r"^-?[0-9]{1,100}(\.[0-9]{1,100})?$"
            return _Plan(ValueCheck(pattern, None))
        precision, scale = ((c.typmod - 4) >> 16) & 0xFFFF, (c.typmod - 4) & 0xFFFF
        whole = min(precision, 38) - scale
        if whole < 1 or scale > 38:
            return _Plan(
                ValueCheck(_NOTHING, pa.decimal128(38, min(scale, 38))), "x::text", _decimal
            )
        fraction = rf"(\.[0-9]{{1,{scale}}})?" if scale else ""
        pattern = rf"^-?[0-9]{{1,{whole}}}{fraction}$"
        quick_test = None if scale else quick.unsigned_integer(whole)
        check = ValueCheck(pattern, pa.decimal128(38, scale), quick=quick_test)
        return _Plan(check, "x::text", _decimal)
    if t == "bool":
        return _Plan(_BOOLEAN, "x::text", "true".__eq__)
    if t == "date":
        render = "CASE WHEN isfinite(x) THEN (x - DATE '1970-01-01')::text END"
        return _Plan(ValueCheck(f"^{_DATE}$", pa.int32()), render, int)
    if t in ("timestamp", "timestamptz"):
        digits = 6 if c.typmod < 0 else c.typmod
        fraction = rf"(\.[0-9]{{1,{digits}}})?" if digits else ""
        zone = ""
        if t == "timestamptz":  # without a zone, a timestamp is read in the session's zone
            zone = f"{_ZONE}?" if zone_is_utc else _ZONE
        pattern = f"^{_DATE}[ T]{_CLOCK}{fraction}{zone}$"
        render = "(extract(epoch FROM x) * 1000000)::text"
        check = ValueCheck(pattern, pa.int64())
        return _Plan(check, render, _epoch_micros)
    if t == "time":
        return _Plan(
            ValueCheck(rf"^{_CLOCK}(\.[0-9]{{1,6}})?$|^([01][0-9]|2[0-3]):[0-5][0-9]$", None)
        )
    if t == "interval":  # the spellings chute decodes itself (durations) are surely taken
        return _Plan(ValueCheck(INTERVAL_SPELLINGS, None))
    if t == "timetz":
        return _Plan(ValueCheck(_NOTHING, None))
    return None  # text, varchar, json, jsonb, and types chute sends as text anyway


def zone_is_utc(zone: str) -> bool:
    return zone.lower() in _UTC_NAMES


class PostgresValueOracle:
    """Judges texts for one table's columns on a connection of its own, opened at the
    first question and closed with :meth:`close`."""

    def __init__(
        self, another: Callable[[], SqlSink], columns: dict[str, PgColumn], utc: bool
    ) -> None:
        self._another = another
        self._columns = columns
        self._plans = {name: _plan(c, utc) for name, c in columns.items()}
        self._sink: SqlSink | None = None

    def check(self, column: str) -> ValueCheck | None:
        plan = self._plans.get(column)
        return plan.check if plan is not None else None

    def judge(self, column: str, texts: Sequence[str]) -> list[Answer]:
        plan = self._plans[column]
        assert plan is not None
        answers: list[Answer | None] = [None] * len(texts)
        asked: list[int] = []
        for i, text in enumerate(texts):
            if "\x00" in text:  # what COPY says of a NUL byte in its input
                answers[i] = Refused('invalid byte sequence for encoding "UTF8": 0x00', "22021")
            else:
                asked.append(i)
        if asked:
            rows = self._ask(
                json.dumps([texts[i] for i in asked]), self._columns[column].declared, plan.render
            )
            for ord_, value, state, message in rows:
                i = asked[int(ord_) - 1]
                if state is not None:
                    answers[i] = Refused(str(message), str(state))
                else:
                    answers[i] = Accepted(_read(plan, value))
        return [a if a is not None else Accepted() for a in answers]

    def _ask(self, texts: str, declared: str, render: str) -> list[tuple[Any, ...]]:
        sink = self._sink
        if sink is None:
            sink = self._another()
            sink.connect()
            self._sink = sink
            sink.execute("SET extra_float_digits = 1")  # shortest exact float output
            sink.execute(_FUNCTION)
            sink.commit()
        try:
            return sink.execute(
                "SELECT * FROM pg_temp.chute_judge(?::json, ?, ?)", [texts, declared, render]
            )
        finally:
            sink.commit()

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None


def _read(plan: _Plan, value: str | None) -> object:
    if value is None or plan.read is None:
        return None
    try:
        return plan.read(value)
    except (ValueError, InvalidOperation):
        return None
