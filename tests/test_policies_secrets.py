"""Secrets policies: rotated secrets and clean container definitions, then one change at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_support import QA_TAGS, UNKNOWN, findings, mutate, names, resource, skipped, urn_of

from erpctl.model import ResourceRecord
from policy_pack.erp_policies.secrets import POLICIES

SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"

ACCOUNT = "123456789012"
SECRET_ARN = f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret:erp-prod-edi-api-AbCdEf"

ROTATED = "erp-secretsmanager-secret-rotation"
PLAINTEXT = "erp-ecs-task-definition-no-plaintext-secrets"
PRIVILEGED = "erp-ecs-task-definition-no-privileged-containers"


def secret(**inputs: Any) -> ResourceRecord:
    return mutate(resource(SECRET, "edi-api", {"name": "erp-prod/edi-api", "kmsKeyId": UNKNOWN}, protect=True),
                  **inputs)


def rotation(secret_id: str = UNKNOWN, linked: bool = True) -> ResourceRecord:
    deps = {"secretId": [urn_of(SECRET, "edi-api")]} if linked else {}
    inputs = {"secretId": secret_id, "rotationLambdaArn": UNKNOWN, "rotationRules": {"automaticallyAfterDays": 30.0}}
    return resource(ROTATION, "edi-api-rotation", inputs, property_dependencies=deps)


def container(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "erp-api",
        "image": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/erp-api:1.4.2",
        "essential": True,
        "environment": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "DB_PASSWORD_SECRET_ARN", "value": SECRET_ARN},
            {"name": "TOKEN_ENDPOINT", "value": "https://login.example.com/oauth2/token"},
        ],
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": SECRET_ARN}],
    }
    return {**base, **changes}


def task(*containers: dict[str, Any]) -> ResourceRecord:
    definitions = json.dumps(list(containers or (container(),)))
    return resource(TASK_DEFINITION, "erp-api", {"family": "erp-prod-api", "containerDefinitions": definitions})


def estate() -> list[ResourceRecord]:
    return [secret(), rotation(), task()]


@pytest.mark.parametrize("policy", [p.name for p in POLICIES])
@pytest.mark.parametrize("tags", ["prod", "qa"])
def test_compliant_estate_has_no_findings_and_nothing_skipped(policy: str, tags: str) -> None:
    kwargs = {"default_tags": QA_TAGS} if tags == "qa" else {}
    assert findings(policy, estate(), **kwargs) == []
    assert skipped(policy, estate(), **kwargs) == []


def test_policy_metadata_is_complete() -> None:
    for policy in POLICIES:
        assert policy.name.startswith("erp-") and policy.name == policy.name.lower()
        assert policy.area == "secrets" and policy.enforcement_level.value == "mandatory"
        assert policy.description and policy.remediation_steps and policy.rationale and policy.references.tags()


# --- rotation ------------------------------------------------------------------------------------------------


def test_secret_without_rotation_violates_in_every_environment() -> None:
    records = [secret(), task()]
    assert names(ROTATED, records) == ["edi-api"]
    assert names(ROTATED, records, default_tags=QA_TAGS) == ["edi-api"]


def test_rotation_of_another_secret_does_not_count() -> None:
    assert names(ROTATED, [secret(), rotation("erp-prod/other", linked=False)]) == ["edi-api"]


@pytest.mark.parametrize("secret_id", ["erp-prod/edi-api", SECRET_ARN], ids=["by-name", "by-arn"])
def test_rotation_links_by_known_name_or_arn_as_in_a_stack_export(secret_id: str) -> None:
    exported = secret(arn=SECRET_ARN)
    assert names(ROTATED, [exported, rotation(secret_id, linked=False)]) == []


def test_rotation_links_by_property_dependency_while_ids_are_unknown() -> None:
    """At preview the secret's id and ARN are unknown; the rotation's dependency on it is not."""
    assert names(ROTATED, [secret(), rotation(UNKNOWN, linked=True)]) == []


# --- plain-text secrets in container environments ------------------------------------------------------------


@pytest.mark.parametrize(
    "variable",
    ["DB_PASSWORD", "db_passwd", "CLIENT_SECRET", "GITHUB_TOKEN", "EDI_API_KEY", "apikey", "SIGNING_PRIVATE_KEY",
     "SMTP_CREDENTIALS"],
)
def test_secret_looking_environment_variable_violates(variable: str) -> None:
    env = [*container()["environment"], {"name": variable, "value": "hunter2"}]
    records = [task(container(environment=env))]
    [finding] = findings(PLAINTEXT, records)
    assert variable in finding.message and "erp-api" in finding.message and "hunter2" not in finding.message
    assert names(PLAINTEXT, records, default_tags=QA_TAGS) == ["erp-api"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DB_PASSWORD_SECRET_ARN", SECRET_ARN),
        ("API_KEY_SECRET_NAME", "erp-prod/edi-api"),
        ("TLS_PRIVATE_KEY_PATH", "/run/secrets/tls.key"),
        ("DB_PASSWORD_FILE", "/run/secrets/db"),
        ("OAUTH_TOKEN_URL", "https://login.example.com/oauth2/token"),
        ("EDI_TOKEN", SECRET_ARN),  # a reference by value
        ("LOG_LEVEL", "debug"),
    ],
)
def test_references_to_secrets_are_allowed(variable: str, value: str) -> None:
    env = [{"name": variable, "value": value}]
    assert findings(PLAINTEXT, [task(container(environment=env))]) == []


def test_every_container_of_the_task_is_checked() -> None:
    sidecar = container(name="log-router", environment=[{"name": "DD_API_KEY", "value": "abc"}])
    [finding] = findings(PLAINTEXT, [task(container(), sidecar)])
    assert "log-router" in finding.message and "DD_API_KEY" in finding.message


def test_secret_name_pattern_is_configurable() -> None:
    records = [task(container(environment=[{"name": "EDI_PIN", "value": "1234"}]))]
    assert findings(PLAINTEXT, records) == []
    config = {PLAINTEXT: {"secretNamePattern": "(?i)(pin|password)"}}
    assert names(PLAINTEXT, records, policy_config=config) == ["erp-api"]


@pytest.mark.parametrize("policy", [PLAINTEXT, PRIVILEGED])
def test_unknown_container_definitions_are_not_evaluable(policy: str) -> None:
    records = [resource(TASK_DEFINITION, "erp-api", {"family": "erp-prod-api", "containerDefinitions": UNKNOWN})]
    assert findings(policy, records) == []
    assert skipped(policy, records)


# --- privileged containers ---------------------------------------------------------------------------------


def test_privileged_container_violates_in_every_environment() -> None:
    records = [task(container(), container(name="debug", privileged=True))]
    [finding] = findings(PRIVILEGED, records)
    assert "debug" in finding.message
    assert names(PRIVILEGED, records, default_tags=QA_TAGS) == ["erp-api"]


def test_explicitly_unprivileged_container_is_allowed() -> None:
    assert findings(PRIVILEGED, [task(container(privileged=False))]) == []
