"""Encryption at rest under customer-managed keys: a compliant baseline per policy, then one change at a time."""

from __future__ import annotations

from typing import Any

import pytest
from policy_support import UNKNOWN, findings, mutate, resource, skipped

ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:eu-central-1:{ACCOUNT}:key/0f2b3c4d-1111-2222-3333-444455556666"
DR_KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/9a8b7c6d-1111-2222-3333-444455556666"


def aws_managed(service: str) -> str:
    return f"arn:aws:kms:eu-central-1:{ACCOUNT}:alias/aws/{service}"


RDS_INSTANCE = resource(
    "aws:rds/instance:Instance",
    "erp-db",
    {
        "engine": "postgres",
        "engineVersion": "16.4",
        "instanceClass": "db.r6g.xlarge",
        "allocatedStorage": 200.0,
        "storageEncrypted": True,
        "kmsKeyId": KEY_ARN,
        "performanceInsightsEnabled": True,
        "performanceInsightsKmsKeyId": KEY_ARN,
    },
)
RDS_CLUSTER = resource(
    "aws:rds/cluster:Cluster",
    "erp-aurora",
    {
        "engine": "aurora-postgresql",
        "engineVersion": "16.4",
        "storageEncrypted": True,
        "kmsKeyId": KEY_ARN,
        "performanceInsightsEnabled": True,
        "performanceInsightsKmsKeyId": KEY_ARN,
    },
)
SQS_QUEUE = resource("aws:sqs/queue:Queue", "edi-inbound", {"name": "erp-edi-inbound", "kmsMasterKeyId": KEY_ARN})
SNS_TOPIC = resource("aws:sns/topic:Topic", "erp-events", {"name": "erp-events", "kmsMasterKeyId": KEY_ARN})
LOG_GROUP = resource(
    "aws:cloudwatch/logGroup:LogGroup",
    "erp-app-logs",
    {"name": "/erp/app", "retentionInDays": 365.0, "kmsKeyId": KEY_ARN},
)
SECRET = resource(
    "aws:secretsmanager/secret:Secret",
    "erp-db-credentials",
    {"name": "erp/db", "kmsKeyId": KEY_ARN, "replicas": [{"region": "eu-west-1", "kmsKeyId": DR_KEY_ARN}]},
)
BACKUP_VAULT = resource("aws:backup/vault:Vault", "erp-vault", {"name": "erp-vault", "kmsKeyArn": KEY_ARN})
EBS_VOLUME = resource(
    "aws:ebs/volume:Volume",
    "erp-batch-data",
    {"availabilityZone": "eu-central-1a", "size": 100.0, "type": "gp3", "encrypted": True, "kmsKeyId": KEY_ARN},
)


def block_devices(**root_ebs: Any) -> list[dict[str, Any]]:
    """A root EBS mapping (changed by `root_ebs`, None removes a key) plus an instance-store mapping."""
    ebs: dict[str, Any] = {"encrypted": "true", "kmsKeyId": KEY_ARN, "volumeSize": 50.0, "volumeType": "gp3"}
    for key, value in root_ebs.items():
        if value is None:
            ebs.pop(key, None)
        else:
            ebs[key] = value
    return [{"deviceName": "/dev/xvda", "ebs": ebs}, {"deviceName": "/dev/sdb", "virtualName": "ephemeral0"}]


