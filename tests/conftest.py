"""Shared fixtures: every test that needs the program runs it through erpctl's one harness."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from erpctl.model import ResourceRecord, StackSnapshot
from erpctl.project import Project, encode_config_value
from erpctl.readers.mocks import run_program

PROJECT = Project.load()
NS = PROJECT.name


def stack_config(stack: str, **overrides: Any) -> dict[str, str]:
    """The stack file's config in engine form, with `key=value` overrides (values as in YAML).

    Keys are project keys without the namespace; a value of None removes the key.
    """
    raw = PROJECT.raw_config(stack)
    for key, value in overrides.items():
        full = f"{NS}:{key}"
        if value is None:
            raw.pop(full, None)
        else:
            raw[full] = encode_config_value(value)
    return raw


def stack_value(stack: str, key: str) -> Any:
    value = PROJECT.raw_config(stack)[f"{NS}:{key}"]
    return json.loads(value) if value[:1] in "{[" else value


class Plan:
    """A registered stack with lookups that make assertions read like the property they check."""

    def __init__(self, snapshot: StackSnapshot) -> None:
        self.snapshot = snapshot
        self.resources = snapshot.resources
        self.urns = snapshot.by_urn()

    def of_type(self, type_: str) -> list[ResourceRecord]:
        return [resource for resource in self.resources if resource.type == type_]

    def one(self, type_: str, name: str | None = None) -> ResourceRecord:
        matches = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(matches) == 1, f"expected one {type_} named {name}, found {[r.name for r in matches]}"
        return matches[0]

    def named(self, name: str) -> ResourceRecord:
        matches = [resource for resource in self.resources if resource.name == name]
        assert len(matches) == 1, f"expected one resource named {name}, found {len(matches)}"
        return matches[0]

    def children_of(self, parent: ResourceRecord) -> list[ResourceRecord]:
        return [resource for resource in self.resources if resource.parent == parent.urn]

    def depends_on(self, resource: ResourceRecord, other: ResourceRecord, prop: str | None = None) -> bool:
        """True when `resource` consumes `other`, through any input or through input `prop`."""
        if prop is not None:
            return other.urn in resource.property_dependencies.get(prop, ())
        return other.urn in resource.dependencies

    @property
    def outputs(self) -> Mapping[str, Any]:
        return self.snapshot.outputs


@pytest.fixture
def plan_stack() -> Callable[..., Plan]:
    """Runs the program offline: `plan_stack("prod")` or `plan_stack("prod", raw_config)`."""

    def run(stack: str, raw_config: Mapping[str, str] | None = None) -> Plan:
        return Plan(run_program(PROJECT, stack, raw_config))

    return run


@pytest.fixture(scope="session")
def prod_plan() -> Plan:
    """The prod stack as committed; shared because many read-only tests inspect it."""
    return Plan(run_program(PROJECT, "prod"))
