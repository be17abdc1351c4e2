"""Old home of the SQLSTATE table: it lives behind the dialects now
(:mod:`chute.sinks.sql.dialect`)."""

from chute.sinks.sql.dialect import CONFIG

__all__ = ["CONFIG"]
