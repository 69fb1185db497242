"""Logging and audit policies: a compliant baseline per policy, then one changed property that must be caught.

The S3 stack policies are exercised as a preview sees them (bucket names UNKNOWN, companions
linked only through property dependencies) and as a state export does (known names).
"""

from __future__ import annotations

from typing import Any

import pytest
from policy_support import PROD_TAGS, QA_TAGS, UNKNOWN, findings, mutate, resource, skipped, urn_of

from erpctl.model import ResourceRecord

TRAIL = "aws:cloudtrail/trail:Trail"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LB = "aws:lb/loadBalancer:LoadBalancer"
ALB = "aws:alb/loadBalancer:LoadBalancer"
REST_STAGE = "aws:apigateway/stage:Stage"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
OBJECT_LOCK_V2 = "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"

MULTI_REGION = "erp-cloudtrail-trail-multi-region"
VALIDATION = "erp-cloudtrail-trail-log-file-validation"
TRAIL_CLOUDWATCH = "erp-cloudtrail-trail-cloudwatch-logs"
LB_ACCESS_LOGS = "erp-elb-load-balancer-access-logs"
REST_ACCESS_LOGS = "erp-apigateway-stage-access-logs"
HTTP_ACCESS_LOGS = "erp-apigatewayv2-stage-access-logs"
RETENTION = "erp-cloudwatch-log-group-retention"
OBJECT_LOCK_POLICY = "erp-s3-bucket-log-archive-object-lock"
PUBLIC_ACCESS = "erp-s3-bucket-public-access-blocked"
VERSIONING_POLICY = "erp-s3-bucket-versioning"

LOG_GROUP_ARN = "arn:aws:logs:eu-central-1:111122223333:log-group:erp-prod-cloudtrail:*"


# --- CloudTrail ----------------------------------------------------------------------------------


def trail(**changes: Any) -> ResourceRecord:
    record = resource(TRAIL, "audit-trail", {
        "name": "erp-prod-audit-trail",
        "s3BucketName": UNKNOWN,
        "isMultiRegionTrail": True,
        "includeGlobalServiceEvents": True,
        "enableLogFileValidation": True,
        "kmsKeyId": UNKNOWN,
        "cloudWatchLogsGroupArn": LOG_GROUP_ARN,
        "cloudWatchLogsRoleArn": UNKNOWN,
    }, property_dependencies={"s3BucketName": [urn_of(BUCKET, "log-archive-bucket")]})
    return mutate(record, **changes)


@pytest.mark.parametrize("policy", [MULTI_REGION, VALIDATION, TRAIL_CLOUDWATCH])
def test_complete_trail_passes(policy: str) -> None:
    assert findings(policy, [trail()]) == []


@pytest.mark.parametrize(("policy", "changes"), [
    (MULTI_REGION, {"isMultiRegionTrail": False}),
    (MULTI_REGION, {"isMultiRegionTrail": None}),
    (VALIDATION, {"enableLogFileValidation": False}),
    (VALIDATION, {"enableLogFileValidation": None}),
    (TRAIL_CLOUDWATCH, {"cloudWatchLogsGroupArn": None}),
], ids=["single-region", "region-default", "no-validation", "validation-default", "no-cloudwatch"])
def test_incomplete_trail_is_caught(policy: str, changes: dict[str, Any]) -> None:
    found = findings(policy, [trail(**changes)])
    assert [f.resource_name for f in found] == ["audit-trail"]


def test_cloudwatch_delivery_is_advisory_and_the_rest_mandatory() -> None:
    levels = {f.policy: f.enforcement_level for policy in (MULTI_REGION, TRAIL_CLOUDWATCH)
              for f in findings(policy, [trail(isMultiRegionTrail=False, cloudWatchLogsGroupArn=None)])}
    assert levels == {MULTI_REGION: "mandatory", TRAIL_CLOUDWATCH: "advisory"}


def test_unknown_trail_settings_are_not_evaluable() -> None:
    record = trail(isMultiRegionTrail=UNKNOWN, cloudWatchLogsGroupArn=UNKNOWN)
    assert findings(MULTI_REGION, [record]) == [] and skipped(MULTI_REGION, [record])
    assert findings(TRAIL_CLOUDWATCH, [record]) == [] and skipped(TRAIL_CLOUDWATCH, [record])


# --- load balancer access logs -------------------------------------------------------------------


