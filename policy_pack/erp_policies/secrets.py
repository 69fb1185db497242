"""Secrets: rotated Secrets Manager secrets, no credentials in container environments, no privileged containers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from .framework import References, ResourceView, StackView, resource_policy, stack_policy

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"

DEFAULT_SECRET_NAME_PATTERN = r"(?i)(password|passwd|secret|token|api_?key|private_?key|credential)"
# Names that carry a reference to a secret (its ARN, name, a mounted file) or an endpoint, not the secret itself.
DEFAULT_REFERENCE_NAME_PATTERN = r"(?i)_(arn|name|path|file|url|uri|endpoint)$"


@stack_policy(
    name="erp-secretsmanager-secret-rotation",
    description="Every Secrets Manager secret has automatic rotation (an aws:secretsmanager/secretRotation).",
    area="secrets",
    severity=Severity.HIGH,
    references=References(fsbp=("SecretsManager.1",), nist=("IA-5", "IA-5(1)"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "Add an aws.secretsmanager.SecretRotation with secret_id=secret.id, a rotation_lambda_arn and "
        "rotation_rules (e.g. automatically_after_days=30). For RDS master passwords prefer "
        "manage_master_user_password=True, which RDS rotates itself and which needs no Secret resource."
    ),
    rationale=(
        "A credential that never changes stays valid in every copy that leaked (logs, laptops, former staff); "
        "rotation bounds the damage and proves the consumers can take a new one."
    ),
)
def secret_rotation(stack: StackView, settings: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    for secret in stack.of_type(SECRET):
        if not stack.linked(secret, SECRET_ROTATION, "secretId", "name", "arn"):
            yield secret.urn, "secret has no aws:secretsmanager/secretRotation; it is never rotated"


def _containers(resource: ResourceView) -> list[Mapping[str, Any]]:
    """The container definitions (JSON text in the provider schema; unknown at preview: not evaluable)."""
    definitions = resource.get("containerDefinitions")
    if isinstance(definitions, str):
        try:
            definitions = json.loads(definitions)
        except json.JSONDecodeError:
            return []
    if not isinstance(definitions, list):
        return []
    return [c for c in definitions if isinstance(c, Mapping)]


def _container_name(container: Mapping[str, Any], index: int) -> str:
    name = container.get("name")
    return repr(name) if isinstance(name, str) and name else f"#{index}"


@resource_policy(
    name="erp-ecs-task-definition-no-plaintext-secrets",
    description=(
        "No ECS container definition passes a password, token, key or other credential as a plain-text "
        "environment variable."
    ),
    area="secrets",
    severity=Severity.CRITICAL,
    references=References(fsbp=("ECS.8",), nist=("IA-5(7)", "SC-28"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "Move the variable from the container's environment to its secrets list "
        '({"name": ..., "valueFrom": secret.arn}) in the aws.ecs.TaskDefinition container_definitions, and let '
        "the execution role read that secret. Variables that only carry a reference (..._ARN, ..._NAME, ..._PATH, "
        "..._FILE, ..._URL/_URI/_ENDPOINT, or an ARN value) are allowed."
    ),
    rationale=(
        "Environment values are stored in clear text in the task definition: anyone with ecs:DescribeTaskDefinition, "
        "the Pulumi state and every task revision keep the credential forever."
    ),
    resource_types=(TASK_DEFINITION,),
    config={
        "secretNamePattern": {
            "type": "string",
            "default": DEFAULT_SECRET_NAME_PATTERN,
            "description": "Regular expression (Python syntax) for environment variable names that hold secrets.",
        },
        "referenceNamePattern": {
            "type": "string",
            "default": DEFAULT_REFERENCE_NAME_PATTERN,
            "description": "Names matching this only refer to a secret (ARN, name, mounted file) or an endpoint "
            "and are allowed.",
        },
    },
)
def no_plaintext_secrets(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    secret_name = re.compile(settings["secretNamePattern"])
    reference_name = re.compile(settings["referenceNamePattern"])
    for index, container in enumerate(_containers(resource)):
        environment = container.get("environment")
        for variable in environment if isinstance(environment, list) else []:
            name = variable.get("name") if isinstance(variable, Mapping) else None
            value = variable.get("value") if isinstance(variable, Mapping) else None
            if not isinstance(name, str) or not secret_name.search(name) or reference_name.search(name):
                continue
            if isinstance(value, str) and value.startswith("arn:"):
                continue
            yield (
                f"container {_container_name(container, index)} sets {name} in plain-text environment; "
                "pass it through secrets (valueFrom Secrets Manager / SSM) instead"
            )


@resource_policy(
    name="erp-ecs-task-definition-no-privileged-containers",
    description="No ECS container definition runs privileged (root on the host).",
    area="secrets",
    severity=Severity.HIGH,
    references=References(fsbp=("ECS.4",), nist=("AC-6", "AC-6(10)")),
    remediation_steps=(
        "Remove privileged=True from the container definition in the aws.ecs.TaskDefinition; grant the specific "
        "Linux capability it needs through linuxParameters.capabilities.add instead."
    ),
    rationale=(
        "A privileged container can read the host's memory and every other task's secrets and credentials; "
        "one compromised dependency then exposes the whole node."
    ),
    resource_types=(TASK_DEFINITION,),
)
def no_privileged_containers(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    for index, container in enumerate(_containers(resource)):
        if container.get("privileged") is True:
            yield f"container {_container_name(container, index)} runs privileged"


POLICIES = [secret_rotation, no_plaintext_secrets, no_privileged_containers]
