"""The audit log archive: an Object Lock bucket, the account's CloudTrail, and where both are watched.

Audit evidence must outlive any operator's mistakes or intentions, so the archive
bucket is write-once (Object Lock) and readable only over TLS, and only the two
log-delivery services may write to it. Who reads the archive is recorded by S3
server access logging into a second bucket, because a server-access-log
destination can have neither Object Lock default retention nor SSE-KMS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import ObjectLockMode
from components.tags import Tags

GLACIER_IR_AFTER_DAYS = 90
DEEP_ARCHIVE_AFTER_DAYS = 365


@dataclass(frozen=True)
class LogArchiveArgs:
    name_prefix: str
    tags: Tags
    protect: bool
    logs_key_arn: pulumi.Input[str]
    retention_days: int
    object_lock_mode: ObjectLockMode
    cloudwatch_retention_days: int


def _tls_only(bucket_arn: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _archive_policy(bucket_arn: str, trail_arn: str, partition: str, account: str, region: str) -> str:
    # BucketOwnerEnforced disables ACLs, so the bucket owns every delivered object
    # and the usual s3:x-amz-acl = bucket-owner-full-control condition adds nothing.
    from_trail = {"StringEquals": {"aws:SourceArn": trail_arn, "aws:SourceAccount": account}}
    from_log_delivery = {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account}:*"},
    }
    account_logs = f"AWSLogs/{account}/*"
    statements = [
        _tls_only(bucket_arn),
        {
            "Sid": "CloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": from_trail,
        },
        {
            "Sid": "CloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{account_logs}",
            "Condition": from_trail,
        },
        {
            "Sid": "FlowLogDeliveryAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": from_log_delivery,
        },
        {
            "Sid": "FlowLogDeliveryWrite",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "s3:PutObject",
            # The network component delivers flow logs to the bucket root, under AWSLogs/<account>/.
            "Resource": f"{bucket_arn}/{account_logs}",
            "Condition": from_log_delivery,
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _access_log_policy(bucket_arn: str, source_bucket_arn: str, account: str) -> str:
    statements = [
        _tls_only(bucket_arn),
        {
            "Sid": "S3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": source_bucket_arn},
            },
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _lifecycle_rules(retention_days: int) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """Tier logs to cheaper storage as they age, and expire nothing before retention ends.

    Noncurrent versions are kept for another full retention period: a version only
    becomes noncurrent early if someone overwrote it, which is exactly the evidence
    an audit needs. The price is that an expired log lingers as a noncurrent version
    for up to one more retention period before S3 deletes it. S3 rejects a rule
    whose expiration is not after its transitions, so short retentions (test
    stacks) simply skip the tiers they would never reach.
    """
    tiers = ((GLACIER_IR_AFTER_DAYS, "GLACIER_IR"), (DEEP_ARCHIVE_AFTER_DAYS, "DEEP_ARCHIVE"))
    transitions = [
        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=days, storage_class=storage_class)
        for days, storage_class in tiers
        if days < retention_days
    ]
    return [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="tier-then-expire-after-retention",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            transitions=transitions or None,
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=retention_days),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=retention_days,
            ),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=7,
            ),
        )
    ]


class LogArchive(pulumi.ComponentResource):
    """Write-once audit archive with the account's multi-region CloudTrail delivering into it."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    access_log_bucket_name: pulumi.Output[str]
    trail_arn: pulumi.Output[str]
    trail_log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: LogArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("erp:log_archive:LogArchive", name, None, opts)

        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke_opts).partition
        account = aws.get_caller_identity_output(opts=invoke_opts).account_id
        region = aws.get_region_output(opts=invoke_opts).region

        tags = args.tags.classified("restricted")
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)

        # Explicit bucket names rather than autonaming: auditors, the SIEM and the DR
        # runbook find the archive by a name they can derive, and account id plus
        # region keep that name globally unique per stack. Losing create-before-delete
        # replacement costs nothing here: a COMPLIANCE-locked bucket is never replaced.
        archive_name = f"{args.name_prefix}-log-archive"
        access_log_name = f"{args.name_prefix}-access-logs"
        archive = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=pulumi.Output.concat(archive_name, "-", account, "-", region),
            object_lock_enabled=True,
            tags=tags.for_resource(archive_name),
            opts=stateful,
        )
        access_logs = aws.s3.Bucket(
            f"{name}-access-logs",
            bucket=pulumi.Output.concat(access_log_name, "-", account, "-", region),
            tags=tags.for_resource(access_log_name),
            opts=stateful,
        )

        for bucket, label in ((archive, name), (access_logs, f"{name}-access-logs")):
            aws.s3.BucketPublicAccessBlock(
                f"{label}-public-access-block",
                bucket=bucket.bucket,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
                opts=child,
            )
            aws.s3.BucketOwnershipControls(
                f"{label}-ownership",
                bucket=bucket.bucket,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
                opts=child,
            )
            versioning = aws.s3.BucketVersioning(
                f"{label}-versioning",
                bucket=bucket.bucket,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                opts=child,
            )
            aws.s3.BucketLifecycleConfiguration(
                f"{label}-lifecycle",
                bucket=bucket.bucket,
                rules=_lifecycle_rules(args.retention_days),
                # Noncurrent-version rules are only valid once versioning is on.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
            )

        aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock",
            bucket=archive.bucket,
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode=args.object_lock_mode.value,
                    days=args.retention_days,
                ),
            ),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=archive.bucket,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms",
                        kms_master_key_id=args.logs_key_arn,
                    ),
                    # One data key per bucket instead of per object: far fewer KMS calls
                    # for millions of small log files.
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-access-logs-encryption",
            bucket=access_logs.bucket,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    # S3 server access logging cannot deliver to a bucket whose default
                    # encryption is SSE-KMS; SSE-S3 is the only supported choice.
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256",
                    ),
                )
            ],
            opts=child,
        )

        # The trail's ARN is derived from its fixed name so the bucket policy and the
        # delivery role can name it before the trail exists (the trail needs both).
        trail_name = f"{args.name_prefix}-audit-trail"
        trail_arn = pulumi.Output.concat("arn:", partition, ":cloudtrail:", region, ":", account, ":trail/", trail_name)

        archive_policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=archive.bucket,
            policy=pulumi.Output.all(archive.arn, trail_arn, partition, account, region).apply(
                lambda values: _archive_policy(*values)
            ),
            opts=child,
        )
        access_log_policy = aws.s3.BucketPolicy(
            f"{name}-access-logs-policy",
            bucket=access_logs.bucket,
            policy=pulumi.Output.all(access_logs.arn, archive.arn, account).apply(
                lambda values: _access_log_policy(*values)
            ),
            opts=child,
        )
        aws.s3.BucketLogging(
            f"{name}-access-logging",
            bucket=archive.bucket,
            target_bucket=access_logs.bucket,
            target_prefix=f"{archive_name}/",
            target_object_key_format=aws.s3.BucketLoggingTargetObjectKeyFormatArgs(
                partitioned_prefix=aws.s3.BucketLoggingTargetObjectKeyFormatPartitionedPrefixArgs(
                    partition_date_source="EventTime",
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access_log_policy]),
        )

        trail_log_group_name = f"{args.name_prefix}-cloudtrail"
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-trail-logs",
            name=trail_log_group_name,
            kms_key_id=args.logs_key_arn,
            retention_in_days=args.cloudwatch_retention_days,
            tags=tags.for_resource(trail_log_group_name),
            opts=stateful,
        )

        delivery_role_name = f"{args.name_prefix}-cloudtrail-to-cloudwatch"
        delivery_role = aws.iam.Role(
            f"{name}-trail-delivery-role",
            description="Lets CloudTrail deliver this stack's trail to its CloudWatch log group",
            assume_role_policy=pulumi.Output.all(trail_arn, account).apply(
                lambda values: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                # Only our trail may use the role (confused-deputy protection).
                                "Condition": {
                                    "StringEquals": {"aws:SourceArn": values[0], "aws:SourceAccount": values[1]}
                                },
                            }
                        ],
                    }
                )
            ),
            tags=tags.for_resource(delivery_role_name),
            opts=child,
        )
        delivery_role_policy = aws.iam.RolePolicy(
            f"{name}-trail-delivery",
            role=delivery_role.id,
            policy=log_group.arn.apply(
                lambda log_group_arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "WriteTrailLogStreams",
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                "Resource": f"{log_group_arn}:log-stream:*",
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )

        trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=trail_name,
            s3_bucket_name=archive.bucket,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=args.logs_key_arn,
            cloud_watch_logs_group_arn=pulumi.Output.concat(log_group.arn, ":*"),
            cloud_watch_logs_role_arn=delivery_role.arn,
            tags=tags.for_resource(trail_name),
            # CreateTrail verifies it can write to the bucket and the log group, so the
            # grants that allow it must exist first.
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, depends_on=[archive_policy, delivery_role_policy]
            ),
        )

        self.bucket_name = archive.bucket
        self.bucket_arn = archive.arn
        self.access_log_bucket_name = access_logs.bucket
        self.trail_arn = trail.arn
        self.trail_log_group_name = log_group.name
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "accessLogBucketName": self.access_log_bucket_name,
                "trailArn": self.trail_arn,
                "trailLogGroupName": self.trail_log_group_name,
            }
        )