def balancer(type_: str = LB, kind: str = "application", **changes: Any) -> ResourceRecord:
    record = resource(type_, f"{kind}-lb", {
        "loadBalancerType": kind,
        "internal": False,
        "accessLogs": {"enabled": True, "bucket": "erp-prod-access-logs", "prefix": "web"},
    })
    return mutate(record, **changes)


@pytest.mark.parametrize(("type_", "kind"), [(LB, "application"), (ALB, "application"), (LB, "network")])
def test_load_balancer_with_access_logs_passes(type_: str, kind: str) -> None:
    assert findings(LB_ACCESS_LOGS, [balancer(type_, kind)]) == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"accessLogs": {"enabled": False, "bucket": "erp-prod-access-logs"}}, "enabled is not true"),
    ({"accessLogs": {"bucket": "erp-prod-access-logs"}}, "enabled is not true"),
    ({"accessLogs": None}, "enabled is not true"),
    ({"accessLogs": {"enabled": True, "bucket": ""}}, "no bucket"),
], ids=["disabled", "enabled-absent", "no-access-logs", "no-bucket"])
@pytest.mark.parametrize("kind", ["application", "network"])
def test_load_balancer_without_access_logs_is_caught(kind: str, changes: dict[str, Any], expected: str) -> None:
    found = findings(LB_ACCESS_LOGS, [balancer(LB, kind, **changes)])
    assert len(found) == 1
    assert expected in found[0].message


def test_gateway_load_balancers_are_out_of_scope() -> None:
    assert findings(LB_ACCESS_LOGS, [balancer(LB, "gateway", accessLogs=None)]) == []


def test_unknown_access_log_setting_is_not_evaluable() -> None:
    record = balancer(accessLogs={"enabled": UNKNOWN, "bucket": UNKNOWN})
    assert findings(LB_ACCESS_LOGS, [record]) == []
    assert skipped(LB_ACCESS_LOGS, [record])


# --- API Gateway stages --------------------------------------------------------------------------


def stage(type_: str, **changes: Any) -> ResourceRecord:
    record = resource(type_, "api-stage", {
        "stageName" if type_ == REST_STAGE else "name": "v1",
        "accessLogSettings": {"destinationArn": UNKNOWN, "format": '{"requestId":"$context.requestId"}'},
    }, property_dependencies={"accessLogSettings": [urn_of(LOG_GROUP, "api-access-logs")]})
    return mutate(record, **changes)


STAGES = [(REST_STAGE, REST_ACCESS_LOGS), (HTTP_STAGE, HTTP_ACCESS_LOGS)]


@pytest.mark.parametrize(("type_", "policy"), STAGES)
def test_stage_with_access_logs_passes(type_: str, policy: str) -> None:
    record = stage(type_, accessLogSettings={"destinationArn": "arn:aws:logs:eu-central-1:1:log-group:api",
                                             "format": "$context.requestId"})
    assert findings(policy, [record]) == []


@pytest.mark.parametrize(("type_", "policy"), STAGES)
@pytest.mark.parametrize("changes", [{"accessLogSettings": None}, {"accessLogSettings": {"format": "x"}}],
                         ids=["no-settings", "no-destination"])
def test_stage_without_access_logs_is_caught(type_: str, policy: str, changes: dict[str, Any]) -> None:
    found = findings(policy, [stage(type_, **changes)])
    assert [f.resource_name for f in found] == ["api-stage"]


@pytest.mark.parametrize(("type_", "policy"), STAGES)
def test_stage_destination_unknown_at_preview_is_not_evaluable(type_: str, policy: str) -> None:
    assert findings(policy, [stage(type_)]) == []
    assert skipped(policy, [stage(type_)])


# --- log group retention -------------------------------------------------------------------------


def log_group(days: float | None = 365.0, **changes: Any) -> ResourceRecord:
    record = resource(LOG_GROUP, "app-logs", {"name": "erp-prod-app", "kmsKeyId": UNKNOWN})
    return mutate(record, retentionInDays=days, **changes)


@pytest.mark.parametrize("days", [365.0, 400.0, 2557.0, 0.0, None], ids=["365", "400", "2557", "never", "absent"])
def test_production_log_group_retention_passes(days: float | None) -> None:
    assert findings(RETENTION, [log_group(days)]) == []


