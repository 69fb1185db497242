"""SARIF 2.1.0 for GitHub code scanning: one rule per policy, one result per finding.

GitHub requires a physical location for every result, but findings are about
resources, not lines: each result points at the stack file (line 1) and names the
resource's URN as its logical location. Because every result of a stack then shares
one line, the line hash GitHub would compute cannot tell them apart; each result
carries its own fingerprint over policy, URN and message instead, which also keeps
an alert's identity stable across runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

import yaml

from erpctl.evaluator import CheckResult, Finding
from erpctl.policy_docs import reference_groups
from erpctl.project import REPO_ROOT
from policy_pack.erp_policies.framework import PolicyDefinition

from .json_report import ordered

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://www.pulumi.com/docs/iac/using-pulumi/crossguard/"

# GitHub buckets security-severity scores: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, < 4.0 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}


@functools.cache
def pack_version() -> str:
    document = yaml.safe_load((REPO_ROOT / "policy_pack" / "PulumiPolicy.yaml").read_text())
    return str(document.get("version", "0.1.0"))


def _level(enforcement_level: str) -> str:
    return "error" if enforcement_level == "mandatory" else "warning"


def _result_level(finding: Finding) -> str:
    return "note" if finding.waived else _level(finding.enforcement_level)


def fingerprint(finding: Finding) -> str:
    digest = hashlib.sha256("\0".join([finding.policy, finding.urn or "", finding.message]).encode()).hexdigest()
    # The shape the upload action itself writes (hash:occurrence); present, so the action keeps it.
    return f"{digest[:16]}:1"


def _help(definition: PolicyDefinition) -> dict[str, str]:
    groups = reference_groups(definition.references)
    text = "\n".join(
        [definition.remediation_steps, "", "References:", *(f"- {label}: {', '.join(ids)}" for label, ids in groups)]
    )
    markdown = "\n".join(
        [
            "**Remediation**",
            "",
            definition.remediation_steps,
            "",
            "**Why**",
            "",
            definition.rationale,
            "",
            "**References**",
            "",
            *(f"- {label}: {', '.join(ids)}" for label, ids in groups),
        ]
    )
    return {"text": text, "markdown": markdown}


def _rule(definition: PolicyDefinition) -> dict[str, Any]:
    level = _level(definition.enforcement_level.value)
    # GitHub reads security-severity only from rules tagged "security".
    tags = list(dict.fromkeys(["security", f"area:{definition.area}", *definition.references.tags()]))
    return {
        "id": definition.name,
        "shortDescription": {"text": definition.description},
        "fullDescription": {"text": definition.rationale},
        "help": _help(definition),
        "defaultConfiguration": {"level": level},
        "properties": {
            "tags": tags,
            "security-severity": SECURITY_SEVERITY[definition.severity.value],
            "precision": "high",
            "problem.severity": level,
        },
    }


def _logical_location(finding: Finding, stack: str) -> dict[str, str]:
    if finding.urn is None:
        return {"name": stack, "fullyQualifiedName": stack, "kind": "module"}
    return {
        "name": finding.resource_name or finding.urn.rsplit("::", 1)[-1],
        "fullyQualifiedName": finding.urn,
        "kind": "resource",
    }


def _result(finding: Finding, rule_index: int, stack: str) -> dict[str, Any]:
    subject = finding.resource_name or f"stack {stack}"
    if finding.resource_type:
        subject += f" ({finding.resource_type})"
    result: dict[str, Any] = {
        "ruleId": finding.policy,
        "ruleIndex": rule_index,
        "level": _result_level(finding),
        "message": {"text": f"{subject}: {finding.message}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": f"Pulumi.{stack}.yaml"},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [_logical_location(finding, stack)],
            }
        ],
        "partialFingerprints": {"primaryLocationLineHash": fingerprint(finding)},
        "properties": {"enforcementLevel": finding.enforcement_level, "severity": finding.severity},
    }
    if finding.waived:
        result["suppressions"] = [{"kind": "external", "justification": finding.waiver_reason or ""}]
    return result


def to_sarif(result: CheckResult) -> dict[str, Any]:
    index = {definition.name: position for position, definition in enumerate(result.policies)}
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "erpctl",
                        "informationUri": INFORMATION_URI,
                        "version": pack_version(),
                        "rules": [_rule(definition) for definition in result.policies],
                    }
                },
                # GitHub's analysis category: one per stack, so checking qa never closes prod's alerts.
                "automationDetails": {"id": f"erpctl/{result.stack}/"},
                "results": [_result(f, index[f.policy], result.stack) for f in ordered(result.findings)],
                "properties": {"stack": result.stack, "source": result.source},
            }
        ],
    }


def render(result: CheckResult) -> str:
    return json.dumps(to_sarif(result), indent=2)
