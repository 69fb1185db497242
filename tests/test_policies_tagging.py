"""Required tags: judged as the engine applies them (tagsAll, or tags over the provider's default tags)."""

from __future__ import annotations

import pytest
from policy_support import PROD_TAGS, UNKNOWN, findings, mutate, resource, skipped

POLICY = "erp-aws-resource-required-tags"
QUEUE = resource("aws:sqs/queue:Queue", "orders", {"tags": {"Name": "orders"}})


def messages(resources, **kwargs) -> list[str]:
    return sorted(f.message for f in findings(POLICY, resources, **kwargs))


def test_baseline_tags_from_the_provider_defaults_pass() -> None:
    assert messages([QUEUE]) == []


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"Name": "orders", "Environment": "production"},
         ["tag Environment='production' is not allowed; use one of prod, dr, qa, validation, training"]),
        ({"Name": "orders", "DataClassification": "secret"},
         ["tag DataClassification='secret' is not allowed; use one of public, internal, confidential, restricted"]),
        ({"Name": "orders", "Owner": ""}, ["missing tag Owner"]),
    ],
)
def test_a_resource_tag_overrides_the_default_and_is_judged(tags, expected) -> None:
    assert messages([mutate(QUEUE, tags=tags)]) == expected


def test_missing_defaults_are_reported_per_key() -> None:
    found = messages([QUEUE], default_tags={"Owner": "erp-platform-team"})
    assert found == [
        "missing tag CostCenter",
        "missing tag DataClassification (allowed: public, internal, confidential, restricted)",
        "missing tag Environment (allowed: prod, dr, qa, validation, training)",
    ]


def test_tags_all_is_what_the_engine_applies() -> None:
    complete = mutate(QUEUE, tags={"Name": "orders"}, tagsAll={**PROD_TAGS, "Name": "orders"})
    assert messages([complete], default_tags={}) == []
    partial = mutate(QUEUE, tagsAll={"Name": "orders", "Owner": "x"})
    assert "missing tag CostCenter" in messages([partial])


def test_resource_types_that_take_no_tags_are_not_judged() -> None:
    route = resource("aws:ec2/route:Route", "default-route", {"destinationCidrBlock": "0.0.0.0/0"})
    assert messages([route], default_tags={}) == []
    component = resource("erp:network:SegmentedNetwork", "network", {}, custom=False)
    assert messages([component], default_tags={}) == []


def test_untagged_taggable_resource_without_defaults_fails() -> None:
    assert len(messages([mutate(QUEUE, tags=None)], default_tags={})) == 4


def test_unknown_tags_wait_for_the_update() -> None:
    unknown = mutate(QUEUE, tags=UNKNOWN)
    assert messages([unknown]) == []
    assert skipped(POLICY, [unknown])


def test_an_unknown_value_of_one_tag_is_not_a_violation() -> None:
    assert messages([mutate(QUEUE, tags={"Name": "orders", "Owner": UNKNOWN})], default_tags={}) == [
        "missing tag CostCenter",
        "missing tag DataClassification (allowed: public, internal, confidential, restricted)",
        "missing tag Environment (allowed: prod, dr, qa, validation, training)",
    ]


def test_required_tags_are_configurable() -> None:
    config = {POLICY: {"requiredTags": {"Plant": ["stuttgart", "poznan"]}}}
    assert messages([QUEUE], policy_config=config) == ["missing tag Plant (allowed: stuttgart, poznan)"]
    tagged = mutate(QUEUE, tags={"Name": "orders", "Plant": "poznan"})
    assert messages([tagged], policy_config=config) == []
