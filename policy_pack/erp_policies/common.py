"""Values and helpers several policy areas share."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from .framework import effective_tags, peek

# Buckets under either name: stacks created before pulumi-aws 7 still register BucketV2.
S3_BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")

PRODUCTION_ENVIRONMENTS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "default": ["prod", "dr"],
    "description": "Environment tag values that hold production data and get production-only controls.",
}


def is_production(environment: str | None, settings: Mapping[str, Any]) -> bool:
    return environment is not None and environment in settings["productionEnvironments"]


def resource_tags(resource: PolicyResource) -> Mapping[str, Any] | Any:
    """A resource's tags in a stack check, as the engine applies them (UNKNOWN when unknown)."""
    provider_props = resource.provider.props if resource.provider is not None else {}
    return effective_tags(resource.props, provider_props)


def environment_of(resource: PolicyResource) -> str | None:
    """The Environment tag of a resource in a stack check (its own tags over the provider's)."""
    tags = resource_tags(resource)
    value = peek(tags, "Environment") if isinstance(tags, Mapping) else None
    return value if isinstance(value, str) else None


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM-style policy document given as JSON text or an object."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return []
    if not isinstance(document, Mapping):
        return []
    found = document.get("Statement", [])
    if isinstance(found, Mapping):
        return [found]
    # Lists inside props are pulumi-policy proxies: Sequences, not lists.
    if isinstance(found, Sequence) and not isinstance(found, str):
        return [s for s in found if isinstance(s, Mapping)]
    return []


# Operators that require the request's value to match fixed values. Negations, Null and the
# ForAllValues/ForAnyValue set operators do not pin anything (ForAllValues is true when the key is
# absent), and `...IfExists` pins only keys that every request carries.
_MATCHING_OPERATORS = ("stringequals", "stringequalsignorecase", "stringlike")


def pinning_conditions(
    statement: Mapping[str, Any], keys: Collection[str], always_present: Collection[str] = ()
) -> list[str]:
    """The `Operator key` pairs of a statement that pin one of `keys` (lower-case) to fixed values."""
    found: list[str] = []
    conditions = statement.get("Condition")
    if not isinstance(conditions, Mapping):
        return found
    for operator, clauses in conditions.items():
        if not isinstance(operator, str) or not isinstance(clauses, Mapping):
            continue
        base = operator.lower()
        if_exists = base.endswith("ifexists")
        if base.removesuffix("ifexists") not in _MATCHING_OPERATORS:
            continue
        for key, values in clauses.items():
            name = key.lower() if isinstance(key, str) else ""
            if name not in keys or (if_exists and name not in always_present):
                continue
            listed = as_list(values)
            if listed and all(_is_fixed(value) for value in listed):
                found.append(f"{operator} {key}")
    return found


def _is_fixed(value: Any) -> bool:
    return isinstance(value, str) and value != "" and not any(marker in value for marker in ("*", "?", "${"))


def statement_label(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement #{index}"


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]
