"""Backup and continuity policies: a compliant estate, then one change at a time."""

from __future__ import annotations

from typing import Any

import pytest
from policy_support import QA_TAGS, UNKNOWN, findings, mutate, names, resource, skipped, urn_of, with_options

from erpctl.model import ResourceRecord
from policy_pack.erp_policies.backup import POLICIES, STATEFUL_TYPES

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
VAULT = "aws:backup/vault:Vault"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
TABLE = "aws:dynamodb/table:Table"
EFS = "aws:efs/fileSystem:FileSystem"
VOLUME = "aws:ebs/volume:Volume"

ACCOUNT = "123456789012"
DR_VAULT_ARN = f"arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:erp-dr"
DB_ARN = f"arn:aws:rds:eu-central-1:{ACCOUNT}:db:erp-prod-db"

RETENTION = "erp-rds-database-backup-retention"
DELETION = "erp-rds-database-deletion-protection"
FINAL_SNAPSHOT = "erp-rds-database-final-snapshot"
INSTANCE_MULTI_AZ = "erp-rds-instance-multi-az"
CLUSTER_MULTI_AZ = "erp-rds-cluster-multi-az"
VAULT_LOCK = "erp-backup-vault-lock"
DR_COPY = "erp-backup-plan-dr-copy"
PROTECT = "erp-aws-stateful-resource-protect"
SELECTED = "erp-backup-store-selected"


def db(**inputs: Any) -> ResourceRecord:
    base = {
        "identifier": "erp-prod-db",
        "engine": "postgres",
        "instanceClass": "db.r6g.large",
        "backupRetentionPeriod": 35.0,
        "deletionProtection": True,
        "skipFinalSnapshot": False,
        "finalSnapshotIdentifier": "erp-prod-db-final",
        "multiAz": True,
    }
    return mutate(resource(INSTANCE, "db", base, protect=True), **inputs)


def cluster(**inputs: Any) -> ResourceRecord:
    base = {
        "clusterIdentifier": "erp-prod-ledger",
        "engine": "aurora-postgresql",
        "backupRetentionPeriod": 35.0,
        "deletionProtection": True,
        "skipFinalSnapshot": False,
        "finalSnapshotIdentifier": "erp-prod-ledger-final",
    }
    return mutate(resource(CLUSTER, "ledger", base, protect=True), **inputs)


def member(name: str, **inputs: Any) -> ResourceRecord:
    """A cluster instance as at preview: the cluster's id is unknown, the dependency is not."""
    base = {"clusterIdentifier": UNKNOWN, "instanceClass": "db.r6g.large", "engine": "aurora-postgresql"}
    deps = {"clusterIdentifier": [urn_of(CLUSTER, "ledger")]}
    record = resource(CLUSTER_INSTANCE, name, base, property_dependencies=deps)
    return mutate(record, **inputs)


def vault() -> ResourceRecord:
    return resource(VAULT, "vault", {"name": "erp-prod-vault"}, protect=True)


def lock(**property_dependencies: list[str]) -> ResourceRecord:
    deps = property_dependencies or {"backupVaultName": [urn_of(VAULT, "vault")]}
    inputs = {"backupVaultName": UNKNOWN, "minRetentionDays": 35.0, "maxRetentionDays": 3650.0}
    return resource(LOCK, "vault-lock", inputs, property_dependencies=deps)


def rule(name: str = "daily", *destinations: str) -> dict[str, Any]:
    return {
        "ruleName": name,
        "targetVaultName": "erp-prod-vault",
        "schedule": "cron(0 3 * * ? *)",
        "lifecycle": {"deleteAfter": 35.0},
        "copyActions": [{"destinationVaultArn": arn, "lifecycle": {"deleteAfter": 35.0}} for arn in destinations],
    }


def plan(*rules: dict[str, Any]) -> ResourceRecord:
    return resource(PLAN, "plan", {"name": "erp-prod", "rules": list(rules or [rule("daily", DR_VAULT_ARN)])})


