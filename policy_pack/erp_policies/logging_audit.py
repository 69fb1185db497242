"""Logging and audit: who did what is recorded everywhere, kept long enough, and cannot be altered.

(Named logging_audit, not logging, so it never shadows the standard library's module.)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, Severity

from .common import PRODUCTION_ENVIRONMENTS_SCHEMA, S3_BUCKET_TYPES, environment_of, resource_tags
from .framework import (
    UNKNOWN,
    References,
    ResourceView,
    StackView,
    is_unknown,
    peek,
    resource_policy,
    stack_policy,
)

TRAIL = "aws:cloudtrail/trail:Trail"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
REST_STAGE = "aws:apigateway/stage:Stage"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
OBJECT_LOCK_CONFIGURATIONS = (
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
)
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
VERSIONINGS = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
LOG_ARCHIVE_TAG = ("Purpose", "log-archive")
DAYS_PER_OBJECT_LOCK_YEAR = 365


# --- CloudTrail ----------------------------------------------------------------------------------

_TRAIL_REMEDIATION = (
    "The log archive component (components/log_archive.py) creates the account's trail; on any other "
    "aws.cloudtrail.Trail set "
)


@resource_policy(
    name="erp-cloudtrail-trail-multi-region",
    description="CloudTrail trails record every region (isMultiRegionTrail).",
    area="logging",
    severity=Severity.HIGH,
    references=References(fsbp=("CloudTrail.1",), cis=("3.1",), nist=("AU-2", "AU-12"), cfr11=("11.10(e)",)),
    remediation_steps=_TRAIL_REMEDIATION + "is_multi_region_trail=True (and include_global_service_events=True).",
    rationale=(
        "An attacker or a mistaken operator acting in a region the trail does not cover leaves no record; a "
        "multi-region trail also catches regions nobody meant to use."
    ),
    resource_types=[TRAIL],
)
def trail_multi_region(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if resource.get("isMultiRegionTrail") is not True:
        yield "isMultiRegionTrail is not true; the trail misses activity in every other region"


@resource_policy(
    name="erp-cloudtrail-trail-log-file-validation",
    description="CloudTrail trails write digest files so log tampering can be detected (enableLogFileValidation).",
    area="logging",
    severity=Severity.HIGH,
    references=References(fsbp=("CloudTrail.4",), cis=("3.2",), nist=("AU-9",), cfr11=("11.10(e)", "11.10(c)")),
    remediation_steps=_TRAIL_REMEDIATION + "enable_log_file_validation=True.",
    rationale=(
        "Digest files are signed hashes of each delivered log file; without them nobody can prove to an auditor "
        "that the audit trail was not edited or pruned."
    ),
    resource_types=[TRAIL],
)
def trail_log_file_validation(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if resource.get("enableLogFileValidation") is not True:
        yield "enableLogFileValidation is not true; tampering with delivered log files cannot be detected"


@resource_policy(
    name="erp-cloudtrail-trail-cloudwatch-logs",
    description="CloudTrail trails also deliver to CloudWatch Logs, where alarms and queries can watch them.",
    area="logging",
    severity=Severity.MEDIUM,
    enforcement_level=EnforcementLevel.ADVISORY,
    references=References(fsbp=("CloudTrail.5",), nist=("AU-6", "SI-4"), cfr11=("11.10(e)",)),
    remediation_steps=(
        _TRAIL_REMEDIATION + "cloud_watch_logs_group_arn=pulumi.Output.concat(log_group.arn, ':*') and "
        "cloud_watch_logs_role_arn=<role CloudTrail may assume to write that log group>."
    ),
    rationale=(
        "S3 keeps the evidence; CloudWatch Logs is where metric filters and alarms notice root logins, policy "
        "changes and disabled trails within minutes. Teams with a SIEM reading S3 directly may reasonably differ."
    ),
    resource_types=[TRAIL],
)
def trail_cloudwatch_logs(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if not resource.get("cloudWatchLogsGroupArn"):
        yield "cloudWatchLogsGroupArn is not set; the trail is not delivered to CloudWatch Logs"


# --- request logs --------------------------------------------------------------------------------


@resource_policy(
    name="erp-elb-load-balancer-access-logs",
    description="Application and network load balancers write access logs to S3.",
    area="logging",
    severity=Severity.MEDIUM,
    references=References(fsbp=("ELB.5",), nist=("AU-2", "AU-12"), cfr11=("11.10(e)",)),
    remediation_steps=(
        "Pass access_logs=aws.lb.LoadBalancerAccessLogsArgs(enabled=True, bucket=<access-log bucket name>, "
        "prefix=<load balancer name>) to the aws.lb.LoadBalancer; the bucket policy must let the region's ELB "
        "log delivery write to it."
    ),
    rationale=(
        "Access logs are the only record of which client called which ERP endpoint; they are needed to investigate "
        "abuse and to answer who accessed a record from outside."
    ),
    resource_types=LOAD_BALANCERS,
)
def load_balancer_access_logs(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if resource.get("loadBalancerType", "application") not in ("application", "network"):
        return
    access_logs = resource.get("accessLogs") or {}
    if access_logs.get("enabled") is not True:
        yield "accessLogs.enabled is not true"
    elif not access_logs.get("bucket"):
        yield "accessLogs names no bucket"


def _stage_access_logs(resource: ResourceView) -> Iterator[str]:
    settings = resource.get("accessLogSettings") or {}
    if not settings.get("destinationArn"):
        yield "accessLogSettings.destinationArn is not set; the stage writes no access logs"


_STAGE_RATIONALE = (
    "API access logs record caller, route and status of every request to the ERP's integration APIs; without them "
    "a misuse of an integration credential cannot be traced."
)


@resource_policy(
    name="erp-apigateway-stage-access-logs",
    description="API Gateway REST API stages write access logs.",
    area="logging",
    severity=Severity.MEDIUM,
    references=References(nist=("AU-2", "AU-12"), cfr11=("11.10(e)",)),
    remediation_steps=(
        "Pass access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(destination_arn=log_group.arn, "
        "format=<JSON access log format>) to the aws.apigateway.Stage (the account needs an "
        "aws.apigateway.Account with a CloudWatch role)."
    ),
    rationale=_STAGE_RATIONALE,
    resource_types=[REST_STAGE],
)
def rest_stage_access_logs(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    yield from _stage_access_logs(resource)


@resource_policy(
    name="erp-apigatewayv2-stage-access-logs",
    description="API Gateway v2 (HTTP and WebSocket API) stages write access logs.",
    area="logging",
    severity=Severity.MEDIUM,
    references=References(fsbp=("APIGateway.9",), nist=("AU-2", "AU-12"), cfr11=("11.10(e)",)),
    remediation_steps=(
        "Pass access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(destination_arn=log_group.arn, "
        "format=<JSON access log format>) to the aws.apigatewayv2.Stage."
    ),
    rationale=_STAGE_RATIONALE,
    resource_types=[HTTP_STAGE],
)
def http_stage_access_logs(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    yield from _stage_access_logs(resource)


# --- retention -----------------------------------------------------------------------------------


@resource_policy(
    name="erp-cloudwatch-log-group-retention",
    description=(
        "CloudWatch log groups keep events at least the configured minimum (365 days in production, 30 elsewhere); "
        "never-expire is compliant."
    ),
    area="logging",
    severity=Severity.MEDIUM,
    references=References(fsbp=("CloudWatch.16",), nist=("AU-11",), cfr11=("11.10(e)", "11.10(c)")),
    remediation_steps=(
        "Set retention_in_days on the aws.cloudwatch.LogGroup to a CloudWatch-supported value of at least the "
        "minimum in the message (e.g. 365, 400, 731, 1827, 2557 or 3653), or omit it to never expire. The "
        "production minimum applies when the Environment tag is a production environment or missing."
    ),
    rationale=(
        "Investigations and GxP audits reach back months; logs that expired before anyone asked are evidence lost. "
        "Non-production stacks may keep less to save cost."
    ),
    resource_types=[LOG_GROUP],
    config={
        "minimumRetentionDays": {
            "type": "integer",
            "default": 365,
            "description": "Minimum retention for log groups of production environments (and untagged ones).",
        },
        "nonProductionMinimumRetentionDays": {
            "type": "integer",
            "default": 30,
            "description": "Minimum retention for log groups of non-production environments.",
        },
        "productionEnvironments": PRODUCTION_ENVIRONMENTS_SCHEMA,
    },
)
def log_group_retention(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    days = resource.get("retentionInDays")
    if not days:
        return  # 0 or absent: events never expire
    resource.known_tags()
    environment = resource.environment
    production = environment is None or environment in settings["productionEnvironments"]
    minimum = settings["minimumRetentionDays"] if production else settings["nonProductionMinimumRetentionDays"]
    if days < minimum:
        where = f"environment {environment!r}" if environment else "a log group without an Environment tag"
        yield f"retentionInDays is {int(days)}; {where} needs at least {int(minimum)} (or 0 to never expire)"


# --- S3: the log archive and every bucket ----------------------------------------------------------


def _bucket_names(bucket: PolicyResource) -> set[str]:
    names = {peek(bucket.props, key) for key in ("bucket", "id")}
    return {name for name in names if isinstance(name, str) and name}


def _bucket_of_arn(arn: str) -> str | None:
    """`arn:<partition>:s3:::name[/prefix]` -> name."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "s3":
        return None
    return parts[5].split("/", 1)[0] or None


