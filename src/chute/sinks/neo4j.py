"""Neo4j (``neo4j://user:password@host:7687/database``, also ``bolt://``) through the official
``neo4j`` driver (with ``neo4j-rust-ext``, its packing in Rust, when installed).

A batch is one explicit write transaction: the status reads, the writes of its nodes and
relationships, its checkpoint and its rejects, committed together.  The database's error
*codes* decide: a constraint violation refuses a duplicate key, a type error a value, a
transient error (deadlock, leader switch) makes the engine write the batch again.  Keys are
made unique with ``CREATE CONSTRAINT … IF NOT EXISTS``; a server that cannot make one gets
an index instead, and the report says so.  Two runs of one load exclude each other through
a lease on a ``_ChuteLock`` node (:mod:`chute.sinks.neo4j_lock`).
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from urllib.parse import unquote, urlsplit

from chute.errors import ConfigError, RecordError, Refusal, SinkError, SinkUnavailableError
from chute.graph import cypher
from chute.sinks.graph import GraphSink
from chute.sinks.locks import Holder
from chute.sinks.neo4j_lock import LeaseLock, ensure_lock_constraint
from chute.urls import redact

try:
    import neo4j
    from neo4j import exceptions as neo4j_errors
except ImportError as exc:  # pragma: no cover - the graph extra is missing
    raise ConfigError(
        f"the neo4j:// sink needs the neo4j driver ({exc.name} is not installed)",
        hint="pip install 'chute[graph]'",
    ) from None

#: Neo4j's codes for a record the database refuses (the rest fail the load)
_REFUSED = {
    "Neo.ClientError.Schema.ConstraintValidationFailed": Refusal.DUPLICATE_KEY,
    "Neo.ClientError.Statement.TypeError": Refusal.VALUE,
    "Neo.ClientError.Statement.ArgumentError": Refusal.VALUE,
    "Neo.ClientError.Statement.SemanticError": Refusal.VALUE,
}


class Neo4jSink(GraphSink):
    schemes = ("neo4j", "bolt")

    def __init__(self, url: str) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        try:
            port = parts.port or 7687
        except ValueError:
            raise ConfigError(f"bad port in {redact(url)!r}") from None
        scheme = parts.scheme.lower()
        self._uri = f"{scheme}://{parts.hostname or '127.0.0.1'}:{port}"
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else ""
        self._auth = (user, password) if user else None
        self.database = unquote(parts.path.strip("/")) or None
        self._driver: Any = None
        self._session: Any = None
        self._tx: Any = None

    @property
    def display_url(self) -> str:
        return redact(self.url)

    def connect(self) -> None:
        try:
            self._driver = neo4j.GraphDatabase.driver(
                self._uri, auth=self._auth, connection_timeout=self.connect_timeout or 10
            )
            self._driver.verify_connectivity()
        except neo4j_errors.AuthError as exc:
            self._close_driver()
            raise SinkUnavailableError(
                f"cannot connect to {self.display_url}: {exc.message or exc}",
                hint="check the user and password in the URL",
            ) from None
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.DriverError, OSError) as exc:
            self._close_driver()
            raise SinkUnavailableError(
                f"cannot connect to {self.display_url}: {exc}",
                hint="is the server running at that host and port?",
            ) from None
        self._session = self._driver.session(database=self.database)

    # -- two runs of one load

    def lock_load(self, name: str, holder: Holder) -> LeaseLock:
        ensure_lock_constraint(self._session)
        return LeaseLock.take(self._driver, self.database, name, holder)

    def _close_driver(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def close(self) -> None:
        if self._tx is not None:
            self._tx.close()
            self._tx = None
        if self._session is not None:
            self._session.close()
            self._session = None
        self._close_driver()

    # -- statements

    def _runner(self) -> Any:
        return self._tx if self._tx is not None else self._session

    def _read(self, query: str, params: dict[str, Any]) -> list[list[Any]]:
        self.statements += 1
        try:
            result = self._runner().run(query, params)
            return [list(r.values()) for r in result]
        except neo4j_errors.Neo4jError as exc:
            raise self._error(exc) from None
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError) as exc:
            raise self._lost(exc) from None

    def _write(self, query: str, params: dict[str, Any]) -> None:
        self.statements += 1
        try:
            self._runner().run(query, params).consume()
        except neo4j_errors.Neo4jError as exc:
            raise self._error(exc) from None
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError) as exc:
            raise self._lost(exc) from None

    def _error(self, exc: neo4j_errors.Neo4jError) -> Exception:
        code = exc.code or ""
        message = exc.message or str(exc)
        if isinstance(exc, neo4j_errors.TransientError):
            return RecordError(f"Neo4j: {message} ({code})", sqlstate=code, refusal=Refusal.RETRY)
        refusal = _REFUSED.get(code)
        if refusal is not None:
            return RecordError(f"Neo4j refused: {message}", sqlstate=code, refusal=refusal)
        return SinkError(f"Neo4j failed: {message} ({code})", sqlstate=code)

    def _lost(self, exc: Exception) -> SinkError:
        return SinkUnavailableError(
            f"lost the connection to {self.display_url}: {exc}",
            hint="committed batches are kept: run the same command again to go on",
        )

    # -- transactions

    def _begin(self) -> None:
        self._tx = self._session.begin_transaction()

    def _commit(self) -> None:
        tx, self._tx = self._tx, None
        if tx is None:
            return
        self.statements += 1
        try:
            tx.commit()
        except neo4j_errors.Neo4jError as exc:
            raise self._error(exc) from None
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError) as exc:
            raise self._lost(exc) from None

    def _rollback(self) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            # a transaction the server ended is rolled back already
            with suppress(neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError):
                tx.rollback()

    # -- keys

    def _ensure_unique(self, label: str, prop: str) -> str | None:
        try:
            summary = self._session.run(cypher.neo4j_constraint(label, prop)).consume()
            return "unique" if summary.counters.constraints_added else None
        except neo4j_errors.ClientError as exc:
            raise ConfigError(
                f"cannot make {label}.{prop} unique: {exc.message or exc}",
                hint=f"nodes already there may share a value: MATCH (n:{label}) WITH n.{prop} "
                "AS k, count(*) AS c WHERE c > 1 RETURN k, c",
            ) from None
        except neo4j_errors.DatabaseError:
            # a server of the Bolt protocol without constraints (FalkorDB's Bolt port)
            try:
                self._session.run(
                    f"CREATE INDEX FOR (n:{cypher.q(label)}) ON (n.{cypher.q(prop)})"
                ).consume()
            except neo4j_errors.Neo4jError:
                return None  # indexed already
            self.notes.append(
                f"the server made no constraint on {label}.{prop}: it has an index instead "
                "(two writers could make two nodes of one key)"
            )
            return None
