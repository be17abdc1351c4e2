"""The import service tells a Parquet upload by its first bytes, whatever its name."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from chute.service.sniff import Sniffed, sniff


def test_a_parquet_upload_is_told_by_its_magic_not_its_name(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    pq.write_table(pa.table({"id": [1, 2]}), path)
    assert sniff(path, "orders.csv") == Sniffed("parquet")
    text = tmp_path / "orders.parquet"
    text.write_text("id\n1\n")
    assert sniff(text, "orders.parquet") == Sniffed("csv", "utf-8")
