"""Waivers: the file's rules, and the CLI pack's path (a ledger inside the pulumi-policy objects)."""

from __future__ import annotations

import datetime as dt

import pytest
from policy_support import PROD_TAGS, resource, run
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs

from policy_pack.erp_policies.registry import POLICIES, waiver_hygiene
from policy_pack.erp_policies.waivers import Waiver, WaiverFileError, WaiverLedger, parse_waivers

TODAY = dt.date(2026, 12, 4)
POLICY = "erp-aws-resource-required-tags"
UNTAGGED = resource("aws:ec2/internetGateway:InternetGateway", "orders-igw", {"tags": {"Name": "orders-igw"}})
ENTRY = {"policy": POLICY, "resource": "orders-*", "reason": "Queue is tagged by the migration job in January",
         "approved_by": "ciso@example.com", "expires": "2027-01-31"}


def test_a_valid_file_parses() -> None:
    (waiver,) = parse_waivers({"waivers": [ENTRY]}, "waivers.yaml")
    assert waiver.expires == dt.date(2027, 1, 31)
    assert waiver.matches(POLICY, UNTAGGED.urn)
    assert not waiver.matches("erp-other-policy", UNTAGGED.urn)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": "too short"}, "waivers[0].reason: at least 20 characters"),
        ({"expires": "next year"}, "waivers[0].expires: 'next year' is not a date"),
        ({"approved_by": None}, "waivers[0]: missing approved_by"),
        ({"owner": "x"}, "waivers[0]: unknown keys owner"),
    ],
)
def test_bad_entries_are_rejected_with_their_index(change: dict, message: str) -> None:
    entry = {key: value for key, value in {**ENTRY, **change}.items() if value is not None}
    with pytest.raises(WaiverFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_waivers({"waivers": [entry]}, "waivers.yaml")


def test_offline_waived_finding_stays_visible_and_does_not_block() -> None:
    (waiver,) = parse_waivers({"waivers": [ENTRY]}, "waivers.yaml")
    result = run([UNTAGGED], default_tags={"Owner": "x"}, waivers=[waiver], today=TODAY)
    waived = [f for f in result.findings if f.policy == POLICY]
    assert waived and all(f.waived and "migration job" in (f.waiver_reason or "") for f in waived)
    assert result.exit_code == 0


def test_expired_or_unmatched_waivers_are_findings_and_waive_nothing() -> None:
    expired = Waiver(POLICY, "orders-*", ENTRY["reason"], "ciso", dt.date(2026, 11, 30))
    unmatched = Waiver(POLICY, "no-such-resource", ENTRY["reason"], "ciso", dt.date(2027, 6, 1))
    result = run([UNTAGGED], default_tags={"Owner": "x"}, waivers=[expired, unmatched], today=TODAY)
    assert result.exit_code == 1
    hygiene = [f.message for f in result.findings if f.policy == "erp-policy-waiver-hygiene"]
    assert len(hygiene) == 2
    assert any("orders-* expired on 2026-11-30" in m for m in hygiene)
    assert any("no-such-resource matches no violation" in m for m in hygiene)


def test_cli_pack_diverts_waived_violations_to_the_hygiene_report() -> None:
    (waiver,) = parse_waivers({"waivers": [ENTRY]}, "waivers.yaml")
    ledger = WaiverLedger([waiver], TODAY)
    tagging = next(d for d in POLICIES if d.name == POLICY).to_pulumi(ledger)
    reported: list[str] = []
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    args = ResourceValidationArgs(UNTAGGED.type, {"tags": {"Owner": "x"}}, UNTAGGED.urn, UNTAGGED.name, options, None)
    tagging.validate(args, lambda message, urn=None: reported.append(message))
    assert reported == []  # nothing blocks the preview
    assert {w.policy for w in ledger.waived} == {POLICY}

    hygiene_report: list[tuple[str, str | None]] = []
    waiver_hygiene(ledger).to_pulumi().validate(
        StackValidationArgs([], None), lambda message, urn=None: hygiene_report.append((message, urn))
    )
    assert hygiene_report and all(urn == UNTAGGED.urn and "migration job" in msg for msg, urn in hygiene_report)
    missing = set(PROD_TAGS) - {"Owner"}
    assert all(any(f"missing tag {key}" in msg for msg, _ in hygiene_report) for key in missing)


def test_waiver_hygiene_is_configurable_like_any_policy() -> None:
    unmatched = Waiver(POLICY, "no-such-resource", ENTRY["reason"], "ciso", dt.date(2027, 6, 1))
    strict = run([], waivers=[unmatched], today=TODAY, policy_config={"erp-policy-waiver-hygiene": "mandatory"})
    assert [f.enforcement_level for f in strict.findings] == ["mandatory"] and strict.exit_code == 1
    silenced = run([], waivers=[unmatched], today=TODAY, policy_config={"erp-policy-waiver-hygiene": "disabled"})
    assert silenced.findings == ()
