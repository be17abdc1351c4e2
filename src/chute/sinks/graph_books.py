"""The engine's bookkeeping for a graph load, as nodes in the graph: checkpoints as
``_ChuteCheckpoint`` nodes (written in the batch's transaction, with the counts by label and
relationship type so far) and ``--rejects table:NAME`` as nodes labelled ``NAME``."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import TYPE_CHECKING

import pyarrow as pa

from chute.graph import cypher
from chute.graph.mapping import _name
from chute.graph.plan import Counts, add_counts
from chute.sinks.contract import Checkpoint

if TYPE_CHECKING:
    from chute.sinks.graph import GraphSink


class GraphCheckpoints:
    """Checkpoints as ``_ChuteCheckpoint`` nodes, with the sink's counts by label."""

    def __init__(self, sink: GraphSink) -> None:
        self.sink = sink

    def load(self, load_key: str) -> Checkpoint | None:
        rows = self.sink._read(cypher.find_node(cypher.CHECKPOINT_LABEL), {"k": load_key})
        if not rows:
            return None
        props = dict(rows[0][0])
        counts = props.pop("graph_counts", None)
        if counts:
            self.sink.counts = json.loads(counts)
        names = {f.name for f in fields(Checkpoint)}
        return Checkpoint(**{k: v for k, v in props.items() if k in names})

    def save(self, load_key: str, checkpoint: Checkpoint) -> None:
        sink = self.sink
        totals: Counts = {}
        add_counts(totals, sink.counts)
        add_counts(totals, sink._pending)
        props = {k: v for k, v in asdict(checkpoint).items() if v is not None}
        props |= {"load_key": load_key, "graph_counts": json.dumps(totals)}
        sink._write(cypher.keep_node(), {"rows": [{"k": load_key, "p": props}]})

    def mark_completed(self, load_key: str, table_token: str | None) -> None:
        token = {"table_token": table_token} if table_token is not None else {}
        self.sink._write(
            f"MATCH (c:{cypher.q(cypher.CHECKPOINT_LABEL)} {{load_key: $k}}) SET c += $p",
            {"k": load_key, "p": {"completed": 1, **token}},
        )

    def clear(self, load_key: str) -> None:
        with self.sink.transaction():
            self.sink._write(cypher.drop_node(cypher.CHECKPOINT_LABEL), {"k": load_key})


class GraphRejects:
    """``--rejects table:NAME``: rejected records as nodes labelled ``NAME``."""

    def __init__(self, sink: GraphSink, label: str) -> None:
        self.sink = sink
        self.label = _name(label, "label", "--rejects table:NAME")

    def prepare(self) -> None:
        return None  # nodes need no table

    def append(self, batch: pa.RecordBatch) -> None:
        rows = []
        for r in batch.to_pylist():
            if r.get("record") is not None and not isinstance(r["record"], str):
                r["record"] = json.dumps(r["record"], default=str)
            rows.append({k: v for k, v in r.items() if v is not None})
        self.sink._write(
            f"UNWIND $rows AS r CREATE (c:{cypher.q(self.label)}) SET c = r", {"rows": rows}
        )

    def forget_from(self, record_number: int) -> None:
        with self.sink.transaction():
            self.sink._write(
                f"MATCH (c:{cypher.q(self.label)}) WHERE c.record_number >= $n DELETE c",
                {"n": record_number},
            )
