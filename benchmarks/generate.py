"""Deterministic "orders" CSV files for the benchmarks.

::

    python benchmarks/generate.py                        # benchmarks/data/orders_1000000.csv
    python benchmarks/generate.py --rows 5000000         # the memory check's input
    python benchmarks/generate.py --upsert --rows 1000000  # half updates of ids 1..1M, half new

Rows are made in fixed chunks of :data:`CHUNK_ROWS`, each from its own seeded random stream,
so a file is a function of ``(seed, rows)`` only, and a smaller file holds exactly the first
rows of a bigger one (the benchmark's samples are prefixes of the full file).  Every column
is built and CSV-escaped with vectorised numpy/pyarrow code; no Python loop runs per row.

Columns (PostgreSQL types of the benchmark's typed table in brackets): ``id`` (bigint,
sequential), ``uuid`` (uuid), ``customer`` (text with commas, double quotes, non-ASCII),
``status`` (enum-like text), ``quantity`` (int), ``price`` (numeric(12,2), always two
decimals), ``ordered_at`` (timestamptz: ``Z``, ``+02:00``, ``-05:30``, ... some with
milliseconds), ``shipped_at`` (timestamp without zone, ~30 % empty = NULL), ``notes`` (text up
to ~200 characters, ~10 % NULL, some quoted with commas and quotes, ~1 % with a newline inside
the quotes), ``gift`` (boolean), ``tags`` (a JSON array, so always a quoted CSV field) and
``weight`` (double precision).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_ROWS = 1_000_000
DEFAULT_SEED = 20_261_122
CHUNK_ROWS = 100_000  # fixed: changing it changes every file

COLUMNS = [
    "id",
    "uuid",
    "customer",
    "status",
    "quantity",
    "price",
    "ordered_at",
    "shipped_at",
    "notes",
    "gift",
    "tags",
    "weight",
]

#: The typed table the reference (``psql \copy``) and the typed contenders load into.
TYPED_COLUMNS = {
    "id": "bigint PRIMARY KEY",
    "uuid": "uuid NOT NULL",
    "customer": "text",
    "status": "text",
    "quantity": "integer",
    "price": "numeric(12,2)",
    "ordered_at": "timestamptz",
    "shipped_at": "timestamp",
    "notes": "text",
    "gift": "boolean",
    "tags": "jsonb",
    "weight": "double precision",
}


def typed_table_ddl(table: str) -> str:
    cols = ", ".join(f"{name} {decl}" for name, decl in TYPED_COLUMNS.items())
    return f"CREATE TABLE {table} ({cols})"


# Streams of random numbers, one per purpose, so adding a column never shifts another.
_POOLS, _ORDERS, _UPSERT_IDS, _UPSERT_VALUES = 1, 2, 3, 4

FIRST_NAMES = [
    "Anna", "José", "Zoë", "Łukasz", "Søren", "François", "Mária", "Øyvind", "Björn",
    "Chloé", "Jürgen", "Ngọc Anh", "Αλέξανδρος", "Дмитрий", "李娜", "さくら", "Siobhán",
    "Renée", "Ahmed", "Priya", "Mohammed", "Olivia", "Liam", "Emma", "Noah", "Ава",
    "Çağla", "Þórunn", "Nguyễn", "Kwame", "Ines", "Maximilian", "Grace", "Hiroshi",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Müller", "García", "O'Brien", "Nowak", "Håkansson", "Dubois", "Rossi",
    "Kowalski", "Øster", "Papadopoulos", "Иванова", "王", "佐藤", "Nguyễn", "Kaya",
    "Van der Berg", "D'Angelo", "Jónsdóttir", "Mensah", "Fernández", "Novák", "Silva",
    "Johnson", "Brown", "Lefèvre", "Şahin", "Ångström", "Łęcka", "Patel", "Kim",
]  # fmt: skip
NICKNAMES = ["Bob", "Jo", "Ace", "Mimi", "Zé", "the Boss", "Ørn", "Kiki"]
COMPANY_SUFFIXES = ["Inc.", "Ltd.", "GmbH & Co. KG", "S.A.", "AB", "K.K.", "sp. z o.o."]
STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled", "returned"]
STATUS_WEIGHTS = [0.10, 0.15, 0.20, 0.45, 0.06, 0.04]
WORDS = [
    "please", "leave", "the", "parcel", "at", "the", "door", "ring", "twice", "fragile",
    "handle", "with", "care", "deliver", "after", "5pm", "call", "before", "delivery", "gift",
    "wrap", "no", "invoice", "in", "box", "back", "entrance", "neighbour", "floor",
    "apartment", "building", "reception", "weekend", "only", "urgent", "express", "signature",
    "required", "réception", "bâtiment", "étage", "Tür", "Nachbar", "Lieferung", "配達", "玄関",
    "包装", "доставка", "подъезд", "portería", "entrega", "mañana",
]  # fmt: skip
TAGS = [
    "fragile", "express", "gift", "b2b", "return", "priority", "eco", "bulk",
    "international", "überseeisch", "配送", "vip",
]  # fmt: skip
# Minutes east of UTC; 0 is written as "Z".
OFFSETS_MINUTES = [0, 120, -330, 60, -300, 330, 540, -480, 345, 0, 0, 60]
EPOCH_2023 = 1_672_531_200  # 2023-01-01T00:00:00Z


@dataclass(frozen=True)
class Pools:
    """Values picked per row by index; built once per seed."""

    customers: pa.Array  # already CSV-escaped
    notes: pa.Array  # CSV-escaped, "" for NULL
    tags: pa.Array  # CSV-escaped JSON arrays
    offsets: pa.Array  # "Z", "+02:00", ...


def csv_escape(values: pa.Array) -> pa.Array:
    """Quote the values that need it (RFC 4180), doubling quotes inside."""
    needs = pc.match_substring_regex(values, r'[",\r\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, values)


def _offset_text(minutes: int) -> str:
    if minutes == 0:
        return "Z"
    sign = "+" if minutes > 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def build_pools(seed: int) -> Pools:
    rng = np.random.default_rng([seed, _POOLS])

    customers: list[str] = []
    for _ in range(20_000):
        first = FIRST_NAMES[rng.integers(len(FIRST_NAMES))]
        last = LAST_NAMES[rng.integers(len(LAST_NAMES))]
        style = rng.random()
        if style < 0.45:
            customers.append(f"{first} {last}")
        elif style < 0.70:
            customers.append(f"{last}, {first}")
        elif style < 0.85:
            nick = NICKNAMES[rng.integers(len(NICKNAMES))]
            customers.append(f'{first} "{nick}" {last}')
        else:
            suffix = COMPANY_SUFFIXES[rng.integers(len(COMPANY_SUFFIXES))]
            customers.append(f"{last} & {first}, {suffix}")

    notes: list[str | None] = []
    for _ in range(50_000):
        style = rng.random()
        if style < 0.10:
            notes.append(None)
            continue
        words = [WORDS[i] for i in rng.integers(len(WORDS), size=int(rng.integers(1, 30)))]
        text = " ".join(words)
        if style < 0.40:  # commas
            cut = max(1, len(words) // 2)
            text = ", ".join([" ".join(words[:cut]), " ".join(words[cut:])]).strip(", ")
        elif style < 0.55:  # embedded quotes
            text = f'{words[0]} "{" ".join(words[1:4]) or "asap"}" {" ".join(words[4:])}'.strip()
        elif style < 0.56:  # a newline inside the quoted value
            cut = max(1, len(words) // 2)
            text = " ".join(words[:cut]) + "\n" + " ".join(words[cut:])
        notes.append(text[:200])

    tag_sets: list[str] = []
    for _ in range(4_096):
        k = int(rng.choice([0, 1, 1, 2, 2, 3, 4]))
        picked = rng.choice(len(TAGS), size=k, replace=False)
        tag_sets.append("[" + ",".join(f'"{TAGS[i]}"' for i in sorted(picked)) + "]")

    return Pools(
        customers=csv_escape(pa.array(customers, pa.string())),
        notes=pc.fill_null(csv_escape(pa.array(notes, pa.string())), ""),
        tags=csv_escape(pa.array(tag_sets, pa.string())),
        offsets=pa.array([_offset_text(m) for m in OFFSETS_MINUTES], pa.string()),
    )


def _uuids(rng: np.random.Generator, n: int) -> pa.Array:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hex32 = np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype="S32")
    text = pa.array(hex32.astype(np.str_), pa.string())
    parts = [pc.utf8_slice_codeunits(text, a, b) for a, b in ((0, 8), (8, 12), (12, 16), (16, 20))]
    return pc.binary_join_element_wise(*parts, pc.utf8_slice_codeunits(text, 20, 32), "-")


def _decimal_text(units: np.ndarray, places: int) -> pa.Array:
    """Non-negative integers ``units`` as decimals with ``places`` digits after the point."""
    scale = 10**places
    whole = pc.cast(pa.array(units // scale), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(units % scale), pa.string()), places, "0")
    return pc.binary_join_element_wise(whole, frac, ".")


def _int_text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def make_chunk(pools: Pools, ids: np.ndarray, rng: np.random.Generator) -> bytes:
    """CSV lines (no header) for rows with these ``ids``; values drawn from ``rng``."""
    n = len(ids)
    # Draw every column for a full chunk, so a chunk's values do not depend on its length.
    m = CHUNK_ROWS
    uuid = _uuids(rng, m)
    customer_idx = rng.integers(len(pools.customers), size=m)
    status_idx = rng.choice(len(STATUSES), size=m, p=STATUS_WEIGHTS)
    quantity = np.minimum(rng.geometric(0.25, size=m), 500)
    price_cents = rng.integers(50, 1_000_000, size=m)
    ordered = EPOCH_2023 + rng.integers(0, 2 * 365 * 86_400, size=m)
    offset_idx = rng.integers(len(OFFSETS_MINUTES), size=m)
    millis = rng.integers(0, 1000, size=m)
    with_millis = rng.random(m) < 0.25
    shipped = ordered + rng.integers(3_600, 14 * 86_400, size=m)
    shipped_null = rng.random(m) < 0.30
    notes_idx = rng.integers(len(pools.notes), size=m)
    gift = rng.random(m) < 0.12
    tags_idx = rng.integers(len(pools.tags), size=m)
    weight = np.round(rng.gamma(2.0, 2.5, size=m) + 0.01, 3)

    sl = slice(0, n)
    offsets = np.asarray(OFFSETS_MINUTES, dtype=np.int64)[offset_idx[sl]]
    local = pa.array((ordered[sl] + offsets * 60).astype("datetime64[s]"))
    ordered_text = pc.strftime(local, format="%Y-%m-%dT%H:%M:%S")
    millis_text = pc.binary_join_element_wise(".", pc.utf8_lpad(_int_text(millis[sl]), 3, "0"), "")
    ordered_text = pc.binary_join_element_wise(
        ordered_text,
        pc.if_else(pa.array(with_millis[sl]), millis_text, ""),
        pools.offsets.take(pa.array(offset_idx[sl])),
        "",
    )
    shipped_text = pc.if_else(
        pa.array(shipped_null[sl]),
        "",
        pc.strftime(pa.array(shipped[sl].astype("datetime64[s]")), format="%Y-%m-%d %H:%M:%S"),
    )
    columns = [
        _int_text(ids),
        uuid.slice(0, n),
        pools.customers.take(pa.array(customer_idx[sl])),
        pa.array(STATUSES, pa.string()).take(pa.array(status_idx[sl])),
        _int_text(quantity[sl]),
        _decimal_text(price_cents[sl], 2),
        ordered_text,
        shipped_text,
        pools.notes.take(pa.array(notes_idx[sl])),
        pc.if_else(pa.array(gift[sl]), "true", "false"),
        pools.tags.take(pa.array(tags_idx[sl])),
        pc.cast(pa.array(weight[sl]), pa.string()),
    ]
    lines = pc.binary_join_element_wise(*columns, ",")
    lines = pc.binary_join_element_wise(lines, "\n", "")
    return _string_bytes(lines)


def _string_bytes(values: pa.Array) -> bytes:
    """The concatenated bytes of a string array without nulls."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    start, end = int(offsets[0]), int(offsets[-1])
    data: bytes = values.buffers()[2].slice(start, end - start).to_pybytes()
    return data


