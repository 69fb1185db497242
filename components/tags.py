"""The tags every taggable resource carries, set explicitly where each resource is created.

Resource transforms would be shorter but do not run under Pulumi's test mocks, and a
tag that only a transform adds is invisible in a code review; so components call
`Tags.for_resource` on every taggable resource, and the provider's `default_tags`
repeat the same four keys as a backstop for anything added later.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

REQUIRED_TAG_KEYS = ("Environment", "Owner", "CostCenter", "DataClassification")


@dataclass(frozen=True)
class Tags:
    environment: str
    owner: str
    cost_center: str
    data_classification: str

    def required(self) -> dict[str, str]:
        return {
            "Environment": self.environment,
            "Owner": self.owner,
            "CostCenter": self.cost_center,
            "DataClassification": self.data_classification,
        }

    def for_resource(self, name: str, **extra: str) -> dict[str, str]:
        """The required tags plus a Name and any resource-specific tags."""
        return {**self.required(), "Name": name, **extra}

    def classified(self, data_classification: str) -> Tags:
        """The same tags for data of another classification (audit logs are restricted)."""
        return replace(self, data_classification=data_classification)
