"""Old home of the sink contract, kept so existing imports work: see
:mod:`chute.sinks.contract` (the contract), :mod:`chute.sinks.names` (names) and
:mod:`chute.sinks.sql` (the SQL layer)."""

from chute.sinks.contract import (
    Capabilities,
    Checkpoint,
    CheckpointStore,
    LoadLocks,
    Mode,
    RejectStore,
    Savepoints,
    Sink,
    Staging,
    TableColumn,
    WriteCounts,
)
from chute.sinks.names import (
    MAX_IDENTIFIER_BYTES,
    RESERVED_PREFIX,
    check_column_names,
    check_table_name,
    is_reserved,
)
from chute.sinks.sql.counted import Counted
from chute.sinks.sql.dialect import quote_identifier

__all__ = [
    "MAX_IDENTIFIER_BYTES",
    "RESERVED_PREFIX",
    "Capabilities",
    "Checkpoint",
    "CheckpointStore",
    "Counted",
    "LoadLocks",
    "Mode",
    "RejectStore",
    "Savepoints",
    "Sink",
    "Staging",
    "TableColumn",
    "WriteCounts",
    "check_column_names",
    "check_table_name",
    "is_reserved",
    "quote_identifier",
]
