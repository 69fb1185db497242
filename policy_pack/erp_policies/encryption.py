"""Encryption at rest under customer-managed KMS keys.

AWS encrypts most services by default, but with AWS-owned or AWS-managed keys
(`alias/aws/rds`, `alias/aws/s3`, ...) whose key policy the account cannot edit,
restrict, share or revoke. ERP records (orders, batch records, certificates,
credentials) must be encrypted under the platform's own keys (components/keys.py):
then a key policy decides who can read them, CloudTrail shows every decrypt, and
revoking one domain's key cuts off exactly that data.

A customer-managed key here is a key input (`kmsKeyId`, `kmsKeyArn`,
`kmsMasterKeyId`, ...) that is set and is not an AWS-managed alias. A key input that
is unknown at preview (the usual case: `key.arn` of a key created in the same
update) makes the policy not evaluable until the update, never a violation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, Severity

from .common import S3_BUCKET_TYPES
from .framework import UNKNOWN, References, ResourceView, StackView, is_unknown, peek, resource_policy, stack_policy

AREA = "encryption"

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
S3_SSE_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    # The deprecated name of the same resource; stacks created before pulumi-aws 7 still register it.
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
S3_LOGGING_TYPES = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
SQS_QUEUE = "aws:sqs/queue:Queue"
SNS_TOPIC = "aws:sns/topic:Topic"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECRET = "aws:secretsmanager/secret:Secret"
BACKUP_VAULT = "aws:backup/vault:Vault"
EBS_VOLUME = "aws:ebs/volume:Volume"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EFS_FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
CLOUDTRAIL_TRAIL = "aws:cloudtrail/trail:Trail"

# NIST SP 800-53 rev 5: protection of information at rest, key establishment, cryptographic protection.
AT_REST_NIST = ("SC-28", "SC-28(1)", "SC-12", "SC-13")
# 21 CFR 11.10(c): protection of records for accurate and ready retrieval throughout their retention.
RECORDS = ("11.10(c)",)


def is_aws_managed_key(key: str) -> bool:
    """`alias/aws/<service>` or its ARN form: a key whose policy only AWS controls."""
    return key.startswith("alias/aws/") or ":alias/aws/" in key


def key_problem(value: Any, prop: str, fallback: str) -> str | None:
    """Why `value`, the input `prop` naming a KMS key, is not a customer-managed key (None when it is).

    `fallback` says what happens when the input is absent.
    """
    if value is None or value == "":
        return f"{prop} is not set, so {fallback}; name a customer-managed KMS key"
    if not isinstance(value, str):
        return f"{prop} is {value!r}, not a KMS key id or ARN"
    if is_aws_managed_key(value):
        return (
            f"{prop} is {value!r}, an AWS-managed key whose key policy cannot be changed; name a customer-managed key"
        )
    return None


def unset_or(value: Any) -> str:
    """How a boolean input reads in a message: its value, or that it is absent (these all default to false)."""
    return "not set (false by default)" if value is None else repr(value)


def _records(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a list-of-objects input (absent: none)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [item for item in value if isinstance(item, Mapping)]
    return []


# --- RDS -------------------------------------------------------------------------------------------


@resource_policy(
    name="erp-rds-instance-storage-encrypted",
    description="RDS DB instances encrypt storage, automated backups and snapshots under a customer-managed KMS key.",
    area=AREA,
    severity=Severity.HIGH,
    references=References(fsbp=("RDS.3",), cis=("2.3.1",), nist=AT_REST_NIST, cfr11=RECORDS),
    remediation_steps=(
        "Pass storage_encrypted=True and kms_key_id=<the database key's ARN> (components/keys.py, "
        "DataDomain.DATABASE) to aws.rds.Instance. Encryption cannot be switched on in place: an existing "
        "instance is migrated through an encrypted snapshot copy and restore."
    ),
    rationale=(
        "The ERP database holds the system of record. Under the AWS-managed aws/rds key anyone with RDS and "
        "snapshot rights can restore and read it; under the database key, its key policy decides that too."
    ),
    resource_types=(RDS_INSTANCE,),
)
def rds_instance_storage_encrypted(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if resource.get("replicateSourceDb"):
        # A read replica inherits encryption from its source (checked there); if it names its own
        # key (cross-region replicas must), that key must be customer-managed.
        key = resource.get("kmsKeyId")
        problem = key_problem(key, "kmsKeyId", "the source's key is used") if key else None
        if problem:
            yield problem
        return
    encrypted = resource.get("storageEncrypted")
    if encrypted is not True:
        yield f"storageEncrypted is {unset_or(encrypted)}: storage, backups and snapshots would be unencrypted"
    problem = key_problem(resource.get("kmsKeyId"), "kmsKeyId", "the AWS-managed key aws/rds would be used")
    if problem:
        yield problem


@resource_policy(
    name="erp-rds-cluster-storage-encrypted",
    description="RDS and Aurora DB clusters encrypt storage, backups and snapshots under a customer-managed KMS key.",
    area=AREA,
    severity=Severity.HIGH,
    references=References(fsbp=("RDS.27",), nist=AT_REST_NIST, cfr11=RECORDS),
    remediation_steps=(
        "Pass storage_encrypted=True and kms_key_id=<the database key's ARN> (components/keys.py, "
        "DataDomain.DATABASE) to aws.rds.Cluster. An existing cluster is migrated through an encrypted "
        "snapshot copy and restore; the cluster's instances inherit its encryption."
    ),
    rationale=(
        "An Aurora cluster's volume holds every instance's data; it is encrypted at creation or never, and "
        "only a customer-managed key lets the key policy, not RDS permissions alone, decide who can restore it."
    ),
    resource_types=(RDS_CLUSTER,),
)
def rds_cluster_storage_encrypted(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    encrypted = resource.get("storageEncrypted")
    if encrypted is not True:
        yield f"storageEncrypted is {unset_or(encrypted)}: cluster volume, backups and snapshots would be unencrypted"
    problem = key_problem(resource.get("kmsKeyId"), "kmsKeyId", "the AWS-managed key aws/rds would be used")
    if problem:
        yield problem


@resource_policy(
    name="erp-rds-performance-insights-cmk-encrypted",
    description="RDS instances and clusters with Performance Insights encrypt its data under a customer-managed key.",
    area=AREA,
    severity=Severity.MEDIUM,
    references=References(nist=AT_REST_NIST),
    remediation_steps=(
        "Where performance_insights_enabled=True, also pass performance_insights_kms_key_id=<the database key's "
        "ARN> to aws.rds.Instance / aws.rds.Cluster. The key cannot be changed once set, so set it when "
        "Performance Insights is first enabled."
    ),
    rationale=(
        "Performance Insights stores SQL text with its literal values (customers, prices, batch numbers): the "
        "same data as the database, so it belongs under the same key rather than the AWS-managed aws/rds key."
    ),
    resource_types=(RDS_INSTANCE, RDS_CLUSTER),
)
def rds_performance_insights_cmk(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if resource.get("performanceInsightsEnabled") is not True:
        return
    problem = key_problem(
        resource.get("performanceInsightsKmsKeyId"),
        "performanceInsightsKmsKeyId",
        "the AWS-managed key aws/rds is used",
    )
    if problem:
        yield f"Performance Insights is enabled but {problem}"


# --- S3 --------------------------------------------------------------------------------------------


def _peek_items(value: Any) -> list[Any]:
    """A list input's items without raising: unknown items read as UNKNOWN (stack checks must not raise)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [peek(value, index) for index in range(len(value))]
    return []


