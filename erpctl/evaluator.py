"""Runs the policy pack's own pulumi-policy objects over a stack snapshot, as the CLI would.

Props are deserialised and wrapped with pulumi_policy's helpers (secrets unwrapped,
unknowns raising on access), resource policies see every resource including
components and providers, and stack policies see the whole graph with parents and
dependencies resolved to resources, exactly as the analyzer's AnalyzeStack builds it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from erpctl.model import STACK_TYPE, ResourceRecord, StackSnapshot
from policy_pack.erp_policies.framework import PolicyDefinition
from policy_pack.erp_policies.registry import POLICIES, WAIVER_HYGIENE
from policy_pack.erp_policies.waivers import Waiver, WaiverLedger


@dataclass(frozen=True)
class Finding:
    policy: str
    urn: str | None
    resource_type: str | None
    resource_name: str | None
    enforcement_level: str
    severity: str
    message: str
    waived: bool = False
    waiver_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "urn": self.urn,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "enforcementLevel": self.enforcement_level,
            "severity": self.severity,
            "message": self.message,
            "waived": self.waived,
            "waiverReason": self.waiver_reason,
        }


@dataclass(frozen=True)
class Skipped:
    """A policy that could not decide (a value unknown at preview, or not applicable)."""

    policy: str
    urn: str | None
    reason: str


@dataclass(frozen=True)
class CheckResult:
    stack: str
    source: str
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    resource_count: int
    policies: tuple[PolicyDefinition, ...]

    def unwaived(self, level: str) -> list[Finding]:
        return [f for f in self.findings if not f.waived and f.enforcement_level == level]

    def summary(self) -> dict[str, int]:
        return {
            "mandatory": len(self.unwaived("mandatory")),
            "advisory": len(self.unwaived("advisory")),
            "waived": sum(1 for f in self.findings if f.waived),
            "resources": self.resource_count,
            "policies": len(self.policies),
        }

    @property
    def exit_code(self) -> int:
        return 1 if self.unwaived("mandatory") else 0


class PolicyConfigError(ValueError):
    """The policy configuration names an unknown policy or an unknown enforcement level."""


def enforcement_levels(
    definitions: Sequence[PolicyDefinition], policy_config: Mapping[str, Any]
) -> dict[str, EnforcementLevel]:
    """Each policy's level after the pack config (`all`, then per policy), as the CLI applies it."""
    known = {d.name for d in definitions}
    unknown = sorted(set(policy_config) - known - {"all"})
    if unknown:
        raise PolicyConfigError(f"policy config names unknown policies: {', '.join(unknown)}")

    def level_of(value: Any, where: str) -> EnforcementLevel | None:
        raw = value.get("enforcementLevel") if isinstance(value, Mapping) else value
        if raw is None:
            return None
        try:
            return EnforcementLevel(raw)
        except ValueError:
            allowed = ", ".join(level.value for level in EnforcementLevel)
            raise PolicyConfigError(f"{where}: enforcement level {raw!r} is not one of {allowed}") from None

    pack_level = level_of(policy_config.get("all"), "all")
    levels = {}
    for definition in definitions:
        configured = policy_config.get(definition.name)
        if isinstance(configured, Mapping):
            _check_properties(definition, configured)
        own = level_of(configured, definition.name)
        levels[definition.name] = own or pack_level or definition.enforcement_level
    return levels


def _check_properties(definition: PolicyDefinition, configured: Mapping[str, Any]) -> None:
    """Validates a policy's settings against its config schema, as the CLI does before a preview."""
    schema = {"type": "object", "properties": {k: dict(v) for k, v in definition.config.items()}}
    problems = [
        f"{definition.name}.{'.'.join(map(str, error.absolute_path))}: {error.message}"
        for error in jsonschema.Draft7Validator(schema).iter_errors(
            {k: v for k, v in configured.items() if k != "enforcementLevel"}
        )
    ]
    if problems:
        raise PolicyConfigError("; ".join(problems))


