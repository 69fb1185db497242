"""KMS keys: rotation, a deletion window long enough to notice a mistake, and key policies closed to the world.

Every record the platform keeps is only as recoverable as the key that encrypts it
and only as private as that key's policy. A key policy statement is open to anyone
when its principal is `*` (or `{"AWS": "*"}`, or an Allow with `NotPrincipal`);
AWS's own pattern for such statements pins the caller with `kms:CallerAccount`
and/or `kms:ViaService`, which is what these checks accept as a restriction, and
only with fixed values (no wildcards or policy variables), as AWS Config's
kms-key-policy-no-public-access rule does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .common import as_list, pinning_conditions, statement_label, statements
from .framework import References, ResourceView, resource_policy

AREA = "key-management"
KMS_KEY = "aws:kms/key:Key"

DEFAULT_MINIMUM_DELETION_WINDOW_DAYS = 30

# Condition keys that confine a statement with an open principal to this account or to calls
# made through named AWS services (the pattern of AWS-managed key policies). kms:CallerAccount is
# in every KMS request, kms:ViaService only in requests a service makes, so only the former may be
# pinned with an `...IfExists` operator.
RESTRICTING_CONDITION_KEYS = ("kms:calleraccount", "kms:viaservice")
ALWAYS_PRESENT_KEYS = ("kms:calleraccount",)


def _is_public_principal(statement: Mapping[str, Any]) -> bool:
    if "NotPrincipal" in statement:
        return True  # Allow everyone except the listed principals
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in as_list(principal.get("AWS"))
    return False


def _grants_full_access(statement: Mapping[str, Any]) -> bool:
    if "NotAction" in statement:
        return True  # every action except the listed ones
    return any(
        isinstance(action, str) and action.lower() in ("kms:*", "*") for action in as_list(statement.get("Action"))
    )


def _restricting_conditions(statement: Mapping[str, Any]) -> list[str]:
    """The `operator key` pairs that pin the caller's account or calling service to fixed values."""
    return pinning_conditions(statement, RESTRICTING_CONDITION_KEYS, ALWAYS_PRESENT_KEYS)


def _principals(statement: Mapping[str, Any]) -> str:
    if "NotPrincipal" in statement:
        return f"every principal except {statement.get('NotPrincipal')}"
    return "any principal"


def _actions(statement: Mapping[str, Any]) -> str:
    if "NotAction" in statement:
        return f"every action except {as_list(statement.get('NotAction'))}"
    return ", ".join(str(action) for action in as_list(statement.get("Action"))) or "no action"


def _allow_statements(resource: ResourceView) -> Iterator[tuple[int, Mapping[str, Any]]]:
    # An absent policy means AWS's default key policy: the account root, delegating to IAM.
    for index, statement in enumerate(statements(resource.get("policy"))):
        if statement.get("Effect") == "Allow":
            yield index, statement


