"""``chute consume`` and ``chute publish``: records from and to a RabbitMQ queue."""

from __future__ import annotations

import traceback
from typing import Annotated

import typer

from chute import config
from chute.cli_common import (
    ConnectTimeout,
    Debug,
    Graph,
    Into,
    Key,
    LogJson,
    Quiet,
    ReportPath,
    RequireNodes,
    Workers,
    app,
    observers_for,
    print_error,
    run_job,
    stop_on_signals,
)
from chute.config import DEFAULT_BATCH_MESSAGES, DEFAULT_FLUSH_INTERVAL
from chute.errors import ChuteError, NothingStoredError, SourceError
from chute.exits import completed_code, exit_code
from chute.progress import QueueStatus
from chute.report import LoadReport

TlsCa = Annotated[
    str | None,
    typer.Option(
        help="amqps://: the certificate authorities (PEM) to verify the broker with "
        "(default: the system's)."
    ),
]
TlsCert = Annotated[
    str | None,
    typer.Option(
        help="amqps://: a client certificate (PEM); with no user in the URL it logs in (EXTERNAL)."
    ),
]
TlsKey = Annotated[
    str | None, typer.Option(help="The client certificate's private key (PEM), if not in it.")
]
BROKER_HELP = "The broker: amqp://user:password@host:port/vhost (amqps:// for TLS)."


@app.command("consume")
def consume_command(
    url: Annotated[str, typer.Argument(help=BROKER_HELP)],
    queue: Annotated[str, typer.Option(help="The queue to consume.")],
    into: Into = config.DEFAULT_INTO,
    table: Annotated[
        str | None, typer.Option(help="The table (default: the queue's name).")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="append | upsert | ignore (default: append; upsert into a graph)."),
    ] = None,
    key: Key = None,
    graph: Graph = None,
    require_nodes: RequireNodes = False,
    batch_rows: Annotated[
        int, typer.Option(help="Messages per batch (one transaction, one ack).")
    ] = DEFAULT_BATCH_MESSAGES,
    flush_interval: Annotated[
        float, typer.Option(help="Seconds after its first message a batch closes anyway.")
    ] = DEFAULT_FLUSH_INTERVAL,
    prefetch: Annotated[
        int | None,
        typer.Option(help="Messages the broker may send ahead of acks (default: 2 batches)."),
    ] = None,
    dead_letter_queue: Annotated[
        str | None,
        typer.Option(help="Where messages that cannot be stored go (default: QUEUE.dead-letter)."),
    ] = None,
    idle_exit: Annotated[
        float | None,
        typer.Option(help="Stop once no message came for this many seconds (default: never)."),
    ] = None,
    workers: Workers = None,
    add_columns: Annotated[
        bool,
        typer.Option(
            "--add-columns",
            help="Add columns for message fields that an existing table lacks (default: "
            "such messages are dead-lettered).",
        ),
    ] = False,
    no_ledger: Annotated[
        bool,
        typer.Option(
            "--no-ledger", help="Append mode: do not record message ids to skip redeliveries."
        ),
    ] = False,
    connect_timeout: ConnectTimeout = config.DEFAULT_CONNECT_TIMEOUT,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    report: ReportPath = None,
    log_json: LogJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Consume JSON messages from a RabbitMQ queue into a table; ack after commit."""
    observers = observers_for(log_json, quiet, QueueStatus)
    stopper = stop_on_signals(what="stopping: committing and acking what is in hand")
    stop = stopper.event

    def run() -> LoadReport:
        from chute.queues import consume  # RabbitMQ's client loads only for queue commands

        return consume(
            url,
            queue=queue,
            into=into,
            table=table,
            mode=mode,
            key=key,
            graph=graph,
            require_nodes=require_nodes,
            batch_rows=batch_rows,
            flush_interval=flush_interval,
            prefetch=prefetch,
            dead_letter_queue=dead_letter_queue,
            idle_timeout=idle_exit,
            workers=workers,
            add_columns=add_columns,
            ledger=not no_ledger,
            connect_timeout=connect_timeout,
            tls_ca=tls_ca,
            tls_cert=tls_cert,
            tls_key=tls_key,
            observers=observers,
            stop=stop,
            warn=lambda line: typer.echo(f"warning: {line}", err=True),
        )

    raise typer.Exit(run_job(run, stopper, report, debug))


@app.command("publish")
def publish_command(
    source: Annotated[str, typer.Argument(help="A .csv/.tsv/.jsonl/.json file (optionally .gz).")],
    url: Annotated[str, typer.Argument(help=BROKER_HELP)],
    queue: Annotated[str, typer.Option(help="The queue (declared durable if missing).")],
    format: Annotated[
        str | None, typer.Option("--format", help="csv | tsv | jsonl | json (default: extension).")
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV field delimiter.")] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding.")] = config.DEFAULT_ENCODING,
    rejects: Annotated[
        str | None,
        typer.Option(
            help="Where records that cannot be read go: a file "
            "(default: <name>.rejects.jsonl beside the source)."
        ),
    ] = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    debug: Debug = False,
) -> None:
    """Publish a file's records to a queue, one JSON message each, with publisher confirms."""
    from chute.queues import publish  # RabbitMQ's client loads only for queue commands

    try:
        result = publish(
            source,
            url,
            queue=queue,
            format=format,
            delimiter=delimiter,
            encoding=encoding,
            rejects=rejects,
            tls_ca=tls_ca,
            tls_cert=tls_cert,
            tls_key=tls_key,
        )
        typer.echo(result.summary())
        if result.rejected and not result.published:  # as chute load: every record rejected
            raise NothingStoredError(
                f"nothing was published: all {result.read:,} records read were rejected; "
                f"see {result.rejects_to}",
                hint="fix the rejected records and publish them again",
            )
        if not result.published and not result.rejected:
            raise SourceError(f"{source} holds no records: nothing was published")
    except ChuteError as exc:
        if debug:
            traceback.print_exc()
        print_error(str(exc), exc.hint)
        raise typer.Exit(exit_code(exc)) from None
    raise typer.Exit(completed_code(result.rejected))  # as chute load