def _sse_rules(config: Any) -> list[Any] | Any:
    """The rules of one SSE configuration: companion `rules`, inline `rule`, or BucketV2's list form."""
    if is_unknown(config):
        return UNKNOWN
    if not isinstance(config, Mapping):
        return []
    rules = peek(config, "rules")
    if rules is None:
        rules = peek(config, "rule")
    if is_unknown(rules):
        return UNKNOWN
    if isinstance(rules, Mapping):
        return [rules]
    return _peek_items(rules)


def _sse_defaults(rules: list[Any]) -> list[Any]:
    """The applyServerSideEncryptionByDefault blocks of the rules (UNKNOWN where unknown)."""
    defaults: list[Any] = []
    for rule in rules:
        if is_unknown(rule):
            defaults.append(UNKNOWN)
            continue
        value = peek(rule, "applyServerSideEncryptionByDefault")
        if value is None:
            value = peek(rule, "applyServerSideEncryptionByDefaults")  # BucketV2's list form
        if isinstance(value, Sequence) and not isinstance(value, str):
            defaults.extend(_peek_items(value))
        elif value is not None:
            defaults.append(value)
    return defaults


def _is_access_log_target(stack: StackView, bucket: PolicyResource, buckets: list[PolicyResource]) -> bool:
    """True when S3 server access logging delivers into `bucket`, which then must use SSE-S3."""
    if stack.linked(bucket, S3_LOGGING_TYPES, "targetBucket", "bucket"):
        return True
    names = {peek(bucket.props, "bucket"), peek(bucket.props, "id")} - {None, UNKNOWN, ""}
    for source in buckets:
        for prop in ("logging", "loggings"):  # Bucket's inline block, BucketV2's list form
            value = peek(source.props, prop)
            if value is None:
                continue
            if any(dep.urn == bucket.urn for dep in source.property_dependencies.get(prop, [])):
                return True  # the block's only resource reference is its target bucket
            blocks = [value] if isinstance(value, Mapping) else _peek_items(value)
            if any(peek(block, "targetBucket") in names for block in blocks):
                return True
    return False


