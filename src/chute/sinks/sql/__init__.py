"""The SQL layer: a sink that speaks SQL, and the dialect of each database."""

from chute.sinks.sql.dialect import Dialect
from chute.sinks.sql.sql_sink import SqlSink

__all__ = ["Dialect", "SqlSink"]
