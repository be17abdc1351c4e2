"""Queues: :func:`consume` a RabbitMQ queue into a table, :func:`publish` a file's records.

``consume`` runs the same engine as :func:`chute.load` (the same sinks, modes, rejects
isolation and monitor) on a :class:`~chute.sources.queue.QueueSource`: batches close on
rows, bytes or the flush interval; a batch's messages are acked after it commits; messages
that cannot be stored go to the dead-letter queue.  See ``docs/queues.md``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from chute.amqp import (
    QueueConsumer,
    default_prefetch,
    parse_url,
    prefetch_warning,
    publish_records,
    with_tls_files,
)
from chute.amqp.decode import long_digits
from chute.api import default_table
from chute.config import (
    DEFAULT_BATCH_MESSAGES,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_ENCODING,
    DEFAULT_FLUSH_INTERVAL,
    DEFAULT_INTO,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_MODE,
    LoadOptions,
    parse_key,
    parse_mode,
    parse_size,
)
from chute.engine.columns import is_json_text
from chute.engine.loader import Pipeline
from chute.engine.observers import Observer
from chute.engine.rejects import RejectStore, open_rejects
from chute.errors import ConfigError, SinkUnavailableError
from chute.graph import GraphMapping, GraphSpec, attach_graph, default_mode, load_mapping
from chute.report import LoadReport
from chute.sinks import open_sink
from chute.sinks.contract import Mode, Sink
from chute.sinks.names import check_table_name
from chute.sources import open_source
from chute.sources.base import Reject, SourceBatch
from chute.sources.queue import QueueSource
from chute.sources.queue_tables import MessageLedger, TableFields
from chute.urls import with_param

DEFAULT_BATCH_BYTES = 8 << 20
#: times in a row the database may go away before the consumer gives up
DATABASE_RETRIES = 10


def consume(
    url: str,
    *,
    queue: str,
    into: str = DEFAULT_INTO,
    table: str | None = None,
    mode: str | Mode | None = None,
    key: str | Sequence[str] | None = None,
    graph: GraphSpec | None = None,
    require_nodes: bool = False,
    batch_rows: int = DEFAULT_BATCH_MESSAGES,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    prefetch: int | None = None,
    dead_letter_queue: str | None = None,
    idle_timeout: float | None = None,
    add_columns: bool = False,
    memory_limit: int | str = DEFAULT_MEMORY_LIMIT,
    workers: int | None = None,
    ledger: bool = True,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    tls_ca: str | os.PathLike[str] | None = None,
    tls_cert: str | os.PathLike[str] | None = None,
    tls_key: str | os.PathLike[str] | None = None,
    observers: Sequence[Observer] = (),
    stop: threading.Event | None = None,
    warn: Any = None,
) -> LoadReport:
    """Consume JSON messages of ``queue`` at the broker ``url`` into ``table``.

    Runs until ``stop`` is set (then the batch in hand is committed and acked) or, with
    ``idle_timeout``, until no message came for that many seconds.  ``prefetch`` defaults to
    twice the batch; ``warn`` (a callable taking one line) hears about a prefetch that starves
    batches.  In append mode, messages with a ``message_id`` are recorded in a ledger table
    in the same transaction as their rows (unless ``ledger`` is False), so a message
    delivered again after a crash is not stored twice.  Connecting to the broker and to
    the database waits at most ``connect_timeout`` seconds for each to answer (a
    ``connection_timeout`` in the broker's URL wins).  ``graph`` and ``require_nodes`` write
    the messages into a graph database as nodes and relationships (see :func:`chute.load`);
    there the mode is ``upsert`` unless given, and ``append`` is refused: a message
    delivered again would add its relationships again, and a graph keeps no ledger.

    An ``amqps://`` URL speaks TLS, verifying the broker against the system's certificate
    authorities or ``tls_ca`` (a PEM file); ``tls_cert`` and ``tls_key`` give a client
    certificate, which logs in (``EXTERNAL``) when the URL names no user.
    """
    if flush_interval <= 0:
        raise ConfigError(f"flush interval must be more than 0 s, not {flush_interval:g}")
    options = LoadOptions(  # checks the batch size, mode, key, memory limit and workers
        into=into,
        table=table,
        mode=parse_mode(default_mode(graph, mode, DEFAULT_MODE)),
        key=parse_key(key),
        graph=graph is not None,
        batch_rows=batch_rows,
        batch_bytes=batch_bytes,
        memory_limit=parse_size(memory_limit),
        workers=workers,
        add_columns=add_columns,
        connect_timeout=connect_timeout,
    )
    url = with_param(url, "connection_timeout", f"{options.connect_timeout:g}")
    url = with_tls_files(url, tls_ca, tls_cert, tls_key)
    parse_url(url)  # a bad URL or TLS file is one line now, not after the database opened
    if options.mode is Mode.REPLACE:
        raise ConfigError("a queue has no end to replace a table at: use append, upsert or ignore")
    if graph is not None and options.mode is Mode.APPEND:
        raise ConfigError(
            "consuming into a graph in append mode would add a redelivered message's "
            "relationships again",
            hint="use --mode upsert (the default with --graph) or ignore",
        )
    mapping = load_mapping(graph) if graph is not None else None
    prefetch = prefetch if prefetch is not None else default_prefetch(batch_rows)
    warning = prefetch_warning(prefetch, batch_rows, flush_interval)
    if warning and warn is not None:
        warn(warning)
    table_name = check_table_name(table or _table_from_queue(queue))
    stop = stop or threading.Event()
    total: LoadReport | None = None
    lost = 0  # times the database went away
    in_a_row = 0  # ... without a batch committed in between
    while True:
        try:
            report = _consume_once(
                url, queue, options, table_name, prefetch, dead_letter_queue, flush_interval,
                idle_timeout, ledger, observers, stop, mapping, require_nodes,
            )  # fmt: skip
        except SinkUnavailableError as exc:
            if exc.report is not None:
                in_a_row = 0 if exc.report.batches else in_a_row
                total = _add(total, exc.report)
            lost += 1
            in_a_row += 1
            if stop.is_set() or in_a_row > DATABASE_RETRIES:
                raise
            delay = min(0.5 * 2 ** (in_a_row - 1), 10.0)
            if warn is not None:
                warn(
                    f"{exc}; the batch in hand goes back to the queue; trying again in {delay:g} s"
                )
            stop.wait(delay)
            continue
        report = _add(total, report)
        if report.queue is not None:
            report.queue["database_reconnects"] = lost
        return report


def _consume_once(
    url: str,
    queue: str,
    options: LoadOptions,
    table_name: str,
    prefetch: int,
    dead_letter_queue: str | None,
    flush_interval: float,
    idle_timeout: float | None,
    ledger: bool,
    observers: Sequence[Observer],
    stop: threading.Event,
    mapping: GraphMapping | None = None,
    require_nodes: bool = False,
) -> LoadReport:
    """One consumer and one database connection, until stopped or either fails; closing
    the consumer hands what it has not acked back to the broker."""
    consumer = QueueConsumer(url, queue, prefetch=prefetch, dead_letter_queue=dead_letter_queue)
    sink = open_sink(options.into, connect_timeout=options.connect_timeout)
    attach_graph(sink, mapping, require_nodes=require_nodes, mode=options.mode, atomic=False)
    source: QueueSource | None = None
    try:
        consumer.connect()
        book = MessageLedger(sink, queue) if ledger and options.mode is Mode.APPEND else None
        fields = None if options.add_columns else TableFields(sink, table_name)
        source = QueueSource(
            consumer,
            batch_rows=options.batch_rows or DEFAULT_BATCH_MESSAGES,
            batch_bytes=options.batch_bytes or DEFAULT_BATCH_BYTES,
            flush_interval=flush_interval,
            stop=stop,
            idle_timeout=idle_timeout,
            ledger=book,
            fields=fields,
        )
        pipeline = Pipeline(source, sink, options, table_name, _DeadLetters(source), observers)
        try:
            return pipeline.run()
        finally:
            pipeline.report.queue = _queue_report(source, consumer)
    finally:
        if source is not None:
            source.close()
        else:
            consumer.close()
        sink.close()


_COUNTS = ("read", "written", "created", "updated", "skipped", "rejected", "batches")


def _add(before: LoadReport | None, after: LoadReport) -> LoadReport:
    """``after``'s report with the counts of the runs before it (database reconnects)."""
    if before is None:
        return after
    for name in _COUNTS:
        setattr(after, name, getattr(before, name) + getattr(after, name))
    if before.queue and after.queue:
        for name in ("messages", "acked", "dead_lettered", "already_stored", "stale_acks"):
            after.queue[name] += before.queue[name]
    return after


def _queue_report(source: QueueSource, consumer: QueueConsumer) -> dict[str, Any]:
    return {
        **dataclasses.asdict(source.counts),
        "queue": consumer.queue,
        "dead_letter_queue": consumer.dead_letter_queue,
        "prefetch": consumer.prefetch,
        "reconnects": consumer.reconnects,
        "in_queue_at_start": consumer.message_count,
    }


def _table_from_queue(queue: str) -> str:
    return default_table(queue.replace(".", "_") + ".queue")


class _DeadLetters:
    """Rejects of a queue go to its dead-letter queue: published (and confirmed) by the
    source in the transaction of their batch, before it commits (see
    :meth:`QueueSource.dead_letter`).  Not transactional: a dead letter once published
    stays published, and is not published again if the commit is retried."""

    transactional = False

    def __init__(self, source: QueueSource) -> None:
        self.location = f"dead-letter queue {source.consumer.dead_letter_queue}"
        self._source = source

    def prepare(self) -> None:
        pass

    def write(self, rejects: list[Reject], sink: Sink | None = None) -> None:
        assert sink is not None, "the engine writes rejects in the batch's transaction"
        self._source.dead_letter(rejects, sink)

    def forget_from(self, record: int) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class PublishReport:
    """What :func:`publish` did: ``read == published + rejected``."""

    source: str
    queue: str
    read: int = 0
    published: int = 0
    rejected: int = 0
    #: where the rejected records went (None: none was rejected)
    rejects_to: str | None = None
    #: rejected records by kind of error (parse, decode, shape, ...)
    rejected_by: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"published {self.published:,} messages from {self.source} to queue {self.queue} "
            "(all confirmed)",
            f"read {self.read:,}  published {self.published:,}  rejected {self.rejected:,}"
            + (f" (to {self.rejects_to})" if self.rejected else ""),
        ]
        if self.rejected_by:
            kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(self.rejected_by.items()))
            lines.append(f"rejects: {kinds}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def publish(
    source: str | os.PathLike[str],
    url: str,
    *,
    queue: str,
    format: str | None = None,
    delimiter: str | None = None,
    encoding: str = DEFAULT_ENCODING,
    header: bool = True,
    rejects: str | None = None,
    tls_ca: str | os.PathLike[str] | None = None,
    tls_cert: str | os.PathLike[str] | None = None,
    tls_key: str | os.PathLike[str] | None = None,
) -> PublishReport:
    """Publish each record of a CSV or JSON Lines file as one JSON message to ``queue``,
    with publisher confirms.  Message ids are ``<file>:<record>``.

    Records that cannot be read are not published: they are counted and written to
    ``rejects`` (a path; by default ``<name>.rejects.jsonl`` beside the file, as
    :func:`chute.load` does), in the same format as a load's rejects.  Returns the
    :class:`PublishReport` once the broker has confirmed every message.  ``tls_ca``,
    ``tls_cert`` and ``tls_key`` are as for :func:`consume`.
    """
    url = with_tls_files(url, tls_ca, tls_cert, tls_key)
    parse_url(url)
    options = LoadOptions(format=format, delimiter=delimiter, encoding=encoding, header=header)
    table = default_table(source) if not rejects else "rejects"  # names the default file
    store = open_rejects(rejects, sink=None, table=table, source=source)
    src = open_source(source, options)
    report = PublishReport(source=src.name, queue=queue)
    try:
        report.published = publish_records(
            _records(src.batches(), report, store), url, queue, source=src.name
        )
    finally:
        store.close()
        src.close()
    return report


def _records(
    batches: Iterator[SourceBatch], report: PublishReport, store: RejectStore
) -> Iterator[dict[str, Any]]:
    """The records of ``batches`` as read (nested values and JSON-typed columns as the JSON
    values they are, not as their text); the rejects counted and kept in ``store``."""
    for batch in batches:
        if batch.rejects:
            found = sorted(batch.rejects, key=lambda r: r.position.record)
            store.write(found)
            report.rejected += len(found)
            report.rejects_to = store.location
            for reject in found:
                report.rejected_by[reject.error] = report.rejected_by.get(reject.error, 0) + 1
        report.read += batch.num_rows + len(batch.rejects)
        data = batch.data
        rows = data.to_pylist()
        for name in (f.name for f in data.schema if is_json_text(f)):
            for row in rows:
                text = row[name]
                if text is not None:
                    row[name] = (
                        json.loads(text) if long_digits(text.encode()) else orjson.loads(text)
                    )
        yield from rows
