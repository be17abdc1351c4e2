"""MySQL and MariaDB through PyMySQL, and their own bulk path: ``LOAD DATA LOCAL INFILE``.

``LOAD DATA`` turns data errors into warnings, even in strict mode: the baseline reads them
and fails on any, so its figure is for rows stored exactly, as chute's are.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from chute_bench.records import COLUMNS, write_delimited
from chute_bench.targets.base import Job, Outcome, Session, Strategy, Target


def load_data_local(job: Job, target: Target) -> Outcome:
    """The records written to a tab-separated file (timed), then ``LOAD DATA LOCAL INFILE``
    of it, one transaction."""
    cols = ", ".join(target.quote(c) for c in COLUMNS)
    with tempfile.TemporaryDirectory(prefix="chute-bench-") as tmp:
        path = Path(tmp) / "records.tsv"
        write_delimited(job.rows, path, header=False)
        with target.session() as db:
            db.begin()
            db.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {target.quote(job.table)} "
                "CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                f"LINES TERMINATED BY '\\n' ({cols})",
                (str(path),),
            )
            warnings = db.fetch("SHOW WARNINGS LIMIT 1")
            if warnings:
                raise RuntimeError(f"LOAD DATA warned: {warnings[0][2]}")
            db.commit()
    return Outcome(job.rows)


def connect_args(url: str) -> dict[str, Any]:
    """PyMySQL's keywords for ``mysql://user:password@host:port/database``."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": unquote(parts.path.lstrip("/")) or None,
    }


class MysqlTarget(Target):
    name = "MySQL"
    ddl = (
        "CREATE TABLE {t} (id BIGINT PRIMARY KEY, name TEXT, amount DECIMAL(12,2), "
        "created_at DATETIME(6), active BOOLEAN) DEFAULT CHARSET=utf8mb4"
    )
    own: ClassVar[dict[str, Strategy]] = {
        "load_data_local": Strategy("LOAD DATA LOCAL INFILE", load_data_local)
    }

    def session(self) -> Session:
        import pymysql

        conn = pymysql.connect(
            **connect_args(self.url),
            charset="utf8mb4",
            autocommit=False,
            local_infile=True,
            init_command="SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')",
        )
        return Session(conn)

    def version(self, db: Session) -> str:
        ((version,),) = db.fetch("SELECT VERSION()")
        return str(version)  # 10.11.6-MariaDB-0+deb12u1-log, 8.4.3

    def identify(self, db: Session) -> tuple[str, str]:
        version = self.version(db)
        return ("MariaDB" if "MariaDB" in version else "MySQL"), version.split("-")[0]

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def placeholders(self, rows: int) -> str:
        group = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
        return ", ".join([group] * rows)