@pytest.mark.parametrize("days", [1.0, 90.0, 180.0])
def test_short_production_retention_is_caught(days: float) -> None:
    found = findings(RETENTION, [log_group(days)])
    assert len(found) == 1
    assert "at least 365" in found[0].message


def test_non_production_needs_only_thirty_days() -> None:
    assert findings(RETENTION, [log_group(30.0)], default_tags=QA_TAGS) == []
    found = findings(RETENTION, [log_group(14.0)], default_tags=QA_TAGS)
    assert len(found) == 1 and "at least 30" in found[0].message


def test_own_environment_tag_decides_over_the_providers() -> None:
    qa_group = log_group(30.0, tags={"Environment": "qa"})
    assert findings(RETENTION, [qa_group]) == []


def test_untagged_log_group_gets_the_production_minimum() -> None:
    untagged = {k: v for k, v in PROD_TAGS.items() if k != "Environment"}
    found = findings(RETENTION, [log_group(30.0)], default_tags=untagged)
    assert len(found) == 1 and "without an Environment tag" in found[0].message


def test_retention_minimums_are_configurable() -> None:
    config = {RETENTION: {"minimumRetentionDays": 731, "productionEnvironments": ["prod"]}}
    assert len(findings(RETENTION, [log_group(400.0)], policy_config=config)) == 1
    # "dr" is no longer production under this config.
    dr_tags = {**PROD_TAGS, "Environment": "dr"}
    assert findings(RETENTION, [log_group(30.0)], policy_config=config, default_tags=dr_tags) == []


def test_unknown_retention_is_not_evaluable() -> None:
    record = log_group(UNKNOWN)
    assert findings(RETENTION, [record]) == []
    assert skipped(RETENTION, [record])


# --- S3: the log archive -------------------------------------------------------------------------


ARCHIVE = "log-archive-bucket"
ACCESS_LOGS = "access-log-bucket"


def bucket(name: str, **changes: Any) -> ResourceRecord:
    inputs: dict[str, Any] = {"bucket": UNKNOWN, "tags": {"Name": f"erp-prod-{name}"}}
    return mutate(resource(BUCKET, name, inputs), **changes)


def companion(type_: str, of: str, inputs: dict[str, Any], suffix: str) -> ResourceRecord:
    return resource(type_, f"{of}-{suffix}", {"bucket": UNKNOWN, **inputs},
                    property_dependencies={"bucket": [urn_of(BUCKET, of)]})


def retention(mode: str = "COMPLIANCE", days: float | None = 2557.0, years: float | None = None) -> dict[str, Any]:
    default: dict[str, Any] = {"mode": mode}
    if days is not None:
        default["days"] = days
    if years is not None:
        default["years"] = years
    return {"rule": {"defaultRetention": default}}


def object_lock(of: str = ARCHIVE, type_: str = OBJECT_LOCK, **rule: Any) -> ResourceRecord:
    return companion(type_, of, retention(**rule), "object-lock")


def flow_log(**changes: Any) -> ResourceRecord:
    record = resource(FLOW_LOG, "flow-log", {
        "vpcId": UNKNOWN, "trafficType": "ALL", "logDestinationType": "s3", "logDestination": UNKNOWN,
    }, property_dependencies={"logDestination": [urn_of(BUCKET, ARCHIVE)], "vpcId": [urn_of("aws:ec2/vpc:Vpc", "v")]})
    return mutate(record, **changes)


def archive_baseline(**archive_changes: Any) -> list[ResourceRecord]:
    return [
        bucket(ARCHIVE, **{"objectLockEnabled": True, **archive_changes}),
        object_lock(),
        trail(),
        flow_log(),
        # The server-access-log destination cannot use Object Lock, and is not a log archive.
        bucket(ACCESS_LOGS),
    ]


def test_log_archive_with_compliance_lock_passes_at_preview() -> None:
    assert findings(OBJECT_LOCK_POLICY, archive_baseline()) == []


def without(resources: list[ResourceRecord], name: str) -> list[ResourceRecord]:
    return [record for record in resources if record.name != name]


def with_lock(lock: ResourceRecord, **archive_changes: Any) -> list[ResourceRecord]:
    """The baseline with its object lock configuration replaced."""
    return [*without(archive_baseline(**archive_changes), f"{ARCHIVE}-object-lock"), lock]