def _chunk_ids(ids: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    for index, start in enumerate(range(0, len(ids), CHUNK_ROWS)):
        yield index, ids[start : start + CHUNK_ROWS]


def write_csv(path: Path, ids: np.ndarray, *, seed: int, stream: int) -> None:
    """Write a CSV with a header and one row per id, atomically (via a temporary file)."""
    pools = build_pools(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as out:
        out.write((",".join(COLUMNS) + "\n").encode())
        for index, chunk_ids in _chunk_ids(ids):
            rng = np.random.default_rng([seed, stream, index])
            out.write(make_chunk(pools, chunk_ids, rng))
    tmp.replace(path)


def upsert_ids(rows: int, base_rows: int, seed: int) -> np.ndarray:
    """``rows`` distinct ids in random order: half from ``1..base_rows``, half after it."""
    rng = np.random.default_rng([seed, _UPSERT_IDS])
    n_old = min(rows // 2, base_rows)
    old = rng.choice(base_rows, size=n_old, replace=False) + 1
    new = np.arange(base_rows + 1, base_rows + 1 + rows - n_old)
    ids = np.concatenate([old, new]).astype(np.int64)
    rng.shuffle(ids)
    return ids


def _seed_suffix(seed: int) -> str:
    return "" if seed == DEFAULT_SEED else f"_seed{seed}"


def orders_path(rows: int, seed: int = DEFAULT_SEED, data_dir: Path = DATA_DIR) -> Path:
    return data_dir / f"orders_{rows}{_seed_suffix(seed)}.csv"


def upsert_path(
    rows: int, base_rows: int, seed: int = DEFAULT_SEED, data_dir: Path = DATA_DIR
) -> Path:
    return data_dir / f"upsert_{rows}_over_{base_rows}{_seed_suffix(seed)}.csv"


def ensure_orders(rows: int, *, seed: int = DEFAULT_SEED, data_dir: Path = DATA_DIR) -> Path:
    """The orders file of ``rows`` rows, generated unless it is already there."""
    path = orders_path(rows, seed, data_dir)
    if not path.exists():
        write_csv(path, np.arange(1, rows + 1, dtype=np.int64), seed=seed, stream=_ORDERS)
    return path


def ensure_upsert(
    rows: int, base_rows: int, *, seed: int = DEFAULT_SEED, data_dir: Path = DATA_DIR
) -> Path:
    """The upsert file: ``rows`` rows, half updating ids of the ``base_rows`` file."""
    path = upsert_path(rows, base_rows, seed, data_dir)
    if not path.exists():
        write_csv(path, upsert_ids(rows, base_rows, seed), seed=seed, stream=_UPSERT_VALUES)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--upsert",
        action="store_true",
        help="write the upsert file: half the ids overlap a --base-rows load, half are new",
    )
    parser.add_argument(
        "--base-rows",
        type=int,
        default=None,
        help="rows of the load the upsert file overlaps [default: --rows]",
    )
    parser.add_argument("--out", type=Path, default=None, help="output file [default: data/...]")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    base_rows = args.base_rows if args.base_rows is not None else args.rows

    if args.upsert:
        path = args.out or upsert_path(args.rows, base_rows, args.seed)
        ids = upsert_ids(args.rows, base_rows, args.seed)
        stream = _UPSERT_VALUES
    else:
        path = args.out or orders_path(args.rows, args.seed)
        ids = np.arange(1, args.rows + 1, dtype=np.int64)
        stream = _ORDERS
    if path.exists() and not args.force:
        print(f"{path} exists (pass --force to write it again)", file=sys.stderr)
        return 0
    started = time.perf_counter()
    write_csv(path, ids, seed=args.seed, stream=stream)
    seconds = time.perf_counter() - started
    size = path.stat().st_size
    print(f"wrote {path}: {args.rows:,} rows, {size / 1e6:,.1f} MB in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
