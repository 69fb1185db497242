"""Baseline-plus-one-mutation policy tests, run through the offline evaluator (the CLI's path).

`resource(...)` builds one registered resource in engine form; `check(...)` evaluates
a list of them under the standard provider (default tags of a prod stack) and returns
the findings of one policy. A test states a compliant baseline, proves it has no
finding, then changes one property and proves the finding appears.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from erpctl.evaluator import CheckResult, Finding, evaluate
from erpctl.model import ResourceRecord, StackSnapshot
from policy_pack.erp_policies.waivers import Waiver

STACK = "prod"
PROJECT = "erp-platform"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi's unknown-string sentinel
PROD_TAGS = {"Environment": "prod", "Owner": "erp-platform-team", "CostCenter": "CC-4100-ERP",
             "DataClassification": "confidential"}
QA_TAGS = {**PROD_TAGS, "Environment": "qa"}
PROVIDER_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:aws::aws-primary"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"


def urn_of(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def resource(
    type_: str,
    name: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    protect: bool = False,
    dependencies: Sequence[str] = (),
    property_dependencies: Mapping[str, Sequence[str]] | None = None,
    custom: bool = True,
) -> ResourceRecord:
    prop_deps = {key: tuple(urns) for key, urns in (property_dependencies or {}).items()}
    all_deps = tuple(dict.fromkeys([*dependencies, *(u for urns in prop_deps.values() for u in urns)]))
    return ResourceRecord(
        urn=urn_of(type_, name),
        type=type_,
        name=name,
        custom=custom,
        parent=STACK_URN,
        protect=protect,
        provider=f"{PROVIDER_URN}::provider-id" if custom else None,
        inputs=copy.deepcopy(dict(inputs or {})),
        dependencies=all_deps,
        property_dependencies=prop_deps,
    )


def mutate(record: ResourceRecord, **changes: Any) -> ResourceRecord:
    """A copy with top-level inputs changed; a value of None removes the input."""
    inputs = copy.deepcopy(dict(record.inputs))
    for key, value in changes.items():
        if value is None:
            inputs.pop(key, None)
        else:
            inputs[key] = value
    return ResourceRecord(**{**record.__dict__, "inputs": inputs})


def with_options(record: ResourceRecord, **options: Any) -> ResourceRecord:
    return ResourceRecord(**{**record.__dict__, **options})


def snapshot(resources: Sequence[ResourceRecord], default_tags: Mapping[str, str] = PROD_TAGS) -> StackSnapshot:
    stack = ResourceRecord(STACK_URN, "pulumi:pulumi:Stack", f"{PROJECT}-{STACK}", False, None, False, None, {})
    provider = ResourceRecord(
        PROVIDER_URN, "pulumi:providers:aws", "aws-primary", True, STACK_URN, False, None,
        {"region": "eu-central-1", "defaultTags": json.dumps({"tags": dict(default_tags)})},
    )
    return StackSnapshot(stack=STACK, resources=(stack, provider, *resources), source="test")


def run(
    resources: Sequence[ResourceRecord],
    *,
    default_tags: Mapping[str, str] = PROD_TAGS,
    policy_config: Mapping[str, Any] | None = None,
    waivers: Sequence[Waiver] = (),
    today: dt.date = dt.date(2026, 12, 4),
) -> CheckResult:
    return evaluate(snapshot(resources, default_tags), policy_config=policy_config, waivers=waivers, today=today)


def findings(policy: str, resources: Sequence[ResourceRecord], **kwargs: Any) -> list[Finding]:
    """Unwaived findings of `policy` for these resources."""
    return [f for f in run(resources, **kwargs).findings if f.policy == policy and not f.waived]


def names(policy: str, resources: Sequence[ResourceRecord], **kwargs: Any) -> list[str]:
    """Sorted names of the resources with an unwaived finding of `policy`."""
    return sorted(f.resource_name or "" for f in findings(policy, resources, **kwargs))


def skipped(policy: str, resources: Sequence[ResourceRecord], **kwargs: Any) -> list[str]:
    return [s.reason for s in run(resources, **kwargs).skipped if s.policy == policy]
