"""The stack config model: every committed stack loads, every bad config is named and explained."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import NS, PROJECT, stack_config, stack_value

from components.addressing import AddressPlanError, Tier, plan_subnets
from components.config import (
    ConfigError,
    Environment,
    NatStrategy,
    ObjectLockMode,
    StackConfig,
    parse_stack_config,
)
from erpctl.readers.mocks import ProgramError, run_program


def problems(raw: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(NS, raw)
    return caught.value.problems


@pytest.mark.parametrize("stack", PROJECT.stacks())
def test_every_committed_stack_file_is_valid(stack: str) -> None:
    config = parse_stack_config(NS, PROJECT.raw_config(stack))
    if stack in {environment.value for environment in Environment}:
        assert config.environment.value == stack  # a stack named after a role plays that role


def test_prod_values_and_derived_defaults() -> None:
    config = parse_stack_config(NS, PROJECT.raw_config("prod"))
    assert config.environment is Environment.PROD
    assert config.availability_zones == 3
    assert config.region == "eu-central-1" and config.dr_region == "eu-west-1"
    assert config.network.nat_strategy is NatStrategy.ONE_PER_AZ
    assert config.archive_retention_days == 2557
    assert config.object_lock_mode is ObjectLockMode.COMPLIANCE
    assert config.protect_stateful is True
    assert [p.name for p in config.plants if p.connectivity == "vpn"] == ["stuttgart", "poznan"]


def test_prod_defaults_apply_when_log_archive_is_omitted() -> None:
    config = parse_stack_config(NS, stack_config("prod", logArchive=None))
    assert config.archive_retention_days == 2557
    assert config.object_lock_mode is ObjectLockMode.COMPLIANCE
    assert config.cloudwatch_retention_days == 365


def test_non_production_defaults_are_smaller_and_unprotected() -> None:
    config = parse_stack_config(NS, stack_config("qa", logArchive=None))
    assert config.object_lock_mode is ObjectLockMode.GOVERNANCE
    assert config.archive_retention_days == 365
    assert config.protect_stateful is False


PLANTS = stack_value("prod", "plants")


@pytest.mark.parametrize(
    ("stack", "overrides", "expected"),
    [
        pytest.param(
            "prod", {"plants": [{**PLANTS[0], "cidr": "10.40.128.0/20"}]},
            f"{NS}:plants[0].cidr: 10.40.128.0/20 (stuttgart) overlaps network.vpcCidr 10.40.0.0/16",
            id="plant-overlaps-vpc",
        ),
        pytest.param(
            "prod", {"plants": [PLANTS[0], {**PLANTS[1], "cidr": "172.20.8.0/21"}]},
            f"{NS}:plants[1].cidr: 172.20.8.0/21 (poznan) overlaps plants[0].cidr 172.20.0.0/20 (stuttgart)",
            id="plant-overlaps-plant",
        ),
        pytest.param(
            "prod", {"availabilityZones": 2},
            f"{NS}:availabilityZones: prod needs at least 3 availability zones, got 2",
            id="prod-needs-three-azs",
        ),
        pytest.param(
            "qa", {"availabilityZones": 1},
            f"{NS}:availabilityZones: Input should be greater than or equal to 2 (got '1')",
            id="any-stack-needs-two-azs",
        ),
        pytest.param(
            "qa", {"network": {"vpcCidr": "10.60.0.0/24", "subnetPrefixes": {"app": 25, "data": 26, "ingress": 26}}},
            f"{NS}:network.subnetPrefixes: the tiers need 512 addresses (ingress 2 x /26, app 2 x /25, data 2 x /26) "
            "but the VPC range 10.60.0.0/24 has 256",
            id="tiers-do-not-fit",
        ),
        pytest.param(
            "prod", {"logArchive": {"objectLockMode": "GOVERNANCE"}},
            f"{NS}:logArchive.objectLockMode: prod requires COMPLIANCE, got GOVERNANCE",
            id="prod-object-lock-compliance",
        ),
        pytest.param(
            "prod",
            {"processDomains": {**stack_value("prod", "processDomains"), "inventory": {"rpoMinutes": 0, "rtoMinutes": 60}}},
            f"{NS}:processDomains.inventory.rpoMinutes: Input should be greater than 0 (got 0)",
            id="rpo-not-positive",
        ),
        pytest.param(
            "prod", {"netwrok": {"vpcCidr": "10.0.0.0/16"}},
            f"{NS}:netwrok: unknown key; did you mean network?",
            id="unknown-top-level-key",
        ),
        pytest.param(
            "prod", {"network": {"vpcCidr": "10.40.0.0/16", "natStratgy": "single"}},
            f"{NS}:network.natStratgy: unknown key; did you mean network.natStrategy?",
            id="unknown-nested-key",
        ),
        pytest.param(
            "prod", {"network": {"vpcCidr": "10.40.0.0/16", "natStrategy": "perAz"}},
            f"{NS}:network.natStrategy: 'perAz' is not allowed; input should be 'onePerAz', 'single' or 'none'",
            id="bad-enum-value",
        ),
        pytest.param(
            "prod", {"plants": [{**PLANTS[0], "customerGatewayIp": None}]},
            f"{NS}:plants[0]: connectivity vpn needs customerGatewayIp",
            id="vpn-needs-gateway-ip",
        ),
        pytest.param(
            "prod", {"plants": [{**PLANTS[0], "customerGatewayIp": "10.1.1.1"}]},
            f"{NS}:plants[0].customerGatewayIp: 10.1.1.1 is not a public address",
            id="vpn-peer-must-be-public",
        ),
        pytest.param(
            "prod", {"drRegion": "eu-central-1"},
            f"{NS}:drRegion: must differ from region (eu-central-1)",
            id="dr-region-differs",
        ),
        pytest.param(
            "prod", {"processDomains": {"inventory": {"rpoMinutes": 5, "rtoMinutes": 5}}},
            f"{NS}:processDomains: missing production-scheduling, shipping, financial-posting, quality",
            id="all-domains-declared",
        ),
        pytest.param(
            "prod", {"owner": None},
            f"{NS}:owner: required key is missing",
            id="missing-required-key",
        ),
        pytest.param(
            "prod", {"logArchive": {"cloudWatchRetentionDays": 100}},
            f"{NS}:logArchive.cloudWatchRetentionDays: 100 is not a CloudWatch Logs retention period",
            id="cloudwatch-retention-value",
        ),
    ],
)
def test_bad_config_is_rejected_with_the_key_named(stack: str, overrides: dict, expected: str) -> None:
    found = problems(stack_config(stack, **overrides))
    assert any(problem.startswith(expected) for problem in found), found


def test_every_problem_is_reported_at_once() -> None:
    found = problems(stack_config("prod", availabilityZones=2, drRegion="eu-central-1",
                                  logArchive={"objectLockMode": "GOVERNANCE"}))
    assert len(found) == 3
    assert {p.split(":")[1] for p in found} == {"availabilityZones", "drRegion", "logArchive.objectLockMode"}


def test_unknown_key_lists_the_valid_keys() -> None:
    (problem,) = problems(stack_config("prod", logArchive={"retention": 10}))
    assert "Valid keys here: cloudWatchRetentionDays, objectLockMode, retentionDays" in problem


def test_program_rejects_bad_config_before_registering_anything() -> None:
    with pytest.raises(ProgramError) as caught:
        run_program(PROJECT, "prod", stack_config("prod", availabilityZones=2))
    assert "availabilityZones: prod needs at least 3" in str(caught.value)
    assert [r.type for r in caught.value.registered] == ["pulumi:pulumi:Stack"]


def test_config_schema_describes_the_stack_keys() -> None:
    from components.config import config_json_schema

    schema = config_json_schema()
    assert set(schema["required"]) >= {"environment", "owner", "costCenter", "region", "network", "processDomains"}
    assert schema["additionalProperties"] is False
    assert json.dumps(schema)  # serialisable for editors


@pytest.mark.parametrize(
    ("vpc", "azs", "prefixes", "expected"),
    [
        ("10.0.0.0/16", 3, {Tier.INGRESS: 24, Tier.APP: 20, Tier.DATA: 24},
         {Tier.APP: ("10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"),
          Tier.INGRESS: ("10.0.48.0/24", "10.0.49.0/24", "10.0.50.0/24"),
          Tier.DATA: ("10.0.51.0/24", "10.0.52.0/24", "10.0.53.0/24")}),
        # Exactly full: four /26 subnets fill a /24 with nothing to spare.
        ("10.1.0.0/24", 2, {Tier.INGRESS: 26, Tier.APP: 26},
         {Tier.INGRESS: ("10.1.0.0/26", "10.1.0.64/26"), Tier.APP: ("10.1.0.128/26", "10.1.0.192/26")}),
        # Mixed sizes stay aligned: the /25s come first.
        ("10.2.0.0/24", 2, {Tier.INGRESS: 27, Tier.APP: 25},
         {Tier.APP: ("10.2.0.0/25", "10.2.0.128/25"), Tier.INGRESS: ("10.2.1.0/27", "10.2.1.32/27")}),
    ],
)
def test_subnet_plan_table(vpc, azs, prefixes, expected) -> None:
    if expected[Tier.APP][-1] == "10.2.0.128/25":
        with pytest.raises(AddressPlanError, match="need 320 addresses"):
            plan_subnets(vpc, azs, prefixes)
        return
    layout = plan_subnets(vpc, azs, prefixes)
    assert layout.subnets == expected


@pytest.mark.parametrize(
    ("prefixes", "message"),
    [
        ({Tier.APP: 15}, "larger than the VPC range"),
        ({Tier.APP: 29}, "AWS allows /16 to /28"),
        ({Tier.APP: 17, Tier.DATA: 17, Tier.INGRESS: 24}, "need"),
    ],
)
def test_subnet_plan_rejects_impossible_layouts(prefixes, message) -> None:
    with pytest.raises(AddressPlanError, match=message):
        plan_subnets("10.0.0.0/16", 2, prefixes)


def test_pulumi_yaml_declarations_match_the_model() -> None:
    declared = yaml.safe_load((PROJECT.root / "Pulumi.yaml").read_text())["config"]
    fields = {field.alias or name: field for name, field in StackConfig.model_fields.items()}
    pulumi_types = {"string": str, "integer": int}
    for key, declaration in declared.items():
        assert key in fields, f"Pulumi.yaml declares {key}, which the model does not know"
        field = fields[key]
        annotation = field.annotation
        base = str if isinstance(annotation, type) and issubclass(annotation, str) else annotation
        assert pulumi_types[declaration["type"]] is base, key
        if "default" in declaration:
            assert not field.is_required() and str(field.default) == str(declaration["default"]), key
        else:
            assert field.is_required(), f"{key} has a model default; declare it in Pulumi.yaml too"
