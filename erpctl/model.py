"""The one in-memory shape of a stack that every reader produces and every consumer reads.

Inputs keep Pulumi's wire form (camelCase provider-schema names, numbers as floats,
secrets as signature objects, unknowns as sentinel strings), the same form the
engine hands a policy pack, so one evaluation path serves all three readers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SECRET_PLACEHOLDER = "[secret]"
STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"


@dataclass(frozen=True)
class ResourceRecord:
    """A resource as registered with the engine (the RegisterResource request)."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    protect: bool
    provider: str | None
    inputs: Mapping[str, Any]
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def provider_urn(self) -> str | None:
        """The provider reference is `urn::id`; the URN part identifies the provider resource."""
        if not self.provider:
            return None
        urn, _, _ = self.provider.rpartition("::")
        return urn or None

    @property
    def is_provider(self) -> bool:
        return self.type.startswith(PROVIDER_TYPE_PREFIX)

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "protect": self.protect,
            "provider": self.provider,
            "inputs": redact_secrets(self.inputs),
            "dependencies": list(self.dependencies),
            "propertyDependencies": {key: list(urns) for key, urns in self.property_dependencies.items()},
        }


@dataclass(frozen=True)
class StackSnapshot:
    """Every resource of one stack plus its outputs, from whichever reader produced it."""

    stack: str
    resources: tuple[ResourceRecord, ...]
    outputs: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def by_urn(self) -> dict[str, ResourceRecord]:
        return {resource.urn: resource for resource in self.resources}

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": [resource.to_json() for resource in self.resources],
            "outputs": redact_secrets(dict(self.outputs)),
        }


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def redact_secrets(value: Any) -> Any:
    """Secrets print as Pulumi prints them in a preview: `[secret]`."""
    if is_secret(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, Mapping):
        return {key: redact_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_secrets(item) for item in value]
    return value
