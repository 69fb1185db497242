"""The key ring: one rotating key per data domain, and key policies that grant only what each domain needs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Plan

from components.keys import DataDomain
from components.tags import REQUIRED_TAG_KEYS
from erpctl.readers.mocks import ACCOUNT_ID

KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
REGION = "eu-central-1"  # the prod stack's region
ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"

# What each domain's key may be used by: service principals and kms:ViaService values.
EXPECTED_SERVICES = {
    DataDomain.DATABASE: {f"via:rds.{REGION}.amazonaws.com"},
    DataDomain.DOCUMENTS: {f"via:s3.{REGION}.amazonaws.com"},
    DataDomain.BACKUPS: {f"via:backup.{REGION}.amazonaws.com"},
    DataDomain.SECRETS: {f"via:secretsmanager.{REGION}.amazonaws.com"},
    DataDomain.INTEGRATION: {
        f"via:sqs.{REGION}.amazonaws.com",
        f"via:sns.{REGION}.amazonaws.com",
        "principal:sns.amazonaws.com",
        "principal:events.amazonaws.com",
    },
    DataDomain.LOGS: {
        f"principal:logs.{REGION}.amazonaws.com",
        "principal:cloudtrail.amazonaws.com",
        "principal:delivery.logs.amazonaws.com",
    },
}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def key_of(plan: Plan, domain: DataDomain):
    return plan.one(KEY, f"keys-{domain}")


def statements(plan: Plan, domain: DataDomain) -> list[dict[str, Any]]:
    return json.loads(key_of(plan, domain).inputs["policy"])["Statement"]


def services_granted(statement: dict[str, Any]) -> set[str]:
    principals = {f"principal:{p}" for p in as_list(statement["Principal"].get("Service", []))}
    via = {
        f"via:{service}"
        for values in statement.get("Condition", {}).values()
        for service in as_list(values.get("kms:ViaService", []))
    }
    return principals | via


def grants_to(plan: Plan, domain: DataDomain, service_principal: str) -> list[dict[str, Any]]:
    matches = [s for s in statements(plan, domain) if service_principal in as_list(s["Principal"].get("Service", []))]
    assert matches, f"{domain} key policy grants nothing to {service_principal}"
    return matches


def test_one_key_per_domain_with_rotation_and_a_long_deletion_window(prod_plan: Plan) -> None:
    keys = prod_plan.of_type(KEY)
    assert sorted(key.name for key in keys) == sorted(f"keys-{domain}" for domain in DataDomain)
    for domain in DataDomain:
        key = key_of(prod_plan, domain)
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 30
        assert key.inputs["keyUsage"] == "ENCRYPT_DECRYPT"
        assert domain.value in key.inputs["description"]


def test_every_key_has_an_alias_that_targets_it(prod_plan: Plan) -> None:
    aliases = prod_plan.of_type(ALIAS)
    assert len(aliases) == len(DataDomain)
    for domain in DataDomain:
        alias = prod_plan.one(ALIAS, f"keys-{domain}-alias")
        assert alias.inputs["name"] == f"alias/erp-prod-{domain}"
        assert prod_plan.depends_on(alias, key_of(prod_plan, domain), "targetKeyId")


@pytest.mark.parametrize("domain", list(DataDomain))
def test_account_root_administers_the_key_and_nobody_else_gets_kms_star(prod_plan: Plan, domain: DataDomain) -> None:
    policy = statements(prod_plan, domain)
    admin = [s for s in policy if s["Principal"] == {"AWS": ROOT}]
    assert admin and admin[0]["Action"] == "kms:*" and admin[0]["Effect"] == "Allow"
    for statement in policy:
        if statement["Principal"] != {"AWS": ROOT}:
            assert "kms:*" not in as_list(statement["Action"]), statement["Sid"]


@pytest.mark.parametrize("domain", list(DataDomain))
def test_open_principals_are_pinned_to_a_service_and_the_account(prod_plan: Plan, domain: DataDomain) -> None:
    for statement in statements(prod_plan, domain):
        if statement["Principal"] in ("*", {"AWS": "*"}):
            equals = statement["Condition"]["StringEquals"]
            assert equals["kms:CallerAccount"] == ACCOUNT_ID, statement["Sid"]
            assert equals["kms:ViaService"], statement["Sid"]
        if "Service" in statement["Principal"]:
            assert statement.get("Condition"), f"{statement['Sid']}: a service grant without a source condition"


@pytest.mark.parametrize("domain", list(DataDomain))
def test_each_key_grants_exactly_its_own_services(prod_plan: Plan, domain: DataDomain) -> None:
    granted = set().union(*(services_granted(s) for s in statements(prod_plan, domain)))
    assert granted == EXPECTED_SERVICES[domain]


def test_logs_key_lets_cloudwatch_logs_encrypt_only_this_accounts_log_groups(prod_plan: Plan) -> None:
    [grant] = grants_to(prod_plan, DataDomain.LOGS, f"logs.{REGION}.amazonaws.com")
    assert grant["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:*"
    )


def test_logs_key_lets_cloudtrail_encrypt_only_this_accounts_trails(prod_plan: Plan) -> None:
    grants = grants_to(prod_plan, DataDomain.LOGS, "cloudtrail.amazonaws.com")
    encrypt = next(g for g in grants if "kms:GenerateDataKey*" in as_list(g["Action"]))
    assert encrypt["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT_ID
    assert encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"] == (
        f"arn:aws:cloudtrail:*:{ACCOUNT_ID}:trail/*"
    )
    assert any(as_list(g["Action"]) == ["kms:DescribeKey"] for g in grants)


def test_logs_key_lets_log_delivery_write_flow_logs_for_this_account_only(prod_plan: Plan) -> None:
    [grant] = grants_to(prod_plan, DataDomain.LOGS, "delivery.logs.amazonaws.com")
    assert {"kms:GenerateDataKey*", "kms:Decrypt"} <= set(as_list(grant["Action"]))
    assert grant["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT_ID
    assert grant["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:*"


def test_database_key_does_not_serve_cloudtrail_or_log_delivery(prod_plan: Plan) -> None:
    principals = {
        principal
        for statement in statements(prod_plan, DataDomain.DATABASE)
        for principal in as_list(statement["Principal"].get("Service", []))
    }
    assert principals.isdisjoint({"cloudtrail.amazonaws.com", "delivery.logs.amazonaws.com"})


def test_keys_carry_the_required_tags(prod_plan: Plan) -> None:
    for key in prod_plan.of_type(KEY):
        tags = key.inputs["tags"]
        assert set(REQUIRED_TAG_KEYS) <= tags.keys(), key.name
        assert tags["Environment"] == "prod" and tags["Name"].startswith("erp-prod-")


def test_keys_and_aliases_are_children_of_the_key_ring(prod_plan: Plan) -> None:
    ring = prod_plan.one("erp:keys:KeyRing", "keys")
    children = prod_plan.children_of(ring)
    assert {child.type for child in children} == {KEY, ALIAS}
    assert len(children) == 2 * len(DataDomain)


def test_key_arns_are_exported_per_domain(prod_plan: Plan) -> None:
    arns = prod_plan.outputs["kmsKeyArns"]
    assert set(arns) == {domain.value for domain in DataDomain}
    assert all(arn.startswith(f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/") for arn in arns.values())


def test_keys_are_protected_in_prod_only(prod_plan: Plan, plan_stack) -> None:
    assert all(r.protect for r in prod_plan.of_type(KEY) + prod_plan.of_type(ALIAS))
    qa = plan_stack("qa")
    assert not any(r.protect for r in qa.of_type(KEY) + qa.of_type(ALIAS))
