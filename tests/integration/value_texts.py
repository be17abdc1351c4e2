"""Hypothesis strategies of texts for each column type, hostile ones included, for the
differential tests of :mod:`tests.integration.test_values_differential`."""

from __future__ import annotations

import json
import struct
from decimal import Decimal

from hypothesis import strategies as st

# what any column may be handed
COMMON = ["", " ", "n/a", "NULL", "null", "-", "+", ".", "0x10", "١٢", "１２", "1_000", "✓"]

_PADDING = st.sampled_from(["", "", "", " ", "  ", "\t"])


def padded(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``core`` with whitespace around it, sometimes."""
    return st.tuples(_PADDING, core, _PADDING).map("".join)


def _case(word: str, flips: list[bool]) -> str:
    return "".join(
        c.upper() if f else c for c, f in zip(word, flips + [False] * len(word), strict=False)
    )


INT_HOSTILE = [
    "0x10", "0xFFFFFFFFFFFFFFFF", "0X1f", "0o17", "0b101", "1_000", "١٢", "１２", "²",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "-9223372036854775809", "2147483647", "2147483648", "-2147483648", "-2147483649",
    "32767", "32768", "-32768", "-32769", "0000000000000000000000000000001", "1.0", "1e2",
    "+0", "-0", "--1", "+-1", "1 2", "1-", "99999999999999999999999999999",
]  # fmt: skip
ints = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.integers(-40000, 40000).map(str),
    padded(
        st.tuples(
            st.sampled_from(["", "", "+", "-", "0", "00"]),
            st.integers(0, 2**64).map(str),
            st.sampled_from(["", "", "", ".0", "e2", "_0"]),
        ).map("".join)
    ),
    st.sampled_from(INT_HOSTILE + COMMON),
)


def _float32_midpoint(f: float) -> str:
    """The exact decimal halfway between float32 ``f`` and the next one up."""
    bits = struct.unpack("<I", struct.pack("<f", f))[0]
    up = struct.unpack("<f", struct.pack("<I", bits + 1))[0] if f >= 0 else f
    return str((Decimal(f) + Decimal(up)) / 2)


FLOAT_HOSTILE = [
    "1e400", "-1e400", "1e-400", "4.9e-324", "2.4703282292062328e-324",
    "2.4703282292062327e-324", "1e-310", "1.7976931348623157e308", "1.7976931348623159e308",
    "3.4028235e38", "3.4028236e38", "3.40282356779733661637539395458142568448e38", "1e39",
    "1e-45", "1e-46", "1.4e-45", "-0.0", "-0", "0.0", "NaN", "nan", "NAN", "-NaN", "+NaN",
    "Infinity", "-Infinity", "+Infinity", "inf", "-inf", "+inf", "INF", "infinity",
    "InFiNiTy", "Inf", "1.", ".5", "-.5", "+.5", "e5", "1e", "1e+", "0x1p3", "1,5", "1_0.5",
    "١.٥", "1.5f", "1d", "0.1", "0.30000000000000004", "16777217", "9007199254740993",
    "1.00000005960464477539062500000001", "0." + "0" * 330 + "1", "1" * 400,
]  # fmt: skip
floats = st.one_of(
    st.floats().map(repr),
    st.floats(width=32).map(repr),
    st.floats(width=32, allow_nan=False, allow_infinity=False).map(_float32_midpoint),
    st.floats(width=32, allow_nan=False, allow_infinity=False)
    .map(_float32_midpoint)
    .map(lambda s: s + "0000001"),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.tuples(st.integers(-(10**20), 10**20), st.integers(-420, 420)).map(
        lambda t: f"{t[0]}e{t[1]}"
    ),
    st.text("0123456789", min_size=18, max_size=60).map(lambda d: "0." + d),
    padded(st.floats(allow_nan=False).map(lambda x: f"{x:.17g}")),
    st.sampled_from(FLOAT_HOSTILE + COMMON),
)

NUMERIC_HOSTILE = [
    "1.005", "-1.005", "0.005", "-0.005", "0.0049999", "9999999999.995", "9999999999.994",
    "99999999999", "-99999999999.99", "1e10", "1E10", "1e-2", "NaN", "nan", "Infinity",
    "-Infinity", "inf", "1e1000", "1e-1000", "+1.5", "-0.00", "00000000000000000000012.5",
    "1.", ".5", "1e", "1.2.3", "1" * 200, "0." + "5" * 200,
]  # fmt: skip
numerics = st.one_of(
    st.decimals().map(str),
    st.decimals(min_value=-(10**11), max_value=10**11, places=3).map(str),
    padded(st.decimals(min_value=-(10**9), max_value=10**9, places=2).map(str)),
    st.tuples(st.integers(-(10**6), 10**6), st.integers(-12, 12)).map(lambda t: f"{t[0]}e{t[1]}"),
    st.sampled_from(NUMERIC_HOSTILE + COMMON),
)

_WORDS = ["true", "false", "yes", "no", "on", "off", "t", "f", "y", "n", "1", "0"]
booleans = st.one_of(
    padded(
        st.tuples(
            st.sampled_from(_WORDS), st.lists(st.booleans(), max_size=5), st.integers(1, 5)
        ).map(lambda t: _case(t[0], t[1])[: t[2]])
    ),
    st.sampled_from(["o", "of", "2", "-1", "truee", "yess", "tr ue", "oN", "0.0", "01"]),
    st.sampled_from(COMMON),
)

DATE_HOSTILE = [
    "2024-02-29", "2023-02-29", "2024-02-30", "2024-04-31", "0000-01-01", "0001-01-01",
    "0001-01-01 BC", "4713-01-01 BC", "4714-11-24 BC", "4714-11-23 BC", "5874897-12-31",
    "5874898-01-01", "infinity", "-infinity", "+infinity", "epoch", "2024-1-5", "24-01-05",
    "2024/01/05", "20240105", "J2451187", "2024-01-05T10:00", "2024-01-05 10:00:00+02",
    "January 8, 1999", "1/8/1999", "1/18/1999", "18/1/1999", "99-Jan-08", "2024-W01-1",
    "2024-001", "2024-13-01", "2024-00-10", "-2024-01-01", "+2024-01-01", "10000-01-01",
]  # fmt: skip
_YMD = st.tuples(st.integers(-1, 10001), st.integers(0, 13), st.integers(0, 32))
date_texts = st.one_of(
    _YMD.map(lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"),
    st.dates().map(lambda d: d.isoformat()),
    st.tuples(st.dates(), st.sampled_from([" BC", " AD", "", ""])).map(
        lambda t: t[0].isoformat() + t[1]
    ),
    st.tuples(
        st.dates(), st.sampled_from(["%m/%d/%Y", "%d/%m/%Y", "%Y%m%d", "%b %d %Y", "%d-%b-%y"])
    ).map(lambda t: t[0].strftime(t[1])),
    st.sampled_from(DATE_HOSTILE + COMMON),
)

TIME_HOSTILE = [
    "24:00:00", "24:00:00.000001", "24:00", "23:59:60", "23:59:60.5", "23:59:59.9999995",
    "allballs", "04:05 PM", "4:05", "040506", "04:05:06.789-8", "04:05:06 PST", "T04:05",
    "04:05:06.1234567", "25:00:00", "12:60:00", "12:00:61", "12", "12:00:00 AM",
]  # fmt: skip
clock = st.tuples(
    st.integers(0, 25), st.integers(0, 61), st.integers(0, 61), st.integers(0, 8)
).map(lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d}" + ("." + "7" * t[3] if t[3] else ""))
times = st.one_of(clock, st.sampled_from(TIME_HOSTILE + COMMON))

ZONES = [
    "", "", "", "Z", "z", "+00", "+05", "+05:30", "-0330", "+14", "+15", "-15:59", "+16",
    " UTC", " Europe/Paris", " PST", " EST5EDT", " America/St_Johns", " +05", "+5", "+05:60",
]  # fmt: skip
TIMESTAMP_HOSTILE = [
    "infinity", "-infinity", "epoch", "2024-03-10 02:30:00", "2024-11-03 01:30:00",
    "2024-03-10 03:30:00", "2024-11-03 00:30:00", "294276-12-31 23:59:59",
    "294277-01-01 00:00:00", "4714-11-24 00:00:00 BC", "4714-11-23 23:59:59 BC",
    "2024-01-01 10:00:00.1234567", "2024-01-01 10:00:00.9999995", "2024-01-01T24:00:00",
    "2024-12-31 23:59:60", "2024-01-01", "1999-01-08 04:05:06 -8:00", "J2451187 04:05",
    "2024-01-01 10:00:00 BC", "0000-01-01 00:00:00",
]  # fmt: skip
timestamps = st.one_of(
    st.tuples(
        st.one_of(st.dates().map(lambda d: d.isoformat()), date_texts),
        st.sampled_from([" ", "T", " ", "  "]),
        st.one_of(clock, st.sampled_from(["00:00", "12:30", "23:59:59.999999"])),
        st.sampled_from(ZONES),
    ).map("".join),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.sampled_from(TIMESTAMP_HOSTILE + COMMON),
)

INTERVAL_HOSTILE = [
    "1 day", "1 d", "P1D", "P1Y2M3DT4H5M6S", "PT0.5S", "1 year 2 months", "-1:00", "1:00:00",
    "@ 1 minute ago", "1 fortnight", "1 week", "1.5 weeks", "100000000 years",
    "178000000 years", "infinity", "1", "1 2 3", "1 day -1 hour", "P", "1 mon", "1 century",
    "1 millennium", "2147483648 days", "-2147483648 days", "1 microsecond", "0.0000001 s",
]  # fmt: skip
intervals = st.one_of(
    st.tuples(
        st.integers(-(10**10), 10**10),
        st.sampled_from([" days", " hours", " mins", " secs", " months", " years", " weeks", ""]),
    ).map(lambda t: f"{t[0]}{t[1]}"),
    st.sampled_from(INTERVAL_HOSTILE + COMMON),
)


def _uuid_spelling(t: tuple[object, int]) -> str:
    u, how = t
    text = str(u)
    return [
        text,
        text.upper(),
        "{" + text + "}",
        text.replace("-", ""),
        "-".join(text.replace("-", "")[i : i + 4] for i in range(0, 32, 4)),
        text[:-1],
        text + "0",
        text.replace("-", "_"),
        "urn:uuid:" + text,
        " " + text,
        text[:-1] + " ",  # 36 characters, one of them a space
        text[:9] + "\t" + text[10:],
    ][how]


uuids = st.one_of(
    st.tuples(st.uuids(), st.integers(0, 11)).map(_uuid_spelling),
    st.sampled_from(COMMON),
)

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_characters="\x00\r"), max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=5,
)
JSON_HOSTILE = [
    "NaN", "Infinity", "{'a': 1}", "[1,]", '{"a":1,"a":2}', '"\\u0000"', '"\\ud800"',
    '"\\ud83d\\ude00"', "1e400", "-0", "01", "{", "[1] [2]", "tru", " {\"a\" : 1 } ",
    '"\\x41"', "1" * 400, "-0.0", "1E2", "[]", "{}", '"\\/"', "\ufeff1",
]  # fmt: skip
json_texts = st.one_of(
    _json_values.map(json.dumps),
    _json_values.map(lambda v: json.dumps(v, ensure_ascii=False, indent=1)),
    st.sampled_from(JSON_HOSTILE + COMMON),
)

_chars = st.characters(blacklist_characters="\x00\r", blacklist_categories=("Cs",))
texts = st.one_of(
    st.text(_chars, max_size=12),
    st.sampled_from(["\\N", "a\nb", "é", "\u200b", "trailing   ", "\ufeff", '"', "'"]),
    st.sampled_from(COMMON),
)
VARCHAR_HOSTILE = [
    "abcde", "abcdef", "abc   ", "abcde ", "abcdef ", "abcde\t", "ééééé", "éééééé", "     ",
    "      ", "ab  cd", "😀😀😀😀😀", "😀😀😀😀😀😀",
]  # fmt: skip
varchars = st.one_of(st.text(_chars, max_size=9), st.sampled_from(VARCHAR_HOSTILE))

ANY_TEXT = st.one_of(ints, floats, numerics, booleans, date_texts, timestamps, texts)