def _flow_logs_into(view: StackView, bucket: PolicyResource) -> list[PolicyResource]:
    names = _bucket_names(bucket)
    arn = peek(bucket.props, "arn")
    found = []
    for log in view.of_type(FLOW_LOG):
        if any(dep.urn == bucket.urn for dep in log.property_dependencies.get("logDestination", [])):
            found.append(log)
            continue
        destination = peek(log.props, "logDestination")
        if isinstance(destination, str) and (destination == arn or _bucket_of_arn(destination) in names):
            found.append(log)
    return found


def _log_archive_reasons(view: StackView, bucket: PolicyResource) -> list[str]:
    trails = view.linked(bucket, TRAIL, "s3BucketName", "bucket")
    reasons = [f"destination of CloudTrail trail {trail.name!r}" for trail in trails]
    reasons += [f"destination of flow log {log.name!r}" for log in _flow_logs_into(view, bucket)]
    if _tag(bucket, LOG_ARCHIVE_TAG[0]) == LOG_ARCHIVE_TAG[1]:
        reasons.append(f"tagged {LOG_ARCHIVE_TAG[0]}={LOG_ARCHIVE_TAG[1]}")
    return reasons


def _tag(resource: PolicyResource, key: str) -> Any:
    tags = resource_tags(resource)
    return peek(tags, key) if isinstance(tags, Mapping) else None