LAUNCH_TEMPLATE = resource(
    "aws:ec2/launchTemplate:LaunchTemplate",
    "erp-batch-workers",
    {"imageId": "ami-0123456789abcdef0", "instanceType": "m7g.large", "blockDeviceMappings": block_devices()},
)
EFS = resource(
    "aws:efs/fileSystem:FileSystem",
    "erp-shared",
    {"creationToken": "erp-shared", "encrypted": True, "kmsKeyId": KEY_ARN},
)
DYNAMODB_TABLE = resource(
    "aws:dynamodb/table:Table",
    "erp-sessions",
    {
        "name": "erp-sessions",
        "billingMode": "PAY_PER_REQUEST",
        "hashKey": "id",
        "attributes": [{"name": "id", "type": "S"}],
        "serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY_ARN},
        "replicas": [{"regionName": "eu-west-1", "kmsKeyArn": DR_KEY_ARN}],
    },
)
ECR_REPOSITORY = resource(
    "aws:ecr/repository:Repository",
    "erp-api",
    {"name": "erp-api", "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}]},
)
CLOUDTRAIL = resource(
    "aws:cloudtrail/trail:Trail",
    "erp-trail",
    {"name": "erp-trail", "s3BucketName": "erp-audit-logs", "isMultiRegionTrail": True, "kmsKeyId": KEY_ARN},
)

# policy -> (compliant baseline, {case id: (changed inputs, expected text in a finding)})
CASES: dict[str, tuple[Any, dict[str, tuple[dict[str, Any], str]]]] = {
    "erp-rds-instance-storage-encrypted": (
        RDS_INSTANCE,
        {
            "unencrypted": ({"storageEncrypted": False}, "storageEncrypted is False"),
            "encryption-unset": ({"storageEncrypted": None}, "storageEncrypted is not set"),
            "no-key": ({"kmsKeyId": None}, "kmsKeyId is not set"),
            "aws-managed-alias": ({"kmsKeyId": "alias/aws/rds"}, "AWS-managed key"),
            "aws-managed-alias-arn": ({"kmsKeyId": aws_managed("rds")}, "AWS-managed key"),
        },
    ),
    "erp-rds-cluster-storage-encrypted": (
        RDS_CLUSTER,
        {
            "unencrypted": ({"storageEncrypted": False}, "storageEncrypted is False"),
            "no-key": ({"kmsKeyId": None}, "kmsKeyId is not set"),
            "aws-managed-alias": ({"kmsKeyId": "alias/aws/rds"}, "AWS-managed key"),
        },
    ),
    "erp-sqs-queue-cmk-encrypted": (
        SQS_QUEUE,
        {
            "no-key": ({"kmsMasterKeyId": None}, "kmsMasterKeyId is not set"),
            "sqs-managed-sse": ({"kmsMasterKeyId": None, "sqsManagedSseEnabled": True}, "SQS-managed SSE"),
            "aws-managed-alias": ({"kmsMasterKeyId": "alias/aws/sqs"}, "AWS-managed key"),
        },
    ),
    "erp-sns-topic-cmk-encrypted": (
        SNS_TOPIC,
        {
            "no-key": ({"kmsMasterKeyId": None}, "not encrypted at rest"),
            "aws-managed-alias": ({"kmsMasterKeyId": "alias/aws/sns"}, "AWS-managed key"),
        },
    ),
    "erp-cloudwatch-log-group-cmk-encrypted": (
        LOG_GROUP,
        {"no-key": ({"kmsKeyId": None}, "kmsKeyId is not set")},
    ),
    "erp-secretsmanager-secret-cmk-encrypted": (
        SECRET,
        {
            "no-key": ({"kmsKeyId": None}, "aws/secretsmanager"),
            "aws-managed-alias": ({"kmsKeyId": "alias/aws/secretsmanager"}, "AWS-managed key"),
            "replica-without-key": ({"replicas": [{"region": "eu-west-1"}]}, "replica in 'eu-west-1'"),
        },
    ),
    "erp-backup-vault-cmk-encrypted": (
        BACKUP_VAULT,
        {
            "no-key": ({"kmsKeyArn": None}, "aws/backup"),
            "aws-managed-alias-arn": ({"kmsKeyArn": aws_managed("backup")}, "AWS-managed key"),
        },
    ),
    "erp-ebs-volume-cmk-encrypted": (
        EBS_VOLUME,
        {
            "unencrypted": ({"encrypted": False}, "encrypted is False"),
            "encryption-unset": ({"encrypted": None}, "encrypted is not set"),
            "no-key": ({"kmsKeyId": None}, "aws/ebs"),
        },
    ),
    "erp-ec2-launch-template-ebs-encrypted": (
        LAUNCH_TEMPLATE,
        {
            "unencrypted": ({"blockDeviceMappings": block_devices(encrypted="false")}, "ebs.encrypted is 'false'"),
            "encryption-unset": ({"blockDeviceMappings": block_devices(encrypted=None)}, "ebs.encrypted is not set"),
            "no-key": ({"blockDeviceMappings": block_devices(kmsKeyId=None)}, "/dev/xvda: ebs.kmsKeyId is not set"),
            "aws-managed-alias": (
                {"blockDeviceMappings": block_devices(kmsKeyId="alias/aws/ebs")},
                "AWS-managed key",
            ),
        },
    ),
    "erp-efs-file-system-cmk-encrypted": (
        EFS,
        {
            "unencrypted": ({"encrypted": False}, "encrypted is False"),
            "no-key": ({"kmsKeyId": None}, "aws/elasticfilesystem"),
        },
    ),
    "erp-dynamodb-table-cmk-encrypted": (
        DYNAMODB_TABLE,
        {
            "aws-owned-key": ({"serverSideEncryption": None}, "AWS-owned key"),
            "sse-disabled": ({"serverSideEncryption": {"enabled": False}}, "enabled is False"),
            "aws-managed-key": ({"serverSideEncryption": {"enabled": True}}, "aws/dynamodb"),
            "replica-without-key": ({"replicas": [{"regionName": "eu-west-1"}]}, "replica in 'eu-west-1'"),
        },
    ),
    "erp-ecr-repository-cmk-encrypted": (
        ECR_REPOSITORY,
        {
            "default-aes256": ({"encryptionConfigurations": None}, "AES256"),
            "aes256": ({"encryptionConfigurations": [{"encryptionType": "AES256"}]}, "'AES256'"),
            "aws-managed-key": ({"encryptionConfigurations": [{"encryptionType": "KMS"}]}, "aws/ecr"),
        },
    ),
    "erp-cloudtrail-trail-cmk-encrypted": (
        CLOUDTRAIL,
        {
            "no-key": ({"kmsKeyId": None}, "SSE-S3"),
            "aws-managed-alias": ({"kmsKeyId": "alias/aws/cloudtrail"}, "AWS-managed key"),
        },
    ),
}

MUTATIONS = [
    pytest.param(policy, changes, expected, id=f"{policy}-{case}")
    for policy, (_, cases) in CASES.items()
    for case, (changes, expected) in cases.items()
]


@pytest.mark.parametrize("policy", list(CASES))
def test_baseline_is_compliant(policy: str) -> None:
    baseline, _ = CASES[policy]
    assert findings(policy, [baseline]) == []


@pytest.mark.parametrize(("policy", "changes", "expected"), MUTATIONS)
def test_one_change_violates(policy: str, changes: dict[str, Any], expected: str) -> None:
    baseline, _ = CASES[policy]
    found = findings(policy, [mutate(baseline, **changes)])
    assert found, f"no finding for {changes}"
    assert all(f.urn == baseline.urn for f in found)
    assert any(expected in f.message for f in found), [f.message for f in found]


@pytest.mark.parametrize(
    ("policy", "baseline", "prop"),
    [
        ("erp-rds-instance-storage-encrypted", RDS_INSTANCE, "kmsKeyId"),
        ("erp-rds-instance-storage-encrypted", RDS_INSTANCE, "storageEncrypted"),
        ("erp-rds-cluster-storage-encrypted", RDS_CLUSTER, "kmsKeyId"),
        ("erp-rds-performance-insights-cmk-encrypted", RDS_INSTANCE, "performanceInsightsKmsKeyId"),
        ("erp-sqs-queue-cmk-encrypted", SQS_QUEUE, "kmsMasterKeyId"),
        ("erp-backup-vault-cmk-encrypted", BACKUP_VAULT, "kmsKeyArn"),
        ("erp-ec2-launch-template-ebs-encrypted", LAUNCH_TEMPLATE, "blockDeviceMappings"),
        ("erp-dynamodb-table-cmk-encrypted", DYNAMODB_TABLE, "serverSideEncryption"),
        ("erp-cloudtrail-trail-cmk-encrypted", CLOUDTRAIL, "kmsKeyId"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_unknown_value_at_preview_is_not_evaluable(policy: str, baseline: Any, prop: str) -> None:
    pending = mutate(baseline, **{prop: UNKNOWN})
    assert findings(policy, [pending]) == []
    assert skipped(policy, [pending])


def test_unknown_nested_key_in_launch_template_is_not_evaluable() -> None:
    pending = mutate(LAUNCH_TEMPLATE, blockDeviceMappings=block_devices(kmsKeyId=UNKNOWN))
    assert findings("erp-ec2-launch-template-ebs-encrypted", [pending]) == []
    assert skipped("erp-ec2-launch-template-ebs-encrypted", [pending])


def test_known_violation_is_reported_before_an_unknown_key() -> None:
    pending = mutate(RDS_INSTANCE, storageEncrypted=False, kmsKeyId=UNKNOWN)
    found = findings("erp-rds-instance-storage-encrypted", [pending])
    assert [f.message for f in found] == [
        "storageEncrypted is False: storage, backups and snapshots would be unencrypted"
    ]
    assert skipped("erp-rds-instance-storage-encrypted", [pending])


def test_findings_name_value_and_level() -> None:
    (finding,) = findings("erp-rds-instance-storage-encrypted", [mutate(RDS_INSTANCE, kmsKeyId="alias/aws/rds")])
    assert "'alias/aws/rds'" in finding.message
    assert finding.enforcement_level == "mandatory"
    (advisory,) = findings("erp-ecr-repository-cmk-encrypted", [mutate(ECR_REPOSITORY, encryptionConfigurations=None)])
    assert advisory.enforcement_level == "advisory"


# --- RDS specifics ---------------------------------------------------------------------------------


def test_same_region_read_replica_inherits_encryption() -> None:
    replica = resource(
        "aws:rds/instance:Instance",
        "erp-db-replica",
        {"instanceClass": "db.r6g.xlarge", "replicateSourceDb": "erp-db"},
    )
    assert findings("erp-rds-instance-storage-encrypted", [replica]) == []
    aws_key = mutate(replica, kmsKeyId="alias/aws/rds")
    assert findings("erp-rds-instance-storage-encrypted", [aws_key])


@pytest.mark.parametrize("baseline", [RDS_INSTANCE, RDS_CLUSTER], ids=["instance", "cluster"])
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"performanceInsightsKmsKeyId": None}, "performanceInsightsKmsKeyId is not set"),
        ({"performanceInsightsKmsKeyId": "alias/aws/rds"}, "AWS-managed key"),
    ],
    ids=["no-key", "aws-managed-alias"],
)
def test_performance_insights_needs_customer_key(baseline: Any, changes: dict[str, Any], expected: str) -> None:
    policy = "erp-rds-performance-insights-cmk-encrypted"
    assert findings(policy, [baseline]) == []
    found = findings(policy, [mutate(baseline, **changes)])
    assert [f.urn for f in found] == [baseline.urn]
    assert expected in found[0].message


