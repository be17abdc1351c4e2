"""Where the Snowflake tests write: a real account, or the fakesnow stand-in in server mode.

With ``CHUTE_TEST_SNOWFLAKE_URL`` (``snowflake://user:pw@account/DB/ANY?warehouse=WH``)
each test gets a schema ``CHUTE_C_<random>`` in that database, dropped after it.  Without
it, :func:`fakesnow_server` starts fakesnow's HTTP server on a free loopback port (in a
thread of the test process), and the official connector talks to it over
``protocol=http``: chute's whole code path runs, PUT and COPY included.  Each test gets a
schema of its own there too.  fakesnow not installed: skipped, or failed under
``CHUTE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

#: a real account to run the Snowflake tests against (else the fakesnow stand-in)
REAL_URL = os.environ.get("CHUTE_TEST_SNOWFLAKE_URL")
#: the database the stand-in's schemas are made in
FAKE_DATABASE = "CHUTE_TEST"


#: what the Snowflake contract run cannot pass, and why (test ids, or their start and a "*")
_SNOWFLAKE = (
    (
        "test_replace_keeps_the_shape_of_the_table_its_key_and_not_null[snowflake]",
        "Snowflake does not enforce PRIMARY KEY constraints: the test's own INSERT of a "
        "repeated key is stored (chute refuses repeats itself; fakesnow answers HTTP 500)",
    ),
)
#: a load killed inside its transaction leaves that transaction open on the server: Snowflake
#: keeps it, and its locks, until it aborts the dead session's transaction (the rerun waits,
#: up to LOCK_TIMEOUT); fakesnow keeps it until the server stops (the rerun's write conflicts)
_KILLED_IN_TRANSACTION = (
    "test_kill_9_at_a_fault_point_then_a_rerun_stores_each_row_once[snowflake-before-commit*",
    "test_kill_9_in_an_upsert_with_keys_repeated_across_batches_resumes_with_clean_counts"
    "[snowflake]",
    "test_a_staged_load_killed_leaves_the_table_as_it_was_then_publishes_once"
    "[snowflake---atomic-before-commit*",
)
_KILLED = (
    "a load killed inside its open transaction leaves it open on the server, holding its "
    "locks: Snowflake keeps it until it aborts the dead session's transaction (the rerun "
    "waits), fakesnow for as long as it runs (the rerun's write conflicts: HTTP 500)"
)
#: the stand-in differs from Snowflake
_FAKESNOW = (
    (
        "test_each_kind_of_csv_value_gets_its_type_and_round_trips[snowflake]",
        "fakesnow's server sends a NULL TIMESTAMP_NTZ/TZ as 1970-01-01 (the stored value IS "
        "NULL; its arrow-to-Snowflake result conversion loses the NULL)",
    ),
    (
        "test_python_values_from_an_iterable_round_trip[snowflake]",
        "fakesnow's server sends a NULL TIMESTAMP_NTZ as 1970-01-01 (the stored value IS NULL)",
    ),
    # writer sessions (tests/contract/test_sessions.py, on main): a session makes a new
    # table over a second connection inside a transaction (DDL would commit it); Snowflake
    # reads committed (the table is there for the next statement), DuckDB under fakesnow
    # keeps the transaction's snapshot, where the table does not exist yet
    *(
        (
            f"{name}[snowflake]",
            "fakesnow keeps a transaction's snapshot (DuckDB): a table another connection "
            "made during it is not there; Snowflake reads committed",
        )
        for name in (
            "test_a_transaction_of_three_tables_commits_them_together",
            "test_a_block_that_raises_stores_nothing_of_any_table",
            "test_the_async_session_shares_the_sync_one",
        )
    ),
)


def snowflake_xfails() -> tuple[tuple[str, str], ...]:
    """The contract tests the Snowflake run marks: strict xfail on the stand-in; on a real
    account only what Snowflake itself does differently (a killed load is skipped there:
    its rerun would wait for the dead session's locks)."""
    if REAL_URL:
        return (*_SNOWFLAKE, *((p, f"skip: {_KILLED}") for p in _KILLED_IN_TRANSACTION))
    return (*_SNOWFLAKE, *((p, _KILLED) for p in _KILLED_IN_TRANSACTION), *_FAKESNOW)


#: fakesnow's server, in a process of its own: in the test process its DuckDB would grow the
#: RSS that chute sizes batches by, and later tests would see other batches than they ask for
_SERVE = """
import os
import sys
import fakesnow
port_out = os.fdopen(os.dup(1), "w")
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the server's access log: nobody reads it
with fakesnow.server() as kwargs:
    print(kwargs["port"], file=port_out, flush=True)
    sys.stdin.read()  # until the tests close it (or end)
"""


@contextmanager
def fakesnow_server() -> Iterator[str]:
    """fakesnow's server, in a process of its own; yields the base URL
    (``.../CHUTE_TEST/PUBLIC?...``)."""
    import fakesnow  # noqa: F401 - ImportError: the caller skips or fails

    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.strip().isdigit():
                proc.wait(timeout=10)
                log.seek(0)
                raise RuntimeError(f"fakesnow's server did not start: {log.read()[-2000:]}")
            yield (
                f"snowflake://fake:snow@fakesnow/{FAKE_DATABASE}/PUBLIC?warehouse=CHUTE"
                f"&host=127.0.0.1&port={int(line)}&protocol=http"
                # a request the stand-in fails (HTTP 500) fails the test, not retried for minutes
                "&network_timeout=5"
            )
        finally:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    database = parts.path.strip("/").split("/")[0]
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}/{schema}", parts.query, ""))


def _admin(url: str) -> Any:
    import snowflake.connector

    from chute.sinks.snowflake_url import connect_args

    return snowflake.connector.connect(**connect_args(url))


@contextmanager
def throwaway_schema(base_url: str) -> Iterator[str]:
    """A schema made for one test in ``base_url``'s database, dropped after it; yields
    the URL naming it."""
    schema = f"CHUTE_C_{uuid.uuid4().hex[:12].upper()}"
    url = with_schema(base_url, schema)
    database = urlsplit(base_url).path.strip("/").split("/")[0]
    admin = _admin(base_url)
    try:
        admin.cursor().execute(f"CREATE SCHEMA IF NOT EXISTS {database}.{schema}")
        yield url
    finally:
        admin.cursor().execute(f"DROP SCHEMA IF EXISTS {database}.{schema} CASCADE")
        admin.close()


@pytest.fixture(scope="session")
def snowflake_base() -> Iterator[str]:
    """A real account's URL (``CHUTE_TEST_SNOWFLAKE_URL``), or fakesnow's server started for
    the session; without fakesnow: skipped, or failed under ``CHUTE_REQUIRE_SERVICES=1``."""
    from tests.conftest import service_missing

    if REAL_URL:
        yield REAL_URL
        return
    try:
        server = fakesnow_server()
        base = server.__enter__()
    except ImportError as exc:
        service_missing("snowflake", f"fakesnow (the Snowflake stand-in) is not installed ({exc})")
    try:
        yield base
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def snowflake_url(snowflake_base: str) -> Iterator[str]:
    """A URL whose schema is made for this test and dropped after it."""
    with throwaway_schema(snowflake_base) as url:
        yield url
