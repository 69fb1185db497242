"""Customer-managed KMS keys, one per data domain, each usable only by the services that domain needs.

A key per domain keeps blast radius small: revoking or scheduling deletion of the
documents key cannot touch the database, and CloudTrail shows which domain's data
a decrypt call was for. Every key policy is rendered from one table below, so a
review of `_KEY_SPECS` is a review of every grant on every key.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws

from components.tags import Tags


class DataDomain(StrEnum):
    DATABASE = "database"
    DOCUMENTS = "documents"
    LOGS = "logs"
    BACKUPS = "backups"
    INTEGRATION = "integration"
    SECRETS = "secrets"


_DATA_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")


@dataclass(frozen=True)
class _Grant:
    """One key-policy statement that lets AWS services, and nothing outside them, use a key.

    Strings are templates: {partition}, {account} and {region} are filled in once the
    caller identity is known, so the table of grants stays plain data.
    """

    sid: str
    principal: Mapping[str, Any]
    actions: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]]

    def statement(self, context: Mapping[str, str]) -> dict[str, Any]:
        return _render(
            {
                "Sid": self.sid,
                "Effect": "Allow",
                "Principal": self.principal,
                "Action": self.actions,
                "Resource": "*",
                "Condition": self.conditions,
            },
            context,
        )


def _through_services(sid: str, *services: str, create_grants: bool = False) -> _Grant:
    """Callers in this account may use the key, but only through the named services.

    The same shape as AWS-managed service keys: the principal is open, but
    kms:ViaService pins the calling service and kms:CallerAccount pins the account,
    so the key is useless outside those services. Services that encrypt
    asynchronously (RDS, AWS Backup, Secrets Manager) hold grants, hence CreateGrant.
    """
    actions = _DATA_KEY_ACTIONS + (("kms:CreateGrant",) if create_grants else ())
    return _Grant(
        sid=sid,
        principal={"AWS": "*"},
        actions=actions,
        conditions={
            "StringEquals": {
                "kms:CallerAccount": "{account}",
                "kms:ViaService": [f"{service}.{{region}}.amazonaws.com" for service in services],
            }
        },
    )


def _service_principal(
    sid: str,
    services: tuple[str, ...],
    actions: tuple[str, ...],
    conditions: Mapping[str, Mapping[str, Any]],
) -> _Grant:
    """An AWS service acting as itself (log delivery, CloudTrail), scoped by source conditions."""
    principal = services[0] if len(services) == 1 else list(services)
    return _Grant(sid=sid, principal={"Service": principal}, actions=actions, conditions=conditions)


_SOURCE_ACCOUNT = {"aws:SourceAccount": "{account}"}


@dataclass(frozen=True)
class _KeySpec:
    purpose: str
    grants: tuple[_Grant, ...]


_KEY_SPECS: dict[DataDomain, _KeySpec] = {
    DataDomain.DATABASE: _KeySpec(
        purpose="ERP database storage, snapshots and Performance Insights",
        grants=(_through_services("UseThroughRds", "rds", create_grants=True),),
    ),
    DataDomain.DOCUMENTS: _KeySpec(
        purpose="ERP document store (drawings, certificates, delivery notes) in S3",
        grants=(_through_services("UseThroughS3", "s3"),),
    ),
    DataDomain.LOGS: _KeySpec(
        purpose="audit trail, CloudWatch log groups and VPC flow logs",
        grants=(
            _service_principal(
                "CloudWatchLogsEncryptLogGroups",
                ("logs.{region}.amazonaws.com",),
                _DATA_KEY_ACTIONS,
                {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": "arn:{partition}:logs:{region}:{account}:log-group:*"
                    }
                },
            ),
            _service_principal(
                "CloudTrailEncryptLogs",
                ("cloudtrail.amazonaws.com",),
                ("kms:GenerateDataKey*",),
                {
                    "StringEquals": _SOURCE_ACCOUNT,
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": "arn:{partition}:cloudtrail:*:{account}:trail/*"
                    },
                },
            ),
            # CloudTrail checks the key when a trail is created or updated.
            _service_principal(
                "CloudTrailDescribeKey",
                ("cloudtrail.amazonaws.com",),
                ("kms:DescribeKey",),
                {"StringEquals": _SOURCE_ACCOUNT},
            ),
            # Flow logs delivered to S3 are written by the log-delivery service, and the
            # archive bucket's default encryption makes S3 call KMS on its behalf.
            _service_principal(
                "VpcFlowLogDelivery",
                ("delivery.logs.amazonaws.com",),
                _DATA_KEY_ACTIONS,
                {
                    "StringEquals": _SOURCE_ACCOUNT,
                    "ArnLike": {"aws:SourceArn": "arn:{partition}:logs:{region}:{account}:*"},
                },
            ),
        ),
    ),
    DataDomain.BACKUPS: _KeySpec(
        purpose="AWS Backup vaults and recovery points",
        grants=(_through_services("UseThroughBackup", "backup", create_grants=True),),
    ),
    DataDomain.INTEGRATION: _KeySpec(
        purpose="integration queues, topics and event buses (EDI, MES and carrier messages)",
        grants=(
            _through_services("UseThroughSqsAndSns", "sqs", "sns"),
            # SNS and EventBridge deliver into encrypted queues and topics as themselves.
            _service_principal(
                "MessageDeliveryServices",
                ("sns.amazonaws.com", "events.amazonaws.com"),
                ("kms:GenerateDataKey*", "kms:Decrypt"),
                {"StringEquals": _SOURCE_ACCOUNT},
            ),
        ),
    ),
    DataDomain.SECRETS: _KeySpec(
        purpose="Secrets Manager secrets (database credentials, partner API keys)",
        grants=(_through_services("UseThroughSecretsManager", "secretsmanager", create_grants=True),),
    ),
}


def _render(value: Any, context: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return value.format_map(context)
    if isinstance(value, Mapping):
        return {key: _render(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_render(item, context) for item in value]
    return value


def _policy_for(domain: DataDomain, values: list[str]) -> str:
    partition, account, region = values
    return _key_policy(domain, partition, account, region)


def _key_policy(domain: DataDomain, partition: str, account: str, region: str) -> str:
    """The key policy of `domain`'s key as JSON."""
    context = {"partition": partition, "account": account, "region": region}
    administration = {
        # The account root delegates to IAM: IAM policies then decide which
        # administrators manage the key and which roles use it. Without this
        # statement a key can become unmanageable if its policy is ever wrong.
        "Sid": "AccountAdministrationThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    statements = [administration] + [grant.statement(context) for grant in _KEY_SPECS[domain].grants]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass(frozen=True)
class KeyRingArgs:
    name_prefix: str
    tags: Tags
    protect: bool


class KeyRing(pulumi.ComponentResource):
    """A rotating customer-managed key and alias per data domain."""

    key_arns_by_domain: dict[str, pulumi.Output[str]]
    logs_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: KeyRingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("erp:keys:KeyRing", name, None, opts)

        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke_opts).partition
        account = aws.get_caller_identity_output(opts=invoke_opts).account_id
        region = aws.get_region_output(opts=invoke_opts).region
        child_opts = pulumi.ResourceOptions(parent=self, protect=args.protect)

        self.key_arns_by_domain = {}
        alias_names: dict[str, pulumi.Output[str]] = {}
        for domain, spec in _KEY_SPECS.items():
            key_name = f"{args.name_prefix}-{domain}"
            key = aws.kms.Key(
                f"{name}-{domain}",
                description=f"{key_name}: {domain} domain key for {spec.purpose}",
                key_usage="ENCRYPT_DECRYPT",
                enable_key_rotation=True,
                # The longest window KMS allows: time to notice and cancel a mistaken deletion.
                deletion_window_in_days=30,
                policy=pulumi.Output.all(partition, account, region).apply(
                    functools.partial(_policy_for, domain)
                ),
                tags=args.tags.for_resource(key_name),
                opts=child_opts,
            )
            alias = aws.kms.Alias(
                f"{name}-{domain}-alias",
                name=f"alias/{key_name}",
                target_key_id=key.key_id,
                opts=child_opts,
            )
            self.key_arns_by_domain[domain.value] = key.arn
            alias_names[domain.value] = alias.name

        self.logs_key_arn = self.key_arns_by_domain[DataDomain.LOGS.value]
        self.register_outputs({"keyArns": self.key_arns_by_domain, "aliasNames": alias_names})
