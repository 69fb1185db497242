"""The CrossGuard pack. Only this file constructs a PolicyPack: doing so starts the
analyzer's gRPC server and blocks, which is what the Pulumi CLI expects of it."""

import datetime
from pathlib import Path

from erp_policies.registry import POLICIES, waiver_hygiene
from erp_policies.waivers import WaiverLedger, load_waivers
from pulumi_policy import EnforcementLevel, PolicyPack

ledger = WaiverLedger(load_waivers(Path(__file__).parent / "waivers.yaml"), datetime.date.today())

PolicyPack(
    name="erp-platform-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    # The hygiene policy reports what the ledger waived, so it must come last.
    policies=[definition.to_pulumi(ledger) for definition in POLICIES] + [waiver_hygiene(ledger).to_pulumi()],
)
