"""Identity policies: a least-privilege baseline, then one change at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_support import QA_TAGS, UNKNOWN, findings, mutate, names, resource, skipped

from erpctl.model import ResourceRecord
from policy_pack.erp_policies.identity import POLICIES

POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
USER = "aws:iam/user:User"
ACCESS_KEY = "aws:iam/accessKey:AccessKey"

ACCOUNT = "123456789012"
ORG = "o-a1b2c3d4e5"

NO_ADMIN = "erp-iam-policy-no-admin-wildcards"
PUBLIC_TRUST = "erp-iam-role-trust-no-public-principal"
NO_USERS = "erp-iam-user-none"
NO_KEYS = "erp-iam-access-key-none"
PRIVILEGED_MFA = "erp-iam-role-privileged-mfa"

READ_ORDERS = {
    "Sid": "ReadOrders",
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:ListBucket"],
    "Resource": ["arn:aws:s3:::erp-prod-orders", "arn:aws:s3:::erp-prod-orders/*"],
}
ECS_TRUST = {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
ADMIN_TRUST = {
    "Sid": "Operators",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "sts:AssumeRole",
    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
}


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def role(resource_name: str = "app-task", /, *trust: dict[str, Any], **inputs: Any) -> ResourceRecord:
    base = {
        "name": f"erp-prod-{resource_name}",
        "assumeRolePolicy": doc(*(trust or (ECS_TRUST,))),
        "inlinePolicies": [{"name": "orders", "policy": doc(READ_ORDERS)}],
    }
    return mutate(resource(ROLE, resource_name, base), **inputs)


def documents(statement: dict[str, Any]) -> list[ResourceRecord]:
    """The same permissions statement in every resource type that carries one."""
    return [
        resource(POLICY, "policy", {"name": "erp-prod-orders", "policy": doc(statement)}),
        resource(ROLE_POLICY, "role-policy", {"role": "erp-prod-app-task", "policy": doc(statement)}),
        resource(USER_POLICY, "user-policy", {"user": "legacy", "policy": doc(statement)}),
        resource(GROUP_POLICY, "group-policy", {"group": "auditors", "policy": doc(statement)}),
        role("inline", inlinePolicies=[{"name": "orders", "policy": doc(statement)}]),
    ]


def estate() -> list[ResourceRecord]:
    return [*documents(READ_ORDERS), role(), role("break-glass", ADMIN_TRUST)]



@pytest.mark.parametrize("policy", [p.name for p in POLICIES])
def test_least_privilege_estate_has_no_findings(policy: str) -> None:
    assert findings(policy, estate()) == []
    assert skipped(policy, estate()) == []


def test_policy_metadata_is_complete() -> None:
    for policy in POLICIES:
        assert policy.name.startswith("erp-") and policy.name == policy.name.lower()
        assert policy.area == "identity" and policy.enforcement_level.value == "mandatory"
        assert policy.description and policy.remediation_steps and policy.rationale and policy.references.tags()


# --- admin wildcards ----------------------------------------------------------------------------------------


ALL_DOCUMENT_RESOURCES = ["group-policy", "inline", "policy", "role-policy", "user-policy"]


@pytest.mark.parametrize(
    "change",
    [
        {"Action": "*", "Resource": "*"},
        {"Action": ["s3:GetObject", "*"], "Resource": ["*"]},
        {"Action": "*:*", "Resource": "*"},
        {"Action": "iam:*"},
        {"Action": "IAM:*", "Resource": "*"},
        {"Action": None, "NotAction": ["iam:*"], "Resource": "*"},
        {"Action": "*", "Resource": None, "NotResource": "arn:aws:s3:::erp-prod-audit/*"},
    ],
    ids=["star-star", "star-in-list", "star-colon-star", "iam-star", "iam-star-upper", "not-action", "not-resource"],
)
def test_admin_wildcards_violate_in_every_document_type(change: dict[str, Any]) -> None:
    statement = {**READ_ORDERS, **change}
    statement = {key: value for key, value in statement.items() if value is not None}
    assert names(NO_ADMIN, documents(statement)) == ALL_DOCUMENT_RESOURCES
    assert names(NO_ADMIN, documents(statement), default_tags=QA_TAGS) == ALL_DOCUMENT_RESOURCES


@pytest.mark.parametrize(
    "change",
    [
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
        {"Action": "s3:*"},  # service-wide, but on named buckets only and not IAM
        {"Action": "*", "Resource": "arn:aws:s3:::erp-prod-orders/*"},
        {"Action": "ec2:Describe*", "Resource": "*"},
    ],
    ids=["deny", "s3-star-scoped", "star-scoped", "describe-star"],
)
def test_scoped_or_denying_wildcards_are_allowed(change: dict[str, Any]) -> None:
    assert names(NO_ADMIN, documents({**READ_ORDERS, **change})) == []


def test_admin_policy_as_an_object_document_is_also_caught() -> None:
    statement = {**READ_ORDERS, "Action": "*", "Resource": "*"}
    record = resource(POLICY, "policy", {"policy": {"Version": "2012-10-17", "Statement": [statement]}})
    [finding] = findings(NO_ADMIN, [record])
    assert "ReadOrders" in finding.message and "full administrator" in finding.message


def test_unknown_document_is_not_evaluable() -> None:
    record = resource(POLICY, "policy", {"policy": UNKNOWN})
    assert findings(NO_ADMIN, [record]) == []
    assert skipped(NO_ADMIN, [record])


# --- public trust ------------------------------------------------------------------------------------------


def public(**extra: Any) -> dict[str, Any]:
    return {"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", **extra}


@pytest.mark.parametrize(
    "statement",
    [
        public(),
        {**public(), "Principal": "*"},
        {**public(), "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", "*"]}},
        public(Condition={"StringNotEquals": {"aws:PrincipalOrgID": ORG}}),
        public(Condition={"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG}}),
        public(Condition={"StringEquals": {"aws:PrincipalOrgID": "*"}}),
        public(Condition={"Bool": {"aws:SecureTransport": "true"}}),
        # ForAllValues is true when the key is absent: principals outside any organisation pass.
        public(Condition={"ForAllValues:StringEquals": {"aws:PrincipalOrgID": ORG}}),
        {key: value for key, value in {**public(), "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}.items()
         if key != "Principal"},
    ],
    ids=["aws-star", "star", "star-in-list", "negated", "if-exists", "wildcard-value", "unrelated", "for-all-values",
         "not-principal"],
)
def test_public_trust_violates(statement: dict[str, Any]) -> None:
    assert names(PUBLIC_TRUST, [role("app-task", ECS_TRUST, statement)]) == ["app-task"]


@pytest.mark.parametrize(
    "statement",
    [
        public(Condition={"StringEquals": {"aws:PrincipalOrgID": ORG}}),
        public(Condition={"StringEquals": {"aws:PrincipalAccount": [ACCOUNT]}}),
        public(Condition={"StringEquals": {"sts:ExternalId": "erp-vendor-7f3a"}}),
        {**public(), "Effect": "Deny"},
    ],
    ids=["org", "account", "external-id", "deny"],
)
def test_restricted_or_denying_wildcard_principals_are_allowed(statement: dict[str, Any]) -> None:
    assert names(PUBLIC_TRUST, [role("app-task", ECS_TRUST, statement)]) == []


def test_unknown_trust_policy_is_not_evaluable() -> None:
    records = [role(assumeRolePolicy=UNKNOWN)]
    assert findings(PUBLIC_TRUST, records) == []
    assert skipped(PUBLIC_TRUST, records)


# --- IAM users and access keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "record"),
    [
        (NO_USERS, resource(USER, "integration-user", {"name": "erp-edi"})),
        (NO_KEYS, resource(ACCESS_KEY, "integration-key", {"user": UNKNOWN})),
    ],
    ids=["user", "access-key"],
)
def test_iam_users_and_access_keys_violate_in_every_environment(policy: str, record: ResourceRecord) -> None:
    assert names(policy, [*estate(), record]) == [record.name]
    assert names(policy, [*estate(), record], default_tags=QA_TAGS) == [record.name]


# --- MFA on privileged roles -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        None,
        {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
        {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
        {"StringEquals": {"aws:PrincipalOrgID": ORG}},
    ],
    ids=["none", "if-exists", "false", "unrelated"],
)
def test_privileged_role_without_mfa_violates(condition: dict[str, Any] | None) -> None:
    statement = {key: value for key, value in ADMIN_TRUST.items() if key != "Condition"}
    if condition:
        statement["Condition"] = condition
    records = [role("break-glass", statement)]
    [finding] = findings(PRIVILEGED_MFA, records)
    assert finding.resource_name == "break-glass" and "Operators" in finding.message
    assert names(PRIVILEGED_MFA, records, default_tags=QA_TAGS) == ["break-glass"]


@pytest.mark.parametrize(
    "condition",
    [
        {"Bool": {"aws:MultiFactorAuthPresent": True}},
        {"Bool": {"aws:MultiFactorAuthPresent": ["true"]}},
        {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
    ],
    ids=["bool-true", "list-true", "auth-age"],
)
def test_privileged_role_with_mfa_is_allowed(condition: dict[str, Any]) -> None:
    assert findings(PRIVILEGED_MFA, [role("break-glass", {**ADMIN_TRUST, "Condition": condition})]) == []


@pytest.mark.parametrize(
    ("resource_name", "inputs"),
    [
        ("break-glass", {}),
        ("ops", {"name": "erp-prod-EmergencyAccess"}),
        ("ops", {"name": None, "namePrefix": "erp-prod-admin-"}),
        ("db-administrator", {}),
    ],
)
def test_roles_are_privileged_by_resource_name_or_role_name(resource_name: str, inputs: dict[str, Any]) -> None:
    statement = {key: value for key, value in ADMIN_TRUST.items() if key != "Condition"}
    assert names(PRIVILEGED_MFA, [role(resource_name, statement, **inputs)]) == [resource_name]


def test_ordinary_roles_and_service_or_federated_principals_need_no_mfa() -> None:
    statement = {key: value for key, value in ADMIN_TRUST.items() if key != "Condition"}
    assert findings(PRIVILEGED_MFA, [role("reporting", statement)]) == []
    federated = {"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/okta"},
                 "Action": "sts:AssumeRoleWithSAML"}
    assert findings(PRIVILEGED_MFA, [role("break-glass", federated, ECS_TRUST)]) == []


def test_privileged_role_pattern_is_configurable() -> None:
    statement = {key: value for key, value in ADMIN_TRUST.items() if key != "Condition"}
    records = [role("reporting", statement)]
    config = {PRIVILEGED_MFA: {"privilegedRolePattern": "(?i)report"}}
    assert names(PRIVILEGED_MFA, records, policy_config=config) == ["reporting"]


def test_unknown_role_name_is_not_evaluable_unless_the_resource_name_decides() -> None:
    statement = {key: value for key, value in ADMIN_TRUST.items() if key != "Condition"}
    unknown_name = [role("ops", statement, name=UNKNOWN)]
    assert findings(PRIVILEGED_MFA, unknown_name) == []
    assert skipped(PRIVILEGED_MFA, unknown_name)
    assert names(PRIVILEGED_MFA, [role("break-glass", statement, name=UNKNOWN)]) == ["break-glass"]
