"""Texts encoded in PostgreSQL's binary forms with numpy, where the server's binary input
takes them through ADBC's COPY (a 16-byte uuid, an inet's address bytes); each encoder
answers None for a batch holding any other spelling, which then travels as text for the
server to cast, so the server's own text input judges it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX = np.full(256, 255, dtype=np.uint8)
_HEX[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)
_HEX[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16, dtype=np.uint8)
_UUID_HYPHENS = [8, 13, 18, 23]
_NIL_UUID = "00000000-0000-0000-0000-000000000000"


def uuid_array(col: pa.Array) -> pa.Array | None:
    """Canonical uuid strings as Arrow's 16-byte uuid type, decoded with numpy; ``None``
    when any value is in another spelling (the server then parses the text)."""
    filled = pc.fill_null(col, _NIL_UUID)
    if len(filled) == 0:
        return None
    offsets = np.frombuffer(filled.buffers()[1], dtype=np.int32)[
        filled.offset : filled.offset + len(filled) + 1
    ]
    if not (np.diff(offsets) == 36).all():
        return None
    chars = np.frombuffer(filled.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    chars = chars.reshape(-1, 36)
    if not (chars[:, _UUID_HYPHENS] == ord("-")).all():
        return None
    nibbles = _HEX[np.delete(chars, _UUID_HYPHENS, axis=1)]
    if (nibbles == 255).any():
        return None
    raw = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(filled), [None, pa.py_buffer(raw.tobytes())]
    )
    if col.null_count:
        storage = pc.if_else(col.is_valid(), storage, pa.scalar(None, pa.binary(16)))
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


#: inet_recv's family byte for IPv4 (PGSQL_AF_INET)
_AF_INET = 2
_OCTET = r"(0|[1-9][0-9]{0,2})"
_IPV4 = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(/(0|[1-9][0-9]?))?$"


def inet_array(col: pa.Array) -> pa.Array | None:
    """IPv4 addresses in plain dotted form (``10.0.0.1``, ``10.0.0.1/8``: no leading
    zeros) as ``inet``'s binary form (family, bits, not cidr, 4 bytes, the address); None
    when any value is in another form (IPv6, a leading zero), which the server reads."""
    n = len(col)
    present = pc.fill_null(col, "0.0.0.0") if col.null_count else col
    if n == 0 or not pc.all(pc.match_substring_regex(present, _IPV4)).as_py():
        return None
    parts = pc.split_pattern_regex(present, r"[./]")
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    flat = pc.cast(pc.list_flatten(parts), pa.int64()).to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    octets = flat[starts[:, None] + np.arange(4)]
    if (octets > 255).any():
        return None
    bits = np.where(lengths == 5, flat[np.minimum(starts + 4, len(flat) - 1)], 32)
    if (bits > 32).any():
        return None
    out = np.empty((n, 8), dtype=np.uint8)
    out[:, 0] = _AF_INET
    out[:, 1] = bits
    out[:, 2] = 0  # inet, not cidr
    out[:, 3] = 4
    out[:, 4:] = octets
    offsets = np.arange(0, 8 * (n + 1), 8, dtype=np.int32)
    validity = pa.array(col.is_valid()).buffers()[1] if col.null_count else None
    return pa.Array.from_buffers(
        pa.binary(),
        n,
        [validity, pa.py_buffer(offsets.tobytes()), pa.py_buffer(out.tobytes())],
        null_count=col.null_count,
    )
