"""The schema stage: make the table from the first batch, or match the input to an existing
table (its column types rule), and later add or widen columns as batches need.

A table this load made (or a resumed load made) keeps widening its columns; an existing
table's types are kept, and values that do not fit them are rejected (the database is the
oracle for what it accepts, see :mod:`chute.engine.oracle`).  Every check runs before the
table is changed.
"""

from __future__ import annotations

from chute.engine import columns as ct
from chute.engine.convert import Converter, Widening
from chute.engine.inflight import Item
from chute.engine.mapping import parse_types
from chute.engine.run import LoadRun
from chute.engine.schema_check import check_declared_types, check_distinct
from chute.errors import HINT_GENERATED, ConfigError, SourceError
from chute.sinks.contract import Mode, TableColumn
from chute.sinks.names import check_column_names
from chute.sources.base import DeclaresTypes, HasColumns, SourceBatch


class TableSchema:
    """Prepares the table of a load (:meth:`prepare`) and changes it (:meth:`apply`)."""

    def __init__(self, run: LoadRun) -> None:
        self.run = run

    def prepare(
        self, first: SourceBatch | None, *, ours: bool = False, must_store: bool = False
    ) -> Converter | None:
        """The converter of the load's batches, once the table is made or matched; None
        when the input has no columns at all (nothing to make a table of).  ``ours``: a
        resumed load made the table.  ``must_store``: an input with a header and no
        records is an error."""
        run = self.run
        source = run.source
        columns: list[str] = list(source.columns) if isinstance(source, HasColumns) else []
        if columns and run.columns:
            columns = run.columns.names(columns)
        if first is not None:
            columns = list(first.data.schema.names)
        if not columns:
            if not run.report.read:  # else every record was rejected (see nothing_stored)
                run.report.changes.append("the input holds no records; nothing was written")
            return None
        if first is None and not run.report.read and must_store:
            raise SourceError(
                "the input holds a header but no records; nothing was written",
                source=source.name,
            )
        capabilities = run.sink.capabilities
        check_column_names(columns, capabilities.max_name_bytes, run.database)
        missing_key = [k for k in run.key if k not in columns]
        existing = run.sink.describe(run.table)
        check_distinct(
            columns,
            [c.name for c in existing or []],
            table=run.target,
            ignore_case=capabilities.names_ignore_case,
        )
        types = parse_types(run.options.types)
        if existing is None:
            converter = self._create(first, columns, missing_key, types)
            if not types:
                return converter
            # the types are the user's: judged by the database, never widened
            existing = run.sink.describe(run.table)
            assert existing is not None
            return self._use(existing, first, columns)
        if types:
            raise ConfigError(
                f"{run.target} exists: its column types rule",
                hint="leave out --type, or load into a new table",
            )
        return self._use(existing, first, columns, ours=ours)

    def _infer(self, first: SourceBatch | None, name: str) -> ct.ColumnType:
        """The type a new column gets from the first batch (TEXT without a batch)."""
        if first is None:
            return ct.TEXT
        return ct.infer(
            first.data.schema.field(name),
            first.data.column(name),
            numbers_from_text=self.run.source.numbers_from_text,
            stores=self.run.sink.capabilities.stores,
        )

    def _create(
        self,
        first: SourceBatch | None,
        columns: list[str],
        missing_key: list[str],
        types: dict[str, ct.ColumnType],
    ) -> Converter:
        run = self.run
        if missing_key:
            raise ConfigError(
                f"key column(s) not in the input: {', '.join(missing_key)}",
                hint=f"the input has: {', '.join(columns)}",
            )
        unknown = sorted(set(types) - set(columns))
        if unknown:
            raise ConfigError(
                f"--type names column(s) the table will not have: {', '.join(unknown)}",
                hint=f"its columns: {', '.join(columns)}",
            )
        targets = {name: types.get(name) or self._infer(first, name) for name in columns}
        given = {n: (t, str(t)) for n, t in types.items() if n in columns}
        self._check_declared(first, columns, given)  # before the table is made
        run.sink.create_table(run.table, targets, run.key)
        run.report.table_created = True
        run.report.columns = {n: str(t) for n, t in targets.items()}
        return Converter(
            targets,
            may_widen=True,
            numbers_from_text=run.source.numbers_from_text,
            not_null=set(run.key),
            stores=run.sink.capabilities.stores,
            empty_table=True,
        )

    def _use(
        self,
        existing: list[TableColumn],
        first: SourceBatch | None,
        columns: list[str],
        *,
        ours: bool = False,
    ) -> Converter:
        """Load into an existing table: its column types rule, unless this load made it
        (``ours``: a resumed load), which keeps widening its columns."""
        run = self.run
        sink = run.sink
        by_name = {c.name: c for c in existing}
        folded: dict[str, list[str]] = {}
        for c in existing:
            folded.setdefault(c.name.lower(), []).append(c.name)
        rename: dict[str, str] = {}
        unknown = []
        for name in columns:
            if name in by_name:
                continue
            matches = folded.get(name.lower(), [])
            if len(matches) == 1:
                rename[name] = matches[0]
            else:
                unknown.append(name)
        targets = {c.name: c.type for c in existing}
        if unknown and not (run.options.add_columns or ours):  # ours: it may grow
            raise ConfigError(
                f"table {run.target} has no column(s) {', '.join(unknown)}",
                hint="add them to the table, or pass --add-columns to let chute add them",
            )
        key = [rename.get(k, k) for k in run.key]
        missing = [
            k
            for k in key
            if (k not in targets and k not in unknown)
            or (k not in columns and k not in rename.values())
        ]
        if missing:
            raise ConfigError(f"key column(s) not in the input: {', '.join(missing)}")
        run.key = key
        if run.write_mode is not Mode.APPEND and not sink.has_unique_key(run.table, key):
            raise ConfigError(
                f"table {run.target} has no primary key or unique index on "
                f"({', '.join(key)}), which {run.options.mode.value} needs",
                hint=f"create one: CREATE UNIQUE INDEX ON {run.target} ({', '.join(key)})",
            )
        given = {rename.get(n, n) for n in columns}
        generated = [c.name for c in existing if c.generated and c.name in given]
        if generated:
            raise ConfigError(
                f"column(s) {', '.join(generated)} of table {run.target} are generated by "
                "the database, and the input gives them values",
                hint=HINT_GENERATED,
            )
        required = [
            c.name for c in existing if not c.nullable and not c.has_default and c.name not in given
        ]
        if required:
            raise ConfigError(
                f"table {run.target} needs column(s) {', '.join(required)} (NOT NULL, no "
                "default), which the input lacks",
                hint=f"the input has: {', '.join(columns)}",
            )
        self._check_declared(
            first,
            columns,
            {
                n: (by_name[to].type, by_name[to].declared)
                for n in columns
                if (to := rename.get(n, n)) in by_name
            },
        )
        # every check passed: only now change the table
        for name in unknown:
            t = self._infer(first, name)
            sink.add_column(run.table, name, t)
            targets[name] = t
            run.report.changes.append(f"added column {name} {t} to table {run.target}")
        if ours:
            run.report.table_created = True
            run.report.columns = {c.name: str(c.type) for c in existing}
            return Converter(
                targets,
                may_widen=True,
                numbers_from_text=run.source.numbers_from_text,
                not_null=set(run.key),
                stores=sink.capabilities.stores,
            )
        run.report.columns = {c.name: c.declared for c in existing}
        return Converter(
            targets,
            may_widen=False,
            rename=rename,
            numbers_from_text=run.source.numbers_from_text,
            not_null={c.name for c in existing if not c.nullable},
            max_length={c.name: c.max_length for c in existing if c.max_length is not None},
            declared={c.name: c.declared for c in existing},
            oracle=sink.value_oracle(run.table),
        )

    def _check_declared(
        self,
        first: SourceBatch | None,
        columns: list[str],
        table_types: dict[str, tuple[ct.ColumnType, str]],
    ) -> None:
        """Refuse input columns whose declared types (a Parquet file's) ``table_types``
        cannot take (input column -> the table column's type and its own type name)."""
        run = self.run
        if not isinstance(run.source, DeclaresTypes) or first is None or not table_types:
            return
        input_name = {to: name for name, to in run.columns.rename.items()}
        declared = run.source.declared_types()
        check_declared_types(
            first.data.schema,
            {
                n: declared[input_name.get(n, n)]
                for n in columns
                if input_name.get(n, n) in declared
            },
            table_types,
            table=run.target,
            lists_into_arrays=run.sink.capabilities.lists_into_arrays,
        )

    def apply(self, item: Item) -> None:
        """Add and widen the columns a batch needs, before it is written."""
        run = self.run
        report = run.report
        for name, (t, where) in item.added.items():
            run.sink.add_column(run.table, name, t)
            report.columns[name] = str(t)
            report.changes.append(f"added column {name} {t} (first seen at {where})")
        for w in item.widenings:
            current = self._current_types(w)
            run.sink.alter_column(run.table, w.column, w.new, current, run.key)
            report.columns[w.column] = str(w.new)
            report.changes.append(
                f"column {w.column} widened from {w.old} to {w.new} at {w.line_or_record} "
                f"(value {w.example!r})"
            )

    def _current_types(self, w: Widening) -> dict[str, ct.ColumnType]:
        described = self.run.sink.describe(self.run.table) or []
        return {c.name: (w.old if c.name == w.column else c.type) for c in described}

    def unique_keys(self) -> list[list[str]]:
        """The column sets no two batches in flight may share a value of."""
        run = self.run
        keys = run.sink.unique_keys(run.table)
        if run.write_mode is not Mode.APPEND and sorted(run.key) not in map(sorted, keys):
            keys.append(list(run.key))
        return keys