def test_performance_insights_disabled_needs_no_key() -> None:
    disabled = mutate(RDS_INSTANCE, performanceInsightsEnabled=False, performanceInsightsKmsKeyId=None)
    assert findings("erp-rds-performance-insights-cmk-encrypted", [disabled]) == []


# --- SQS, launch templates ------------------------------------------------------------------------


def test_sqs_managed_sse_with_customer_key_is_judged_by_the_key() -> None:
    both = mutate(SQS_QUEUE, sqsManagedSseEnabled=False)
    assert findings("erp-sqs-queue-cmk-encrypted", [both]) == []


def test_launch_template_without_mappings_is_not_judged() -> None:
    # Without mappings the AMI's own mappings and the account's default EBS encryption decide.
    bare = mutate(LAUNCH_TEMPLATE, blockDeviceMappings=None)
    assert findings("erp-ec2-launch-template-ebs-encrypted", [bare]) == []


def test_launch_template_reports_each_unencrypted_device() -> None:
    second = {"deviceName": "/dev/sdf", "ebs": {"volumeSize": 500.0}}
    template = mutate(LAUNCH_TEMPLATE, blockDeviceMappings=[*block_devices(), second])
    messages = [f.message for f in findings("erp-ec2-launch-template-ebs-encrypted", [template])]
    assert len(messages) == 2
    assert all(message.startswith("block device /dev/sdf:") for message in messages)


