"""A throwaway MariaDB/MySQL database per test: fixtures and read-back helpers.

The server comes from ``CHUTE_TEST_MYSQL_URL`` (default: root on the local MariaDB).  When it
cannot be reached the tests that need it are skipped with the reason, unless
``CHUTE_REQUIRE_SERVICES=1``, which makes them fail instead (as for PostgreSQL).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import pymysql
import pytest

MYSQL_URL = os.environ.get("CHUTE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql")
REQUIRE_SERVICES = os.environ.get("CHUTE_REQUIRE_SERVICES") == "1"


def connect(url: str, *, database: bool = True) -> Any:
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")) if database else None,
        autocommit=True,
        connect_timeout=5,
        init_command="SET SESSION time_zone = '+00:00', sql_mode = 'ANSI_QUOTES'",
    )


def mysql_query(url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def mysql_execute(url: str, *statements: str) -> None:
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A database made for this test (``chute_test_<random>``), dropped after it."""
    try:
        admin = connect(MYSQL_URL, database=False)
    except pymysql.MySQLError as exc:
        message = f"MySQL/MariaDB at {MYSQL_URL} is not reachable: {exc}"
        if REQUIRE_SERVICES:
            pytest.fail(f"CHUTE_REQUIRE_SERVICES=1 but {message}")
        pytest.skip(f"SKIPPING MYSQL TESTS: {message}")
    name = f"chute_test_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(MYSQL_URL)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        yield urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
