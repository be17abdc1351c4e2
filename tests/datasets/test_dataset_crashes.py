"""A dataset import killed at any instant, then run again, ends as one clean run does; two
imports at once end in a linear chain; two identical imports exclude each other."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import chute
from tests.datasets.conftest import import_rows, write_csv
from tests.helpers import query, tables

COLS = ["id", "name", "qty"]
V1 = [{"id": i, "name": f"n{i}", "qty": i} for i in range(1, 61)]
# v2: 10 changed, 5 removed, 5 added
V2 = [{**r, "qty": -r["id"]} if r["id"] <= 10 else r for r in V1 if r["id"] <= 55] + [
    {"id": i, "name": f"new{i}", "qty": 0} for i in range(100, 105)
]


def _import(
    url: str, path: Path, fault: str | None = None, *, restart: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHUTE_FAULT"}
    if fault:
        env["CHUTE_FAULT"] = fault
    cmd = [
        sys.executable, "-m", "chute", "load", str(path), "--into", url, "--dataset", "orders",
        "--batch-rows", "10", "--quiet", "--rejects", str(path) + ".rejects.jsonl",
        *(["--restart"] if restart else []),
    ]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "fault",
    [
        "after-commit:3:kill",  # staging, part-way
        "completion-mark:1:kill",  # staging done, not marked
        "dataset-written:1:kill",  # the commit written, not committed
        "dataset-written:1:raise",  # the commit fails
        "dataset-committed:1:kill",  # committed; the stage still there
    ],
)
def test_a_killed_import_run_again_ends_as_one_clean_run(
    db_url: str, tmp_path: Path, fault: str
) -> None:
    import_rows(db_url, tmp_path / "v1.csv", COLS, V1)
    path = write_csv(tmp_path / "v2.csv", COLS, V2)
    crashed = _import(db_url, path, fault)
    assert crashed.returncode != 0, crashed.stderr
    with chute.dataset(db_url, "orders") as ds:
        log = ds.log()
    committed = "dataset-committed" in fault
    assert len(log) == (2 if committed else 1)  # published data untouched until the commit
    again = _import(db_url, path)
    assert again.returncode == 0, again.stderr
    with chute.dataset(db_url, "orders") as ds:
        log = ds.log()
    assert len(log) == 2
    assert (log[0]["added"], log[0]["changed"], log[0]["removed"]) == (5, 10, 5)
    got = query(db_url, "SELECT id, name, qty FROM orders ORDER BY id")
    assert got == [(r["id"], r["name"], r["qty"]) for r in sorted(V2, key=lambda r: r["id"])]
    assert not [t for t in tables(db_url) if t.startswith("_chute_dstage_")]


def test_two_imports_into_one_branch_at_once_end_in_a_linear_chain(
    db_url: str, tmp_path: Path
) -> None:
    import_rows(db_url, tmp_path / "v1.csv", COLS, V1)
    a = write_csv(tmp_path / "a.csv", COLS, V2)
    b = write_csv(tmp_path / "b.csv", COLS, V1[:30])
    env = {k: v for k, v in os.environ.items() if k != "CHUTE_FAULT"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chute",
                "load",
                str(p),
                "--into",
                db_url,
                "--dataset",
                "orders",
                "--quiet",
                "--batch-rows",
                "10",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in (a, b)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with chute.dataset(db_url, "orders") as ds:
        log = ds.log()
    assert len(log) == 3
    assert log[0]["parents"] == [log[1]["seq"]] and log[1]["parents"] == [log[2]["seq"]]
    last = V2 if log[0]["message"] == "import a.csv" else V1[:30]
    got = query(db_url, "SELECT id, name, qty FROM orders ORDER BY id")
    assert got == [(r["id"], r["name"], r["qty"]) for r in sorted(last, key=lambda r: r["id"])]


def test_two_identical_imports_at_once_make_one_commit(db_url: str, tmp_path: Path) -> None:
    import_rows(db_url, tmp_path / "v1.csv", COLS, V1)
    path = write_csv(tmp_path / "v2.csv", COLS, V2)
    env = {k: v for k, v in os.environ.items() if k != "CHUTE_FAULT"}
    cmd = [sys.executable, "-m", "chute", "load", str(path), "--into", db_url, "--dataset",
           "orders", "--quiet", "--batch-rows", "5"]  # fmt: skip
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes in ([0, 0], [0, 7]), errors
    with chute.dataset(db_url, "orders") as ds:
        assert len(ds.log()) == 2


def test_a_stage_the_database_lost_is_refused_and_a_restart_imports_it_whole(
    pg_url: str, tmp_path: Path
) -> None:
    """PostgreSQL's stage is UNLOGGED (no WAL): a server crash leaves it empty while the
    checkpoints (logged) say rows were stored. Emptying it by hand stands for the crash."""
    import_rows(pg_url, tmp_path / "v1.csv", COLS, V1)
    path = write_csv(tmp_path / "v2.csv", COLS, V2)
    assert _import(pg_url, path, "after-commit:3:kill").returncode != 0
    stages = query(
        pg_url,
        "SELECT relname, relpersistence FROM pg_class WHERE relkind = 'r' AND relname LIKE "
        "'\\_chute\\_dstage\\_%'",
    )
    assert len(stages) == 1 and stages[0][1] == "u", stages
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {stages[0][0]}")
    lost = _import(pg_url, path)
    assert lost.returncode == 2, lost.stderr
    assert "holds 30 rows where the import stored 60" in lost.stderr  # 30 lost
    assert "--restart" in lost.stderr
    with chute.dataset(pg_url, "orders") as ds:
        assert len(ds.log()) == 1  # nothing committed
    again = _import(pg_url, path, restart=True)
    assert again.returncode == 0, again.stderr
    with chute.dataset(pg_url, "orders") as ds:
        stat = ds.diff("main~1", "main").stat()
    assert (stat["changed"], stat["added"], stat["removed"]) == (10, 5, 5)