def evaluate(
    snapshot: StackSnapshot,
    definitions: Sequence[PolicyDefinition] = POLICIES,
    policy_config: Mapping[str, Any] | None = None,
    waivers: Sequence[Waiver] = (),
    today: dt.date | None = None,
) -> CheckResult:
    policy_config = dict(policy_config or {})
    # The hygiene policy is configurable like any other (the CLI pack registers it too).
    levels = enforcement_levels([*definitions, WAIVER_HYGIENE], policy_config)
    ledger = WaiverLedger(list(waivers), today or dt.date.today())
    active = [d for d in definitions if levels[d.name] is not EnforcementLevel.DISABLED]
    compiled = [(d, d.to_pulumi(ledger)) for d in active]
    violations: list[tuple[PolicyDefinition, str | None, str]] = []
    skipped: list[Skipped] = []

    def configured(name: str) -> Mapping[str, Any] | None:
        value = policy_config.get(name)
        return value if isinstance(value, Mapping) else None

    by_urn = snapshot.by_urn()
    props_by_urn = {record.urn: _props(record) for record in snapshot.resources}
    providers = {
        record.urn: PolicyProviderResource(record.type, props_by_urn[record.urn], record.urn, record.name)
        for record in snapshot.resources
        if record.is_provider
    }
    resource_policies = [(d, p) for d, p in compiled if isinstance(p, ResourceValidationPolicy)]
    for record in snapshot.resources:
        props = props_by_urn[record.urn]
        provider = providers.get(record.provider_urn or "")
        for definition, policy in resource_policies:
            if definition.resource_types is not None and record.type not in definition.resource_types:
                continue
            args = ResourceValidationArgs(
                record.type, props, record.urn, record.name, _options(record), provider, configured(definition.name)
            )
            _run(policy.validate, args, definition, record.urn, violations, skipped)

    stack_resources = _stack_resources(snapshot.resources, props_by_urn, providers)
    for definition, policy in compiled:
        if isinstance(policy, ResourceValidationPolicy):
            continue
        stack_args = StackValidationArgs(stack_resources, configured(definition.name))
        _run(policy.validate, stack_args, definition, None, violations, skipped)

    severity = {d.name: d.severity.value for d in definitions}
    findings = [
        _finding(by_urn, definition.name, urn, levels[definition.name].value, severity[definition.name], message)
        for definition, urn, message in violations
    ]
    findings += [
        _finding(by_urn, waived.policy, waived.urn, levels[waived.policy].value, severity[waived.policy],
                 waived.message, waiver_reason=waived.waiver.describe())
        for waived in ledger.waived
    ]
    findings += [
        Finding(WAIVER_HYGIENE.name, None, None, waiver.resource, levels[WAIVER_HYGIENE.name].value,
                WAIVER_HYGIENE.severity.value, message)
        for waiver, message in ledger.problems()
        if levels[WAIVER_HYGIENE.name] is not EnforcementLevel.DISABLED
    ]
    return CheckResult(
        stack=snapshot.stack,
        source=snapshot.source,
        findings=tuple(findings),
        skipped=tuple(skipped),
        resource_count=sum(1 for r in snapshot.resources if r.type != STACK_TYPE),
        policies=(*definitions, WAIVER_HYGIENE),
    )


def _props(record: ResourceRecord) -> Any:
    return unknown_checking_proxy(deserialize_properties(dict(record.inputs)))


def _options(record: ResourceRecord) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        record.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], record.parent
    )


def _stack_resources(
    records: Sequence[ResourceRecord],
    props_by_urn: Mapping[str, Any],
    providers: Mapping[str, PolicyProviderResource],
) -> list[PolicyResource]:
    resources = {
        record.urn: PolicyResource(
            record.type, props_by_urn[record.urn], record.urn, record.name, _options(record),
            providers.get(record.provider_urn or ""), None, [], {},
        )
        for record in records
    }
    for record in records:
        resource = resources[record.urn]
        if record.parent in resources:
            resource.parent = resources[record.parent]
        resource.dependencies.extend(resources[urn] for urn in record.dependencies if urn in resources)
        for key, urns in record.property_dependencies.items():
            resource.property_dependencies[key] = [resources[urn] for urn in urns if urn in resources]
    return list(resources.values())


def _run(validate: Any, args: Any, definition: PolicyDefinition, urn: str | None,
         violations: list[tuple[PolicyDefinition, str | None, str]], skipped: list[Skipped]) -> None:
    def report(message: str, violation_urn: str | None = None) -> None:
        violations.append((definition, violation_urn or urn, message))

    try:
        validate(args, report)
    except UnknownValueError as exc:
        skipped.append(Skipped(definition.name, urn, f"can't be evaluated during preview: {exc.message}"))
    except _NotApplicableError as exc:
        skipped.append(Skipped(definition.name, urn, exc.message))


def _finding(by_urn: Mapping[str, ResourceRecord], policy: str, urn: str | None, level: str, severity: str,
             message: str, waiver_reason: str | None = None) -> Finding:
    record = by_urn.get(urn or "")
    return Finding(
        policy=policy,
        urn=urn,
        resource_type=record.type if record else None,
        resource_name=record.name if record else None,
        enforcement_level=level,
        severity=severity,
        message=message,
        waived=waiver_reason is not None,
        waiver_reason=waiver_reason,
    )
