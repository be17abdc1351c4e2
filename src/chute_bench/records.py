"""The records every strategy of ``chute bench`` loads, and the figures they share.

Every strategy reads the same records from :func:`records` (deterministic, generated while
they are written, as an application would produce them).  The database's own bulk paths get
them as Arrow batches (:func:`arrow_batches`) or as a delimited file (:func:`write_delimited`),
made inside the timed part, as an application would have to.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

COLUMNS = ("id", "name", "amount", "created_at", "active")
#: the table each strategy writes to: chute_bench_<strategy>
TABLE_PREFIX = "chute_bench_"
SEED = 20240229
SAMPLE_ROWS = 2_000  # row by row writes at most this many rows ...
SAMPLE_SECONDS = 10.0  # ... or for at most this long, and is extrapolated to the rest
VALUES_ROWS = 1_000  # rows per multi-row INSERT ... VALUES statement
ARROW_BATCH_ROWS = 10_000  # rows per Arrow batch sent by a bulk path (COPY, DuckDB's Arrow scan)
CHUTE_BATCH_ROWS = 10_000  # the fixed batch size of chute_fixed

_FIRST = ("Ann", "Bob", "Chidi", "Dagmar", "Eun-ji", "François", "Guo", "Hannelore", "Ivo")
_LAST = ("Ng", "Okafor", "Smith", "Łukasiewicz", "van der Berg", "Yamamoto-Fischer", "O'Neil")
_EPOCH = datetime(2024, 1, 1)


def records(rows: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """``rows`` synthetic records, the same for the same ``rows`` and ``seed``: a growing
    bigint id, a name, an exact amount with two decimals, a timestamp and a flag."""
    rng = random.Random(seed)
    for i in range(1, rows + 1):
        yield {
            "id": i,
            "name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            "amount": Decimal(rng.randrange(-100_000, 100_000_000)).scaleb(-2),
            "created_at": _EPOCH + timedelta(microseconds=rng.randrange(366 * 86_400 * 10**6)),
            "active": rng.random() < 0.7,
        }


def arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("amount", pa.decimal128(12, 2)),
            ("created_at", pa.timestamp("us")),
            ("active", pa.bool_()),
        ]
    )


def arrow_batches(rows: int) -> pa.RecordBatchReader:
    """The records as a stream of Arrow batches of ARROW_BATCH_ROWS, built from the dicts."""
    import pyarrow as pa

    schema = arrow_schema()

    def batches() -> Iterator[pa.RecordBatch]:
        source = records(rows)
        while chunk := list(islice(source, ARROW_BATCH_ROWS)):
            yield pa.RecordBatch.from_pylist(chunk, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def write_delimited(rows: int, path: Path, *, header: bool) -> None:
    """The records as tab-separated text: backslash escapes, booleans as 1/0, no quoting."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        if header:
            out.write("\t".join(COLUMNS) + "\n")
        for r in records(rows):
            created = r["created_at"].isoformat(" ")
            active = "1" if r["active"] else "0"
            out.write(f"{r['id']}\t{_escape(r['name'])}\t{r['amount']}\t{created}\t{active}\n")


def peak_rss_bytes() -> int | None:
    """The process's peak resident memory so far (``getrusage``), or None where unknown."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)