def _retention_problem(retention: Any, production: bool, settings: Mapping[str, Any]) -> Any:
    """Why a default retention falls short: None when it satisfies the policy, UNKNOWN when undecidable."""
    if is_unknown(retention):
        return UNKNOWN
    if not isinstance(retention, Mapping):
        return "no default retention rule"
    mode, days, years = (peek(retention, key) for key in ("mode", "days", "years"))
    if any(is_unknown(value) for value in (mode, days, years)):
        return UNKNOWN
    effective_days = days if days else (years or 0) * DAYS_PER_OBJECT_LOCK_YEAR
    if production:
        minimum, required_mode = settings["objectLockMinimumDays"], settings["objectLockMode"]
    else:
        minimum, required_mode = settings["nonProductionObjectLockMinimumDays"], None
    problems = []
    if required_mode is not None and mode != required_mode:
        problems.append(f"mode is {mode!r}, not {required_mode!r}")
    if effective_days < minimum:
        problems.append(f"{int(effective_days)} days is below the minimum of {int(minimum)}")
    return "; ".join(problems) or None


@stack_policy(
    name="erp-s3-bucket-log-archive-object-lock",
    description=(
        "Log archive buckets (CloudTrail and flow-log destinations, or tagged Purpose=log-archive) have Object Lock "
        "with a default retention in COMPLIANCE mode for at least the configured days (7 years in production)."
    ),
    area="logging",
    severity=Severity.HIGH,
    references=References(fsbp=("S3.15",), nist=("AU-9", "AU-11"), cfr11=("11.10(c)", "11.10(e)")),
    remediation_steps=(
        "Set object_lock_enabled=True on the aws.s3.Bucket (Object Lock needs versioning: add aws.s3.BucketVersioning "
        "with status 'Enabled') and add aws.s3.BucketObjectLockConfiguration(bucket=bucket.bucket, "
        "rule=...DefaultRetentionArgs(mode='COMPLIANCE', days=2557)); the log archive component does this from the "
        "stack's retention settings. "
        "Prefer days over years: years count as 365 days here, so years=7 is 2555 days. Non-production stacks "
        "need only nonProductionObjectLockMinimumDays in any mode."
    ),
    rationale=(
        "Audit trails must survive a compromised administrator: in COMPLIANCE mode nobody, including the root "
        "user, can delete or shorten the retention of a log object before it expires."
    ),
    config={
        "objectLockMode": {
            "type": "string",
            "enum": ["COMPLIANCE", "GOVERNANCE"],
            "default": "COMPLIANCE",
            "description": "Default retention mode required for production log archives.",
        },
        "objectLockMinimumDays": {
            "type": "integer",
            "default": 2557,
            "description": "Minimum default retention of production log archives, in days (2557 = 7 years).",
        },
        "nonProductionObjectLockMinimumDays": {
            "type": "integer",
            "default": 1,
            "description": "Minimum default retention of non-production log archives, in days (any mode).",
        },
        "productionEnvironments": PRODUCTION_ENVIRONMENTS_SCHEMA,
    },
)
def log_archive_object_lock(view: StackView, settings: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    for bucket in view.of_type(*S3_BUCKET_TYPES):
        reasons = _log_archive_reasons(view, bucket)
        if not reasons:
            continue
        label = f"log archive bucket {bucket.name!r} ({'; '.join(reasons)})"
        environment = environment_of(bucket)
        production = environment is None or environment in settings["productionEnvironments"]

        inline = peek(bucket.props, "objectLockConfiguration")  # the deprecated inline form
        enabled = (peek(bucket.props, "objectLockEnabled"), peek(inline, "objectLockEnabled"))
        if not any(is_unknown(value) for value in enabled) and enabled[0] is not True and enabled[1] != "Enabled":
            yield bucket.urn, f"{label} does not set objectLockEnabled"

        configurations = view.linked(bucket, OBJECT_LOCK_CONFIGURATIONS, "bucket", "bucket")
        retentions = [peek(configuration.props, "rule", "defaultRetention") for configuration in configurations]
        if peek(inline, "rule") is not None:
            retentions.append(peek(inline, "rule", "defaultRetention"))
        if not retentions:
            yield bucket.urn, f"{label} has no object lock configuration with a default retention"
            continue
        problems = [_retention_problem(retention, production, settings) for retention in retentions]
        if any(problem is None or is_unknown(problem) for problem in problems):
            continue
        scope = "production" if production else f"environment {environment!r}"
        yield bucket.urn, f"{label}: default retention for {scope}: {problems[0]}"


@stack_policy(
    name="erp-s3-bucket-public-access-blocked",
    description="Every S3 bucket has a public access block with all four settings on.",
    area="logging",
    severity=Severity.HIGH,
    references=References(
        fsbp=("S3.8",), cis=("2.1.4",), nist=("AC-3", "AC-21", "SC-7"), cfr11=("11.10(c)", "11.10(d)")
    ),
    remediation_steps=(
        "Add aws.s3.BucketPublicAccessBlock(bucket=bucket.bucket, block_public_acls=True, block_public_policy=True, "
        "ignore_public_acls=True, restrict_public_buckets=True) for the aws.s3.Bucket."
    ),
    rationale=(
        "Logs and ERP exports hold personal and regulated data; a public access block makes a mistaken ACL or "
        "bucket policy unable to publish them."
    ),
)
def bucket_public_access_block(view: StackView, settings: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    for bucket in view.of_type(*S3_BUCKET_TYPES):
        blocks = view.linked(bucket, PUBLIC_ACCESS_BLOCK, "bucket", "bucket")
        if not blocks:
            yield bucket.urn, f"bucket {bucket.name!r} has no public access block"
            continue
        flags = [{flag: peek(block.props, flag) for flag in PUBLIC_ACCESS_FLAGS} for block in blocks]
        if any(all(value is True for value in found.values()) for found in flags):
            continue
        if any(is_unknown(value) for found in flags for value in found.values()):
            continue
        off = sorted({flag for found in flags for flag, value in found.items() if value is not True})
        yield bucket.urn, f"bucket {bucket.name!r} public access block does not set {', '.join(off)} to true"


@stack_policy(
    name="erp-s3-bucket-versioning",
    description="Every S3 bucket has versioning enabled.",
    area="logging",
    severity=Severity.MEDIUM,
    references=References(fsbp=("S3.14",), nist=("CP-9", "SI-12"), cfr11=("11.10(c)",)),
    remediation_steps=(
        "Add aws.s3.BucketVersioning(bucket=bucket.bucket, versioning_configuration="
        "aws.s3.BucketVersioningVersioningConfigurationArgs(status='Enabled')) for the aws.s3.Bucket."
    ),
    rationale=(
        "Versioning keeps every overwritten or deleted object recoverable, which records retention and ransomware "
        "recovery both rely on; Object Lock requires it."
    ),
)
def bucket_versioning(view: StackView, settings: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    for bucket in view.of_type(*S3_BUCKET_TYPES):
        inline = peek(bucket.props, "versioning", "enabled")
        if inline is True or is_unknown(inline):
            continue
        configurations = view.linked(bucket, VERSIONINGS, "bucket", "bucket")
        statuses = [peek(found.props, "versioningConfiguration", "status") for found in configurations]
        if "Enabled" in statuses or any(is_unknown(status) for status in statuses):
            continue
        if not statuses:
            yield bucket.urn, f"bucket {bucket.name!r} has no versioning configuration"
        else:
            shown = ", ".join(sorted({str(status) for status in statuses}))
            yield bucket.urn, f"bucket {bucket.name!r} versioning status is {shown}, not Enabled"


POLICIES = [
    trail_multi_region,
    trail_log_file_validation,
    trail_cloudwatch_logs,
    load_balancer_access_logs,
    rest_stage_access_logs,
    http_stage_access_logs,
    log_group_retention,
    log_archive_object_lock,
    bucket_public_access_block,
    bucket_versioning,
]