# --- S3: a stack policy over the bucket and its encryption configuration ----------------------------

S3_POLICY = "erp-s3-bucket-kms-encrypted"
BUCKET_TYPE = "aws:s3/bucket:Bucket"
SSE_TYPE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
SSE_V2_TYPE = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"

BUCKET = resource(BUCKET_TYPE, "documents", {"bucket": "erp-documents-prod", "forceDestroy": False})


def sse_rules(algorithm: Any = "aws:kms", key: Any = KEY_ARN) -> list[dict[str, Any]]:
    default: dict[str, Any] = {"sseAlgorithm": algorithm}
    if key is not None:
        default["kmsMasterKeyId"] = key
    return [{"applyServerSideEncryptionByDefault": default, "bucketKeyEnabled": True}]


def encryption_for(
    bucket: Any, rules: Any = None, *, type_: str = SSE_TYPE, name: str = "documents-sse", by_dependency: bool = True
) -> Any:
    """The bucket's encryption configuration; `bucket` input as the engine sees `bucket.id` (unknown at preview)."""
    target = bucket.inputs.get("bucket", UNKNOWN) if not by_dependency else UNKNOWN
    return resource(
        type_,
        name,
        {"bucket": target, "rules": sse_rules() if rules is None else rules},
        property_dependencies={"bucket": [bucket.urn]} if by_dependency else None,
    )


