"""How a policy is written here: a small pure check plus pulumi-policy's own metadata.

A resource check receives a `ResourceView` and the policy's config and yields
violation messages; a stack check receives a `StackView` and yields
`(urn, message)` pairs. `PolicyDefinition.to_pulumi()` wraps a check in a real
pulumi-policy `ResourceValidationPolicy` / `StackValidationPolicy`, which both the
CLI pack and the offline evaluator run, so the two cannot drift.

Unknown values follow pulumi-policy: props are its unknown-checking proxies, so
reading a value that is unknown at preview raises `UnknownValueError` and the
policy is reported as not evaluable, never as violated. Stack checks must not
give up on the whole graph because of one unknown, so they read through `peek`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from .waivers import WaiverLedger

STACK_TYPE = "pulumi:pulumi:Stack"


class _Unknown:
    """Marks a value that cannot be known until the update runs."""

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()


def peek(props: Any, *path: str | int, default: Any = None) -> Any:
    """Reads props[path...] without raising: UNKNOWN when unknown, `default` when absent."""
    value = props
    for key in path:
        try:
            if isinstance(key, int):
                if not isinstance(value, Sequence) or isinstance(value, str) or key >= len(value):
                    return default
                value = value[key]
            else:
                if not isinstance(value, Mapping) or key not in value:
                    return default
                value = value[key]
        except UnknownValueError:
            return UNKNOWN
    return value


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def not_evaluable(*path: str) -> UnknownValueError:
    """What pulumi-policy raises for a value unknown at preview: the policy is reported as not evaluable."""
    return UnknownValueError(UNKNOWN_STRING_VALUE, list(path))


@dataclass(frozen=True)
class References:
    """Control ids this policy helps satisfy, per framework."""

    fsbp: tuple[str, ...] = ()  # AWS Foundational Security Best Practices
    cis: tuple[str, ...] = ()  # CIS Amazon Web Services Foundations Benchmark v3.0.0
    nist: tuple[str, ...] = ()  # NIST SP 800-53 rev 5
    cfr11: tuple[str, ...] = ()  # 21 CFR Part 11 (electronic records integrity)

    def tags(self) -> list[str]:
        return (
            [f"aws-fsbp:{ref}" for ref in self.fsbp]
            + [f"cis-aws:{ref}" for ref in self.cis]
            + [f"nist-800-53:{ref}" for ref in self.nist]
            + [f"21-cfr-11:{ref}" for ref in self.cfr11]
        )

    def framework(self) -> PolicyComplianceFramework:
        """pulumi-policy carries one framework per policy: the most specific one that applies."""
        if self.fsbp:
            return PolicyComplianceFramework(
                name="aws-foundational-security-best-practices", version="1.0.0", reference=", ".join(self.fsbp)
            )
        if self.cis:
            return PolicyComplianceFramework(name="cis-aws-foundations", version="3.0.0", reference=", ".join(self.cis))
        return PolicyComplianceFramework(name="nist-sp-800-53", version="rev5", reference=", ".join(self.nist))


class ResourceView:
    """One resource as a policy sees it: its props plus the context the CLI provides."""

    def __init__(self, args: ResourceValidationArgs) -> None:
        self.type = args.resource_type
        self.name = args.name
        self.urn = args.urn
        self.props = args.props
        self.protect = bool(args.opts.protect) if args.opts is not None else False
        self._provider_props = args.provider.props if args.provider is not None else {}

    def get(self, key: str, default: Any = None) -> Any:
        """props[key], raising pulumi-policy's UnknownValueError when unknown at preview."""
        return self.props.get(key, default)

    def effective_tags(self) -> Mapping[str, Any] | Any:
        return effective_tags(self.props, self._provider_props)

    def known_tags(self) -> Mapping[str, Any]:
        """The effective tags, or not evaluable (as pulumi-policy decides) while they are unknown."""
        tags = self.effective_tags()
        if is_unknown(tags):
            raise not_evaluable("tags")
        return tags

    @property
    def environment(self) -> str | None:
        tags = self.effective_tags()
        value = peek(tags, "Environment") if isinstance(tags, Mapping) else None
        return value if isinstance(value, str) else None


def effective_tags(props: Any, provider_props: Any) -> Mapping[str, Any] | Any:
    """Tags as the engine will apply them: `tagsAll` when known, else tags over default tags."""
    tags_all = peek(props, "tagsAll")
    if isinstance(tags_all, Mapping) and tags_all:
        return tags_all
    own = peek(props, "tags", default={})
    if is_unknown(own):
        return UNKNOWN
    merged = dict(provider_default_tags(provider_props))
    merged.update({key: peek(own, key) for key in (own or {})})
    return merged


def provider_default_tags(provider_props: Any) -> Mapping[str, Any]:
    """The AWS provider receives nested inputs as JSON text; tolerate both forms."""
    default_tags = peek(provider_props, "defaultTags")
    if isinstance(default_tags, str):
        try:
            default_tags = json.loads(default_tags)
        except json.JSONDecodeError:
            return {}
    tags = peek(default_tags, "tags", default={})
    return tags if isinstance(tags, Mapping) else {}


