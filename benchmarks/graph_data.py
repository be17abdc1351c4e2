"""Report 05's inventory: cloud resources of 8 kinds and the relationships between them, as
JSON Lines, one resource a line, deterministic (seeded).

::

    python benchmarks/graph_data.py                # data/inventory_40000.jsonl, ~9 MB
    python benchmarks/graph_data.py --scale 5      # data/inventory_200000.jsonl

At 40,000 resources (scale 1): 100 accounts, 400 VPCs, 1,600 subnets, 2,000 security
groups, 700 load balancers, 1,200 buckets, 17,000 instances and 17,000 volumes, with exactly
100,000 relationships (2.5 a resource), held on the record they start from:

- ``contains`` (CONTAINS, 39,900): an account its VPCs, buckets and volumes; a VPC its
  subnets, security groups and load balancers; a subnet its instances;
- ``attached_to`` (ATTACHED_TO, 17,000): a volume the instance it is attached to;
- ``member_of`` (MEMBER_OF, 43,100): an instance two security groups of its VPC (and, for
  8,400 of them, a load balancer of its VPC); a load balancer one security group.

Every scale multiplies each count.  Records come grouped by kind in the order above, so every
``contains`` points forward in the file (an account's volumes come last) and ``attached_to``
and ``member_of`` point back: a loader that writes the relationships of a batch before the
later batches' nodes exist must still store them all.  Each record::

    {"id": "i-0000000042", "kind": "Instance", "name": "web-42", "region": "eu-west-1",
     "created": "2025-03-01T12:00:00Z", "tags": {"env": "prod", "team": "t3"},
     "contains": [], "attached_to": [], "member_of": ["sg-0000000003", "lb-0000000001"]}

``tags`` is a nested object that a graph property cannot hold; the mapping leaves it out.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
RESOURCES = 40_000
RELATIONSHIPS = 100_000
SEED = 5
#: kind, id prefix, and how many of every 40,000 resources, in the order of the file
KINDS: tuple[tuple[str, str, int], ...] = (
    ("Account", "acct", 100),
    ("Vpc", "vpc", 400),
    ("Subnet", "subnet", 1_600),
    ("SecurityGroup", "sg", 2_000),
    ("LoadBalancer", "lb", 700),
    ("Bucket", "bucket", 1_200),
    ("Instance", "i", 17_000),
    ("Volume", "vol", 17_000),
)
PROPERTIES = ("kind", "name", "region", "created")
#: relationship type -> the record's array of target ids
REL_FIELDS = {"CONTAINS": "contains", "ATTACHED_TO": "attached_to", "MEMBER_OF": "member_of"}
#: chute's graph mapping for this file (the same as YAML in ``mapping_yaml``)
MAPPING: dict[str, Any] = {
    "nodes": {"Resource": {"key": "id", "properties": list(PROPERTIES)}},
    "relationships": [
        {"type": t, "from": {"Resource": "id"}, "to": {"Resource": f"{f}[]"}}
        for t, f in REL_FIELDS.items()
    ],
}
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-2")
NAMES = ("web", "api", "db", "cache", "batch", "etl", "auth", "edge")


@dataclass
class Expected:
    """What a correct load stores: node count, nodes per kind, relationships per type."""

    nodes: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    rels: dict[str, int] = field(default_factory=dict)


def counts(scale: int) -> dict[str, int]:
    return {kind: n * scale for kind, _, n in KINDS}


def _ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i:010d}" for i in range(n)]


def generate(scale: int = 1, seed: int = SEED) -> list[dict[str, Any]]:
    """The records of the inventory at ``scale`` (40,000 × scale resources)."""
    rnd = random.Random(seed)
    n = counts(scale)
    ids = {kind: _ids(prefix, n[kind]) for kind, prefix, _ in KINDS}
    rec: dict[str, dict[str, Any]] = {}
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for kind, _, _ in KINDS:
        for i, rid in enumerate(ids[kind]):
            rec[rid] = {
                "id": rid,
                "kind": kind,
                "name": f"{NAMES[i % len(NAMES)]}-{i}",
                "region": REGIONS[rnd.randrange(len(REGIONS))],
                "created": (start + timedelta(minutes=rnd.randrange(1_000_000))).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "tags": {"env": rnd.choice(("prod", "dev", "test")), "team": f"t{i % 12}"},
                "contains": [],
                "attached_to": [],
                "member_of": [],
            }
    accounts, vpcs = ids["Account"], ids["Vpc"]
    account_of: dict[str, str] = {}
    for j, vpc in enumerate(vpcs):  # a VPC, a subnet, ... belongs to the j % len-th parent
        account_of[vpc] = accounts[j % len(accounts)]
        rec[account_of[vpc]]["contains"].append(vpc)
    in_vpc: dict[str, dict[str, list[str]]] = {v: {"sg": [], "lb": [], "subnet": []} for v in vpcs}
    for kind, short in (("Subnet", "subnet"), ("SecurityGroup", "sg"), ("LoadBalancer", "lb")):
        for j, rid in enumerate(ids[kind]):
            vpc = vpcs[j % len(vpcs)]
            in_vpc[vpc][short].append(rid)
            rec[vpc]["contains"].append(rid)
    for j, bucket in enumerate(ids["Bucket"]):
        rec[accounts[j % len(accounts)]]["contains"].append(bucket)
    for j, lb in enumerate(ids["LoadBalancer"]):
        vpc_sgs = in_vpc[vpcs[j % len(vpcs)]]["sg"]
        rec[lb]["member_of"].append(rnd.choice(vpc_sgs))
    subnets = ids["Subnet"]
    vpc_of_subnet = {s: vpcs[j % len(vpcs)] for j, s in enumerate(subnets)}
    for inst in ids["Instance"]:
        subnet = subnets[rnd.randrange(len(subnets))]
        vpc = vpc_of_subnet[subnet]
        account_of[inst] = account_of[vpc]
        rec[subnet]["contains"].append(inst)
        rec[inst]["member_of"].extend(rnd.sample(in_vpc[vpc]["sg"], 2))
    for vol in ids["Volume"]:
        inst = ids["Instance"][rnd.randrange(len(ids["Instance"]))]
        rec[vol]["attached_to"].append(inst)
        rec[account_of[inst]]["contains"].append(vol)
    # the rest of the 2.5 relationships a resource: instances in a load balancer's pool
    so_far = sum(len(r[f]) for r in rec.values() for f in REL_FIELDS.values())
    wanted = max(0, min(RELATIONSHIPS * scale - so_far, n["Instance"]))
    instance_vpc = {i: vpc_of_subnet[s] for s in subnets for i in rec[s]["contains"]}
    for inst in rnd.sample(ids["Instance"], wanted):
        rec[inst]["member_of"].append(rnd.choice(in_vpc[instance_vpc[inst]]["lb"]))
    return list(rec.values())


def expected(records: list[dict[str, Any]]) -> Expected:
    kinds = Counter(r["kind"] for r in records)
    # distinct (from, to) pairs: MERGE stores a repeated pair once
    rels = {t: len({(r["id"], to) for r in records for to in r[f]}) for t, f in REL_FIELDS.items()}
    return Expected(len(records), dict(kinds), rels)


def ensure_inventory(scale: int = 1, folder: Path = DATA) -> tuple[Path, Expected]:
    """Write ``inventory_<N>.jsonl`` (unless there) and its expected counts beside it."""
    path = folder / f"inventory_{RESOURCES * scale}.jsonl"
    meta = path.with_suffix(".expected.json")
    if path.exists() and meta.exists():
        return path, Expected(**json.loads(meta.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    records = generate(scale)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        for r in records:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    tmp.replace(path)
    exp = expected(records)
    meta.write_text(json.dumps(exp.__dict__))
    return path, exp


def mapping_yaml() -> str:
    lines = ["nodes:", f"  Resource: {{key: id, properties: [{', '.join(PROPERTIES)}]}}"]
    lines.append("relationships:")
    for t, f in REL_FIELDS.items():
        lines.append(f'  - {{type: {t}, from: {{Resource: id}}, to: {{Resource: "{f}[]"}}}}')
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args(argv)
    path, exp = ensure_inventory(args.scale)
    path.with_name("inventory.mapping.yml").write_text(mapping_yaml())
    print(f"{path}: {exp.nodes} resources, {sum(exp.rels.values())} relationships {exp.rels}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
