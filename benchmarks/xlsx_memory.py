"""Excel sources (issue 15): speed and peak memory of ``chute load`` of an ``.xlsx`` workbook
at growing sizes (openpyxl's read-only mode), beside the readers that hold the whole sheet:
python-calamine (Rust) at every size and pandas' ``read_excel`` at the smallest.

::

    python benchmarks/xlsx_memory.py                     # 20,000, 200,000 and 1,000,000 rows
    python benchmarks/xlsx_memory.py --rows 20000 100000

Each workbook holds the first rows of the orders file (``generate.py``) as typed cells:
integers, decimals, doubles, booleans and text as their Excel types, the timestamps as text
(Excel keeps no time zones).  It is made once with openpyxl's write-only mode under
``benchmarks/data/``.  Each load is a ``chute load`` process into a new SQLite file; its
report gives rows/s and the peak RSS.  Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import generate

HERE = Path(__file__).resolve().parent


def workbook(rows: int) -> Path:
    """The workbook of the first ``rows`` orders, made unless already there."""
    path = generate.DATA_DIR / f"orders_{rows}.xlsx"
    if path.exists():
        return path
    from openpyxl import Workbook

    source = generate.ensure_orders(max(rows, 20_000))
    book = Workbook(write_only=True)
    sheet = book.create_sheet("orders")
    started = time.perf_counter()
    with open(source, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        sheet.append(next(reader))
        for i, r in enumerate(reader):
            if i == rows:
                break
            sheet.append(
                [int(r[0]), r[1], r[2], r[3], int(r[4]), float(r[5]), r[6], r[7] or None,
                 r[8] or None, r[9] == "true", r[10], float(r[11])]
            )  # fmt: skip
    tmp = path.with_suffix(".part")
    book.save(tmp)
    tmp.rename(path)
    print(f"  made {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def chute_load(path: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [
            sys.executable, "-m", "chute", "load", str(path), "--into",
            f"sqlite:///{tmp}/x.db", "--table", "orders", "--quiet", "--report", str(report),
        ]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(cmd, check=True)
        seconds = time.perf_counter() - started
        got = json.loads(report.read_text())
    return {
        "rows": got["written"],
        "seconds": seconds,
        "rows_per_s": got["written"] / seconds,
        "peak_mib": got["peak_rss_bytes"] / 2**20,
    }


def pandas_read(path: Path) -> dict[str, float]:
    """pandas' ``read_excel`` (openpyxl, the whole sheet in a data frame), no database."""
    return _read_in_child(
        "import pandas", f"rows = len(pandas.read_excel({str(path)!r}, engine='openpyxl'))"
    )


def calamine_read(path: Path) -> dict[str, float]:
    """python-calamine (Rust) reading the whole sheet into Python lists, no database."""
    return _read_in_child(
        "from python_calamine import CalamineWorkbook",
        f"rows = len(CalamineWorkbook.from_path({str(path)!r}).get_sheet_by_index(0)"
        ".to_python()) - 1",
    )


def _read_in_child(setup: str, read: str) -> dict[str, float]:
    """Run ``setup``, then time ``read`` (which sets ``rows``), in a process of its own:
    rows, seconds, peak RSS."""
    code = (
        f"import resource, time; {setup}; t = time.perf_counter(); {read}; "
        "print(rows, time.perf_counter() - t, "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    rows, seconds, peak = out.stdout.split()
    return {"rows": int(rows), "seconds": float(seconds), "peak_mib": float(peak)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000, 1_000_000])
    args = parser.parse_args(argv)
    lines = [
        "| input | size | tool | rows | seconds | rows/s | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for rows in args.rows:
        path = workbook(rows)
        size = f"{path.stat().st_size / 2**20:.1f} MiB"
        got = chute_load(path)
        lines.append(
            f"| {path.name} | {size} | chute load | {got['rows']:,.0f} | {got['seconds']:.1f} | "
            f"{got['rows_per_s']:,.0f} | {got['peak_mib']:.0f} MiB |"
        )
        print(lines[-1], flush=True)
        readers = [("python-calamine, whole sheet (read only, no database)", calamine_read)]
        if rows == min(args.rows):
            readers.append(("pandas.read_excel (read only, no database)", pandas_read))
        for tool, read in readers:
            got = read(path)
            lines.append(
                f"| {path.name} | {size} | {tool} | {got['rows']:,.0f} | {got['seconds']:.1f} | "
                f"{got['rows'] / got['seconds']:,.0f} | {got['peak_mib']:.0f} MiB |"
            )
            print(lines[-1], flush=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