def selection(name: str = "selection", stores: tuple[str, ...] = ("db", "ledger"), **inputs: Any) -> ResourceRecord:
    """Selects stores by ARN, as at preview: ARNs unknown, the property dependencies known."""
    urns = [urn_of(INSTANCE if store == "db" else CLUSTER, store) for store in stores]
    base = {"name": "erp-prod-databases", "planId": UNKNOWN, "iamRoleArn": UNKNOWN, "resources": [UNKNOWN] * len(urns)}
    deps = {"resources": urns, "planId": [urn_of(PLAN, "plan")]}
    record = resource(SELECTION, name, base, property_dependencies=deps)
    return mutate(record, **inputs)


def estate() -> list[ResourceRecord]:
    return [db(), cluster(), member("ledger-1"), member("ledger-2"), vault(), lock(), plan(), selection()]


def replace(records: list[ResourceRecord], *changed: ResourceRecord) -> list[ResourceRecord]:
    """The estate with records of the same URN swapped for `changed` (others appended)."""
    by_urn = {record.urn: record for record in changed}
    kept = [by_urn.pop(record.urn, record) for record in records]
    return kept + list(by_urn.values())


def without(records: list[ResourceRecord], name: str) -> list[ResourceRecord]:
    return [record for record in records if record.name != name]



# --- the baseline ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", [p.name for p in POLICIES])
@pytest.mark.parametrize("tags", ["prod", "qa"])
def test_compliant_estate_has_no_findings_and_nothing_skipped(policy: str, tags: str) -> None:
    kwargs = {"default_tags": QA_TAGS} if tags == "qa" else {}
    assert findings(policy, estate(), **kwargs) == []
    assert skipped(policy, estate(), **kwargs) == []


def test_policy_metadata_is_complete() -> None:
    for policy in POLICIES:
        assert policy.name.startswith("erp-") and policy.name == policy.name.lower()
        assert policy.area == "backup"
        assert policy.description and policy.remediation_steps and policy.rationale
        assert policy.references.tags()


# --- retention --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [db, cluster], ids=["instance", "cluster"])
@pytest.mark.parametrize(
    ("retention", "tags", "violates"),
    [
        (35.0, "prod", False),
        (34.0, "prod", True),
        (7.0, "prod", True),
        (None, "prod", True),  # unset: AWS keeps 1 day
        (7.0, "qa", False),
        (6.0, "qa", True),
        (None, "qa", True),
    ],
)
def test_backup_retention_minimum_depends_on_environment(make, retention, tags, violates) -> None:
    kwargs = {"default_tags": QA_TAGS} if tags == "qa" else {}
    record = make(backupRetentionPeriod=retention)
    found = findings(RETENTION, replace(estate(), record), **kwargs)
    assert [f.resource_name for f in found] == ([record.name] if violates else [])


def test_backup_retention_minimum_is_configurable() -> None:
    records = replace(estate(), db(backupRetentionPeriod=14.0))
    assert findings(RETENTION, records)
    assert not findings(RETENTION, records, policy_config={RETENTION: {"minimumRetentionDays": 14}})


def test_backup_retention_message_names_the_minimum() -> None:
    [finding] = findings(RETENTION, replace(estate(), db(backupRetentionPeriod=7.0)))
    assert "7 days" in finding.message and "35" in finding.message and finding.enforcement_level == "mandatory"


def test_read_replicas_are_exempt_from_retention_final_snapshot_and_multi_az() -> None:
    replica = resource(INSTANCE, "replica", {"replicateSourceDb": UNKNOWN, "backupRetentionPeriod": 0.0,
                                             "skipFinalSnapshot": True, "multiAz": False, "deletionProtection": True},
                       protect=True)
    records = [*estate(), replica]
    for policy in (RETENTION, FINAL_SNAPSHOT, INSTANCE_MULTI_AZ, SELECTED):
        assert findings(policy, records) == [], policy


