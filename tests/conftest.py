"""Shared fixtures: a throwaway PostgreSQL database per test session, SQLite files per test.

PostgreSQL comes from ``CHUTE_TEST_POSTGRES_URL`` (default: the local server).  When it
cannot be reached the tests that need it are skipped with the reason, unless
``CHUTE_REQUIRE_SERVICES=1`` (set by ``.ci/run``), which makes them fail instead.  RabbitMQ
(``broker``) is handled the same way.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest

# the Snowflake stand-in: one fakesnow server for the whole test session, whichever tests
# ask for it first (two would each import fakesnow.server, and the second finds a module
# where the function was)
from tests.snowflake_server import snowflake_base as snowflake_base
from tests.snowflake_server import snowflake_url as snowflake_url

POSTGRES_URL = os.environ.get(
    "CHUTE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_SERVICES = os.environ.get("CHUTE_REQUIRE_SERVICES") == "1"


def service_missing(tests: str, why: str) -> NoReturn:
    """A service the tests need cannot run: skip them loudly, or fail under
    ``CHUTE_REQUIRE_SERVICES=1``."""
    if REQUIRE_SERVICES:
        pytest.fail(f"CHUTE_REQUIRE_SERVICES=1 but {why}")
    pytest.skip(f"SKIPPING THE {tests.upper()} TESTS: {why}")


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a database made for this test session, dropped at the end."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}".strip()
        if REQUIRE_SERVICES:
            pytest.fail(f"CHUTE_REQUIRE_SERVICES=1 but {message}")
        pytest.skip(f"SKIPPING POSTGRESQL TESTS: {message}")
    name = f"chute_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _with_database(POSTGRES_URL, name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """The session database, emptied of tables after each test."""
    yield postgres_server
    import psycopg

    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="session")
def broker() -> str:
    """The URL of the RabbitMQ the tests use (``CHUTE_TEST_AMQP_URL``, default the local
    broker), skipped or failed like PostgreSQL when it cannot be reached."""
    from tests.amqp_helpers import AMQP_URL, broker_problem

    problem = broker_problem()
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(f"CHUTE_REQUIRE_SERVICES=1 but {problem}")
        pytest.skip(f"SKIPPING RABBITMQ TESTS: {problem}")
    return AMQP_URL


@pytest.fixture
def queue(broker: str) -> Iterator[str]:
    """A fresh queue name (not declared); it, its dead-letter queue and theirs are deleted
    afterwards."""
    from tests.amqp_helpers import delete_queues

    name = f"chute-test-{uuid.uuid4().hex[:10]}"
    yield name
    dlq = f"{name}.dead-letter"
    delete_queues(name, dlq, f"{dlq}.dead-letter")