def test_bucket_with_linked_kms_encryption_passes() -> None:
    assert findings(S3_POLICY, [BUCKET, encryption_for(BUCKET)]) == []


def test_bucket_linked_by_known_name_passes() -> None:
    assert findings(S3_POLICY, [BUCKET, encryption_for(BUCKET, by_dependency=False)]) == []


def test_deprecated_v2_configuration_counts() -> None:
    assert findings(S3_POLICY, [BUCKET, encryption_for(BUCKET, type_=SSE_V2_TYPE)]) == []


def test_dsse_kms_passes() -> None:
    assert findings(S3_POLICY, [BUCKET, encryption_for(BUCKET, sse_rules("aws:kms:dsse"))]) == []


def test_unknown_bucket_name_linked_by_dependency_passes() -> None:
    # bucket_prefix: the name, and so the companion's `bucket`, are unknown until the update.
    unnamed = resource(BUCKET_TYPE, "uploads", {"bucketPrefix": "erp-uploads-", "forceDestroy": False})
    assert findings(S3_POLICY, [unnamed, encryption_for(unnamed)]) == []


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (sse_rules("AES256", None), "AES256 is not enough here"),
        (sse_rules("aws:kms", None), "kmsMasterKeyId is not set, so the AWS-managed key aws/s3 is used"),
        (sse_rules("aws:kms", "alias/aws/s3"), "AWS-managed key"),
        ([{"bucketKeyEnabled": True}], "no applyServerSideEncryptionByDefault rule"),
    ],
    ids=["aes256", "aws-kms-without-key", "aws-s3-alias", "no-default-rule"],
)
def test_linked_encryption_without_customer_key_fails(rules: Any, expected: str) -> None:
    found = findings(S3_POLICY, [BUCKET, encryption_for(BUCKET, rules)])
    assert [f.urn for f in found] == [BUCKET.urn]
    assert expected in found[0].message
    assert "'documents-sse'" in found[0].message


def test_bucket_without_encryption_configuration_fails() -> None:
    found = findings(S3_POLICY, [BUCKET])
    assert [f.urn for f in found] == [BUCKET.urn]
    assert "no BucketServerSideEncryptionConfiguration targets this bucket" in found[0].message
    assert "AES256" in found[0].message
    assert found[0].enforcement_level == "mandatory"


