"""The pull-request comment: the verdict first, then what blocks the merge, then the rest.

A PR comment holds at most 65,536 characters, so each table stops after MAX_ROWS rows
and points to the complete reports.
"""

from __future__ import annotations

from collections.abc import Sequence

from erpctl.evaluator import CheckResult, Finding
from erpctl.policy_docs import cell, code

from .json_report import ordered, resource_label

MAX_ROWS = 100


def _resource(finding: Finding, stack: str) -> str:
    label = cell(resource_label(finding, stack))
    return f"{label} ({code(finding.resource_type)})" if finding.resource_type else label


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines += ["", f"…and {len(rows) - MAX_ROWS} more; the JSON and SARIF reports list every finding."]
    return lines


def _finding_rows(findings: Sequence[Finding], stack: str) -> list[list[str]]:
    return [[code(f.policy), f.severity, _resource(f, stack), cell(f.message)] for f in findings]


def render(result: CheckResult) -> str:
    counts = result.summary()
    findings = ordered(result.findings)
    mandatory = [f for f in findings if not f.waived and f.enforcement_level == "mandatory"]
    advisory = [f for f in findings if not f.waived and f.enforcement_level != "mandatory"]
    waived = [f for f in findings if f.waived]
    stack = result.stack

    if mandatory:
        plural = "s" if len(mandatory) != 1 else ""
        headline = f"## ❌ Policy check failed: {len(mandatory)} mandatory violation{plural} on stack `{stack}`"
    else:
        headline = f"## ✅ Policy check passed on stack `{stack}`"
    lines = [
        headline,
        "",
        f"**{counts['mandatory']}** mandatory · **{counts['advisory']}** advisory · **{counts['waived']}** waived "
        f"— {counts['policies']} policies checked over {counts['resources']} resources.",
        "",
    ]
    header = ["Policy", "Severity", "Resource", "Message"]
    if mandatory:
        lines += ["### Mandatory violations", "", "These block the merge.", ""]
        lines += [*_table(header, _finding_rows(mandatory, stack)), ""]
    if advisory:
        lines += ["### Advisory", ""]
        lines += [*_table(header, _finding_rows(advisory, stack)), ""]
    if waived:
        reasons = [cell(f.waiver_reason or "") for f in waived]
        rows = [[*row, reason] for row, reason in zip(_finding_rows(waived, stack), reasons, strict=True)]
        lines += ["<details>", f"<summary>{len(waived)} waived findings</summary>", ""]
        lines += [*_table([*header, "Waiver"], rows), "", "</details>", ""]
    if result.skipped:
        rows = [
            [code(s.policy), cell(s.urn.rsplit("::", 1)[-1] if s.urn else f"stack {stack}"), cell(s.reason)]
            for s in sorted(result.skipped, key=lambda s: (s.policy, s.urn or "", s.reason))
        ]
        summary = f"{len(rows)} checks skipped (not applicable, or unknown until apply)"
        lines += ["<details>", f"<summary>{summary}</summary>", ""]
        lines += [*_table(["Policy", "Resource", "Reason"], rows), "", "</details>", ""]
    return "\n".join(lines).rstrip("\n")
