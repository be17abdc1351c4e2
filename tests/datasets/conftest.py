"""Helpers for the dataset tests: write a version of a table as a CSV file, import it, read
a dataset's views back with an independent driver."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import chute
from chute.report import LoadReport
from tests.helpers import query


def write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(columns)
        for row in rows:
            w.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return path


def import_rows(
    url: str,
    path: Path,
    columns: list[str],
    rows: list[dict[str, Any]],
    *,
    dataset: str = "orders",
    key: str | None = "id",
    branch: str = "main",
    message: str = "",
) -> LoadReport:
    write_csv(path, columns, rows)
    return chute.load(
        str(path), into=url, dataset=dataset, key=key, branch=branch, message=message,
        rejects=str(path) + ".rejects.jsonl",
    )  # fmt: skip


def view(url: str, name: str, order: str = "id") -> list[tuple[Any, ...]]:
    return query(url, f"SELECT * FROM {name} ORDER BY {order}")