def test_unknown_retention_is_not_evaluable_not_a_violation() -> None:
    records = replace(estate(), db(backupRetentionPeriod=UNKNOWN))
    assert findings(RETENTION, records) == []
    assert any("backupRetentionPeriod" in reason for reason in skipped(RETENTION, records))


def test_unknown_environment_tag_is_not_evaluable() -> None:
    records = replace(estate(), db(tags={"Environment": UNKNOWN}, deletionProtection=False))
    assert findings(DELETION, records) == []
    assert any("Environment" in reason for reason in skipped(DELETION, records))


# --- deletion protection, final snapshot, Multi-AZ --------------------------------------------------------------


@pytest.mark.parametrize("make", [db, cluster], ids=["instance", "cluster"])
@pytest.mark.parametrize("value", [False, None])
def test_deletion_protection_required_in_production_only(make, value) -> None:
    record = make(deletionProtection=value)
    assert names(DELETION, replace(estate(), record)) == [record.name]
    assert names(DELETION, replace(estate(), record), default_tags=QA_TAGS) == []


@pytest.mark.parametrize("make", [db, cluster], ids=["instance", "cluster"])
def test_final_snapshot_required_in_production_only(make) -> None:
    record = make(skipFinalSnapshot=True)
    assert names(FINAL_SNAPSHOT, replace(estate(), record)) == [record.name]
    assert names(FINAL_SNAPSHOT, replace(estate(), record), default_tags=QA_TAGS) == []
    # Unset means the provider's default (take the snapshot).
    assert names(FINAL_SNAPSHOT, replace(estate(), make(skipFinalSnapshot=None))) == []


@pytest.mark.parametrize("value", [False, None])
def test_instance_multi_az_required_in_production_only(value) -> None:
    records = replace(estate(), db(multiAz=value))
    assert names(INSTANCE_MULTI_AZ, records) == ["db"]
    assert names(INSTANCE_MULTI_AZ, records, default_tags=QA_TAGS) == []


def test_instance_multi_az_unknown_is_not_evaluable() -> None:
    records = replace(estate(), db(multiAz=UNKNOWN))
    assert names(INSTANCE_MULTI_AZ, records) == []
    assert skipped(INSTANCE_MULTI_AZ, records)


def test_cluster_with_one_instance_cannot_fail_over() -> None:
    records = without(estate(), "ledger-2")
    [finding] = findings(CLUSTER_MULTI_AZ, records)
    assert finding.resource_name == "ledger" and "1 cluster instance" in finding.message
    assert findings(CLUSTER_MULTI_AZ, records, default_tags=QA_TAGS) == []


def test_cluster_instances_all_in_one_zone_violate() -> None:
    records = replace(estate(), member("ledger-1", availabilityZone="eu-central-1a"),
                      member("ledger-2", availabilityZone="eu-central-1a"))
    assert names(CLUSTER_MULTI_AZ, records) == ["ledger"]
    spread = replace(estate(), member("ledger-1", availabilityZone="eu-central-1a"),
                     member("ledger-2", availabilityZone="eu-central-1b"))
    assert names(CLUSTER_MULTI_AZ, spread) == []


def test_cluster_instances_link_by_known_identifier_as_in_a_stack_export() -> None:
    exported = [
        resource(CLUSTER_INSTANCE, f"ledger-{n}", {"clusterIdentifier": "erp-prod-ledger"}) for n in (1, 2)
    ]
    records = [*without(without(estate(), "ledger-1"), "ledger-2"), *exported]
    assert names(CLUSTER_MULTI_AZ, records) == []
    other = [resource(CLUSTER_INSTANCE, "other-1", {"clusterIdentifier": "erp-prod-other"})]
    assert names(CLUSTER_MULTI_AZ, [*without(without(estate(), "ledger-1"), "ledger-2"), *other]) == ["ledger"]


