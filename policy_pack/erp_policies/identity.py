"""Identity: least privilege in IAM documents, no public trust, no long-lived IAM users, MFA for privileged roles."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import Severity

from .common import as_list, pinning_conditions, statement_label, statements
from .framework import References, ResourceView, resource_policy

IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_USER = "aws:iam/user:User"
IAM_ACCESS_KEY = "aws:iam/accessKey:AccessKey"

# Condition keys that pin a wildcard principal to our organisation, an account, or a third party's
# external id. None is in every request, so `...IfExists` operators do not count.
RESTRICTING_CONDITION_KEYS = ("aws:principalorgid", "aws:principalaccount", "sts:externalid")

DEFAULT_PRIVILEGED_ROLE_PATTERN = r"(?i)(break-?glass|emergency|privileged|admin)"


def plain(value: Any) -> Any:
    """pulumi-policy's proxies as plain dicts and lists (raising UnknownValueError on unknowns)."""
    if isinstance(value, Mapping):
        return {key: plain(value[key]) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(item) for item in value]
    return value


def _documents(resource: ResourceView) -> Iterator[tuple[str, Any]]:
    """(label, policy document) of every permissions document the resource carries."""
    if resource.type == IAM_ROLE:
        for index, inline in enumerate(plain(resource.get("inlinePolicies")) or []):
            name = inline.get("name") if isinstance(inline, Mapping) else None
            document = inline.get("policy") if isinstance(inline, Mapping) else None
            if document:
                yield f"inline policy {name or index}", document
    else:
        document = plain(resource.get("policy"))
        if document:
            yield "policy", document


def _is_allow(statement: Mapping[str, Any]) -> bool:
    return str(statement.get("Effect", "")).lower() == "allow"


def _lower(values: Any) -> list[str]:
    return [v.lower() for v in as_list(values) if isinstance(v, str)]


def _all_resources(statement: Mapping[str, Any]) -> bool:
    """Resource "*", or NotResource (everything except a list)."""
    if "NotResource" in statement and "Resource" not in statement:
        return True
    return "*" in _lower(statement.get("Resource"))


# --- permissions documents ----------------------------------------------------------------------------------