def _sse_verdict(config: Any, where: str) -> tuple[str, list[str]]:
    """("ok" | "unknown" | "violation", messages) for one server-side encryption configuration."""
    rules = _sse_rules(config)
    if is_unknown(rules):
        return "unknown", []
    defaults = _sse_defaults(rules)
    if not defaults:
        return "violation", [f"{where} has no applyServerSideEncryptionByDefault rule, so S3 falls back to AES256"]
    messages: list[str] = []
    undecided = False
    for default in defaults:
        if is_unknown(default):
            undecided = True
            continue
        algorithm = peek(default, "sseAlgorithm")
        key = peek(default, "kmsMasterKeyId")
        if is_unknown(algorithm):
            undecided = True
        elif algorithm == "AES256":
            messages.append(
                f"{where} applies sseAlgorithm 'AES256' (SSE-S3, S3-managed keys); AES256 is not enough here: "
                "ERP data must be encrypted with 'aws:kms' under a customer-managed key"
            )
        elif algorithm not in S3_KMS_ALGORITHMS:
            messages.append(f"{where} applies sseAlgorithm {algorithm!r}; use 'aws:kms' with a customer-managed key")
        elif is_unknown(key):
            undecided = True
        else:
            problem = key_problem(key, "kmsMasterKeyId", "the AWS-managed key aws/s3 is used")
            if problem:
                messages.append(f"{where} applies {algorithm!r} but {problem}")
    if messages:
        return "violation", messages
    return ("unknown" if undecided else "ok"), []


