"""The ``chute`` command: a thin adapter over :func:`chute.load`.

Errors are mapped once, here: one line on stderr (``error: ...`` and maybe ``hint: ...``)
and the exit code :func:`chute.exits.exit_code` gives; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from chute import config
from chute.api import load
from chute.engine import faults
from chute.engine.observers import Observer
from chute.errors import ChuteError, ConfigError, NothingStoredError, SourceError
from chute.exits import OK, completed_code, exit_code, signal_code
from chute.paths import check_writable
from chute.progress import JsonLog, ProgressBar, QueueStatus
from chute.queues import DEFAULT_BATCH_MESSAGES, DEFAULT_FLUSH_INTERVAL, consume, publish
from chute.report import LoadReport
from chute.signals import StopOnSignals, StoppedAtOnce, exit_now

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="chute moves records into databases fast and safely.",
    pretty_exceptions_enable=False,
)


@app.callback()
def _main() -> None:
    """chute moves records into databases fast and safely."""
    _arm_fault(os.environ.get(faults.ENV_VAR))


def _arm_fault(spec: str | None) -> None:
    """Tests crash chute at a chosen instant: ``CHUTE_FAULT`` (see docs/testing.md)."""
    try:
        faults.arm(spec)
    except ChuteError as exc:
        _print_error(str(exc), exc.hint)
        raise typer.Exit(exit_code(exc)) from None


# Options shared by the commands, defined once.
Into = Annotated[
    str,
    typer.Option(
        envvar="CHUTE_INTO",
        help="Database URL: sqlite:///path.db or postgresql://user@host/db.",
    ),
]
Key = Annotated[str | None, typer.Option(help="Key column(s), comma-separated.")]
Workers = Annotated[
    int | None,
    typer.Option(
        envvar="CHUTE_WORKERS",
        help="Connections writing batches at once (default: 2 on PostgreSQL, 1 on SQLite); "
        "row order is then not kept.",
    ),
]
ReportPath = Annotated[Path | None, typer.Option(help="Write the JSON report to this file.")]
LogJson = Annotated[
    bool,
    typer.Option("--log-json", help="One JSON line per batch on stderr (and no progress bar)."),
]
ConnectTimeout = Annotated[
    float,
    typer.Option(
        envvar="CHUTE_CONNECT_TIMEOUT",
        help="Seconds to wait for the database (and the broker) to answer while connecting.",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or status line.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
Graph = Annotated[
    str | None,
    typer.Option(
        "--graph",
        help="A mapping (YAML or JSON) of records to nodes and relationships, for a graph "
        "database (falkordb://, neo4j://, bolt://); see docs/graphs.md.",
    ),
]
RequireNodes = Annotated[
    bool,
    typer.Option(
        "--require-nodes",
        help="With --graph: reject a record whose relationship ends at a node that is not "
        "there (default: make the node with just its key).",
    ),
]


@app.command("load")
def load_command(
    source: Annotated[
        str, typer.Argument(help="A .csv/.tsv/.jsonl/.json file (optionally .gz), or - for stdin.")
    ],
    into: Into = config.DEFAULT_INTO,
    table: Annotated[
        str | None, typer.Option(help="Table name (default: the file's stem).")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            help="append | upsert | ignore | replace (default: append; upsert into a graph)."
        ),
    ] = None,
    key: Key = None,
    graph: Graph = None,
    require_nodes: RequireNodes = False,
    format: Annotated[
        str | None,
        typer.Option("--format", help="csv | tsv | jsonl | json (default: from the extension)."),
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV field delimiter.")] = None,
    quote: Annotated[str | None, typer.Option(help="CSV quote character; '' for none.")] = None,
    encoding: Annotated[
        str, typer.Option(help="Text encoding of the input.")
    ] = config.DEFAULT_ENCODING,
    no_header: Annotated[
        bool,
        typer.Option(
            "--no-header", help="The CSV has no header row; columns are column_1, column_2, ..."
        ),
    ] = False,
    batch_rows: Annotated[
        int | None,
        typer.Option(
            envvar="CHUTE_BATCH_ROWS",
            help="Records per batch (transaction), fixed (default: adaptive, see "
            "docs/performance.md).",
        ),
    ] = None,
    batch_bytes: Annotated[
        int | None,
        typer.Option(
            envvar="CHUTE_BATCH_BYTES",
            help="Most input bytes per batch (default: from --memory-limit).",
        ),
    ] = None,
    memory_limit: Annotated[
        str,
        typer.Option(
            envvar="CHUTE_MEMORY_LIMIT",
            help="Memory the batch sizes are planned for, e.g. 512MiB or 2GiB.",
        ),
    ] = config.DEFAULT_MEMORY_LIMIT_TEXT,
    workers: Workers = None,
    add_columns: Annotated[
        bool, typer.Option("--add-columns", help="Add input columns that an existing table lacks.")
    ] = False,
    rejects: Annotated[
        str | None,
        typer.Option(
            help="Where rejected records go: a file, or table:NAME "
            "(default: <table>.rejects.jsonl beside the source)."
        ),
    ] = None,
    max_errors: Annotated[
        int | None,
        typer.Option(
            envvar="CHUTE_MAX_ERRORS",
            help="Stop once more records than this were rejected (0: stop at the first) "
            "(default: no limit).",
        ),
    ] = None,
    atomic: Annotated[
        bool,
        typer.Option(
            "--atomic",
            help="Make the whole load visible at once, or not at all (through a stage table).",
        ),
    ] = False,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Load from the beginning even if an earlier run of this load stopped "
            "part-way (rows it loaded stay).",
        ),
    ] = False,
    connect_timeout: ConnectTimeout = config.DEFAULT_CONNECT_TIMEOUT,
    report: ReportPath = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    log_json: Annotated[
        bool,
        typer.Option("--log-json", help="One JSON line per batch on stderr (and no progress bar)."),
    ] = False,
    debug: Debug = False,
) -> None:
    """Load a file into a table, creating the table when it is missing."""
    observers = _observers(log_json, quiet, ProgressBar)
    stopper = _stop_on_signals()
    cancel = stopper.event

    def run() -> LoadReport:
        _refuse_report_over(source, report)
        return load(
            source,
            into=into,
            table=table,
            mode=mode,
            key=key,
            graph=graph,
            require_nodes=require_nodes,
            format=format,
            delimiter=delimiter,
            quote=quote,
            encoding=encoding,
            header=not no_header,
            batch_rows=batch_rows,
            batch_bytes=batch_bytes,
            memory_limit=memory_limit,
            workers=workers,
            add_columns=add_columns,
            rejects=rejects,
            max_errors=max_errors,
            restart=restart,
            atomic=atomic,
            connect_timeout=connect_timeout,
            observers=observers,
            cancel=cancel,
        )

    raise typer.Exit(_run_job(run, stopper, report, debug))


def _refuse_report_over(source: str, report: Path | None) -> None:
    """The report is written after the load: never over the file being loaded."""
    if report is None or source == "-":
        return
    try:
        same = report.resolve() == Path(source).resolve()
    except (OSError, RuntimeError):  # a symlink loop: the load says so itself
        return
    if same:
        raise ConfigError(
            f"the report {report} is the source itself: writing the report would overwrite it",
            hint="choose another place with --report PATH",
        )


def _observers(log_json: bool, quiet: bool, display: Callable[[], Observer]) -> list[Observer]:
    """JSON lines on stderr; or ``display`` (a progress bar, a status line) when stderr is a
    terminal and not ``quiet``; or nothing."""
    if log_json:
        return [JsonLog()]
    if not quiet and sys.stderr.isatty():
        return [display()]
    return []


def _run_job(
    run: Callable[[], LoadReport], stopper: StopOnSignals, report: Path | None, debug: bool
) -> int:
    """Run a load or a consumer (stopped by Ctrl-C/SIGTERM in any phase); print the summary
    or a one-line error; write the JSON report; return the exit code."""
    result: LoadReport | None = None
    code = OK
    try:
        if report is not None:
            check_writable(report, "--report")  # before loading: nothing written if not
        result = stopper.run(run)
        code = completed_code(0 if result.nothing_to_do else result.rejected)
    except StoppedAtOnce as exc:  # the run is stuck in a driver: leave it behind
        _print_error(
            str(exc),
            "batches committed before stay, a batch in hand does not; "
            "run the same command again to go on",
        )
        exit_now(signal_code(exc.signum))
    except ChuteError as exc:
        result = exc.report
        code = exit_code(exc, signum=stopper.received[-1] if stopper.received else None)
        if debug:
            traceback.print_exc()
        _print_error(str(exc), exc.hint)
    except KeyboardInterrupt as exc:
        code = exit_code(exc)
        _print_error("interrupted", None)
    except Exception as exc:  # a bug: say so, with the traceback only on request
        code = exit_code(exc)
        if debug:
            traceback.print_exc()
        _print_error(
            f"internal error: {type(exc).__name__}: {exc}",
            "run again with --debug and report the traceback",
        )
    if result is not None:
        if result.status == "completed" or result.batches:
            typer.echo(result.summary())
        if report is not None:
            try:
                report.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
            except OSError as exc:
                _print_error(f"cannot write the report to {report}: {exc.strerror}", None)
                code = code or exit_code(ConfigError(str(exc)))
    return code


#: what ``chute bench`` needs beyond chute: the bench extra
BENCH_EXTRA_MODULES = frozenset({"chute_bench", "matplotlib"})


@app.command(
    "bench",
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def bench_command(ctx: typer.Context) -> None:
    """Compare the ways of loading rows on your own database (the bench extra)."""
    try:  # the bench sits above chute and is an extra: imported only here, only now
        from chute_bench.command import main as bench_main
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in BENCH_EXTRA_MODULES:
            raise
        _print_error("chute bench needs the bench extra: pip install 'chute[bench]'", None)
        raise typer.Exit(
            ConfigError.exit_code
        ) from None  # a missing extra: as a configuration error
    raise typer.Exit(bench_main(ctx.args))


@app.command("consume")
def consume_command(
    url: Annotated[str, typer.Argument(help="The broker: amqp://user:password@host:port/vhost.")],
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
    report: ReportPath = None,
    log_json: LogJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Consume JSON messages from a RabbitMQ queue into a table; ack after commit."""
    observers = _observers(log_json, quiet, QueueStatus)
    stopper = _stop_on_signals(what="stopping: committing and acking what is in hand")
    stop = stopper.event

    def run() -> LoadReport:
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
            observers=observers,
            stop=stop,
            warn=lambda line: typer.echo(f"warning: {line}", err=True),
        )

    raise typer.Exit(_run_job(run, stopper, report, debug))