class StackView:
    """The whole graph with indexes that stack checks need (types, parents, dependents)."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.resources = list(resources)
        self._by_type: dict[str, list[PolicyResource]] = {}
        self._dependents: dict[str, list[PolicyResource]] = {}
        for resource in self.resources:
            self._by_type.setdefault(resource.resource_type, []).append(resource)
            for dependency in _all_dependencies(resource):
                self._dependents.setdefault(dependency.urn, []).append(resource)

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [resource for type_ in types for resource in self._by_type.get(type_, [])]

    def dependents(self, resource: PolicyResource, *types: str) -> list[PolicyResource]:
        """Resources that consume `resource` (through any input), optionally of given types."""
        found = self._dependents.get(resource.urn, [])
        unique = {r.urn: r for r in found if not types or r.resource_type in types}
        return list(unique.values())

    def linked(
        self, resource: PolicyResource, companion_types: str | tuple[str, ...], prop: str, *name_keys: str
    ) -> list[PolicyResource]:
        """Companions of `resource` (of one type, or any of several) whose input `prop` refers to it.

        Linked through the property's dependency on the resource (known at preview,
        when ids are not), or else through equal known names (`name_keys` on the
        resource, `prop` on the companion), which is what a stack export offers.
        """
        names = {peek(resource.props, key) for key in name_keys} - {None, UNKNOWN, ""}
        names.add(peek(resource.props, "id"))
        names -= {None, UNKNOWN, ""}
        matches = []
        types = (companion_types,) if isinstance(companion_types, str) else companion_types
        for companion in self.of_type(*types):
            deps = companion.property_dependencies.get(prop, [])
            if any(dep.urn == resource.urn for dep in deps):
                matches.append(companion)
                continue
            value = peek(companion.props, prop)
            if isinstance(value, str) and value in names:
                matches.append(companion)
        return matches


def _all_dependencies(resource: PolicyResource) -> Iterator[PolicyResource]:
    yield from resource.dependencies
    for deps in resource.property_dependencies.values():
        yield from deps


ResourceCheck = Callable[[ResourceView, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[StackView, Mapping[str, Any]], Iterable[tuple[str | None, str]]]


@dataclass(frozen=True)
class PolicyDefinition:
    """A policy: metadata, config schema and the pure check that decides it."""

    name: str
    description: str
    area: str
    severity: Severity
    enforcement_level: EnforcementLevel
    references: References
    remediation_steps: str
    rationale: str
    resource_types: tuple[str, ...] | None  # None: every resource type (stack policies: n/a)
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # JSON schema per property
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None

    @property
    def is_stack_policy(self) -> bool:
        return self.stack_check is not None

    def config_defaults(self) -> dict[str, Any]:
        return {key: schema["default"] for key, schema in self.config.items() if "default" in schema}

    def settings(self, configured: Mapping[str, Any] | None) -> dict[str, Any]:
        """Configured values over the schema defaults (the CLI may not fill defaults in)."""
        return {**self.config_defaults(), **{k: v for k, v in (configured or {}).items() if k != "enforcementLevel"}}

    def to_pulumi(self, ledger: WaiverLedger | None = None):  # -> ResourceValidationPolicy | StackValidationPolicy
        """The pulumi-policy object; with a ledger, waived violations are diverted to it."""
        common: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "enforcement_level": self.enforcement_level,
            "config_schema": PolicyConfigSchema(properties={k: dict(v) for k, v in self.config.items()})
            if self.config
            else None,
            "severity": self.severity,
            "framework": self.references.framework(),
            "tags": [f"area:{self.area}", *self.references.tags()],
            "remediation_steps": self.remediation_steps,
        }
        if self.resource_check is not None:
            check = self.resource_check
            types = frozenset(self.resource_types) if self.resource_types is not None else None

            def validate_resource(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
                if types is not None and args.resource_type not in types:
                    return
                report = _diverting(report_violation, ledger, self.name, args.urn)
                for message in check(ResourceView(args), self.settings(args.get_config())):
                    report(message, args.urn)

            return ResourceValidationPolicy(validate=validate_resource, **common)

        stack_check = self.stack_check
        assert stack_check is not None

        def validate_stack(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            for urn, message in stack_check(StackView(args.resources), self.settings(args.get_config())):
                _diverting(report_violation, ledger, self.name, urn)(message, urn)

        return StackValidationPolicy(validate=validate_stack, **common)


def _diverting(
    report_violation: ReportViolation, ledger: WaiverLedger | None, policy: str, urn: str | None
) -> ReportViolation:
    if ledger is None:
        return report_violation

    def report(message: str, violation_urn: str | None = None) -> None:
        target = violation_urn or urn
        if not ledger.divert(policy, target, message):
            report_violation(message, target)

    return report


def resource_policy(
    *,
    name: str,
    description: str,
    area: str,
    severity: Severity,
    references: References,
    remediation_steps: str,
    rationale: str,
    resource_types: Iterable[str] | None,
    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[ResourceCheck], PolicyDefinition]:
    """Declares a resource policy from its check function."""

    def wrap(check: ResourceCheck) -> PolicyDefinition:
        return PolicyDefinition(
            name=name,
            description=description,
            area=area,
            severity=severity,
            enforcement_level=enforcement_level,
            references=references,
            remediation_steps=remediation_steps,
            rationale=rationale,
            resource_types=tuple(resource_types) if resource_types is not None else None,
            config=dict(config or {}),
            resource_check=check,
        )

    return wrap


def stack_policy(
    *,
    name: str,
    description: str,
    area: str,
    severity: Severity,
    references: References,
    remediation_steps: str,
    rationale: str,
    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[StackCheck], PolicyDefinition]:
    """Declares a stack policy (it sees the whole graph) from its check function."""

    def wrap(check: StackCheck) -> PolicyDefinition:
        return PolicyDefinition(
            name=name,
            description=description,
            area=area,
            severity=severity,
            enforcement_level=enforcement_level,
            references=references,
            remediation_steps=remediation_steps,
            rationale=rationale,
            resource_types=None,
            config=dict(config or {}),
            stack_check=check,
        )

    return wrap