def test_multi_az_db_clusters_need_no_cluster_instances() -> None:
    records = replace(without(without(estate(), "ledger-1"), "ledger-2"),
                      cluster(dbClusterInstanceClass="db.m6gd.large", engine="postgres"))
    assert names(CLUSTER_MULTI_AZ, records) == []


# --- vault lock -------------------------------------------------------------------------------------------------


def test_vault_without_lock_violates_in_every_environment() -> None:
    records = without(estate(), "vault-lock")
    assert names(VAULT_LOCK, records) == ["vault"]
    assert names(VAULT_LOCK, records, default_tags=QA_TAGS) == ["vault"]


def test_lock_of_another_vault_does_not_count() -> None:
    other = resource(LOCK, "vault-lock", {"backupVaultName": "erp-prod-other"})
    assert names(VAULT_LOCK, replace(estate(), other)) == ["vault"]


def test_lock_links_by_known_vault_name_as_in_a_stack_export() -> None:
    exported = resource(LOCK, "vault-lock", {"backupVaultName": "erp-prod-vault"})
    assert names(VAULT_LOCK, replace(estate(), exported)) == []


# --- DR copies --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rules",
    [
        [rule("daily")],  # no copy at all
        [rule("daily", f"arn:aws:backup:eu-central-1:{ACCOUNT}:backup-vault:erp-local")],  # same region
        [rule("daily", DR_VAULT_ARN), rule("monthly")],  # one rule forgets it
        [rule("daily", "erp-dr")],  # a name, not an ARN
    ],
    ids=["no-copy", "wrong-region", "one-rule-missing", "not-an-arn"],
)
def test_production_plan_rules_copy_to_the_dr_region(rules) -> None:
    records = replace(estate(), plan(*rules))
    [finding] = findings(DR_COPY, records)
    assert finding.resource_name == "plan" and "eu-west-1" in finding.message
    assert findings(DR_COPY, records, default_tags=QA_TAGS) == []


def test_dr_region_is_configurable() -> None:
    config = {DR_COPY: {"drRegion": "eu-north-1"}}
    assert names(DR_COPY, estate(), policy_config=config) == ["plan"]


def test_unknown_destination_arn_is_not_evaluable_but_other_rules_are_judged() -> None:
    unknown = replace(estate(), plan(rule("daily", UNKNOWN)))
    assert findings(DR_COPY, unknown) == []
    assert skipped(DR_COPY, unknown)
    mixed = replace(estate(), plan(rule("daily", UNKNOWN), rule("monthly")))
    [finding] = findings(DR_COPY, mixed)
    assert "monthly" in finding.message
    assert skipped(DR_COPY, mixed)


# --- protect ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", STATEFUL_TYPES)
def test_stateful_resources_are_protected_in_production(type_: str) -> None:
    protected = resource(type_, "store", {}, protect=True)
    assert findings(PROTECT, [protected]) == []
    unprotected = with_options(protected, protect=False)
    assert names(PROTECT, [unprotected]) == ["store"]
    assert findings(PROTECT, [unprotected], default_tags=QA_TAGS) == []


def test_stateless_resources_need_no_protect() -> None:
    assert findings(PROTECT, [resource("aws:ec2/securityGroup:SecurityGroup", "sg", {})]) == []


# --- AWS Backup coverage ----------------------------------------------------------------------------------------


def test_store_left_out_of_the_selection_violates_in_every_environment() -> None:
    records = replace(estate(), selection(stores=("ledger",)))
    assert names(SELECTED, records) == ["db"]
    assert names(SELECTED, records, default_tags=QA_TAGS) == ["db"]


def test_no_selection_at_all_leaves_every_store_uncovered() -> None:
    assert names(SELECTED, without(estate(), "selection")) == ["db", "ledger"]


@pytest.mark.parametrize("type_", [TABLE, EFS, VOLUME])
def test_every_backup_store_type_is_covered(type_: str) -> None:
    store = resource(type_, "store", {}, protect=True)
    assert names(SELECTED, [*estate(), store]) == ["store"]
    tagged = mutate(store, tags={"Backup": "daily"})
    by_tag = selection("by-tag", stores=(), resources=None,
                       selectionTags=[{"type": "STRINGEQUALS", "key": "Backup", "value": "daily"}])
    assert names(SELECTED, [*estate(), tagged, by_tag]) == []


