"""The Python API: :func:`load` mirrors ``chute load`` keyword for keyword."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from chute.config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_ENCODING,
    DEFAULT_INTO,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_MODE,
    LoadOptions,
    parse_key,
    parse_mode,
    parse_size,
)
from chute.engine.loader import Pipeline
from chute.engine.mapping import parse_types
from chute.engine.observers import Observer
from chute.engine.rejects import open_rejects
from chute.errors import ConfigError
from chute.graph import GraphSpec, attach_graph, default_mode
from chute.report import LoadReport
from chute.sinks import open_sink
from chute.sinks.contract import Mode
from chute.sinks.names import MAX_IDENTIFIER_BYTES, check_table_name, is_reserved
from chute.sources import open_source
from chute.sources.base import REJECTS_SUFFIX


def load(
    source: str | os.PathLike[str] | Iterable[Any],
    *,
    into: str = DEFAULT_INTO,
    table: str | None = None,
    mode: str | Mode | None = None,
    key: str | Sequence[str] | None = None,
    graph: GraphSpec | None = None,
    require_nodes: bool = False,
    format: str | None = None,
    delimiter: str | None = None,
    quote: str | None = None,
    encoding: str = DEFAULT_ENCODING,
    header: bool = True,
    sheet: str | int | None = None,
    batch_rows: int | None = None,
    batch_bytes: int | None = None,
    memory_limit: int | str = DEFAULT_MEMORY_LIMIT,
    workers: int | None = None,
    add_columns: bool = False,
    rename: Mapping[str, str] | None = None,
    skip: Sequence[str] = (),
    types: Mapping[str, str] | None = None,
    rejects: str | None = None,
    max_errors: int | None = None,
    restart: bool = False,
    atomic: bool = False,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    dataset: str | None = None,
    branch: str = "main",
    message: str = "",
    observers: Sequence[Observer] = (),
    cancel: threading.Event | None = None,
) -> LoadReport:
    """Load ``source`` into table ``table`` of the database at ``into``.

    ``source`` is a file path (``.csv``, ``.tsv``, ``.jsonl``, optionally ``.gz``; or an
    Excel workbook, ``.xlsx``, whose ``sheet`` is a name or a number counted from 1), ``"-"``
    for stdin, or an iterable of dicts.  Bad records are rejected to ``rejects`` (a path,
    ``table:NAME``, or by default ``<table>.rejects.jsonl`` beside the source) and the load
    goes on, unless more than ``max_errors`` are rejected.  A load of a file that stopped
    (crash, Ctrl-C, lost connection) resumes where it stopped when run again, unless
    ``restart``.  ``atomic`` makes the whole load visible at once or not at all, and
    ``mode="replace"`` swaps the table for the loaded one at the end (both through a stage
    table).  Batch sizes adapt to the database unless ``batch_rows`` fixes them, within
    ``memory_limit`` (bytes, or a size like ``"512MiB"``); ``workers`` connections write
    batches at once where the database gains from it.  Connecting waits at most
    ``connect_timeout`` seconds for the database to answer.  ``graph`` (a mapping file, a
    dict of the same structure, or a :class:`~chute.graph.GraphMapping`) writes the records
    into a graph database as nodes and relationships (in mode ``upsert`` unless given);
    with ``require_nodes`` a relationship to a node that is not there rejects its record
    instead of making the node with just its key.  Setting ``cancel`` stops the load
    after the batch in hand.  ``dataset`` imports the file as the next commit of that
    versioned dataset on ``branch`` (with commit ``message``) instead of into a table: see
    :mod:`chute.datasets`.  ``rename`` (input column → table column) and ``skip`` (input
    columns) map the input's columns onto the table's; ``types`` (column → type name, as
    ``bigint``, ``numeric(38,2)``, ``text``) makes a new table with those types instead of
    inferred ones, and its values are then judged as an existing table's (rejected, never
    widened).  Returns the :class:`LoadReport`; raises a
    :class:`~chute.errors.ChuteError` whose ``report`` holds what was committed.
    """
    parse_types(types or {})  # a wrong type name is an error before anything is opened
    options = LoadOptions(
        into=into,
        table=table,
        mode=parse_mode(default_mode(graph, mode, DEFAULT_MODE)),
        key=parse_key(key),
        format=format,
        delimiter=delimiter,
        quote=quote,
        encoding=encoding,
        header=header,
        sheet=None if sheet is None else str(sheet),
        batch_rows=batch_rows,
        batch_bytes=batch_bytes,
        memory_limit=parse_size(memory_limit),
        workers=workers,
        add_columns=add_columns,
        rename=dict(rename or {}),
        skip=frozenset(skip),
        types=dict(types or {}),
        rejects=rejects,
        max_errors=max_errors,
        restart=restart,
        atomic=atomic,
        connect_timeout=connect_timeout,
        graph=graph is not None,
    )
    if dataset is not None and (table is not None or graph is not None):
        raise ConfigError("--dataset imports into the dataset: leave out --table and --graph")
    table_name = check_table_name(
        dataset or (table if table is not None else default_table(source))
    )
    sink = open_sink(into, connect_timeout=options.connect_timeout)
    attach_graph(sink, graph, require_nodes=require_nodes, mode=options.mode, atomic=options.atomic)
    src = open_source(source, options)  # first: a source that cannot be opened says so
    try:
        store = open_rejects(rejects, sink=sink, table=table_name, source=source)
        try:
            if dataset is not None:
                from chute.datasets.importer import import_file  # only for imports

                return import_file(
                    src, sink, options, store, dataset=dataset, branch=branch,
                    message=message, observers=observers, cancel=cancel,
                )  # fmt: skip
            pipeline = Pipeline(
                src, sink, options, table_name, store, observers, cancel, must_store=True
            )
            return pipeline.run()
        finally:
            store.close()
    finally:
        src.close()
        sink.close()


def default_table(source: object) -> str:
    """A table name from a file name: ``Orders 2024.csv.gz`` → ``orders_2024``."""
    if not isinstance(source, (str, os.PathLike)) or os.fspath(source) == "-":
        raise ConfigError(
            "a table name is needed when the source is not a file", hint="pass --table NAME"
        )
    name = Path(os.fspath(source)).name
    for suffix in (".gz", REJECTS_SUFFIX):
        name = name.removesuffix(suffix)
    name = name.rsplit(".", 1)[0] if "." in name else name
    name = re.sub(r"[^A-Za-z0-9_]+", "_", name).lower()
    if is_reserved(name):  # not a user table with the underscores cut off: refused
        check_table_name(name[:MAX_IDENTIFIER_BYTES])
    name = name.strip("_")
    if not name:
        raise ConfigError(
            f"cannot make a table name from {os.fspath(source)!r}", hint="pass --table NAME"
        )
    if name[0].isdigit():
        name = f"t_{name}"
    return name[:MAX_IDENTIFIER_BYTES]
