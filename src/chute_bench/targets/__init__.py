"""The databases ``chute bench`` measures, by URL scheme: each maps to a :class:`Target`
with its plain driver and its own bulk paths.  Adding a database is one line here and one
module beside this one."""

from __future__ import annotations

import importlib

from chute_bench.targets.base import Job, Outcome, Session, Strategy, Target

__all__ = ["TARGETS", "Job", "Outcome", "Session", "Strategy", "Target", "scheme", "target_for"]

#: URL scheme -> "module:class" of its target (imported when used: each needs its driver)
TARGETS: dict[str, str] = {
    "sqlite": "chute_bench.targets.sqlite:SqliteTarget",
    "postgresql": "chute_bench.targets.postgres:PostgresTarget",
    "postgres": "chute_bench.targets.postgres:PostgresTarget",
    "mysql": "chute_bench.targets.mysql:MysqlTarget",
    "mariadb": "chute_bench.targets.mysql:MysqlTarget",
    "duckdb": "chute_bench.targets.duckdb:DuckdbTarget",
}


def scheme(url: str) -> str:
    """``postgresql+adbc://…`` → ``postgresql``."""
    return url.partition("://")[0].lower().split("+")[0]


def target_for(url: str) -> Target | None:
    """The target for ``url``, or None when chute bench does not measure its database."""
    where = TARGETS.get(scheme(url))
    if where is None:
        return None
    module, name = where.split(":")
    cls: type[Target] = getattr(importlib.import_module(module), name)
    return cls(url)