@stack_policy(
    name="erp-s3-bucket-kms-encrypted",
    description=(
        "Every S3 bucket has default encryption SSE-KMS (or DSSE-KMS) under a customer-managed key, set by an "
        "aws.s3.BucketServerSideEncryptionConfiguration that targets it. Targets of S3 server access logging are "
        "exempt: S3 delivers access logs only to buckets whose default encryption is SSE-S3."
    ),
    area=AREA,
    severity=Severity.HIGH,
    references=References(fsbp=("S3.17",), nist=AT_REST_NIST, cfr11=RECORDS),
    remediation_steps=(
        "Add aws.s3.BucketServerSideEncryptionConfiguration(bucket=bucket.id, rules=[{"
        "'apply_server_side_encryption_by_default': {'sse_algorithm': 'aws:kms', 'kms_master_key_id': key.arn}, "
        "'bucket_key_enabled': True}]) for the bucket, with the key of its data domain (components/keys.py). "
        "Replace sse_algorithm='AES256' and the aws/s3 key the same way; drop a bucket's inline "
        "server_side_encryption_configuration in favour of the separate resource."
    ),
    rationale=(
        "S3 encrypts new objects with SSE-S3 (AES256) by default, which any principal with s3:GetObject can read. "
        "With SSE-KMS under the documents key, reading also needs kms:Decrypt on that key, so a too-broad bucket "
        "policy alone no longer exposes drawings, certificates or delivery notes, and every read is in CloudTrail."
    ),
)
def s3_bucket_kms_encrypted(stack: StackView, settings: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    companions = stack.of_type(*S3_SSE_TYPES)
    buckets = stack.of_type(*S3_BUCKET_TYPES)
    bucket_urns = {bucket.urn for bucket in buckets}
    # A configuration whose target is unknown and not traceable to any bucket might be any bucket's.
    unplaced = [
        companion
        for companion in companions
        if is_unknown(peek(companion.props, "bucket"))
        and not any(dep.urn in bucket_urns for dep in companion.property_dependencies.get("bucket", []))
    ]
    for bucket in buckets:
        if _is_access_log_target(stack, bucket, buckets):
            continue  # S3 server access logging delivers only to SSE-S3 (AES256) buckets
        verdicts: list[tuple[str, list[str]]] = []
        for companion in stack.linked(bucket, S3_SSE_TYPES, "bucket", "bucket"):
            where = f"BucketServerSideEncryptionConfiguration {companion.name!r}"
            verdicts.append(_sse_verdict(companion.props, where))
        inline = peek(bucket.props, "serverSideEncryptionConfiguration")
        if inline is not None:
            verdicts.append(_sse_verdict(inline, "the bucket's inline serverSideEncryptionConfiguration"))
        inline_list = peek(bucket.props, "serverSideEncryptionConfigurations")  # BucketV2
        if is_unknown(inline_list):
            verdicts.append(("unknown", []))
        else:
            for item in _peek_items(inline_list):
                verdicts.append(_sse_verdict(item, "the bucket's inline serverSideEncryptionConfigurations"))
        if not verdicts:
            if not unplaced:
                yield (
                    bucket.urn,
                    "no BucketServerSideEncryptionConfiguration targets this bucket, so S3 applies its default "
                    "AES256 (SSE-S3), which is not enough here: ERP data must use 'aws:kms' under a customer-managed "
                    "key",
                )
            continue
        for status, messages in verdicts:
            if status == "violation":
                for message in messages:
                    yield bucket.urn, message


# --- Messaging, logs, secrets, backups ----------------------------------------------------------------


@resource_policy(
    name="erp-sqs-queue-cmk-encrypted",
    description="SQS queues use SSE-KMS under a customer-managed key, not SQS-managed SSE or the aws/sqs key.",
    area=AREA,
    severity=Severity.MEDIUM,
    references=References(fsbp=("SQS.1",), nist=AT_REST_NIST, cfr11=RECORDS),
    remediation_steps=(
        "Pass kms_master_key_id=<the integration key's ARN> (components/keys.py, DataDomain.INTEGRATION) to "
        "aws.sqs.Queue, and drop sqs_managed_sse_enabled (the two are mutually exclusive)."
    ),
    rationale=(
        "Integration queues carry EDI orders, MES messages and carrier data. SQS-managed SSE and aws/sqs keep "
        "them encrypted, but only a customer-managed key lets the key policy limit who can read them and lets "
        "SNS/EventBridge producers be granted exactly what they need."
    ),
    resource_types=(SQS_QUEUE,),
)
def sqs_queue_cmk(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    key = resource.get("kmsMasterKeyId")
    if not key and resource.get("sqsManagedSseEnabled"):
        yield "sqsManagedSseEnabled is true and kmsMasterKeyId is not set: SQS-managed SSE is not a customer key"
        return
    problem = key_problem(key, "kmsMasterKeyId", "the queue is not encrypted under a KMS key")
    if problem:
        yield problem


@resource_policy(
    name="erp-sns-topic-cmk-encrypted",
    description="SNS topics are encrypted under a customer-managed KMS key.",
    area=AREA,
    severity=Severity.MEDIUM,
    references=References(fsbp=("SNS.1",), nist=AT_REST_NIST, cfr11=RECORDS),
    remediation_steps=(
        "Pass kms_master_key_id=<the integration key's ARN> (components/keys.py, DataDomain.INTEGRATION) to "
        "aws.sns.Topic; the key policy must let the publishing services use it."
    ),
    rationale=(
        "Topics fan out integration messages; unencrypted or aws/sns-encrypted, their content is readable by "
        "anyone with SNS rights and cannot be delivered to encrypted queues under our own key policy."
    ),
    resource_types=(SNS_TOPIC,),
)
def sns_topic_cmk(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    problem = key_problem(resource.get("kmsMasterKeyId"), "kmsMasterKeyId", "the topic is not encrypted at rest")
    if problem:
        yield problem


@resource_policy(
    name="erp-cloudwatch-log-group-cmk-encrypted",
    description="CloudWatch log groups are encrypted under a customer-managed KMS key.",
    area=AREA,
    severity=Severity.MEDIUM,
    references=References(nist=("AU-9", *AT_REST_NIST)),
    remediation_steps=(
        "Pass kms_key_id=<the logs key's ARN> (components/keys.py, DataDomain.LOGS) to aws.cloudwatch.LogGroup; "
        "the key policy must allow logs.<region>.amazonaws.com for this log group's ARN."
    ),
    rationale=(
        "Application and audit logs contain user names, record identifiers and sometimes record content. With the "
        "logs key, reading them also requires kms:Decrypt, and revoking the key shuts off every copy."
    ),
    resource_types=(LOG_GROUP,),
)
def log_group_cmk(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    problem = key_problem(resource.get("kmsKeyId"), "kmsKeyId", "CloudWatch Logs encrypts it with a service-owned key")
    if problem:
        yield problem


@resource_policy(
    name="erp-secretsmanager-secret-cmk-encrypted",
    description="Secrets Manager secrets, and each of their replicas, are encrypted under a customer-managed key.",
    area=AREA,
    severity=Severity.HIGH,
    references=References(nist=("IA-5(7)", *AT_REST_NIST)),
    remediation_steps=(
        "Pass kms_key_id=<the secrets key's ARN> (components/keys.py, DataDomain.SECRETS) to "
        "aws.secretsmanager.Secret, and kms_key_id=<that region's secrets key> in every replicas entry."
    ),
    rationale=(
        "Database credentials and partner API keys under aws/secretsmanager are readable by any principal with "
        "secretsmanager:GetSecretValue; under the secrets key, decrypting them is separately controlled and logged."
    ),
    resource_types=(SECRET,),
)
def secret_cmk(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    problem = key_problem(resource.get("kmsKeyId"), "kmsKeyId", "the AWS-managed key aws/secretsmanager is used")
    if problem:
        yield problem
    for index, replica in enumerate(_records(resource.get("replicas"))):
        problem = key_problem(replica.get("kmsKeyId"), f"replicas[{index}].kmsKeyId", "aws/secretsmanager is used")
        if problem:
            yield f"replica in {replica.get('region')!r}: {problem}"


@resource_policy(
    name="erp-backup-vault-cmk-encrypted",
    description="AWS Backup vaults encrypt recovery points under a customer-managed KMS key.",
    area=AREA,
    severity=Severity.HIGH,
    references=References(fsbp=("Backup.1",), nist=("CP-9(8)", *AT_REST_NIST), cfr11=RECORDS),
    remediation_steps=(
        "Pass kms_key_arn=<the backups key's ARN> (components/keys.py, DataDomain.BACKUPS) to aws.backup.Vault. "
        "The vault key cannot be changed later: a vault with the wrong key is replaced by a new vault."
    ),
    rationale=(
        "Recovery points are full copies of the records. A separate backups key keeps them readable when a "
        "production key is compromised or revoked and keeps production roles from restoring them."
    ),
    resource_types=(BACKUP_VAULT,),
)
def backup_vault_cmk(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    problem = key_problem(resource.get("kmsKeyArn"), "kmsKeyArn", "the AWS-managed key aws/backup is used")
    if problem:
        yield problem


# --- Block and file storage -------------------------------------------------------------------------


@resource_policy(
    name="erp-ebs-volume-cmk-encrypted",
    description="EBS volumes are encrypted under a customer-managed KMS key.",
    area=AREA,
    severity=Severity.HIGH,
    references=References(fsbp=("EC2.3",), nist=AT_REST_NIST, cfr11=RECORDS),
    remediation_steps="Pass encrypted=True and kms_key_id=<the data domain's key ARN> to aws.ebs.Volume.",
    rationale=(
        "An unencrypted volume, and every snapshot of it, can be copied or shared and read elsewhere; under "
        "aws/ebs, snapshots cannot be shared with the recovery account at all."
    ),
    resource_types=(EBS_VOLUME,),
)
def ebs_volume_cmk(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    encrypted = resource.get("encrypted")
    if encrypted is not True:
        yield f"encrypted is {unset_or(encrypted)}: the volume and its snapshots would be unencrypted"
    problem = key_problem(resource.get("kmsKeyId"), "kmsKeyId", "the account's default EBS key (aws/ebs) would be used")
    if problem:
        yield problem


@resource_policy(
    name="erp-ec2-launch-template-ebs-encrypted",
    description="Every EBS block device mapping of a launch template is encrypted under a customer-managed key.",
    area=AREA,
    severity=Severity.HIGH,
    references=References(fsbp=("EC2.3",), nist=AT_REST_NIST, cfr11=RECORDS),
    remediation_steps=(
        "In each block_device_mappings entry of aws.ec2.LaunchTemplate, set ebs={'encrypted': 'true', "
        "'kms_key_id': <the data domain's key ARN>, ...} (encrypted is a string in this schema)."
    ),
    rationale=(
        "Instances launched from the template, including Auto Scaling replacements, create their volumes from "
        "these mappings; an unencrypted mapping produces unencrypted volumes on every launch."
    ),
    resource_types=(LAUNCH_TEMPLATE,),
)
def launch_template_ebs_encrypted(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    for index, mapping in enumerate(_records(resource.get("blockDeviceMappings"))):
        ebs = mapping.get("ebs")
        if not isinstance(ebs, Mapping):
            continue  # instance store or a suppressed device: no EBS volume
        device = mapping.get("deviceName") or f"#{index}"
        encrypted = ebs.get("encrypted")
        if encrypted is not True and str(encrypted).lower() != "true":
            yield f"block device {device}: ebs.encrypted is {unset_or(encrypted)}, not 'true'"
        problem = key_problem(
            ebs.get("kmsKeyId"), "ebs.kmsKeyId", "the account's default EBS key (aws/ebs) would be used"
        )
        if problem:
            yield f"block device {device}: {problem}"


@resource_policy(
    name="erp-efs-file-system-cmk-encrypted",
    description="EFS file systems are encrypted under a customer-managed KMS key.",
    area=AREA,
    severity=Severity.HIGH,
    references=References(fsbp=("EFS.1",), cis=("2.4.1",), nist=AT_REST_NIST, cfr11=RECORDS),
    remediation_steps=(
        "Pass encrypted=True and kms_key_id=<the documents key's ARN> to aws.efs.FileSystem. Encryption is "
        "fixed at creation: an existing file system is replaced and its data copied (e.g. with AWS DataSync)."
    ),
    rationale=(
        "Shared file systems hold exported reports, drawings and interface files; they are encrypted at creation "
        "or never, and only a customer-managed key lets the key policy decide who can read them."
    ),
    resource_types=(EFS_FILE_SYSTEM,),
)
def efs_cmk(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    encrypted = resource.get("encrypted")
    if encrypted is not True:
        yield f"encrypted is {unset_or(encrypted)}: the file system would be unencrypted"
    problem = key_problem(
        resource.get("kmsKeyId"), "kmsKeyId", "the AWS-managed key aws/elasticfilesystem would be used"
    )
    if problem:
        yield problem


# --- Databases, registries, audit trail -------------------------------------------------------------


@resource_policy(
    name="erp-dynamodb-table-cmk-encrypted",
    description="DynamoDB tables, and each of their replicas, are encrypted under a customer-managed KMS key.",
    area=AREA,
    severity=Severity.MEDIUM,
    references=References(nist=AT_REST_NIST, cfr11=RECORDS),
    remediation_steps=(
        "Pass server_side_encryption={'enabled': True, 'kms_key_arn': <the data domain's key ARN>} to "
        "aws.dynamodb.Table, and kms_key_arn=<that region's key> in every replicas entry."
    ),
    rationale=(
        "Without server_side_encryption a table uses an AWS-owned key the account cannot see or audit; with "
        "enabled=True alone it uses aws/dynamodb. Only a customer-managed key makes reads depend on our key policy."
    ),
    resource_types=(DYNAMODB_TABLE,),
)
def dynamodb_table_cmk(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    sse = resource.get("serverSideEncryption")
    if not isinstance(sse, Mapping):
        yield "serverSideEncryption is not set, so the table is encrypted with an AWS-owned key"
    elif sse.get("enabled") is not True:
        yield f"serverSideEncryption.enabled is {sse.get('enabled')!r}, so the table uses an AWS-owned key"
    else:
        problem = key_problem(sse.get("kmsKeyArn"), "serverSideEncryption.kmsKeyArn", "aws/dynamodb is used")
        if problem:
            yield problem
    for index, replica in enumerate(_records(resource.get("replicas"))):
        problem = key_problem(replica.get("kmsKeyArn"), f"replicas[{index}].kmsKeyArn", "aws/dynamodb is used")
        if problem:
            yield f"replica in {replica.get('regionName')!r}: {problem}"


@resource_policy(
    name="erp-ecr-repository-cmk-encrypted",
    description="ECR repositories encrypt images with KMS under a customer-managed key.",
    area=AREA,
    severity=Severity.LOW,
    enforcement_level=EnforcementLevel.ADVISORY,
    references=References(fsbp=("ECR.5",), nist=AT_REST_NIST),
    remediation_steps=(
        "Pass encryption_configurations=[{'encryption_type': 'KMS', 'kms_key': <a key ARN>}] to "
        "aws.ecr.Repository. The encryption configuration is fixed at creation: the repository is replaced."
    ),
    rationale=(
        "Images can embed configuration and internal code; a customer-managed key limits who can pull and "
        "decrypt them. Advisory because images rarely hold ERP records and AES256 is a reasonable choice."
    ),
    resource_types=(ECR_REPOSITORY,),
)
def ecr_repository_cmk(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    configurations = _records(resource.get("encryptionConfigurations"))
    if not configurations:
        yield "encryptionConfigurations is not set, so images are encrypted with AES256 (S3-managed keys)"
        return
    for configuration in configurations:
        encryption_type = configuration.get("encryptionType")
        if encryption_type not in ("KMS", "KMS_DSSE"):
            yield f"encryptionType is {encryption_type!r}; use 'KMS' with a customer-managed kmsKey"
            continue
        problem = key_problem(configuration.get("kmsKey"), "kmsKey", "the AWS-managed key aws/ecr is used")
        if problem:
            yield problem


@resource_policy(
    name="erp-cloudtrail-trail-cmk-encrypted",
    description="CloudTrail trails encrypt log files with SSE-KMS under a customer-managed key.",
    area=AREA,
    severity=Severity.HIGH,
    references=References(fsbp=("CloudTrail.2",), cis=("3.5",), nist=("AU-9", *AT_REST_NIST), cfr11=("11.10(e)",)),
    remediation_steps=(
        "Pass kms_key_id=<the logs key's ARN> (components/keys.py, DataDomain.LOGS) to aws.cloudtrail.Trail; the "
        "key policy must let cloudtrail.amazonaws.com generate data keys for this account's trails."
    ),
    rationale=(
        "The trail is the audit trail of who changed what. With the logs key, reading it also needs kms:Decrypt, "
        "so S3 read access to the archive bucket alone does not expose it."
    ),
    resource_types=(CLOUDTRAIL_TRAIL,),
)
def cloudtrail_trail_cmk(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    problem = key_problem(resource.get("kmsKeyId"), "kmsKeyId", "log files get only SSE-S3 (AES256)")
    if problem:
        yield problem


POLICIES = [
    rds_instance_storage_encrypted,
    rds_cluster_storage_encrypted,
    rds_performance_insights_cmk,
    s3_bucket_kms_encrypted,
    sqs_queue_cmk,
    sns_topic_cmk,
    log_group_cmk,
    secret_cmk,
    backup_vault_cmk,
    ebs_volume_cmk,
    launch_template_ebs_encrypted,
    efs_cmk,
    dynamodb_table_cmk,
    ecr_repository_cmk,
    cloudtrail_trail_cmk,
]
