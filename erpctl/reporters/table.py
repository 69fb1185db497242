"""The terminal report: aligned plain-text columns, blocking findings first, then one summary line."""

from __future__ import annotations

from erpctl.evaluator import CheckResult, Finding

from .json_report import ordered, resource_label

HEADER = ("LEVEL", "SEVERITY", "POLICY", "RESOURCE", "MESSAGE")


def _group(finding: Finding) -> int:
    if finding.waived:
        return 2
    return 0 if finding.enforcement_level == "mandatory" else 1


def _row(finding: Finding, stack: str) -> tuple[str, ...]:
    message = finding.message
    if finding.waived:
        message += f" [waived: {finding.waiver_reason}]"
    level = "waived" if finding.waived else finding.enforcement_level
    # One finding per line: a newline inside a message would break the columns.
    return (level, finding.severity, finding.policy, resource_label(finding, stack), " ".join(message.split()))


def summary_line(result: CheckResult) -> str:
    counts = result.summary()
    verdict = "FAILED" if result.exit_code else "PASSED"
    line = (
        f"{verdict}: {counts['mandatory']} mandatory, {counts['advisory']} advisory, {counts['waived']} waived "
        f"({counts['policies']} policies, {counts['resources']} resources, stack {result.stack})"
    )
    if result.skipped:
        line += f"; {len(result.skipped)} checks skipped (not applicable or unknown until apply)"
    return line


def render(result: CheckResult) -> str:
    findings = sorted(ordered(result.findings), key=_group)
    if not findings:
        return f"No policy violations.\n{summary_line(result)}"
    rows = [HEADER, *(_row(finding, result.stack) for finding in findings)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADER) - 1)]
    lines = [
        "  ".join([*(value.ljust(width) for value, width in zip(row[:-1], widths, strict=True)), row[-1]]).rstrip()
        for row in rows
    ]
    return "\n".join([*lines, "", summary_line(result)])