@pytest.mark.parametrize(("resources", "expected"), [
    (archive_baseline(objectLockEnabled=False), "does not set objectLockEnabled"),
    (archive_baseline(objectLockEnabled=None), "does not set objectLockEnabled"),
    (without(archive_baseline(), f"{ARCHIVE}-object-lock"), "no object lock configuration"),
    (with_lock(object_lock(mode="GOVERNANCE")), "mode is 'GOVERNANCE'"),
    (with_lock(object_lock(days=365.0)), "365 days is below"),
    (with_lock(object_lock(days=None, years=7.0)), "2555 days"),
], ids=["lock-disabled", "lock-absent", "no-configuration", "governance", "one-year", "seven-years-as-years"])
def test_weak_log_archive_is_caught(resources: list[ResourceRecord], expected: str) -> None:
    found = findings(OBJECT_LOCK_POLICY, resources)
    assert [f.resource_name for f in found] == [ARCHIVE]
    assert expected in found[0].message


@pytest.mark.parametrize("drop", ["audit-trail", "flow-log"])
def test_either_log_source_makes_a_bucket_a_log_archive(drop: str) -> None:
    resources = without(without(archive_baseline(objectLockEnabled=False), f"{ARCHIVE}-object-lock"), drop)
    found = findings(OBJECT_LOCK_POLICY, resources)
    assert [f.resource_name for f in found] == [ARCHIVE, ARCHIVE]
    kept = "flow log" if drop == "audit-trail" else "CloudTrail trail"
    assert all(kept in f.message for f in found)


def test_purpose_tag_makes_a_bucket_a_log_archive() -> None:
    tagged = bucket("siem-export", tags={"Name": "erp-prod-siem-export", "Purpose": "log-archive"})
    found = findings(OBJECT_LOCK_POLICY, [*archive_baseline(), tagged])
    assert {f.resource_name for f in found} == {"siem-export"}
    assert "tagged Purpose=log-archive" in found[0].message


def test_years_and_v2_configuration_are_accepted() -> None:
    assert findings(OBJECT_LOCK_POLICY, with_lock(object_lock(type_=OBJECT_LOCK_V2, days=None, years=8.0))) == []


def test_non_production_archive_may_use_governance_for_a_day() -> None:
    lock = object_lock(mode="GOVERNANCE", days=1.0)
    assert findings(OBJECT_LOCK_POLICY, with_lock(lock), default_tags=QA_TAGS) == []
    disabled = findings(OBJECT_LOCK_POLICY, with_lock(lock, objectLockEnabled=False), default_tags=QA_TAGS)
    assert len(disabled) == 1 and "objectLockEnabled" in disabled[0].message
    too_short = findings(OBJECT_LOCK_POLICY, with_lock(object_lock(days=0.0)), default_tags=QA_TAGS)
    assert len(too_short) == 1


def test_object_lock_minimum_is_configurable() -> None:
    config = {OBJECT_LOCK_POLICY: {"objectLockMinimumDays": 3653}}
    assert len(findings(OBJECT_LOCK_POLICY, archive_baseline(), policy_config=config)) == 1


def test_known_names_link_an_exported_archive() -> None:
    archive = resource(BUCKET, ARCHIVE, {"bucket": "erp-prod-log-archive", "objectLockEnabled": True})
    lock = resource(OBJECT_LOCK, "lock", {"bucket": "erp-prod-log-archive", **retention()})
    audit = resource(TRAIL, "audit-trail", {"s3BucketName": "erp-prod-log-archive", "isMultiRegionTrail": True})
    flows = resource(FLOW_LOG, "flows", {"logDestination": "arn:aws:s3:::erp-prod-flow-logs/vpc/",
                                         "logDestinationType": "s3", "trafficType": "ALL"})
    flow_bucket = resource(BUCKET, "flow-bucket", {"bucket": "erp-prod-flow-logs"})
    found = findings(OBJECT_LOCK_POLICY, [archive, lock, audit, flows, flow_bucket])
    assert [f.resource_name for f in found] == ["flow-bucket", "flow-bucket"]
    assert "flow log 'flows'" in found[0].message


@pytest.mark.parametrize("rule", [{"mode": UNKNOWN}, {"days": UNKNOWN}])
def test_unknown_retention_is_not_a_violation(rule: dict[str, Any]) -> None:
    lock = object_lock()
    default = {**lock.inputs["rule"]["defaultRetention"], **rule}
    assert findings(OBJECT_LOCK_POLICY, with_lock(mutate(lock, rule={"defaultRetention": default}))) == []


