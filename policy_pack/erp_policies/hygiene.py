"""The waiver ledger, reported as a policy so the CLI shows what was waived and why."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .framework import PolicyDefinition, References, StackView, stack_policy
from .waivers import WaiverLedger

_METADATA: dict[str, Any] = {
    "name": "erp-policy-waiver-hygiene",
    "description": "Waived findings are listed with their reason; expired waivers and waivers that match nothing are findings.",
    "area": "governance",
    "severity": Severity.MEDIUM,
    "enforcement_level": EnforcementLevel.ADVISORY,
    "references": References(nist=("CA-7", "PM-4")),
    "remediation_steps": (
        "Edit policy_pack/waivers.yaml: renew an expired waiver with a new approval and end date, or delete a "
        "waiver that no longer matches a violation."
    ),
    "rationale": "An exception without an owner and an end date becomes a permanent hole that nobody reviews.",
}


def waiver_hygiene(ledger: WaiverLedger) -> PolicyDefinition:
    """The hygiene policy bound to a ledger; it must run after every other policy."""

    @stack_policy(**_METADATA)
    def check(stack: StackView, settings: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
        for waived in ledger.waived:
            yield waived.urn, f"waived {waived.policy}: {waived.message} -- {waived.waiver.describe()}"
        for _, message in ledger.problems():
            yield None, message

    return check


# The metadata alone, for reports and docs (the offline evaluator reads the ledger itself).
WAIVER_HYGIENE = waiver_hygiene(WaiverLedger([], today=datetime.date.min))
