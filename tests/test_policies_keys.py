"""KMS key policies: rotation, deletion window and key policies closed to the world, one change at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_support import UNKNOWN, findings, mutate, resource, skipped

ACCOUNT = "123456789012"
REGION = "eu-central-1"

ROTATION = "erp-kms-key-rotation-enabled"
DELETION = "erp-kms-key-deletion-window"
PUBLIC = "erp-kms-key-policy-no-public-access"
FULL_ACCESS = "erp-kms-key-policy-no-full-access-to-anyone"

# The shape components/keys.py renders: root administration, a service-scoped open grant, a service principal.
ROOT_ADMIN = {
    "Sid": "AccountAdministrationThroughIam",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
THROUGH_RDS = {
    "Sid": "UseThroughRds",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": [f"rds.{REGION}.amazonaws.com"]}},
}
LOG_DELIVERY = {
    "Sid": "CloudWatchLogsEncryptLogGroups",
    "Effect": "Allow",
    "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"}},
}
BASE_STATEMENTS = [ROOT_ADMIN, THROUGH_RDS, LOG_DELIVERY]


def key_policy(*extra: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [*BASE_STATEMENTS, *extra]})


KEY = resource(
    "aws:kms/key:Key",
    "database-key",
    {
        "description": "ERP database storage, snapshots and Performance Insights",
        "keyUsage": "ENCRYPT_DECRYPT",
        "customerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "enableKeyRotation": True,
        "deletionWindowInDays": 30.0,
        "policy": key_policy(),
    },
)


def with_statement(**statement: Any) -> Any:
    return mutate(KEY, policy=key_policy({"Sid": "Extra", "Effect": "Allow", "Resource": "*", **statement}))


def caller_account(operator: str = "StringEquals", key: str = "kms:CallerAccount", value: Any = ACCOUNT) -> Any:
    return {operator: {key: value}}


@pytest.mark.parametrize("policy", [ROTATION, DELETION, PUBLIC, FULL_ACCESS])
def test_baseline_is_compliant(policy: str) -> None:
    assert findings(policy, [KEY]) == []


# --- rotation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"enableKeyRotation": False}, "enableKeyRotation is False"),
        ({"enableKeyRotation": None}, "enableKeyRotation is not set"),
        ({"keyUsage": None, "customerMasterKeySpec": None, "enableKeyRotation": None}, "would never rotate"),
    ],
    ids=["disabled", "unset", "defaults-are-symmetric"],
)
def test_symmetric_key_without_rotation_violates(changes: dict[str, Any], expected: str) -> None:
    found = findings(ROTATION, [mutate(KEY, **changes)])
    assert [f.urn for f in found] == [KEY.urn]
    assert expected in found[0].message
    assert found[0].enforcement_level == "mandatory"


@pytest.mark.parametrize(
    "changes",
    [
        {"keyUsage": "SIGN_VERIFY", "customerMasterKeySpec": "RSA_2048"},
        {"keyUsage": "GENERATE_VERIFY_MAC", "customerMasterKeySpec": "HMAC_256"},
        {"keyUsage": "ENCRYPT_DECRYPT", "customerMasterKeySpec": "RSA_4096"},
        {"customKeyStoreId": "cks-1234567890abcdef0"},
    ],
    ids=["asymmetric-signing", "hmac", "asymmetric-encryption", "custom-key-store"],
)
def test_keys_that_cannot_rotate_are_not_judged(changes: dict[str, Any]) -> None:
    assert findings(ROTATION, [mutate(KEY, enableKeyRotation=False, **changes)]) == []


def test_unknown_rotation_is_not_evaluable() -> None:
    pending = mutate(KEY, enableKeyRotation=UNKNOWN)
    assert findings(ROTATION, [pending]) == []
    assert skipped(ROTATION, [pending])


# --- deletion window -------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [7.0, 29.0])
def test_short_deletion_window_violates(days: float) -> None:
    found = findings(DELETION, [mutate(KEY, deletionWindowInDays=days)])
    assert [f.urn for f in found] == [KEY.urn]
    assert found[0].message == f"deletionWindowInDays is {days:g}; at least 30 days are required"


def test_unset_deletion_window_is_the_30_day_default() -> None:
    assert findings(DELETION, [mutate(KEY, deletionWindowInDays=None)]) == []


def test_configured_minimum_applies() -> None:
    config = {DELETION: {"minimumDeletionWindowDays": 14}}
    assert findings(DELETION, [mutate(KEY, deletionWindowInDays=14.0)], policy_config=config) == []
    found = findings(DELETION, [mutate(KEY, deletionWindowInDays=10.0)], policy_config=config)
    assert [f.message for f in found] == ["deletionWindowInDays is 10; at least 14 days are required"]


def test_unknown_deletion_window_is_not_evaluable() -> None:
    pending = mutate(KEY, deletionWindowInDays=UNKNOWN)
    assert findings(DELETION, [pending]) == []
    assert skipped(DELETION, [pending])


# --- key policy: no public access ------------------------------------------------------------------

PUBLIC_VIOLATIONS = {
    "star-kms-star": ({"Principal": "*", "Action": "kms:*"}, "allows kms:* to any principal"),
    "aws-star-star": ({"Principal": {"AWS": "*"}, "Action": "*"}, "allows * to any principal"),
    "aws-star-list": ({"Principal": {"AWS": ["*"]}, "Action": ["kms:*"]}, "any principal"),
    "lower-case-action": ({"Principal": "*", "Action": "KMS:*"}, "any principal"),
    "not-principal": (
        {"NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*"},
        "allows kms:* to every principal except",
    ),
    "not-action": ({"Principal": "*", "NotAction": "kms:ScheduleKeyDeletion"}, "every action except"),
    "narrow-action-unconditioned": ({"Principal": "*", "Action": "kms:Decrypt"}, "allows kms:Decrypt"),
    "negated-condition": (
        {"Principal": "*", "Action": "kms:*", "Condition": caller_account("StringNotEquals")},
        "without a condition",
    ),
    "wildcard-account": (
        {"Principal": "*", "Action": "kms:*", "Condition": caller_account("StringLike", value="*")},
        "without a condition",
    ),
    "wildcard-service": (
        {
            "Principal": "*",
            "Action": "kms:*",
            "Condition": caller_account("StringLike", "kms:ViaService", "*.amazonaws.com"),
        },
        "without a condition",
    ),
    "policy-variable": (
        {
            "Principal": "*",
            "Action": "kms:*",
            "Condition": caller_account(value="${aws:PrincipalAccount}"),
        },
        "without a condition",
    ),
    "via-service-if-exists": (
        {
            "Principal": "*",
            "Action": "kms:*",
            "Condition": caller_account("StringEqualsIfExists", "kms:ViaService", f"s3.{REGION}.amazonaws.com"),
        },
        "without a condition",
    ),
    "other-condition-key": (
        {"Principal": "*", "Action": "kms:*", "Condition": caller_account(key="aws:SourceAccount")},
        "without a condition",
    ),
    "set-operator": (
        {"Principal": "*", "Action": "kms:*", "Condition": caller_account("ForAllValues:StringEquals")},
        "without a condition",
    ),
    "empty-values": (
        {"Principal": "*", "Action": "kms:*", "Condition": caller_account(value=[])},
        "without a condition",
    ),
}


@pytest.mark.parametrize(("statement", "expected"), list(PUBLIC_VIOLATIONS.values()), ids=list(PUBLIC_VIOLATIONS))
def test_open_statement_without_caller_condition_violates(statement: dict[str, Any], expected: str) -> None:
    found = findings(PUBLIC, [with_statement(**statement)])
    assert [f.urn for f in found] == [KEY.urn]
    assert "statement 'Extra'" in found[0].message
    assert expected in found[0].message
    assert found[0].enforcement_level == "mandatory"


@pytest.mark.parametrize(
    "condition",
    [
        caller_account(),
        caller_account("StringEquals", "kms:ViaService", [f"s3.{REGION}.amazonaws.com"]),
        caller_account("StringEqualsIgnoreCase", "KMS:CallerAccount"),
        caller_account("StringLike", value=ACCOUNT),
        caller_account("StringEqualsIfExists"),
        {"StringEquals": {"kms:CallerAccount": ACCOUNT}, "Bool": {"aws:SecureTransport": "true"}},
    ],
    ids=["caller-account", "via-service", "case-insensitive-key", "string-like-fixed", "caller-if-exists", "mixed"],
)
def test_open_statement_pinned_to_account_or_service_passes(condition: dict[str, Any]) -> None:
    assert findings(PUBLIC, [with_statement(Principal="*", Action="kms:*", Condition=condition)]) == []


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Deny", "Principal": "*", "Action": "kms:*"},
        {"Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/erp-admin"}, "Action": "kms:*"},
        {"Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*"},
    ],
    ids=["deny", "named-role", "service-principal"],
)
def test_named_or_denying_statements_pass(statement: dict[str, Any]) -> None:
    assert findings(PUBLIC, [with_statement(**statement)]) == []


def test_absent_policy_is_the_default_key_policy() -> None:
    assert findings(PUBLIC, [mutate(KEY, policy=None)]) == []


@pytest.mark.parametrize("policy", [PUBLIC, FULL_ACCESS])
def test_unknown_policy_is_not_evaluable(policy: str) -> None:
    pending = mutate(KEY, policy=UNKNOWN)
    assert findings(policy, [pending]) == []
    assert skipped(policy, [pending])


# --- key policy: no kms:* to anyone, even conditioned (advisory) ------------------------------------

FULL_ACCESS_VIOLATIONS = {
    "conditioned-kms-star": (
        {"Principal": {"AWS": "*"}, "Action": "kms:*", "Condition": caller_account()},
        "grants kms:* to any principal (conditions: StringEquals kms:CallerAccount)",
    ),
    "unconditioned-star": ({"Principal": "*", "Action": "*"}, "grants * to any principal"),
    "not-action": (
        {"Principal": "*", "NotAction": ["kms:Decrypt"], "Condition": caller_account()},
        "every action except",
    ),
    "not-principal": (
        {"NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*"},
        "grants kms:* to every principal except",
    ),
}


@pytest.mark.parametrize(
    ("statement", "expected"), list(FULL_ACCESS_VIOLATIONS.values()), ids=list(FULL_ACCESS_VIOLATIONS)
)
def test_full_access_for_open_principal_is_flagged(statement: dict[str, Any], expected: str) -> None:
    found = findings(FULL_ACCESS, [with_statement(**statement)])
    assert [f.urn for f in found] == [KEY.urn]
    assert expected in found[0].message
    assert found[0].enforcement_level == "advisory"


def test_pinned_full_access_is_advisory_only() -> None:
    pinned = with_statement(Principal={"AWS": "*"}, Action="kms:*", Condition=caller_account())
    assert findings(PUBLIC, [pinned]) == []
    assert findings(FULL_ACCESS, [pinned])


def test_root_full_access_and_scoped_open_grants_pass() -> None:
    narrow = with_statement(Principal="*", Action=["kms:Decrypt", "kms:DescribeKey"], Condition=caller_account())
    assert findings(FULL_ACCESS, [narrow]) == []
