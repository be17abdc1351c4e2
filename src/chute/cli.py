"""The ``chute`` command: a thin adapter over :func:`chute.load` (``chute load``, ``chute
bench``; the queue's commands are :mod:`chute.cli_queue`).

Errors are mapped once, in :mod:`chute.cli_common`: one line on stderr (``error: ...`` and
maybe ``hint: ...``) and the exit code :func:`chute.exits.exit_code` gives; ``--debug``
shows the traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chute import config
from chute.api import load
from chute.cli_common import (
    ConnectTimeout,
    Debug,
    Graph,
    Into,
    Key,
    ReportPath,
    RequireNodes,
    Workers,
    app,
    observers_for,
    print_error,
    run_job,
    stop_on_signals,
)
from chute.cli_process import set_up
from chute.engine.mapping import parse_pairs
from chute.errors import ConfigError
from chute.progress import ProgressBar
from chute.report import LoadReport


@app.command("load")
def load_command(
    source: Annotated[
        str,
        typer.Argument(
            help=(
                "A .csv/.tsv/.jsonl/.json file (optionally .gz), an .xlsx workbook, a "
                ".parquet file, or - (stdin)."
            )
        ),
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
        typer.Option(
            "--format",
            help="csv | tsv | jsonl | json | xlsx | parquet (default: from the extension).",
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(help="The sheet of an .xlsx workbook: its name or number (1 = first)."),
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV field delimiter.")] = None,
    quote: Annotated[str | None, typer.Option(help="CSV quote character; '' for none.")] = None,
    encoding: Annotated[
        str, typer.Option(help="Text encoding of the input.")
    ] = config.DEFAULT_ENCODING,
    no_header: Annotated[
        bool,
        typer.Option(
            "--no-header",
            help="The CSV (or sheet) has no header row; columns are column_1, column_2, ...",
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
    rename: Annotated[
        list[str] | None,
        typer.Option(help="INPUT=COLUMN: load input column INPUT into table column COLUMN."),
    ] = None,
    skip: Annotated[
        list[str] | None, typer.Option(help="COLUMN: leave this input column out.")
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="COLUMN=TYPE: make a new table's column with this type instead of the "
            "inferred one (bigint, double, numeric(38,2), boolean, date, timestamp, "
            "timestamptz, json, uuid, text); values that do not fit are rejected.",
        ),
    ] = None,
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
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Import the file as the next commit of this versioned dataset (see "
            "docs/datasets.md), not into a table."
        ),
    ] = None,
    branch: Annotated[
        str, typer.Option(help="With --dataset: the branch the commit goes to.")
    ] = "main",
    message: Annotated[
        str, typer.Option("--message", "-m", help="With --dataset: the commit's message.")
    ] = "",
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
    observers = observers_for(log_json, quiet, ProgressBar)
    stopper = stop_on_signals()
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
            sheet=sheet,
            batch_rows=batch_rows,
            batch_bytes=batch_bytes,
            memory_limit=memory_limit,
            workers=workers,
            add_columns=add_columns,
            rename=parse_pairs(rename or [], "--rename"),
            skip=skip or (),
            types=parse_pairs(type_ or [], "--type"),
            rejects=rejects,
            max_errors=max_errors,
            restart=restart,
            atomic=atomic,
            connect_timeout=connect_timeout,
            dataset=dataset,
            branch=branch,
            message=message,
            observers=observers,
            cancel=cancel,
        )

    raise typer.Exit(run_job(run, stopper, report, debug))


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
        print_error("chute bench needs the bench extra: pip install 'chute[bench]'", None)
        raise typer.Exit(
            ConfigError.exit_code
        ) from None  # a missing extra: as a configuration error
    raise typer.Exit(bench_main(ctx.args))


# the queue's commands, after load and bench (the order --help lists them in)
from chute import cli_datasets, cli_queue, cli_service  # noqa: E402, F401


def main() -> None:
    set_up()
    app()


if __name__ == "__main__":
    main()