def test_unknown_lock_flag_is_not_a_violation() -> None:
    assert findings(OBJECT_LOCK_POLICY, archive_baseline(objectLockEnabled=UNKNOWN)) == []


# --- S3: public access block ---------------------------------------------------------------------

FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def public_access_block(of: str = ARCHIVE, **changes: Any) -> ResourceRecord:
    return mutate(companion(PUBLIC_ACCESS_BLOCK, of, dict.fromkeys(FLAGS, True), "public-access-block"), **changes)


def test_bucket_with_full_public_access_block_passes_at_preview() -> None:
    assert findings(PUBLIC_ACCESS, [bucket(ARCHIVE), public_access_block()]) == []


@pytest.mark.parametrize("flag", FLAGS)
@pytest.mark.parametrize("value", [False, None], ids=["false", "absent"])
def test_each_public_access_flag_is_required(flag: str, value: bool | None) -> None:
    found = findings(PUBLIC_ACCESS, [bucket(ARCHIVE), public_access_block(**{flag: value})])
    assert [f.resource_name for f in found] == [ARCHIVE]
    assert flag in found[0].message


def test_bucket_without_public_access_block_is_caught() -> None:
    found = findings(PUBLIC_ACCESS, [bucket(ARCHIVE), bucket(ACCESS_LOGS), public_access_block()])
    assert [f.resource_name for f in found] == [ACCESS_LOGS]


def test_bucket_v2_is_covered() -> None:
    legacy = resource(BUCKET_V2, "legacy", {"bucket": "erp-prod-legacy"})
    assert [f.resource_name for f in findings(PUBLIC_ACCESS, [legacy])] == ["legacy"]


def test_public_access_block_links_by_known_name() -> None:
    named = resource(BUCKET, "named", {"bucket": "erp-prod-named"})
    block = resource(PUBLIC_ACCESS_BLOCK, "named-pab", {"bucket": "erp-prod-named", **dict.fromkeys(FLAGS, True)})
    assert findings(PUBLIC_ACCESS, [named, block]) == []
    assert len(findings(PUBLIC_ACCESS, [named, mutate(block, bucket="erp-prod-other")])) == 1


def test_unknown_public_access_flag_is_not_a_violation() -> None:
    assert findings(PUBLIC_ACCESS, [bucket(ARCHIVE), public_access_block(blockPublicPolicy=UNKNOWN)]) == []


# --- S3: versioning ------------------------------------------------------------------------------


def versioning(of: str = ARCHIVE, status: str = "Enabled", type_: str = VERSIONING) -> ResourceRecord:
    return companion(type_, of, {"versioningConfiguration": {"status": status}}, "versioning")


@pytest.mark.parametrize("type_", [VERSIONING, VERSIONING_V2])
def test_bucket_with_versioning_passes_at_preview(type_: str) -> None:
    assert findings(VERSIONING_POLICY, [bucket(ARCHIVE), versioning(type_=type_)]) == []


def test_inline_versioning_is_accepted() -> None:
    assert findings(VERSIONING_POLICY, [bucket(ARCHIVE, versioning={"enabled": True})]) == []


@pytest.mark.parametrize(("resources", "expected"), [
    ([bucket(ARCHIVE), versioning(status="Suspended")], "status is Suspended"),
    ([bucket(ARCHIVE), versioning(status="Disabled")], "status is Disabled"),
    ([bucket(ARCHIVE)], "no versioning configuration"),
    ([bucket(ARCHIVE, versioning={"enabled": False})], "no versioning configuration"),
    ([bucket(ARCHIVE), versioning(of=ACCESS_LOGS)], "no versioning configuration"),
], ids=["suspended", "disabled", "none", "inline-disabled", "other-bucket"])
def test_bucket_without_versioning_is_caught(resources: list[ResourceRecord], expected: str) -> None:
    found = findings(VERSIONING_POLICY, resources)
    assert [f.resource_name for f in found] == [ARCHIVE]
    assert expected in found[0].message


def test_unknown_versioning_status_is_not_a_violation() -> None:
    assert findings(VERSIONING_POLICY, [bucket(ARCHIVE), versioning(status=UNKNOWN)]) == []