@resource_policy(
    name="erp-iam-policy-no-admin-wildcards",
    description=(
        'No IAM permissions document allows "*" actions on "*" resources, Allow with NotAction on "*", '
        'or the service-wide "iam:*".'
    ),
    area="identity",
    severity=Severity.CRITICAL,
    references=References(fsbp=("IAM.1", "IAM.21"), cis=("1.16",), nist=("AC-6", "AC-3"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "Replace the wildcard statement in the aws.iam.Policy / RolePolicy / UserPolicy / GroupPolicy document "
        "(or the aws.iam.Role inline_policies entry) with the specific actions and resource ARNs the workload "
        "uses; administrators get access through IAM Identity Center permission sets, not through stack code."
    ),
    rationale=(
        "*:* and iam:* grant control of the whole account, including granting themselves more; one leaked "
        "workload credential then compromises every ERP record and its audit trail."
    ),
    resource_types=(IAM_POLICY, IAM_ROLE_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY, IAM_ROLE),
)
def no_admin_wildcards(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    for where, document in _documents(resource):
        for index, statement in enumerate(statements(document)):
            if not _is_allow(statement):
                continue
            label = f"{where}, {statement_label(statement, index)}"
            actions = _lower(statement.get("Action"))
            everything = _all_resources(statement)
            if everything and ("*" in actions or "*:*" in actions):
                yield f'{label} allows "*" actions on "*" resources (full administrator)'
            elif "NotAction" in statement and everything:
                yield f'{label} allows NotAction on "*" resources, which grants every other action of every service'
            if "iam:*" in actions:
                yield f'{label} allows the service-wide "iam:*", which lets the holder grant itself anything'


# --- trust policies -----------------------------------------------------------------------------------------


def _principals(statement: Mapping[str, Any], kind: str) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        return [p for p in as_list(principal.get(kind)) if isinstance(p, str)]
    return []


def _restricting_conditions(statement: Mapping[str, Any]) -> list[str]:
    """Conditions pinning aws:PrincipalOrgID, aws:PrincipalAccount or sts:ExternalId to fixed values."""
    return pinning_conditions(statement, RESTRICTING_CONDITION_KEYS)


@resource_policy(
    name="erp-iam-role-trust-no-public-principal",
    description=(
        'No role trust policy lets any principal ("*", {"AWS": "*"} or NotPrincipal) assume the role unless a '
        "condition pins aws:PrincipalOrgID, aws:PrincipalAccount or sts:ExternalId."
    ),
    area="identity",
    severity=Severity.CRITICAL,
    references=References(nist=("AC-3", "AC-6"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "In the aws.iam.Role assume_role_policy, name the exact principal (account root ARN, role ARN or service) "
        'instead of "*", or add a Condition StringEquals on aws:PrincipalOrgID (our organisation), '
        "aws:PrincipalAccount or sts:ExternalId (third parties)."
    ),
    rationale=(
        "A role trusting every AWS principal can be assumed from any AWS account in the world; its permissions "
        "become public."
    ),
    resource_types=(IAM_ROLE,),
)
def trust_no_public_principal(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    document = plain(resource.get("assumeRolePolicy"))
    for index, statement in enumerate(statements(document)):
        if not _is_allow(statement):
            continue
        label = statement_label(statement, index)
        if "NotPrincipal" in statement:
            yield f"trust {label} uses Allow with NotPrincipal, which trusts every principal except those listed"
        elif "*" in _principals(statement, "AWS") and not _restricting_conditions(statement):
            yield (
                f'trust {label} lets any AWS principal assume the role; name the principal or add a condition on '
                "aws:PrincipalOrgID, aws:PrincipalAccount or sts:ExternalId (StringEquals/StringLike, not ...IfExists)"
            )


# --- IAM users and access keys ------------------------------------------------------------------------------


@resource_policy(
    name="erp-iam-user-none",
    description="The stacks create no IAM users: people sign in through IAM Identity Center, workloads use roles.",
    area="identity",
    severity=Severity.HIGH,
    references=References(fsbp=("IAM.2",), cis=("1.21",), nist=("AC-2", "IA-2"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "Delete the aws.iam.User; give people a permission set in IAM Identity Center and give workloads an "
        "aws.iam.Role assumed by their service (ECS task role, Lambda execution role, IRSA, Roles Anywhere)."
    ),
    rationale=(
        "IAM users carry long-lived passwords and keys outside the corporate identity provider's joiner/leaver "
        "process, MFA and audit, which 21 CFR 11 access controls rely on."
    ),
    resource_types=(IAM_USER,),
)
def no_iam_users(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    yield "IAM user defined in the stack; use IAM Identity Center for people and roles for workloads"


@resource_policy(
    name="erp-iam-access-key-none",
    description="The stacks create no IAM access keys (long-lived credentials).",
    area="identity",
    severity=Severity.HIGH,
    references=References(fsbp=("IAM.3",), cis=("1.14",), nist=("IA-5", "AC-2"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "Delete the aws.iam.AccessKey; the consumer assumes an aws.iam.Role instead (or, outside AWS, uses IAM "
        "Roles Anywhere / OIDC federation for temporary credentials)."
    ),
    rationale=(
        "Access keys never expire, end up in state files, CI variables and laptops, and are the most common "
        "initial access in AWS breaches; temporary role credentials expire on their own."
    ),
    resource_types=(IAM_ACCESS_KEY,),
)
def no_access_keys(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    yield "IAM access key defined in the stack; use role credentials (temporary) instead"


# --- MFA on privileged roles --------------------------------------------------------------------------------


def _requires_mfa(statement: Mapping[str, Any]) -> bool:
    """Bool aws:MultiFactorAuthPresent "true", or NumericLessThan(Equals) aws:MultiFactorAuthAge."""
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    for operator, tests in condition.items():
        if not isinstance(tests, Mapping):
            continue
        op = str(operator).lower()
        for key, values in tests.items():
            key = str(key).lower()
            if op == "bool" and key == "aws:multifactorauthpresent":
                flags = [str(v).lower() for v in as_list(values)]
                if flags and all(flag == "true" for flag in flags):
                    return True
            if op in ("numericlessthan", "numericlessthanequals") and key == "aws:multifactorauthage":
                return True
    return False


@resource_policy(
    name="erp-iam-role-privileged-mfa",
    description=(
        "Break-glass and privileged roles (by name) can only be assumed by AWS principals with MFA: every Allow "
        "statement for an AWS principal requires aws:MultiFactorAuthPresent or aws:MultiFactorAuthAge."
    ),
    area="identity",
    severity=Severity.CRITICAL,
    references=References(nist=("IA-2(1)", "AC-6(5)"), cfr11=("11.10(d)",)),
    remediation_steps=(
        'Add "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}} (not BoolIfExists) to every Allow '
        "statement of the role's assume_role_policy that names an AWS principal. Federated (SAML/OIDC) principals "
        "are exempt: the identity provider enforces MFA."
    ),
    rationale=(
        "Privileged and emergency roles can change or delete production records; a stolen password or key alone "
        "must not be enough to assume them."
    ),
    resource_types=(IAM_ROLE,),
    config={
        "privilegedRolePattern": {
            "type": "string",
            "default": DEFAULT_PRIVILEGED_ROLE_PATTERN,
            "description": "Regular expression (Python syntax) matched against the role's resource name, name "
            "and namePrefix to find privileged roles.",
        }
    },
)
def privileged_role_mfa(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    pattern = re.compile(settings["privilegedRolePattern"])
    if not pattern.search(resource.name):
        names = [resource.get("name"), resource.get("namePrefix")]  # unknown names: not evaluable
        if not any(isinstance(name, str) and pattern.search(name) for name in names):
            return
    document = plain(resource.get("assumeRolePolicy"))
    for index, statement in enumerate(statements(document)):
        if _is_allow(statement) and _principals(statement, "AWS") and not _requires_mfa(statement):
            yield (
                f"privileged role: trust {statement_label(statement, index)} lets AWS principals assume it without MFA; "
                'add Condition Bool aws:MultiFactorAuthPresent "true"'
            )


POLICIES = [
    no_admin_wildcards,
    trust_no_public_principal,
    no_iam_users,
    no_access_keys,
    privileged_role_mfa,
]