def test_configuration_of_another_bucket_does_not_cover_this_one() -> None:
    other = resource(BUCKET_TYPE, "exports", {"bucket": "erp-exports-prod"})
    found = findings(S3_POLICY, [BUCKET, other, encryption_for(other)])
    assert [f.urn for f in found] == [BUCKET.urn]


def test_unknown_key_at_preview_is_no_violation() -> None:
    assert findings(S3_POLICY, [BUCKET, encryption_for(BUCKET, sse_rules("aws:kms", UNKNOWN))]) == []


def test_unknown_default_rule_at_preview_is_no_violation() -> None:
    rules = [{"applyServerSideEncryptionByDefault": UNKNOWN, "bucketKeyEnabled": True}]
    assert findings(S3_POLICY, [BUCKET, encryption_for(BUCKET, rules)]) == []


def test_unknown_rules_at_preview_is_no_violation() -> None:
    assert findings(S3_POLICY, [BUCKET, encryption_for(BUCKET, UNKNOWN)]) == []


def test_unplaceable_configuration_at_preview_is_no_violation() -> None:
    # Target unknown and no recorded dependency: it may be this bucket's, so the bucket is not judged missing.
    orphan = resource(SSE_TYPE, "documents-sse", {"bucket": UNKNOWN, "rules": sse_rules()})
    assert findings(S3_POLICY, [BUCKET, orphan]) == []


def test_inline_kms_configuration_counts() -> None:
    inline = mutate(BUCKET, serverSideEncryptionConfiguration={"rule": sse_rules()[0]})
    assert findings(S3_POLICY, [inline]) == []


def test_inline_aes256_fails_even_with_a_good_companion() -> None:
    inline = mutate(BUCKET, serverSideEncryptionConfiguration={"rule": sse_rules("AES256", None)[0]})
    found = findings(S3_POLICY, [inline, encryption_for(inline)])
    assert [f.urn for f in found] == [BUCKET.urn]
    assert "inline serverSideEncryptionConfiguration" in found[0].message
    assert "AES256 is not enough here" in found[0].message


# --- S3 server access log targets: S3 delivers access logs only to SSE-S3 buckets ---------------------

ACCESS_LOGS = resource(BUCKET_TYPE, "access-logs", {"bucket": "erp-access-logs-prod"})


def access_log_encryption() -> Any:
    return encryption_for(ACCESS_LOGS, sse_rules("AES256", None), name="access-logs-sse")


@pytest.mark.parametrize(
    "logging_type", ["aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2"]
)
def test_server_access_log_target_may_use_aes256(logging_type: str) -> None:
    logging = resource(
        logging_type,
        "documents-access-logging",
        {"bucket": UNKNOWN, "targetBucket": UNKNOWN, "targetPrefix": "documents/"},
        property_dependencies={"bucket": [BUCKET.urn], "targetBucket": [ACCESS_LOGS.urn]},
    )
    stack = [BUCKET, encryption_for(BUCKET), ACCESS_LOGS, access_log_encryption(), logging]
    assert findings(S3_POLICY, stack) == []
    # The logged bucket itself is still judged.
    weak = [BUCKET, encryption_for(BUCKET, sse_rules("AES256", None)), ACCESS_LOGS, access_log_encryption(), logging]
    assert [f.urn for f in findings(S3_POLICY, weak)] == [BUCKET.urn]


def test_inline_logging_target_may_use_aes256() -> None:
    logged = mutate(BUCKET, logging={"targetBucket": "erp-access-logs-prod", "targetPrefix": "documents/"})
    assert findings(S3_POLICY, [logged, encryption_for(logged), ACCESS_LOGS, access_log_encryption()]) == []


def test_aes256_bucket_that_receives_no_access_logs_fails() -> None:
    found = findings(S3_POLICY, [ACCESS_LOGS, access_log_encryption()])
    assert [f.urn for f in found] == [ACCESS_LOGS.urn]
