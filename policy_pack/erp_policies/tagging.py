"""Tagging: ownership, cost and data classification on every taggable resource."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from .framework import References, ResourceView, is_unknown, peek, resource_policy
from .taggable import is_taggable

DEFAULT_REQUIRED_TAGS: dict[str, list[str]] = {
    "Environment": ["prod", "dr", "qa", "validation", "training"],
    "Owner": [],
    "CostCenter": [],
    "DataClassification": ["public", "internal", "confidential", "restricted"],
}


@resource_policy(
    name="erp-aws-resource-required-tags",
    description="Every taggable AWS resource carries Environment, Owner, CostCenter and DataClassification with allowed values.",
    area="tagging",
    severity=Severity.MEDIUM,
    references=References(nist=("CM-8", "RA-2"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "Pass tags=tags.for_resource(name) (components/tags.py) to the resource, or add the missing keys to "
        "the provider's default_tags; use one of the allowed values listed in the message."
    ),
    rationale=(
        "Tags route incidents to an owner, charge cost centres and tell responders how sensitive the data is; "
        "the scheduler and backup selections also key on them."
    ),
    resource_types=None,
    config={
        "requiredTags": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "default": DEFAULT_REQUIRED_TAGS,
            "description": "Required tag keys, each with its allowed values (an empty list allows any non-empty value).",
        }
    },
)
def required_tags(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if not is_taggable(resource.type):
        return
    tags = resource.known_tags()
    for key, allowed in settings["requiredTags"].items():
        value = peek(tags, key)
        if is_unknown(value):
            continue
        if not value:
            yield f"missing tag {key}" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        elif allowed and value not in allowed:
            yield f"tag {key}={value!r} is not allowed; use one of {', '.join(allowed)}"


POLICIES = [required_tags]
