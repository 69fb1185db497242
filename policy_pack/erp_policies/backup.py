"""Backup and continuity: database retention and resilience, locked vaults, DR copies, coverage, protect."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, Severity
from pulumi_policy.proxy import UnknownValueError

from .common import PRODUCTION_ENVIRONMENTS_SCHEMA, S3_BUCKET_TYPES, is_production, resource_tags
from .framework import (
    UNKNOWN,
    References,
    ResourceView,
    StackView,
    is_unknown,
    not_evaluable,
    peek,
    resource_policy,
    stack_policy,
)

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
BACKUP_VAULT = "aws:backup/vault:Vault"
BACKUP_VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
EFS_FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
EBS_VOLUME = "aws:ebs/volume:Volume"

# Types that hold data or evidence a `pulumi destroy` or a replacement must never delete silently.
STATEFUL_TYPES: tuple[str, ...] = (
    RDS_INSTANCE,
    RDS_CLUSTER,
    *S3_BUCKET_TYPES,
    BACKUP_VAULT,
    "aws:kms/key:Key",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:secretsmanager/secret:Secret",
    EFS_FILE_SYSTEM,
    DYNAMODB_TABLE,
    EBS_VOLUME,
    "aws:cloudtrail/trail:Trail",
)

# Stores AWS Backup protects; RDS instances that are read replicas are covered through their source.
BACKUP_STORE_TYPES: tuple[str, ...] = (RDS_INSTANCE, RDS_CLUSTER, DYNAMODB_TABLE, EFS_FILE_SYSTEM, EBS_VOLUME)

# AWS applies this when backupRetentionPeriod is not set (CreateDBInstance / CreateDBCluster default).
AWS_DEFAULT_RETENTION_DAYS = 1.0

_PRODUCTION_ONLY = {"productionEnvironments": PRODUCTION_ENVIRONMENTS_SCHEMA}


def _in_production(resource: ResourceView, settings: Mapping[str, Any]) -> bool:
    """Whether production-only controls apply; not evaluable while the Environment tag is unknown."""
    if is_unknown(peek(resource.known_tags(), "Environment")):
        raise not_evaluable("tags", "Environment")
    return is_production(resource.environment, settings)


def _is_read_replica(resource: ResourceView) -> bool:
    """An instance replicating another (a known source, or one computed at preview, is still a replica)."""
    if resource.type != RDS_INSTANCE:
        return False
    source = peek(resource.props, "replicateSourceDb")
    return is_unknown(source) or bool(source)


def _kind(resource: ResourceView) -> str:
    return "DB cluster" if resource.type == RDS_CLUSTER else "DB instance"


# --- RDS: retention, deletion protection, final snapshot, Multi-AZ ---------------------------------------


@resource_policy(
    name="erp-rds-database-backup-retention",
    description=(
        "RDS instances and Aurora clusters keep automated backups (point-in-time recovery) for at least "
        "35 days in production and 7 days elsewhere."
    ),
    area="backup",
    severity=Severity.HIGH,
    references=References(fsbp=("RDS.11",), nist=("CP-9", "CP-10"), cfr11=("11.10(c)",)),
    remediation_steps=(
        "Set backup_retention_period on the aws.rds.Instance / aws.rds.Cluster (e.g. in the database component) "
        "to at least the configured minimum: 35 days in production, 7 elsewhere. Read replicas are exempt."
    ),
    rationale=(
        "Automated backups are the only point-in-time recovery for the ERP ledger; a short window means "
        "corruption found after month-end close cannot be rolled back, and 21 CFR 11 records become unrecoverable."
    ),
    resource_types=(RDS_INSTANCE, RDS_CLUSTER),
    config={
        **_PRODUCTION_ONLY,
        "minimumRetentionDays": {
            "type": "integer",
            "minimum": 1,
            "maximum": 35,
            "default": 35,
            "description": "Minimum backupRetentionPeriod (days) in production environments.",
        },
        "nonProductionMinimumRetentionDays": {
            "type": "integer",
            "minimum": 1,
            "maximum": 35,
            "default": 7,
            "description": "Minimum backupRetentionPeriod (days) in every other environment.",
        },
    },
)
def database_backup_retention(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if _is_read_replica(resource):
        return
    production = _in_production(resource, settings)
    minimum = settings["minimumRetentionDays"] if production else settings["nonProductionMinimumRetentionDays"]
    retention = resource.get("backupRetentionPeriod")
    where = "production" if production else "non-production"
    if retention is None:
        yield (
            f"backupRetentionPeriod is not set, so AWS keeps {AWS_DEFAULT_RETENTION_DAYS:g} day of backups; "
            f"{where} {_kind(resource)}s need at least {minimum:g} days"
        )
    elif retention < minimum:
        yield f"backupRetentionPeriod is {retention:g} days; {where} {_kind(resource)}s need at least {minimum:g} days"


@resource_policy(
    name="erp-rds-database-deletion-protection",
    description="Production RDS instances and Aurora clusters have deletion protection enabled.",
    area="backup",
    severity=Severity.HIGH,
    references=References(fsbp=("RDS.7", "RDS.8"), nist=("CP-9", "CM-3"), cfr11=("11.10(c)",)),
    remediation_steps="Set deletion_protection=True on the production aws.rds.Instance / aws.rds.Cluster.",
    rationale=(
        "Deletion protection makes the API refuse to delete the database, so neither a console click nor a "
        "mistaken `pulumi destroy` or replacement removes the system of record."
    ),
    resource_types=(RDS_INSTANCE, RDS_CLUSTER),
    config=_PRODUCTION_ONLY,
)
def database_deletion_protection(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if not _in_production(resource, settings):
        return
    if resource.get("deletionProtection") is not True:
        yield f"deletionProtection is not enabled on this production {_kind(resource)}"


@resource_policy(
    name="erp-rds-database-final-snapshot",
    description="Production RDS instances and Aurora clusters take a final snapshot when deleted.",
    area="backup",
    severity=Severity.HIGH,
    references=References(nist=("CP-9",), cfr11=("11.10(c)",)),
    remediation_steps=(
        "Remove skip_final_snapshot=True (or set it to False) and set final_snapshot_identifier on the production "
        "aws.rds.Instance / aws.rds.Cluster. Read replicas are exempt (RDS cannot snapshot them on deletion)."
    ),
    rationale=(
        "Automated backups are deleted with the database; the final snapshot is what survives a deletion that "
        "got past deletion protection."
    ),
    resource_types=(RDS_INSTANCE, RDS_CLUSTER),
    config=_PRODUCTION_ONLY,
)
def database_final_snapshot(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if _is_read_replica(resource) or not _in_production(resource, settings):
        return
    if resource.get("skipFinalSnapshot") is True:
        yield f"skipFinalSnapshot is true: deleting this production {_kind(resource)} would leave no final snapshot"


@resource_policy(
    name="erp-rds-instance-multi-az",
    description="Production RDS DB instances run Multi-AZ with a synchronous standby in a second Availability Zone.",
    area="backup",
    severity=Severity.HIGH,
    references=References(fsbp=("RDS.5",), nist=("CP-10", "SC-36")),
    remediation_steps=(
        "Set multi_az=True on the production aws.rds.Instance. Read replicas are exempt (their source is the "
        "system of record)."
    ),
    rationale=(
        "A single-AZ database makes one Availability Zone outage an outage of order entry and production planning."
    ),
    resource_types=(RDS_INSTANCE,),
    config=_PRODUCTION_ONLY,
)
def instance_multi_az(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if _is_read_replica(resource) or not _in_production(resource, settings):
        return
    if resource.get("multiAz") is not True:
        yield "multiAz is not enabled on this production DB instance"


@stack_policy(
    name="erp-rds-cluster-multi-az",
    description=(
        "Production Aurora clusters have at least two cluster instances, not all in the same Availability Zone, "
        "so a reader can be promoted when the writer's zone fails."
    ),
    area="backup",
    severity=Severity.HIGH,
    references=References(fsbp=("RDS.15",), nist=("CP-10", "SC-36")),
    remediation_steps=(
        "Create a second aws.rds.ClusterInstance with cluster_identifier=cluster.id (leave availability_zone unset or "
        "pick a different zone from the writer). Multi-AZ DB clusters (db_cluster_instance_class set) are exempt."
    ),
    rationale=(
        "Aurora replicates storage across three zones, but the instances that serve queries are pinned to one; "
        "without a reader in another zone the cluster cannot fail over when that zone is lost."
    ),
    config=_PRODUCTION_ONLY,
)
def cluster_multi_az(stack: StackView, settings: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    for cluster in stack.of_type(RDS_CLUSTER):
        environment = _stack_environment(cluster)
        if is_unknown(environment) or not is_production(environment, settings):
            continue
        instance_class = peek(cluster.props, "dbClusterInstanceClass")
        if is_unknown(instance_class) or instance_class:
            continue  # a Multi-AZ DB cluster: RDS places its three instances in three zones
        members = stack.linked(cluster, RDS_CLUSTER_INSTANCE, "clusterIdentifier", "clusterIdentifier")
        if len(members) < 2:
            yield cluster.urn, (
                f"production cluster has {len(members)} cluster instance(s); it needs at least 2 in different "
                "Availability Zones to fail over"
            )
            continue
        zones = [peek(member.props, "availabilityZone") for member in members]
        if all(isinstance(zone, str) and zone for zone in zones) and len(set(zones)) == 1:
            yield cluster.urn, f"all {len(members)} cluster instances are pinned to {zones[0]}; spread them over zones"


# --- AWS Backup: vault lock, DR copies ----------------------------------------------------------------------


@stack_policy(
    name="erp-backup-vault-lock",
    description="Every AWS Backup vault has a Vault Lock, so recovery points cannot be deleted or shortened.",
    area="backup",
    severity=Severity.HIGH,
    references=References(nist=("CP-9", "SI-12"), cfr11=("11.10(c)",)),
    remediation_steps=(
        "Add an aws.backup.VaultLockConfiguration with backup_vault_name=vault.name and min_retention_days / "
        "max_retention_days matching the backup plan's lifecycle (changeable_for_days turns it into compliance mode)."
    ),
    rationale=(
        "Ransomware and insiders delete backups before data; a locked vault refuses DeleteRecoveryPoint and "
        "lifecycle shortening, even for the account's administrators."
    ),
)
def vault_lock(stack: StackView, settings: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    for vault in stack.of_type(BACKUP_VAULT):
        if not stack.linked(vault, BACKUP_VAULT_LOCK, "backupVaultName", "name"):
            yield vault.urn, "backup vault has no aws:backup/vaultLockConfiguration; recovery points can be deleted"


@resource_policy(
    name="erp-backup-plan-dr-copy",
    description="Every rule of a production AWS Backup plan copies its recovery points to a vault in the DR region.",
    area="backup",
    severity=Severity.HIGH,
    references=References(nist=("CP-6", "CP-9"), cfr11=("11.10(c)",)),
    remediation_steps=(
        "Add copy_actions=[aws.backup.PlanRuleCopyActionArgs(destination_vault_arn=dr_vault.arn, lifecycle=...)] "
        "to every rule of the production aws.backup.Plan, where dr_vault is created with the DR-region provider."
    ),
    rationale=(
        "Backups in the primary region share its fate; a region-wide outage or compromise must leave a restorable "
        "copy in the DR region."
    ),
    resource_types=(BACKUP_PLAN,),
    config={
        **_PRODUCTION_ONLY,
        "drRegion": {
            "type": "string",
            "default": "eu-west-1",
            "description": "Region of the disaster-recovery vault that production backups are copied to.",
        },
    },
)
def plan_dr_copy(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if not _in_production(resource, settings):
        return
    dr_region = settings["drRegion"]
    pending: UnknownValueError | None = None
    for index, rule in enumerate(resource.get("rules") or []):
        try:
            label = rule.get("ruleName") or f"#{index}"
            regions = [_arn_region(action.get("destinationVaultArn")) for action in rule.get("copyActions") or []]
        except UnknownValueError as exc:  # judge the other rules, then report this one as not evaluable
            pending = pending or exc
            continue
        if not regions:
            yield f"rule {label} has no copyActions; add a copy to a vault in {dr_region}"
        elif dr_region not in regions:
            found = ", ".join(sorted({region or "a value that is not a vault ARN" for region in regions}))
            yield f"rule {label} copies to {found}, not to a vault in the DR region {dr_region}"
    if pending is not None:
        raise pending


def _arn_region(arn: Any) -> str | None:
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[3] if len(parts) > 5 and parts[0] == "arn" else None


# --- protect ----------------------------------------------------------------------------------------------


@resource_policy(
    name="erp-aws-stateful-resource-protect",
    description="Production resources that hold data, keys or evidence are registered with protect=True.",
    area="backup",
    severity=Severity.HIGH,
    references=References(nist=("CP-9", "CM-3", "SI-12"), cfr11=("11.10(c)",)),
    remediation_steps=(
        "Pass opts=pulumi.ResourceOptions(protect=True) (e.g. protect=is_production in the component) to the "
        "resource. Unprotect deliberately with `pulumi state unprotect` when a deletion is approved."
    ),
    rationale=(
        "protect makes Pulumi refuse to delete or replace the resource, so a refactor that renames it, a changed "
        "replace-on-change property or a stray destroy cannot drop databases, buckets, keys or audit trails."
    ),
    resource_types=STATEFUL_TYPES,
    config=_PRODUCTION_ONLY,
)
def stateful_protect(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if _in_production(resource, settings) and not resource.protect:
        yield f"production {resource.type} is not protected; register it with protect=True"


# --- AWS Backup coverage ----------------------------------------------------------------------------------


@stack_policy(
    name="erp-backup-store-selected",
    description=(
        "Every RDS instance, Aurora cluster, DynamoDB table, EFS file system and EBS volume is selected by an "
        "AWS Backup plan, by ARN or by tag."
    ),
    area="backup",
    severity=Severity.HIGH,
    references=References(
        fsbp=("RDS.26", "DynamoDB.4", "EFS.2", "EC2.28"), nist=("CP-9",), cfr11=("11.10(c)",)
    ),
    remediation_steps=(
        "Give the store the tags a backup selection matches (aws.backup.Selection selection_tags or conditions), "
        "or add its arn to the resources of an aws.backup.Selection of the environment's plan. Read replicas are "
        "exempt (their source is backed up)."
    ),
    rationale=(
        "AWS Backup is the copy that outlives the store: locked, copied to the DR region and kept for the records "
        "retention period. A store no selection matches silently has none of that."
    ),
)
def store_selected(stack: StackView, settings: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    selections = stack.of_type(BACKUP_SELECTION)
    for store in stack.of_type(*BACKUP_STORE_TYPES):
        if store.resource_type == RDS_INSTANCE:
            source = peek(store.props, "replicateSourceDb")
            if is_unknown(source) or source:
                continue
        verdicts = [_selects(selection, store) for selection in selections]
        if any(verdict is True for verdict in verdicts) or any(verdict is None for verdict in verdicts):
            continue  # selected, or not decidable until the update (unknown is not a violation)
        yield store.urn, "not selected by any aws:backup/selection (by ARN or by tag); it has no AWS Backup copies"


def _selects(selection: PolicyResource, store: PolicyResource) -> bool | None:
    """Whether a selection assigns the store to its plan: True, False, or None when unknown at preview.

    AWS Backup assigns `resources` narrowed by all `conditions` (AND), plus anything matching one of
    `selectionTags` (OR), minus `notResources`.
    """
    props = selection.props
    resources = _sequence(peek(props, "resources"))
    conditions = _sequence(peek(props, "conditions"))
    tag_entries = _sequence(peek(props, "selectionTags"))
    tags = resource_tags(store)

    if is_unknown(resources):
        by_resources: bool | None = None
    elif resources:
        by_resources = _matches_any(selection, "resources", resources, store)
    else:
        by_resources = bool(conditions) if not is_unknown(conditions) else None
    conditions_hold = None if is_unknown(conditions) else _all3(_condition_holds(c, tags) for c in conditions)
    by_tags = None if is_unknown(tag_entries) else _any3(_tag_entry_matches(t, tags) for t in tag_entries)
    selected = _or3(_and3(by_resources, conditions_hold), by_tags)

    excluded_by = _sequence(peek(props, "notResources"))
    excluded = None if is_unknown(excluded_by) else _matches_any(selection, "notResources", excluded_by, store)
    return _and3(selected, _not3(excluded))


def _matches_any(selection: PolicyResource, prop: str, patterns: Sequence[Any], store: PolicyResource) -> bool | None:
    """Resource ARNs (or wildcards) against the store: by property dependency at preview, else by known ARN."""
    dependencies = selection.property_dependencies.get(prop, [])
    if any(dep.urn == store.urn for dep in dependencies):
        return True
    arn = peek(store.props, "arn")
    verdicts: list[bool | None] = []
    for pattern in patterns:
        if pattern == "*":
            return True
        if not isinstance(pattern, str):
            # Computed at preview: the store's ARN can only flow in through a dependency on the store, so with
            # dependencies recorded it is another resource's; without them it is decided at update.
            verdicts.append(False if dependencies else None)
        elif isinstance(arn, str) and arn:
            verdicts.append(fnmatch.fnmatchcase(arn, pattern))
        elif any(char in pattern for char in "*?"):
            verdicts.append(None)  # a wildcard, but the store's ARN is not known yet
        else:
            verdicts.append(False)  # another resource's known ARN
    return _any3(verdicts)


def _tag(tags: Any, key: Any) -> Any:
    """A tag value, UNKNOWN when unknown, None when absent; condition keys read `aws:ResourceTag/<key>`."""
    if is_unknown(tags) or is_unknown(key) or not isinstance(key, str):
        return UNKNOWN
    key = key.removeprefix("aws:ResourceTag/")
    return peek(tags, key) if isinstance(tags, Mapping) else None


def _tag_entry_matches(entry: Any, tags: Any) -> bool | None:
    if not isinstance(entry, Mapping):
        return None
    kind, value = peek(entry, "type"), peek(entry, "value")
    actual = _tag(tags, peek(entry, "key"))
    if any(is_unknown(v) for v in (kind, value, actual)):
        return None
    return str(kind).upper() == "STRINGEQUALS" and actual == value


def _condition_holds(condition: Any, tags: Any) -> bool | None:
    """All tests of one conditions[] block (each operator's entries are ANDed)."""
    if not isinstance(condition, Mapping):
        return None
    tests = {
        "stringEquals": lambda actual, value: actual == value,
        "stringNotEquals": lambda actual, value: actual != value,
        "stringLikes": lambda actual, value: isinstance(actual, str) and fnmatch.fnmatchcase(actual, value),
        "stringNotLikes": lambda actual, value: not (isinstance(actual, str) and fnmatch.fnmatchcase(actual, value)),
    }
    verdicts: list[bool | None] = []
    for operator, test in tests.items():
        entries = _sequence(peek(condition, operator))
        if is_unknown(entries):
            verdicts.append(None)
            continue
        for entry in entries:
            value, actual = peek(entry, "value"), _tag(tags, peek(entry, "key"))
            verdicts.append(None if is_unknown(value) or is_unknown(actual) else bool(test(actual, value)))
    return _all3(verdicts)


def _stack_environment(resource: PolicyResource) -> Any:
    tags = resource_tags(resource)
    if is_unknown(tags):
        return UNKNOWN
    value = peek(tags, "Environment") if isinstance(tags, Mapping) else None
    return value if is_unknown(value) or isinstance(value, str) else None


def _sequence(value: Any) -> Any:
    """A list value as a plain list (UNKNOWN stays UNKNOWN, absent is empty)."""
    if is_unknown(value):
        return UNKNOWN
    if value is None or isinstance(value, (str, Mapping)):
        return [] if value is None else [value]
    items = [peek(value, index) for index in range(len(value))]
    return items


def _any3(values: Any) -> bool | None:
    found_unknown = False
    for value in values:
        if value is True:
            return True
        found_unknown = found_unknown or value is None
    return None if found_unknown else False


def _all3(values: Any) -> bool | None:
    found_unknown = False
    for value in values:
        if value is False:
            return False
        found_unknown = found_unknown or value is None
    return None if found_unknown else True


def _and3(a: bool | None, b: bool | None) -> bool | None:
    return _all3((a, b))


def _or3(a: bool | None, b: bool | None) -> bool | None:
    return _any3((a, b))


def _not3(a: bool | None) -> bool | None:
    return None if a is None else not a


POLICIES = [
    database_backup_retention,
    database_deletion_protection,
    database_final_snapshot,
    instance_multi_az,
    cluster_multi_az,
    vault_lock,
    plan_dr_copy,
    stateful_protect,
    store_selected,
]
