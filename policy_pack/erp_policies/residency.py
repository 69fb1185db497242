"""Data residency: ERP data stays in the regions the organisation has approved."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from .framework import References, ResourceView, resource_policy

AWS_PROVIDER_TYPE = "pulumi:providers:aws"


@resource_policy(
    name="erp-aws-provider-allowed-region",
    description="AWS providers and per-resource region overrides use only approved regions.",
    area="residency",
    severity=Severity.HIGH,
    references=References(nist=("SA-9(5)", "SC-7"), cfr11=("11.10(c)",)),
    remediation_steps=(
        "Set the stack's erp-platform:region and drRegion to approved regions, remove a `region=` argument that "
        "points elsewhere, or add the region to this policy's allowedRegions after a residency review."
    ),
    rationale=(
        "Production, quality and financial records are often bound to a jurisdiction; a resource in an "
        "unapproved region is a compliance finding even when it is secure."
    ),
    resource_types=None,
    config={
        "allowedRegions": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["eu-central-1", "eu-west-1"],
            "description": "Regions in which providers and resources may be created.",
        }
    },
)
def allowed_region(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if resource.type != AWS_PROVIDER_TYPE and not resource.type.startswith("aws:"):
        return
    region = resource.get("region")
    allowed = settings["allowedRegions"]
    if region and region not in allowed:
        yield f"region {region!r} is not approved; allowed: {', '.join(allowed)}"


POLICIES = [allowed_region]
