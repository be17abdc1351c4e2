"""What a column of numbers written as text can be stored as without changing any value.

Two exact homes exist for a number: a ``numeric(38,s)`` (PostgreSQL; every digit kept) and a
double (both databases), which holds a value exactly when the double's shortest spelling
(what a reader gets back: ``repr`` in Python, PostgreSQL's ``float8out``) is numerically the
value written.  ``34.02505165179919`` is such a value; ``1.2345678901234567890123e5`` is not
(its double reads back as ``123456.78901234567``), and neither is a 19-digit id.

:func:`shape` measures a column of number texts once: the digits a numeric needs, whether it
is written in fixed point (the same 1–4 decimals throughout, or trailing zeros that say the
scale matters), and whether every value survives a double.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chute.coltypes import MAX_DECIMAL_PRECISION

#: decimals of a column written in fixed point ("money"): 12.25, 3.99, 0.10
FIXED_POINT_SCALES = range(1, 5)
# Any decimal of at most 15 significant digits (DBL_DIG) comes back from a double unchanged,
# inside the normal range of doubles; 16 or 17 digits may or may not; 18 or more never do.
ALWAYS_EXACT_DIGITS = 15
_NEVER_EXACT_DIGITS = 18
_NORMAL_MIN = 1e-307
_NOT_FINITE = r"^-?(inf|Infinity|nan|NaN)$"
_EXPONENT = r"[eE]"


@dataclass(frozen=True)
class Shape:
    """What the values of a column of number texts need."""

    whole: int  #: most digits before the point (``0.5`` counts one)
    scale: int  #: most digits after the point, once exponents are written out
    finite: bool  #: no NaN or infinity
    fixed_point: bool  #: written without exponents, with one scale or with trailing zeros
    double_exact: bool  #: every value is numerically its double's shortest spelling

    @property
    def fits_numeric(self) -> bool:
        return self.finite and self.whole + self.scale <= MAX_DECIMAL_PRECISION


def shape(values: pa.Array) -> Shape:
    """The shape of ``values``: number texts (integers, decimals, exponents, NaN/inf),
    integers or floats, without nulls."""
    if pa.types.is_floating(values.type) or pa.types.is_integer(values.type):
        values = pc.cast(values, pa.string())  # a float's shortest spelling: exact
    not_finite = pc.match_substring_regex(values, _NOT_FINITE)
    finite = not pc.any(not_finite, min_count=0).as_py()
    exponent = pc.match_substring_regex(values, _EXPONENT)
    has_exponent = bool(pc.any(exponent, min_count=0).as_py())
    plain = values.filter(pc.invert(pc.or_(exponent, not_finite)))
    whole, scale, fixed = _plain_shape(plain)
    if has_exponent:
        fixed = False
        for text in values.filter(exponent).to_pylist():
            w, s = _decimal_shape(text)
            whole, scale = max(whole, w), max(scale, s)
    return Shape(
        whole=whole,
        scale=scale,
        finite=finite,
        fixed_point=fixed,
        double_exact=bool(pc.all(double_exact(values), min_count=0).as_py()),
    )


def _plain_shape(plain: pa.Array) -> tuple[int, int, bool]:
    """(whole digits, scale, fixed point) of decimals written without an exponent."""
    if len(plain) == 0:
        return 0, 0, True
    length = pc.utf8_length(plain)
    point = pc.find_substring(plain, ".")
    has_point = pc.greater_equal(point, 0)
    scale = pc.if_else(has_point, pc.subtract(pc.subtract(length, point), 1), 0)
    negative = pc.cast(pc.starts_with(plain, "-"), pa.int32())
    whole = pc.subtract(pc.if_else(has_point, point, length), negative)
    max_scale = pc.max(scale).as_py() or 0
    max_whole = pc.max(whole).as_py() or 0
    scales = pc.unique(scale.filter(has_point)).to_pylist()
    trailing_zero = pc.any(pc.and_(has_point, pc.ends_with(plain, "0")), min_count=0).as_py()
    fixed = (
        not scales  # integers too long for a bigint
        or bool(trailing_zero)  # 12.50: the writer kept the scale
        or (len(scales) == 1 and scales[0] in FIXED_POINT_SCALES)
    )
    return int(max_whole), int(max_scale), fixed


def _decimal_shape(text: str) -> tuple[int, int]:
    """(whole digits, scale) of one number text with an exponent, written out in full."""
    try:
        _, digits, exponent = Decimal(text).as_tuple()
    except InvalidOperation:
        return MAX_DECIMAL_PRECISION + 1, 0
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    return max(1, len(digits) + exponent), scale


def double_exact(values: pa.Array) -> pa.Array:
    """Per number text: whether storing it as a double keeps its value (null stays null).

    Vectorised: a text of at most 15 characters has at most 15 significant digits, always
    exact in the normal range of doubles (the usual case, checked first and cheaply); a
    longer one is exact when it is its double's shortest spelling, never with 18 or more
    significant digits, and only the other 16- and 17-digit ones are checked one by one.
    """
    if len(values) == 0:
        return pa.array([], pa.bool_())
    double = pc.cast(values, pa.float64(), safe=False)
    magnitude = pc.abs(double)
    short = pc.and_(
        pc.less_equal(pc.utf8_length(values), ALWAYS_EXACT_DIGITS),
        pc.and_(pc.greater_equal(magnitude, _NORMAL_MIN), pc.is_finite(double)),
    )
    if values.null_count == 0 and pc.all(short, min_count=0).as_py():
        return short  # the usual case: short numbers, nothing missing
    short = pc.fill_null(short, False)
    if pc.all(pc.or_(short, values.is_null()), min_count=0).as_py():
        return pc.if_else(values.is_null(), pa.scalar(None, pa.bool_()), short)
    result = short.to_numpy(zero_copy_only=False).copy()
    rest = np.flatnonzero(~result & values.is_valid().to_numpy(zero_copy_only=False))
    result[rest] = _double_exact_long(values.take(pa.array(rest))).to_numpy(zero_copy_only=False)
    return pc.if_else(values.is_null(), pa.scalar(None, pa.bool_()), pa.array(result))


def _double_exact_long(values: pa.Array) -> pa.Array:
    """:func:`double_exact` of values without nulls, whatever their length."""
    double = pc.cast(values, pa.float64(), safe=False)
    mantissa = pc.replace_substring_regex(values, r"[eE].*$", "")
    digits = pc.replace_substring_regex(mantissa, r"[-+.]", "")
    significant = pc.utf8_length(
        pc.utf8_rtrim(pc.utf8_ltrim(digits, characters="0"), characters="0")
    )
    in_range = pc.or_(
        pc.and_(pc.greater_equal(pc.abs(double), _NORMAL_MIN), pc.is_finite(double)),
        pc.equal(significant, 0),  # zero
    )
    exact = pc.and_(pc.less_equal(significant, ALWAYS_EXACT_DIGITS), in_range)
    # the common case of 16-17 digits: the text is the double's shortest spelling already
    spelled_alike = pc.and_(pc.equal(pc.cast(double, pa.string()), values), pc.is_finite(double))
    not_finite = pc.match_substring_regex(values, _NOT_FINITE)
    exact = pc.or_(pc.or_(exact, not_finite), spelled_alike)
    never = pc.greater_equal(significant, _NEVER_EXACT_DIGITS)
    undecided = pc.invert(pc.or_(exact, never)).to_numpy(zero_copy_only=False)
    if not undecided.any():
        return exact
    result = exact.to_numpy(zero_copy_only=False).copy()
    rows = np.flatnonzero(undecided)
    for row, text in zip(rows, values.take(pa.array(rows)).to_pylist(), strict=True):
        result[row] = _round_trips(text)
    return pa.array(result)


def _round_trips(text: str) -> bool:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        return False
    return Decimal(repr(number)) == Decimal(text)


def whole_digits(values: pa.Array) -> int:
    """Most digits before the point among ``values``: integers, decimals or number texts."""
    t = values.type
    if len(values) == values.null_count:
        return 0
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        low, high = pc.min_max(values).values()
        return max(len(str(abs(int(v.as_py())))) for v in (low, high))
    if pa.types.is_string(t):
        return shape(pc.drop_null(values)).whole
    return 0


def plain_decimals(values: pa.Array) -> pa.Array:
    """Arrow decimals as text in plain notation, every digit (``0.000000123``, never the
    ``1.23E-7`` Arrow's own cast writes for some): Arrow's text where it has no exponent,
    Python's ``format(v, "f")`` for the values where it has one."""
    text = pc.cast(values, pa.string())
    exponent = pc.fill_null(pc.match_substring(text, "E"), False)
    if not pc.any(exponent).as_py():
        return text
    plain = [format(v, "f") for v in pc.filter(values, exponent).to_pylist()]
    return pc.replace_with_mask(text, exponent, pa.array(plain, pa.string()))
