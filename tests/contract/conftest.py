"""The ``target`` fixture: every contract test runs once per sink of ``targets.SINKS``.

A sink is skipped, loudly, when this checkout does not register its URL scheme, when the
driver the suite reads it back with is not installed, or when its server cannot be reached;
with ``CHUTE_REQUIRE_SERVICES=1`` (CI) each of those fails instead, so that once every sink
is merged all of them run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import chute
from tests.conftest import REQUIRE_SERVICES
from tests.contract.targets import (
    MYSQL_DRIVER,
    MYSQL_URL,
    SINKS,
    MysqlReader,
    SinkSpec,
    SinkTarget,
    mysql_connect,
    new_mysql_database,
    with_database,
)
from tests.snowflake_server import throwaway_schema

_REGISTERED: dict[str, str | None] = {}


def _unavailable(spec: SinkSpec, why: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"CHUTE_REQUIRE_SERVICES=1 but the {spec.name} sink cannot run: {why}")
    pytest.skip(f"SKIPPING THE CONTRACT ON {spec.name.upper()}: {why}")


def _check_registered(target: SinkTarget) -> None:
    """Skip (or fail) unless chute opens the target's URL scheme, asked through the public
    API: a load of a file that does not exist fails on the URL's scheme first when it is
    unknown (and on the missing file, before connecting, when it is known)."""
    spec = target.spec
    if spec.scheme not in _REGISTERED:
        problem = None
        try:
            chute.load(target.tmp / "no-such-input.csv", into=target.url, table="t")
        except chute.ConfigError as exc:
            if "scheme" in str(exc):
                problem = f"the URL scheme {spec.scheme}:// is not registered here ({exc})"
        except chute.ChuteError:
            pass
        _REGISTERED[spec.scheme] = problem
    problem = _REGISTERED[spec.scheme]
    if problem:
        _unavailable(spec, problem)


@pytest.fixture(params=SINKS, ids=[s.name for s in SINKS])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SinkTarget]:
    spec: SinkSpec = request.param
    monkeypatch = request.getfixturevalue("monkeypatch")
    for name, value in spec.settings:
        monkeypatch.setattr(name, value)
    for pattern, reason in spec.xfail:
        name = request.node.name
        if name == pattern or (pattern.endswith("*") and name.startswith(pattern[:-1])):
            if reason.startswith("skip: "):
                pytest.skip(f"{spec.name}: {reason[6:]}")
            request.applymarker(pytest.mark.xfail(reason=f"{spec.name}: {reason}", strict=True))
    if spec.scheme == "sqlite":
        yield _registered(SinkTarget(spec, f"sqlite:///{tmp_path / 'contract.db'}", tmp_path))
    elif spec.scheme == "postgresql":
        yield _registered(SinkTarget(spec, str(request.getfixturevalue("pg_url")), tmp_path))
    elif spec.scheme == "duckdb":
        url = f"duckdb:///{tmp_path / 'contract.duckdb'}"
        target = _registered(SinkTarget(spec, url, tmp_path))
        try:
            import duckdb  # noqa: F401
        except ImportError as exc:
            _unavailable(spec, f"the duckdb module is not installed ({exc})")
        yield target
    elif spec.scheme == "mysql":
        yield from _mysql_target(spec, tmp_path)
    elif spec.scheme == "snowflake":
        base = request.getfixturevalue("snowflake_base")
        with throwaway_schema(base) as url:
            yield _registered(SinkTarget(spec, url, tmp_path))
    else:  # pragma: no cover - a new sink needs a place here
        pytest.fail(f"no throwaway place is known for the {spec.name} sink")


def _mysql_target(spec: SinkSpec, tmp_path: Path) -> Iterator[SinkTarget]:
    parts = urlsplit(MYSQL_URL)
    server = MysqlReader(MYSQL_URL)
    try:
        admin = mysql_connect(server.host, server.port, server.user, server.password, None)
    except ImportError as exc:
        _unavailable(spec, f"the MySQL driver {MYSQL_DRIVER} is not installed ({exc})")
    except Exception as exc:  # the driver's OperationalError
        _unavailable(spec, f"MariaDB at {parts.hostname}:{parts.port} is not reachable: {exc}")
    name = new_mysql_database()
    try:
        # the server's default character set and collation: the sink must cope with them
        admin.cursor().execute(f"CREATE DATABASE `{name}`")
        yield _registered(SinkTarget(spec, with_database(MYSQL_URL, name), tmp_path))
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def _registered(target: SinkTarget) -> SinkTarget:
    _check_registered(target)
    return target
