"""The JSON report: a contract other tools parse, so its keys and order change only deliberately.

It also owns the one finding order that every format shows (policy, then URN, then
message), so a reader can compare the formats line by line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from erpctl.evaluator import CheckResult, Finding


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.policy, f.urn or "", f.message))


def resource_label(finding: Finding, stack: str) -> str:
    """What a person calls the finding's subject: the resource's name, or the stack for stack-level findings."""
    return finding.resource_name or finding.urn or f"stack {stack}"


def render(result: CheckResult) -> str:
    document = {
        "violations": [finding.to_json() for finding in ordered(result.findings)],
        "summary": result.summary(),
    }
    return json.dumps(document, indent=2)
