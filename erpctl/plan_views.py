"""Views of an offline plan: text for people, JSON for tools, Mermaid for the README.

Every view is computed from the snapshot alone, so the diagram cannot describe an
architecture the program does not build.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Mapping
from typing import Any

from erpctl.model import STACK_TYPE, ResourceRecord, StackSnapshot, redact_secrets


def render_json(snapshot: StackSnapshot) -> str:
    return json.dumps(snapshot.to_json(), indent=2, sort_keys=False)


def render_text(snapshot: StackSnapshot) -> str:
    registered = [r for r in snapshot.resources if r.type != STACK_TYPE]
    custom = [r for r in registered if r.custom and not r.is_provider]
    by_urn = snapshot.by_urn()
    components = [r for r in registered if not r.custom]
    lines = [
        f"Offline plan of stack '{snapshot.stack}': {len(registered)} resources "
        f"({len(custom)} AWS, {len(components)} components, "
        f"{sum(r.is_provider for r in registered)} providers); no Pulumi CLI, no cloud calls.",
        "",
        "Resources by component:",
    ]
    owner_counts = Counter(_top_component(r, by_urn) for r in custom)
    width = max((len(name) for name in owner_counts), default=0)
    for owner, count in sorted(owner_counts.items()):
        lines.append(f"  {owner:<{width}}  {count:>4}")
    lines += ["", "Resources by type:"]
    type_counts = Counter(r.type for r in custom)
    width = max((len(t) for t in type_counts), default=0)
    for type_, count in sorted(type_counts.items()):
        lines.append(f"  {type_:<{width}}  {count:>4}")
    lines += ["", "Component tree:"]
    lines += _tree(snapshot)
    lines += ["", "Stack outputs:"]
    for key, value in redact_secrets(dict(snapshot.outputs)).items():
        lines.append(f"  {key}: {json.dumps(value, sort_keys=True)}")
    return "\n".join(lines)


def _top_component(record: ResourceRecord, by_urn: Mapping[str, ResourceRecord]) -> str:
    """The outermost component that contains the resource (or the stack itself)."""
    owner = "(stack)"
    parent = by_urn.get(record.parent or "")
    while parent is not None and parent.type != STACK_TYPE:
        owner = f"{parent.name} ({parent.type})"
        parent = by_urn.get(parent.parent or "")
    return owner


def _tree(snapshot: StackSnapshot) -> list[str]:
    children: dict[str | None, list[ResourceRecord]] = {}
    for record in snapshot.resources:
        children.setdefault(record.parent, []).append(record)
    roots = [r for r in snapshot.resources if r.type == STACK_TYPE]
    lines: list[str] = []

    def walk(record: ResourceRecord, prefix: str, last: bool, depth: int) -> None:
        branch = "" if depth == 0 else ("└─ " if last else "├─ ")
        kids = children.get(record.urn, [])
        leaf_types = Counter(k.type for k in kids if k.custom or not children.get(k.urn))
        lines.append(f"  {prefix}{branch}{record.name} ({record.type})")
        nested = [k for k in kids if not k.custom or k.is_provider]
        child_prefix = prefix + ("" if depth == 0 else ("   " if last else "│  "))
        if leaf_types and record.type != STACK_TYPE:
            # A no-break space keeps each count on the same line as its type when wrapping.
            summary = ", ".join(f"{count}\u00a0{type_.rsplit(':', 1)[-1]}" for type_, count in sorted(leaf_types.items()))
            rail = f"  {child_prefix}{'│  ' if nested else '   '}"
            wrapped = textwrap.wrap(summary, width=100, initial_indent=rail, subsequent_indent=rail)
            lines.extend(line.replace("\u00a0", " ") for line in wrapped)
        for index, kid in enumerate(nested):
            walk(kid, child_prefix, index == len(nested) - 1, depth + 1)

    for root in roots:
        walk(root, "", True, 0)
    return lines


def render_mermaid(snapshot: StackSnapshot) -> str:
    """Tiers, components and the trust boundaries between them, from what was registered."""
    records = [r for r in snapshot.resources if r.custom]
    subnets = Counter(_tag(r, "Tier") for r in records if r.type == "aws:ec2/subnet:Subnet")
    nat = sum(r.type == "aws:ec2/natGateway:NatGateway" for r in records)
    endpoints = [r for r in records if r.type == "aws:ec2/vpcEndpoint:VpcEndpoint"]
    interface = sum(_input(r, "vpcEndpointType") == "Interface" for r in endpoints)
    gateway = len(endpoints) - interface
    vpns = [r for r in records if r.type == "aws:ec2/customerGateway:CustomerGateway"]
    keys = sum(r.type == "aws:kms/key:Key" for r in records)
    vpc = next((r for r in records if r.type == "aws:ec2/vpc:Vpc"), None)
    lock = next((r for r in records if r.type == "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"), None)
    retention = _input(lock, "rule", "defaultRetention") or {}
    trail = next((r for r in records if r.type == "aws:cloudtrail/trail:Trail"), None)

    lines = [
        "flowchart LR",
        '  internet(("Internet"))',
        f'  plants[/"Plants: {len(vpns)} site-to-site VPN"/]',
        f'  subgraph vpc["VPC {_input(vpc, "cidrBlock") or ""}"]',
        "    direction LR",
        f'    subgraph ingress["Ingress tier: {subnets.get("ingress", 0)} public subnets"]',
        '      igw["Internet gateway"]',
        f'      nat["NAT gateways: {nat}"]',
        "    end",
        f'    subgraph app["App tier: {subnets.get("app", 0)} private subnets"]',
        f'      endpoints["VPC endpoints: {interface} interface, {gateway} gateway"]',
        "    end",
        f'    subgraph data["Data tier: {subnets.get("data", 0)} isolated subnets"]',
        '      dbsubnets["DB subnet group, no internet route"]',
        "    end",
        "  end",
        '  subgraph audit["Immutable log archive"]',
        f'    trail["CloudTrail{" multi-region" if _input(trail, "isMultiRegionTrail") else ""}"]',
        f'    archive[("S3 Object Lock {retention.get("mode", "")} {_days(retention)}")]',
        "  end",
        f'  keyring{{{{"KMS key ring: {keys} CMKs"}}}}',
        "  internet -- \"443 / 80 redirect\" --> ingress",
        "  ingress -- \"load balancer to app\" --> app",
        "  app -- \"database port only\" --> data",
        "  plants -- \"VPN, routed to app tier only\" --> app",
        "  app -. \"egress via NAT\" .-> nat",
        "  vpc -. \"flow logs (ALL)\" .-> archive",
        "  trail --> archive",
        "  keyring -. \"encrypts\" .-> archive",
    ]
    return "\n".join(lines)


def _tag(record: ResourceRecord, key: str) -> str | None:
    tags = record.inputs.get("tags") or {}
    return tags.get(key) if isinstance(tags, Mapping) else None


def _input(record: ResourceRecord | None, *path: str) -> Any:
    value: Any = record.inputs if record is not None else None
    for key in path:
        if isinstance(value, list):
            value = value[0] if value else None
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _days(retention: Mapping[str, Any]) -> str:
    days = retention.get("days")
    return f"{int(days)} days" if isinstance(days, (int, float)) else ""
