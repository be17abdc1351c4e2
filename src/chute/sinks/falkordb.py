"""FalkorDB (``falkordb://[user:password@]host[:port]/graph``) through the ``falkordb`` client.

FalkorDB runs each query atomically: a query that fails changes nothing.  It has no
transaction of several queries, so a transaction here is one query: the statements of a
batch (its nodes, its relationships, its checkpoint and rejects) are kept until commit and
sent as one query of ``CALL { … }`` parts.  Reads (the status of a batch's rows) go at once,
read-only.  Keys get an exact-match index; an append load also a unique constraint (upserts
need none: FalkorDB runs one write at a time, and ``MERGE`` keeps keys unique).  Two runs of
one load exclude each other through a Redis key that names the connection holding it
(:class:`RedisLock`).  Dates and timestamps are stored as ISO 8601 texts: the client has no
parameter form for them.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from chute.errors import ConfigError, RecordError, Refusal, SinkError, SinkUnavailableError
from chute.graph import cypher
from chute.graph.project import Adapt, BadRecord
from chute.sinks.contract import Mode
from chute.sinks.graph import GraphSink
from chute.sinks.locks import Holder, Taken
from chute.urls import redact

try:
    import falkordb
    import redis
    from falkordb.helpers import stringify_param_value
except ImportError as exc:  # pragma: no cover - the graph extra is missing
    raise ConfigError(
        f"the falkordb:// sink needs the falkordb client ({exc.name} is not installed)",
        hint="pip install 'chute[graph]'",
    ) from None

DEFAULT_PORT = 6379
_PARAM = re.compile(r"\$(\w+)")
#: messages of the errors FalkorDB answers when a value or a key is refused (it has no codes)
_REFUSED = (
    ("unique constraint violation", Refusal.DUPLICATE_KEY),
    ("property values can only be", Refusal.VALUE),
    ("type mismatch", Refusal.VALUE),
    ("invalid", Refusal.VALUE),
)
#: seconds a unique constraint may take to be built over the nodes already there
CONSTRAINT_WAIT = 60.0
#: reads a batch's plan runs at once (its labels', its relationship types')
READERS = 4


class FalkorSink(GraphSink):
    schemes = ("falkordb",)
    writes_by_record = True  # 3x less server time on report 03's artists

    def __init__(self, url: str) -> None:
        super().__init__(url)
        parts = urlsplit(url)
        self.graph_name = unquote(parts.path.strip("/"))
        if not self.graph_name or "/" in self.graph_name:
            raise ConfigError(
                f"the URL {redact(url)!r} names no graph",
                hint="e.g. falkordb://127.0.0.1:6379/mygraph",
            )
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ConfigError(f"bad port in {redact(url)!r}") from None
        self._params = {
            "host": parts.hostname or "127.0.0.1",
            "port": port,
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
        }
        self._db: Any = None
        self._graph_handle: Any = None
        self._queued: list[tuple[str, dict[str, Any]]] | None = None
        self._readers: ThreadPoolExecutor | None = None
        #: keys made unique (or indexed) by this sink: once a load, so a graph deleted and
        #: made again in one process gets its indexes again
        self._ensured: set[tuple[str, str, bool]] = set()

    @property
    def display_url(self) -> str:
        return redact(self.url)

    def connect(self) -> None:
        timeout = self.connect_timeout or 10
        try:
            self._db = falkordb.FalkorDB(
                **self._params, socket_connect_timeout=timeout, socket_keepalive=True
            )
            self._db.connection.ping()
        except redis.AuthenticationError as exc:
            raise SinkUnavailableError(
                f"cannot connect to {self.display_url}: {exc}",
                hint="check the user and password in the URL",
            ) from None
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise SinkUnavailableError(
                f"cannot connect to {self.display_url}: {exc}",
                hint="is FalkorDB running at that host and port?",
            ) from None
        except redis.ResponseError as exc:
            raise SinkUnavailableError(f"cannot connect to {self.display_url}: {exc}") from None
        self._graph_handle = self._db.select_graph(self.graph_name)

    def close(self) -> None:
        if self._readers is not None:
            self._readers.shutdown()
            self._readers = None
        if self._db is not None:
            self._db.connection.close()
            self._db = None

    # -- statements

    def _read(self, query: str, params: dict[str, Any]) -> list[list[Any]]:
        self.statements += 1
        return self._ro_query(query, params)

    def _ro_query(self, query: str, params: dict[str, Any]) -> list[list[Any]]:
        try:
            result = self._graph_handle.ro_query(params_header(params) + query)
        except redis.ResponseError as exc:
            if "empty key" in str(exc).lower():
                return []  # no graph yet: nothing in it
            raise self._error(exc) from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise self._lost(exc) from None
        return [list(r) for r in result.result_set]

    def _read_all(self, statements: list[tuple[str, dict[str, Any]]]) -> list[list[list[Any]]]:
        """Several reads at once, each on a connection of the client's pool: FalkorDB runs
        read queries in parallel on its threads (a batch's reads of 100,000 artists: 11 s
        one after the other)."""
        asked = [i for i, (_, p) in enumerate(statements) if p.get("rows") != []]
        if len(asked) < 2:
            return super()._read_all(statements)
        if self._readers is None:
            self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="chute-falkordb-read")
        self.statements += len(asked)
        futures = {i: self._readers.submit(self._ro_query, *statements[i]) for i in asked}
        return [futures[i].result() if i in futures else [] for i in range(len(statements))]

    def _write(self, query: str, params: dict[str, Any]) -> None:
        if self._queued is not None:
            self._queued.append((query, params))
            return
        self._run([(query, params)])

    def _run(self, parts: list[tuple[str, dict[str, Any]]]) -> None:
        """Send ``parts`` as one query: all of it is stored, or none."""
        if not parts:
            return
        if len(parts) == 1:
            query, params = parts[0]
        else:
            query, params = _one_query(parts)
        self.statements += 1
        try:
            self._graph_handle.query(params_header(params) + query)
        except redis.ResponseError as exc:
            raise self._error(exc) from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise self._lost(exc) from None

    def _error(self, exc: Exception) -> Exception:
        text = str(exc)
        for start, refusal in _REFUSED:
            if text.lower().startswith(start) or f"errmsg: {start}" in text.lower():
                return RecordError(f"FalkorDB refused: {text}", refusal=refusal)
        return SinkError(f"FalkorDB failed: {text}")

    def _lost(self, exc: Exception) -> SinkError:
        return SinkUnavailableError(
            f"lost the connection to {self.display_url}: {exc}",
            hint="committed batches are kept: run the same command again to go on",
        )

    # -- transactions: one query each

    def _begin(self) -> None:
        self._queued = []

    def _commit(self) -> None:
        parts, self._queued = self._queued or [], None
        self._run(parts)

    def _rollback(self) -> None:
        self._queued = None

    # -- keys

    def _ensure_unique(self, label: str, prop: str) -> str | None:
        """An exact-match index on the key; for an append load, a unique constraint too.

        FalkorDB runs one write query at a time on a graph, so ``MERGE`` (upsert, ignore)
        never makes two nodes of one key, and the constraint only costs: measured here, it
        makes ``MERGE`` on integer keys about 9 times slower (``benchmarks/RESULTS.md``).
        ``CREATE`` (append) has nothing but the constraint to refuse a key already there."""
        append = self.mode is Mode.APPEND
        done = (label, prop, append)
        if done in self._ensured:
            return None
        graph = self._graph_handle
        made = None
        try:
            graph.query(f"CREATE INDEX FOR (n:{cypher.q(label)}) ON (n.{cypher.q(prop)})")
            made = "indexed"
        except redis.ResponseError as exc:
            if "already indexed" not in str(exc).lower():
                raise SinkError(f"cannot index {label}.{prop}: {exc}") from None
        if append and self._constraint(label, prop) is None:
            try:
                graph.create_node_unique_constraint(label, prop)
            except redis.ResponseError as exc:
                if "already exists" not in str(exc).lower():
                    raise SinkError(f"cannot make {label}.{prop} unique: {exc}") from None
            made = "unique"
        if append:
            self._wait_operational(label, prop)
        self._ensured.add(done)
        return made

    def _constraint(self, label: str, prop: str) -> dict[str, Any] | None:
        try:
            found = self._graph_handle.list_constraints()
        except redis.ResponseError:
            return None  # no graph yet
        for c in found:
            if (
                c.get("type") == "UNIQUE"
                and c.get("label") == label
                and c.get("properties") == [prop]
            ):
                return dict(c)
        return None

    def _wait_operational(self, label: str, prop: str) -> None:
        deadline = time.monotonic() + CONSTRAINT_WAIT
        while True:
            found = self._constraint(label, prop)
            status = (found or {}).get("status")
            if status == "OPERATIONAL":
                return
            if status == "FAILED":
                raise ConfigError(
                    f"cannot make {label}.{prop} unique in graph {self.graph_name}: nodes "
                    "already there share a value of it",
                    hint=f"find them: MATCH (n:{label}) WITH n.{prop} AS k, count(*) AS c "
                    "WHERE c > 1 RETURN k, c",
                )
            if time.monotonic() > deadline:
                raise SinkError(f"the unique constraint on {label}.{prop} is still {status}")
            time.sleep(0.02)

    def _check_values(self, batch: pa.RecordBatch, bad: dict[int, BadRecord]) -> None:
        """NaN and infinity have no spelling in a query's parameters: their record is
        refused."""
        used = self._graph().fields()
        for name in batch.schema.names:
            column = batch.column(name)
            if name not in used or not pa.types.is_floating(column.type):
                continue
            finite = pc.fill_null(pc.is_finite(column), True)
            if not pc.all(finite).as_py():
                for row in np.flatnonzero(~finite.to_numpy(zero_copy_only=False)):
                    value = column[int(row)].as_py()
                    why = f"field {name}: FalkorDB cannot be sent {value!r}"
                    bad.setdefault(int(row), BadRecord(int(row), why, name))

    def _adapter(self, schema: pa.Schema) -> Adapt:
        if not any(pa.types.is_temporal(f.type) for f in schema):
            return None
        return _iso

    # -- two runs of one load

    def lock_load(self, name: str, holder: Holder) -> RedisLock:
        timeout = self.connect_timeout or 10
        params = {**self._params, "socket_connect_timeout": timeout}
        return RedisLock.take(params, f"chute:lock:{name}", holder)


def params_header(params: dict[str, Any]) -> str:
    """``CYPHER name=value ... ``: the parameters as FalkorDB reads them, in front of the
    query.  A list (a batch's rows) is spelt by orjson, ten times faster than the client:
    JSON spells lists, numbers, texts, true, false and null as Cypher does, but for a map's
    quoted keys and the ``\\uXXXX`` escapes of control characters, which FalkorDB does not
    read; a list holding either (or an integer past 64 bits) is spelt by the client, as is
    every other value.  (orjson spells NaN as null: floats are checked finite before.)"""
    if not params:
        return ""
    parts = []
    for name, value in params.items():
        text = None
        if isinstance(value, list):
            try:
                raw = orjson.dumps(value)
            except orjson.JSONEncodeError:
                raw = b"{"  # an integer past 64 bits
            if b"{" not in raw and b"\\u" not in raw:
                text = raw.decode()
        parts.append(f"{name}={text if text is not None else stringify_param_value(value)}")
    return "CYPHER " + " ".join(parts) + " "


def _iso(value: Any) -> Any:
    """A date or time as ISO 8601 text (the client has no parameter form for them)."""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return value


def _one_query(parts: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    """Statements as the ``CALL { … }`` parts of one query, their parameters renamed apart."""
    calls: list[str] = []
    params: dict[str, Any] = {}
    for n, (query, given) in enumerate(parts):

        def rename(m: re.Match[str], n: int = n, given: dict[str, Any] = given) -> str:
            return f"$p{n}_{m[1]}" if m[1] in given else m[0]

        renamed = _PARAM.sub(rename, query)
        params.update({f"p{n}_{name}": value for name, value in given.items()})
        calls.append(f"CALL {{ {renamed} }}")
    return " ".join(calls) + " RETURN 1", params


class RedisLock:
    """A Redis key naming the connection that holds it (``CLIENT ID``), kept open for as long
    as the lock is held.  A key whose connection is gone (its process died, however it died:
    the server closed the connection) is taken over, so a crash leaves no stale lock."""

    #: delete the key only if it still holds what was read (another run may have taken it)
    _DROP_IF = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end "
        "return 0"
    )

    def __init__(self, conn: Any, key: str, value: str) -> None:
        self.conn = conn
        self.key = key
        self.value = value

    @classmethod
    def take(cls, params: dict[str, Any], key: str, holder: Holder) -> RedisLock:
        conn = redis.Redis(**params, single_connection_client=True)
        try:
            value = f"{conn.client_id()} {holder.pid} {holder.host}"
            for _ in range(3):
                if conn.set(key, value, nx=True):
                    return cls(conn, key, value)
                held = conn.get(key)
                if held is None:
                    continue
                text = held.decode() if isinstance(held, bytes) else str(held)
                client, pid, host = [*text.split(" ", 2), "", ""][:3]
                if client.isdigit() and conn.client_list(client_id=[int(client)]):
                    raise Taken(Holder(int(pid), host) if pid.isdigit() else None)
                conn.eval(cls._DROP_IF, 1, key, held)  # its holder is gone
            raise Taken(None)
        except BaseException:
            conn.close()
            raise

    def release(self) -> None:
        try:
            self.conn.eval(self._DROP_IF, 1, self.key, self.value)
        except redis.RedisError:
            pass  # the key names this connection: once closed, it is free to take
        finally:
            self.conn.close()
