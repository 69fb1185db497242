"""The ERP platform program: validate the stack config once, then compose components.

Order follows the dependency direction: keys first, then the log archive they
encrypt, then the network whose flow logs land in that archive.
"""

import pulumi
import pulumi_aws as aws

from components.config import ConfigError, StackConfig, parse_stack_config
from components.keys import KeyRing, KeyRingArgs
from components.log_archive import LogArchive, LogArchiveArgs
from components.network import SegmentedNetwork, SegmentedNetworkArgs
from components.tags import Tags


def load_config() -> StackConfig:
    # Pulumi offers no public call that lists every key of a stack, and unknown keys
    # must be errors, so read the engine's config map (environment, then in-process).
    raw = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    try:
        return parse_stack_config(pulumi.get_project(), raw)
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None


config = load_config()
tags = Tags(
    environment=config.environment.value,
    owner=config.owner,
    cost_center=config.cost_center,
    data_classification=config.data_classification.value,
)
prefix = f"erp-{config.environment.value}"

provider = aws.Provider(
    "aws-primary",
    region=config.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags=tags.required()),
)
with_provider = pulumi.ResourceOptions(providers=[provider])

keys = KeyRing(
    "keys",
    KeyRingArgs(name_prefix=prefix, tags=tags, protect=config.protect_stateful),
    opts=with_provider,
)

log_archive = LogArchive(
    "log-archive",
    LogArchiveArgs(
        name_prefix=prefix,
        tags=tags,
        protect=config.protect_stateful,
        logs_key_arn=keys.logs_key_arn,
        retention_days=config.archive_retention_days,
        object_lock_mode=config.object_lock_mode,
        cloudwatch_retention_days=config.cloudwatch_retention_days,
    ),
    opts=with_provider,
)

network = SegmentedNetwork(
    "network",
    SegmentedNetworkArgs(
        name_prefix=prefix,
        tags=tags,
        region=config.region,
        layout=config.subnet_layout(),
        nat_strategy=config.network.nat_strategy,
        plants=config.plants,
        flow_log_bucket_arn=log_archive.bucket_arn,
    ),
    opts=with_provider,
)

pulumi.export("environment", config.environment.value)
pulumi.export("region", config.region)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("subnetIds", network.subnet_ids_by_tier)
pulumi.export("dbSubnetGroupName", network.db_subnet_group_name)
pulumi.export("kmsKeyArns", keys.key_arns_by_domain)
pulumi.export("logArchiveBucket", log_archive.bucket_name)
pulumi.export("cloudTrailArn", log_archive.trail_arn)
pulumi.export("recoveryObjectives", {
    domain.value: {"rpoMinutes": objective.rpo_minutes, "rtoMinutes": objective.rto_minutes}
    for domain, objective in config.process_domains.items()
})
