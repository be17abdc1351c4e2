"""PostgreSQL through ADBC (the driver chute itself uses), and its own bulk path: COPY."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

from chute_bench.records import COLUMNS, arrow_batches
from chute_bench.targets.base import Job, Outcome, Session, Strategy, Target


def copy(job: Job, target: Target) -> Outcome:
    """Binary COPY through ADBC's bulk ingest, fed Arrow batches built from the dicts, one
    transaction."""
    with target.session() as db:
        db.cur.adbc_ingest(job.table, arrow_batches(job.rows), mode="append")
        db.commit()
    return Outcome(job.rows)


class PostgresTarget(Target):
    name = "PostgreSQL"
    ddl = (
        "CREATE TABLE {t} (id bigint PRIMARY KEY, name text, amount numeric(12,2), "
        "created_at timestamp, active boolean)"
    )
    own: ClassVar[dict[str, Strategy]] = {"copy": Strategy("COPY", copy)}

    def session(self) -> Session:
        import adbc_driver_postgresql.dbapi as pgdbapi

        # postgres:// and postgresql+driver:// as libpq wants them, like chute's sink does
        return Session(pgdbapi.connect(urlunsplit(("postgresql", *urlsplit(self.url)[1:]))))

    def version(self, db: Session) -> str:
        ((version,),) = db.fetch("SELECT current_setting('server_version')")
        return str(version).split()[0]

    def placeholders(self, rows: int) -> str:
        n = len(COLUMNS)
        return ", ".join(
            "(" + ", ".join(f"${r * n + c + 1}" for c in range(n)) + ")" for r in range(rows)
        )
