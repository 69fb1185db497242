"""The audit archive: write-once, encrypted with the logs key, written only by log delivery, read over TLS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Plan, stack_config

from components.tags import REQUIRED_TAG_KEYS
from erpctl.model import ResourceRecord
from erpctl.readers.mocks import ACCOUNT_ID
from policy_pack.erp_policies.taggable import is_taggable

COMPONENT = "erp:log_archive:LogArchive"
BUCKET = "aws:s3/bucket:Bucket"
TRAIL = "aws:cloudtrail/trail:Trail"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
REGION = "eu-central-1"  # the prod stack's region
ARCHIVE = "log-archive-bucket"
ACCESS_LOGS = "log-archive-access-logs"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT_ID}:trail/erp-prod-audit-trail"


def config_of(plan: Plan, type_: str, bucket_name: str) -> ResourceRecord:
    """The one configuration resource of `type_` that applies to bucket `bucket_name`."""
    bucket = plan.one(BUCKET, bucket_name)
    matches = [r for r in plan.of_type(type_) if plan.depends_on(r, bucket, "bucket")]
    assert len(matches) == 1, f"expected one {type_} for {bucket_name}, found {[r.name for r in matches]}"
    return matches[0]


def policy_of(plan: Plan, bucket_name: str) -> list[dict[str, Any]]:
    return json.loads(config_of(plan, "aws:s3/bucketPolicy:BucketPolicy", bucket_name).inputs["policy"])["Statement"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def bucket_arn(plan: Plan, bucket_name: str) -> str:
    return f"arn:aws:s3:::{plan.one(BUCKET, bucket_name).inputs['bucket']}"


def trail_log_group_arn(plan: Plan) -> str:
    name = plan.one(LOG_GROUP, "log-archive-trail-logs").inputs["name"]
    return f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}"


def object_lock_rule(plan: Plan) -> dict[str, Any]:
    lock = config_of(plan, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", ARCHIVE)
    return lock.inputs["rule"]["defaultRetention"]


def test_archive_bucket_is_object_locked_in_compliance_mode_for_seven_years(prod_plan: Plan) -> None:
    assert prod_plan.one(BUCKET, ARCHIVE).inputs["objectLockEnabled"] is True
    assert object_lock_rule(prod_plan) == {"mode": "COMPLIANCE", "days": 2557}


def test_qa_archive_uses_its_stacks_lock_mode_and_retention(plan_stack) -> None:
    assert object_lock_rule(plan_stack("qa")) == {"mode": "GOVERNANCE", "days": 30}


def test_retention_follows_configuration(plan_stack) -> None:
    config = stack_config("prod", logArchive={"retentionDays": 3653, "objectLockMode": "COMPLIANCE"})
    assert object_lock_rule(plan_stack("prod", config))["days"] == 3653


@pytest.mark.parametrize("bucket_name", [ARCHIVE, ACCESS_LOGS])
def test_buckets_are_versioned_private_and_owner_enforced(prod_plan: Plan, bucket_name: str) -> None:
    versioning = config_of(prod_plan, "aws:s3/bucketVersioning:BucketVersioning", bucket_name)
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    block = config_of(prod_plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket_name)
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[flag] is True, flag
    ownership = config_of(prod_plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket_name)
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_archive_is_encrypted_with_the_logs_key_and_a_bucket_key(prod_plan: Plan) -> None:
    encryption = config_of(
        prod_plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", ARCHIVE
    )
    [rule] = encryption.inputs["rules"]
    logs_key = prod_plan.one("aws:kms/key:Key", "keys-logs")
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == prod_plan.outputs["kmsKeyArns"]["logs"]
    assert prod_plan.depends_on(encryption, logs_key, "rules")
    assert rule["bucketKeyEnabled"] is True


def test_access_log_bucket_uses_sse_s3_because_server_access_logging_cannot_use_kms(prod_plan: Plan) -> None:
    encryption = config_of(
        prod_plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", ACCESS_LOGS
    )
    [rule] = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    assert "objectLockEnabled" not in prod_plan.one(BUCKET, ACCESS_LOGS).inputs


@pytest.mark.parametrize("bucket_name", [ARCHIVE, ACCESS_LOGS])
def test_bucket_policies_deny_requests_without_tls(prod_plan: Plan, bucket_name: str) -> None:
    arn = bucket_arn(prod_plan, bucket_name)
    denials = [
        s for s in policy_of(prod_plan, bucket_name)
        if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert len(denials) == 1
    [deny] = denials
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert set(as_list(deny["Resource"])) == {arn, f"{arn}/*"}


def test_archive_admits_only_cloudtrail_and_log_delivery_with_source_conditions(prod_plan: Plan) -> None:
    allows = [s for s in policy_of(prod_plan, ARCHIVE) if s["Effect"] == "Allow"]
    assert {s["Principal"]["Service"] for s in allows} == {"cloudtrail.amazonaws.com", "delivery.logs.amazonaws.com"}
    arn = bucket_arn(prod_plan, ARCHIVE)
    for statement in allows:
        assert set(as_list(statement["Action"])) <= {"s3:GetBucketAcl", "s3:PutObject"}
        if statement["Action"] == "s3:PutObject":
            assert statement["Resource"] == f"{arn}/AWSLogs/{ACCOUNT_ID}/*"
        condition = statement["Condition"]
        assert condition["StringEquals"]["aws:SourceAccount"] == ACCOUNT_ID
        if statement["Principal"]["Service"] == "cloudtrail.amazonaws.com":
            assert condition["StringEquals"]["aws:SourceArn"] == TRAIL_ARN
        else:
            assert condition["ArnLike"]["aws:SourceArn"] == f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:*"


def test_access_log_bucket_admits_only_s3_logging_for_the_archive(prod_plan: Plan) -> None:
    [allow] = [s for s in policy_of(prod_plan, ACCESS_LOGS) if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT_ID
    assert allow["Condition"]["ArnLike"]["aws:SourceArn"] == bucket_arn(prod_plan, ARCHIVE)


@pytest.mark.parametrize("stack", ["prod", "qa"])
@pytest.mark.parametrize("bucket_name", [ARCHIVE, ACCESS_LOGS])
def test_lifecycle_never_expires_before_retention_ends(plan_stack, stack: str, bucket_name: str) -> None:
    plan = plan_stack(stack)
    retention = object_lock_rule(plan)["days"]
    lifecycle = config_of(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket_name)
    for rule in lifecycle.inputs["rules"]:
        if "expiration" in rule:
            assert rule["expiration"]["days"] >= retention
            assert "date" not in rule["expiration"]
        if "noncurrentVersionExpiration" in rule:
            assert rule["noncurrentVersionExpiration"]["noncurrentDays"] >= retention
        # S3 rejects a rule that expires objects before (or when) it transitions them.
        for transition in rule.get("transitions", []):
            assert transition["days"] < rule.get("expiration", {}).get("days", float("inf"))


def test_prod_archive_tiers_to_glacier_instant_retrieval_then_deep_archive(prod_plan: Plan) -> None:
    lifecycle = config_of(prod_plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", ARCHIVE)
    transitions = [(t["days"], t["storageClass"]) for rule in lifecycle.inputs["rules"] for t in rule["transitions"]]
    assert sorted(transitions) == [(90, "GLACIER_IR"), (365, "DEEP_ARCHIVE")]


def test_archive_access_is_logged_to_the_separate_bucket(prod_plan: Plan) -> None:
    logging = config_of(prod_plan, "aws:s3/bucketLogging:BucketLogging", ARCHIVE)
    access_logs = prod_plan.one(BUCKET, ACCESS_LOGS)
    assert prod_plan.depends_on(logging, access_logs, "targetBucket")
    assert logging.inputs["targetBucket"] == access_logs.inputs["bucket"]
    # The access-log bucket's own access is not logged: it would log its own log deliveries.
    assert not [r for r in prod_plan.of_type(logging.type) if r.inputs["bucket"] == access_logs.inputs["bucket"]]


def test_cloudtrail_is_multi_region_validated_encrypted_and_sent_to_cloudwatch(prod_plan: Plan) -> None:
    trail = prod_plan.one(TRAIL, "log-archive-trail")
    log_group = prod_plan.one(LOG_GROUP, "log-archive-trail-logs")
    inputs = trail.inputs
    assert inputs["isMultiRegionTrail"] is True
    assert inputs["includeGlobalServiceEvents"] is True
    assert inputs["enableLogFileValidation"] is True
    assert prod_plan.depends_on(trail, prod_plan.one("aws:kms/key:Key", "keys-logs"), "kmsKeyId")
    assert prod_plan.depends_on(trail, prod_plan.one(BUCKET, ARCHIVE), "s3BucketName")
    assert prod_plan.outputs["cloudTrailArn"] == TRAIL_ARN
    assert inputs["cloudWatchLogsGroupArn"] == f"{trail_log_group_arn(prod_plan)}:*"
    assert prod_plan.depends_on(trail, log_group, "cloudWatchLogsGroupArn")
    # CreateTrail checks its write access, so the bucket policy must exist first.
    assert prod_plan.depends_on(trail, config_of(prod_plan, "aws:s3/bucketPolicy:BucketPolicy", ARCHIVE))


def test_trail_delivery_role_is_for_this_trail_and_writes_only_its_log_group(prod_plan: Plan) -> None:
    trail = prod_plan.one(TRAIL, "log-archive-trail")
    role = prod_plan.one("aws:iam/role:Role", "log-archive-trail-delivery-role")
    assert prod_plan.depends_on(trail, role, "cloudWatchLogsRoleArn")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceArn": TRAIL_ARN, "aws:SourceAccount": ACCOUNT_ID}

    role_policy = prod_plan.one("aws:iam/rolePolicy:RolePolicy", "log-archive-trail-delivery")
    assert prod_plan.depends_on(role_policy, role, "role")
    for statement in json.loads(role_policy.inputs["policy"])["Statement"]:
        assert set(statement["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
        assert statement["Resource"] == f"{trail_log_group_arn(prod_plan)}:log-stream:*"


def test_trail_log_group_is_encrypted_with_the_logs_key_and_kept_a_year_in_prod(prod_plan: Plan) -> None:
    log_group = prod_plan.one(LOG_GROUP, "log-archive-trail-logs")
    assert prod_plan.depends_on(log_group, prod_plan.one("aws:kms/key:Key", "keys-logs"), "kmsKeyId")
    assert log_group.inputs["kmsKeyId"] == prod_plan.outputs["kmsKeyArns"]["logs"]
    assert log_group.inputs["retentionInDays"] == 365


STATEFUL = (
    (BUCKET, ARCHIVE),
    (BUCKET, ACCESS_LOGS),
    (LOG_GROUP, "log-archive-trail-logs"),
    (TRAIL, "log-archive-trail"),
)


def test_stateful_resources_are_protected_in_prod_only(prod_plan: Plan, plan_stack) -> None:
    qa = plan_stack("qa")
    for type_, name in STATEFUL:
        assert prod_plan.one(type_, name).protect, (type_, name)
        assert not qa.one(type_, name).protect, (type_, name)


def test_every_taggable_resource_is_tagged_as_restricted(prod_plan: Plan) -> None:
    component = prod_plan.one(COMPONENT, "log-archive")
    taggable = [r for r in prod_plan.children_of(component) if is_taggable(r.type)]
    assert {r.type for r in taggable} >= {BUCKET, TRAIL, LOG_GROUP}
    for resource in taggable:
        tags = resource.inputs.get("tags", {})
        assert set(REQUIRED_TAG_KEYS) <= tags.keys(), resource.name
        assert tags["DataClassification"] == "restricted", resource.name
        assert tags["Environment"] == "prod" and tags.get("Name"), resource.name


def test_everything_is_parented_to_the_component(prod_plan: Plan) -> None:
    component = prod_plan.one(COMPONENT, "log-archive")
    assert component.parent == prod_plan.one("pulumi:pulumi:Stack").urn
    children = prod_plan.children_of(component)
    # Every AWS resource whose logical name belongs to the archive lives under it.
    strays = [r for r in prod_plan.resources if r.name.startswith("log-archive-") and r.parent != component.urn]
    assert not strays
    assert {r.type for r in children} == {
        BUCKET,
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLogging:BucketLogging",
        "aws:s3/bucketPolicy:BucketPolicy",
        LOG_GROUP,
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        TRAIL,
    }


def test_archive_bucket_is_exported_and_named_for_account_and_region(prod_plan: Plan) -> None:
    expected = f"erp-prod-log-archive-{ACCOUNT_ID}-{REGION}"
    assert prod_plan.one(BUCKET, ARCHIVE).inputs["bucket"] == expected
    assert prod_plan.outputs["logArchiveBucket"] == expected
    assert len(prod_plan.one(BUCKET, ACCESS_LOGS).inputs["bucket"]) <= 63