@app.command("publish")
def publish_command(
    source: Annotated[str, typer.Argument(help="A .csv/.tsv/.jsonl/.json file (optionally .gz).")],
    url: Annotated[str, typer.Argument(help="The broker: amqp://user:password@host:port/vhost.")],
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
    debug: Debug = False,
) -> None:
    """Publish a file's records to a queue, one JSON message each, with publisher confirms."""
    try:
        result = publish(
            source,
            url,
            queue=queue,
            format=format,
            delimiter=delimiter,
            encoding=encoding,
            rejects=rejects,
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
        _print_error(str(exc), exc.hint)
        raise typer.Exit(exit_code(exc)) from None
    raise typer.Exit(completed_code(result.rejected))  # as chute load


def _stop_on_signals(what: str = "stopping after the batch in hand") -> StopOnSignals:
    """Ctrl-C or SIGTERM asks the load to stop after the batch in hand (it commits, with
    its checkpoint); a second one, or a run that does not stop soon, stops at once."""
    return StopOnSignals(lambda line: typer.echo(line, err=True), what)


def _print_error(message: str, hint: str | None) -> None:
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(f"hint: {hint}", err=True)


def main() -> None:
    _arrow_memory_pool()
    app()


def _arrow_memory_pool() -> None:
    """The command uses Arrow's jemalloc pool, which hands freed batches back to the system
    sooner than the default (mimalloc): peak memory of the 5M-row orders load into
    PostgreSQL 257 MiB against 278-305 MiB (benchmarks/RESULTS.md).  A pool chosen in
    ``ARROW_DEFAULT_MEMORY_POOL`` is kept; a pyarrow built without jemalloc keeps its own."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    with contextlib.suppress(NotImplementedError, pa.ArrowNotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


if __name__ == "__main__":
    main()
