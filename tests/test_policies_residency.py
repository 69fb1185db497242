"""Allowed regions: baseline, one mutation, and the provider itself."""

from __future__ import annotations

import pytest
from policy_support import UNKNOWN, findings, mutate, resource, skipped, snapshot, with_options

from erpctl.evaluator import evaluate

POLICY = "erp-aws-provider-allowed-region"
BASELINE = resource("aws:sqs/queue:Queue", "orders", {"region": "eu-central-1", "tags": {"Name": "orders"}})


def test_baseline_in_an_approved_region_passes() -> None:
    assert findings(POLICY, [BASELINE]) == []
    assert findings(POLICY, [mutate(BASELINE, region=None)]) == []  # inherits the provider's region


def test_resource_region_override_outside_the_approved_set_fails() -> None:
    (finding,) = findings(POLICY, [mutate(BASELINE, region="us-east-1")])
    assert "'us-east-1' is not approved" in finding.message


def test_configured_regions_replace_the_default() -> None:
    config = {POLICY: {"allowedRegions": ["us-east-1"]}}
    # The test provider stays in eu-central-1, so it is now the one out of bounds.
    moved = findings(POLICY, [mutate(BASELINE, region="us-east-1")], policy_config=config)
    assert [f.resource_name for f in moved] == ["aws-primary"]
    assert sorted(f.resource_name for f in findings(POLICY, [BASELINE], policy_config=config)) == ["aws-primary", "orders"]


def test_the_provider_region_is_judged() -> None:
    stack = snapshot([BASELINE])
    provider = stack.resources[1]
    moved = with_options(provider, inputs={**provider.inputs, "region": "ap-southeast-2"})
    result = evaluate(stack.__class__(stack.stack, (stack.resources[0], moved, BASELINE), source="test"))
    assert [(f.policy, f.resource_name) for f in result.findings if f.policy == POLICY] == [(POLICY, "aws-primary")]


def test_unknown_region_is_not_a_violation() -> None:
    assert findings(POLICY, [mutate(BASELINE, region=UNKNOWN)]) == []
    assert skipped(POLICY, [mutate(BASELINE, region=UNKNOWN)])


@pytest.mark.parametrize("type_", ["erp:network:SegmentedNetwork", "random:index/randomId:RandomId"])
def test_non_aws_resources_are_out_of_scope(type_: str) -> None:
    other = resource(type_, "x", {"region": "mars-1"}, custom=type_.startswith("random"))
    assert findings(POLICY, [other]) == []