def test_selection_by_known_arn_as_in_a_stack_export() -> None:
    exported_db = db(arn=DB_ARN)
    by_arn = resource(SELECTION, "selection", {"resources": [DB_ARN], "planId": "plan-id"})
    assert names(SELECTED, [exported_db, by_arn]) == []
    other = resource(SELECTION, "selection", {"resources": [DB_ARN.replace("prod-db", "qa-db")]})
    assert names(SELECTED, [exported_db, other]) == ["db"]


def test_wildcard_resources_select_by_pattern() -> None:
    every_db = resource(SELECTION, "selection", {"resources": ["arn:aws:rds:*:*:db:*"]})
    assert names(SELECTED, [db(arn=DB_ARN), every_db]) == []
    only_volumes = resource(SELECTION, "selection", {"resources": ["arn:aws:ec2:*:*:volume/*"]})
    assert names(SELECTED, [db(arn=DB_ARN), only_volumes]) == ["db"]
    # At preview the store's ARN is unknown: a pattern cannot be decided, so it is not a violation.
    assert names(SELECTED, [db(), only_volumes]) == []


@pytest.mark.parametrize(("value", "selected"), [("daily", True), ("weekly", False)])
def test_selection_by_selection_tags(value: str, selected: bool) -> None:
    tagged_db = db(tags={"Backup": value})
    by_tag = selection(stores=(), resources=None,
                       selectionTags=[{"type": "STRINGEQUALS", "key": "Backup", "value": "daily"}])
    assert names(SELECTED, [tagged_db, by_tag]) == ([] if selected else ["db"])


@pytest.mark.parametrize(("environment", "selected"), [("prod", True), ("qa", False)])
def test_selection_by_conditions_over_all_resources(environment: str, selected: bool) -> None:
    by_condition = resource(SELECTION, "selection", {
        "resources": ["*"],
        "conditions": [{"stringEquals": [{"key": "aws:ResourceTag/Environment", "value": "prod"}]}],
    })
    tags = QA_TAGS if environment == "qa" else None
    kwargs = {"default_tags": tags} if tags else {}
    assert names(SELECTED, [db(), by_condition], **kwargs) == ([] if selected else ["db"])


def test_selection_conditions_narrow_the_selected_resources() -> None:
    condition = {"stringEquals": [{"key": "aws:ResourceTag/Backup", "value": "x"}]}
    narrowed = selection(stores=("db",), conditions=[condition])
    assert names(SELECTED, [db(), narrowed]) == ["db"]


def test_not_resources_exclude_a_store() -> None:
    excluded = resource(SELECTION, "selection", {"resources": ["*"], "notResources": [UNKNOWN]},
                        property_dependencies={"notResources": [urn_of(INSTANCE, "db")]})
    assert names(SELECTED, [db(), excluded]) == ["db"]


def test_unknown_selection_is_not_a_violation() -> None:
    unknown = resource(SELECTION, "selection", {"resources": UNKNOWN, "selectionTags": UNKNOWN})
    assert names(SELECTED, [db(), unknown]) == []


def test_tag_selection_with_unknown_store_tags_is_not_a_violation() -> None:
    by_tag = selection(stores=(), resources=None,
                       selectionTags=[{"type": "STRINGEQUALS", "key": "Backup", "value": "daily"}])
    assert names(SELECTED, [db(tags=UNKNOWN), by_tag]) == []


def test_unknown_arns_without_recorded_dependencies_are_not_a_violation() -> None:
    """A reader that keeps no property dependencies cannot tell whose ARN an unknown entry is."""
    opaque = resource(SELECTION, "selection", {"resources": [UNKNOWN]})
    assert names(SELECTED, [db(), opaque]) == []