@resource_policy(
    name="erp-kms-key-rotation-enabled",
    description="Symmetric encryption KMS keys rotate their key material automatically.",
    area=AREA,
    severity=Severity.MEDIUM,
    references=References(fsbp=("KMS.4",), cis=("3.6",), nist=("SC-12", "SC-12(2)", "SC-28(3)")),
    remediation_steps=(
        "Pass enable_key_rotation=True to aws.kms.Key (optionally rotation_period_in_days between 90 and 2560; "
        "the default is 365). Rotation keeps old key material, so existing data stays readable."
    ),
    rationale=(
        "Rotation bounds how much data any one piece of key material protects and how long it is in use. KMS "
        "supports it only for symmetric ENCRYPT_DECRYPT keys in the default key store; other keys are not checked."
    ),
    resource_types=(KMS_KEY,),
)
def key_rotation_enabled(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    usage = resource.get("keyUsage") or "ENCRYPT_DECRYPT"
    spec = resource.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if usage != "ENCRYPT_DECRYPT" or spec != "SYMMETRIC_DEFAULT" or resource.get("customKeyStoreId"):
        return  # asymmetric, HMAC and custom-key-store keys cannot rotate automatically
    rotation = resource.get("enableKeyRotation")
    if rotation is not True:
        shown = "not set (false by default)" if rotation is None else repr(rotation)
        yield f"enableKeyRotation is {shown}: the symmetric key's material would never rotate"


@resource_policy(
    name="erp-kms-key-deletion-window",
    description="KMS keys wait at least the configured number of days (default 30) between scheduling and deletion.",
    area=AREA,
    severity=Severity.MEDIUM,
    references=References(fsbp=("KMS.3",), nist=("SC-12", "SC-12(2)"), cfr11=("11.10(c)",)),
    remediation_steps=(
        "Pass deletion_window_in_days=30 to aws.kms.Key, or leave it unset (AWS defaults to 30), or at least the "
        "configured minimumDeletionWindowDays."
    ),
    rationale=(
        "Deleting a key makes everything encrypted under it unrecoverable, backups included. The waiting period "
        "is the only time a deletion scheduled by mistake, by a faulty update or by an attacker can be cancelled; "
        "30 days leaves room for a monthly review and the CloudWatch alarm on ScheduleKeyDeletion to be acted on."
    ),
    resource_types=(KMS_KEY,),
    config={
        "minimumDeletionWindowDays": {
            "type": "integer",
            "minimum": 7,
            "maximum": 30,
            "default": DEFAULT_MINIMUM_DELETION_WINDOW_DAYS,
            "description": "The shortest deletion window (days, 7-30) a KMS key may have.",
        }
    },
)
def key_deletion_window(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    minimum = settings["minimumDeletionWindowDays"]
    window = resource.get("deletionWindowInDays")
    if window is None:
        window = 30  # the KMS default
    if not isinstance(window, int | float) or isinstance(window, bool):
        yield f"deletionWindowInDays is {window!r}, not a number of days"
    elif window < minimum:
        yield f"deletionWindowInDays is {window:g}; at least {minimum:g} days are required"


@resource_policy(
    name="erp-kms-key-policy-no-public-access",
    description=(
        "No key policy statement allows anyone (Principal '*', {'AWS': '*'} or NotPrincipal) unless a condition pins "
        "kms:CallerAccount or kms:ViaService to fixed values."
    ),
    area=AREA,
    severity=Severity.CRITICAL,
    references=References(fsbp=("KMS.5",), nist=("AC-3", "AC-6", "AC-21"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "In the key policy passed as policy= to aws.kms.Key (rendered in components/keys.py), name the principals "
        "(account root, roles, service principals), or keep Principal {'AWS': '*'} only together with a "
        "StringEquals condition on kms:CallerAccount (this account) and/or kms:ViaService (the services that may "
        "use the key), as the _through_services grants do."
    ),
    rationale=(
        "A key whose policy lets any AWS principal use it lets any AWS account decrypt the data under it, or "
        "re-encrypt it out of our control. Pinning the calling account or service is what makes an open principal "
        "safe; other conditions, wildcard values and IfExists variants of kms:ViaService do not."
    ),
    resource_types=(KMS_KEY,),
)
def key_policy_no_public_access(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    for index, statement in _allow_statements(resource):
        if not _is_public_principal(statement) or _restricting_conditions(statement):
            continue
        yield (
            f"{statement_label(statement, index)} allows {_actions(statement)} to {_principals(statement)} without a "
            "condition on "
            "kms:CallerAccount or kms:ViaService with fixed values"
        )


@resource_policy(
    name="erp-kms-key-policy-no-full-access-to-anyone",
    description="No key policy statement grants kms:* (or *) to an open principal, even under conditions.",
    area=AREA,
    severity=Severity.HIGH,
    enforcement_level=EnforcementLevel.ADVISORY,
    references=References(fsbp=("KMS.5",), nist=("AC-6",), cfr11=("11.10(d)",)),
    remediation_steps=(
        "Grant an open principal only the data-key actions the service needs (kms:Encrypt, kms:Decrypt, "
        "kms:ReEncrypt*, kms:GenerateDataKey*, kms:DescribeKey, and kms:CreateGrant where the service holds "
        "grants); keep kms:* for the account root statement."
    ),
    rationale=(
        "kms:* includes PutKeyPolicy, ScheduleKeyDeletion and DisableKey. Even pinned to this account, a statement "
        "granting it to '*' lets any principal in the account that reaches the key through a service take it over "
        "or destroy it; least privilege keeps key administration with named administrators. Advisory because the "
        "caller conditions already keep the key private to the account."
    ),
    resource_types=(KMS_KEY,),
)
def key_policy_no_full_access_to_anyone(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    for index, statement in _allow_statements(resource):
        if _is_public_principal(statement) and _grants_full_access(statement):
            restricted = _restricting_conditions(statement)
            scope = f" (conditions: {', '.join(restricted)})" if restricted else ""
            yield f"{statement_label(statement, index)} grants {_actions(statement)} to {_principals(statement)}{scope}"


POLICIES = [
    key_rotation_enabled,
    key_deletion_window,
    key_policy_no_public_access,
    key_policy_no_full_access_to_anyone,
]
