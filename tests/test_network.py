"""The segmented network as the program registers it: tiers, routes, ACLs, endpoints and plant VPNs."""

from __future__ import annotations

import importlib
import inspect
import ipaddress
from functools import cache

import pytest
from conftest import NS, Plan, stack_config, stack_value

from components.addressing import SubnetLayout, Tier
from components.config import StackConfig, parse_stack_config
from erpctl.model import ResourceRecord

COMPONENT_TYPE = "erp:network:SegmentedNetwork"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ROUTE = "aws:ec2/route:Route"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
NETWORK_ACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
NETWORK_ACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
VPN_GATEWAY = "aws:ec2/vpnGateway:VpnGateway"
CUSTOMER_GATEWAY = "aws:ec2/customerGateway:CustomerGateway"
VPN_CONNECTION = "aws:ec2/vpnConnection:VpnConnection"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
S3_BUCKET = "aws:s3/bucket:Bucket"

ANYWHERE = "0.0.0.0/0"
DATABASE_PORT = 5432
INTERFACE_ENDPOINTS = ("kms", "secretsmanager", "logs", "sts", "ssm", "ecr.api", "ecr.dkr", "monitoring")


def config_of(raw: dict[str, str]) -> StackConfig:
    return parse_stack_config(NS, raw)


def network_of(plan: Plan) -> ResourceRecord:
    return plan.one(COMPONENT_TYPE, "network")


def linked(plan: Plan, resource: ResourceRecord, prop: str) -> list[ResourceRecord]:
    """The resources whose outputs feed input `prop` of `resource`."""
    return [plan.urns[urn] for urn in resource.property_dependencies.get(prop, ())]


def linked_one(plan: Plan, resource: ResourceRecord, prop: str) -> ResourceRecord:
    sources = linked(plan, resource, prop)
    assert len(sources) == 1, f"{resource.name}.{prop} should come from one resource, got {[r.name for r in sources]}"
    return sources[0]


def subnets_by_tier(plan: Plan, layout: SubnetLayout) -> dict[Tier, list[ResourceRecord]]:
    """Subnets per tier in AZ order, recognised by the CIDRs the layout gives each tier."""
    by_cidr = {subnet.inputs["cidrBlock"]: subnet for subnet in plan.of_type(SUBNET)}
    return {tier: [by_cidr[cidr] for cidr in layout.tier(tier)] for tier in Tier}


def tables_of(plan: Plan, subnets: list[ResourceRecord]) -> list[ResourceRecord]:
    """The route table of each subnet, in the subnets' order."""
    table_by_subnet = {
        linked_one(plan, association, "subnetId").urn: linked_one(plan, association, "routeTableId")
        for association in plan.of_type(ROUTE_TABLE_ASSOCIATION)
    }
    return [table_by_subnet[subnet.urn] for subnet in subnets]


def routes_of(plan: Plan, table: ResourceRecord) -> list[ResourceRecord]:
    return [route for route in plan.of_type(ROUTE) if linked_one(plan, route, "routeTableId").urn == table.urn]


def acl_of(plan: Plan, subnet: ResourceRecord) -> ResourceRecord:
    acls = [
        linked_one(plan, association, "networkAclId")
        for association in plan.of_type(NETWORK_ACL_ASSOCIATION)
        if linked_one(plan, association, "subnetId").urn == subnet.urn
    ]
    assert len(acls) == 1, f"{subnet.name} should be associated with one network ACL"
    return acls[0]


def acl_rules(plan: Plan, acl: ResourceRecord) -> set[tuple[str, str, str, int, int]]:
    """(direction, protocol, cidr, from, to) of every rule of `acl`; all of them must allow."""
    rules = [rule for rule in plan.of_type(NETWORK_ACL_RULE) if linked_one(plan, rule, "networkAclId").urn == acl.urn]
    assert all(rule.inputs["ruleAction"] == "allow" for rule in rules)
    return {
        (
            "out" if rule.inputs.get("egress") else "in",
            rule.inputs["protocol"],
            rule.inputs["cidrBlock"],
            int(rule.inputs.get("fromPort", 0)),
            int(rule.inputs.get("toPort", 0)),
        )
        for rule in rules
    }


def vpn_plants(config: StackConfig) -> list:
    return [plant for plant in config.plants if plant.connectivity == "vpn"]


@cache
def accepts_tags(type_: str) -> bool:
    """Whether the pulumi-aws resource behind a type token has a `tags` input."""
    module, _, kind = type_.removeprefix("aws:").partition("/")
    resource_class = getattr(importlib.import_module(f"pulumi_aws.{module}"), kind.split(":")[1])
    return "tags" in inspect.signature(resource_class._internal_init).parameters


@pytest.fixture(scope="module")
def prod_config() -> StackConfig:
    return config_of(stack_config("prod"))


# --- the component itself ---------------------------------------------------------------


def test_component_parents_every_network_resource_and_inherits_the_stack_provider(prod_plan: Plan) -> None:
    network = network_of(prod_plan)
    provider = prod_plan.one("pulumi:providers:aws", "aws-primary")
    children = prod_plan.children_of(network)
    named_like_network = [r for r in prod_plan.resources if r.name.startswith("network-")]

    assert named_like_network, "the network registers its resources as network-*"
    assert {r.urn for r in named_like_network} == {r.urn for r in children}
    assert all(child.custom for child in children)
    assert {child.provider_urn for child in children} == {provider.urn}


def test_logical_names_are_unique_in_the_stack(prod_plan: Plan) -> None:
    names = [resource.name for resource in prod_plan.resources]
    assert len(names) == len(set(names))


def test_every_taggable_network_resource_carries_the_required_tags(prod_plan: Plan, prod_config: StackConfig) -> None:
    required = {
        "Environment": prod_config.environment.value,
        "Owner": prod_config.owner,
        "CostCenter": prod_config.cost_center,
        "DataClassification": prod_config.data_classification.value,
    }
    taggable = [r for r in prod_plan.children_of(network_of(prod_plan)) if accepts_tags(r.type)]

    # Guards against the introspection silently finding nothing taggable.
    assert {VPC, SUBNET, NAT_GATEWAY, FLOW_LOG, VPC_ENDPOINT, DB_SUBNET_GROUP} <= {r.type for r in taggable}
    assert not accepts_tags(ROUTE)
    for resource in taggable:
        tags = resource.inputs.get("tags", {})
        assert required.items() <= tags.items(), f"{resource.name} lacks required tags: {tags}"
        assert tags.get("Name", "").startswith("erp-prod-"), resource.name


def test_vpc_uses_the_layout_range_with_dns_on(prod_plan: Plan, prod_config: StackConfig) -> None:
    vpc = prod_plan.one(VPC)
    assert vpc.inputs["cidrBlock"] == prod_config.network.vpc_cidr
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True
    assert prod_plan.outputs["vpcId"].startswith("vpc-")


# --- subnets --------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "az_count"), [("prod", 3), ("qa", 2)])
def test_every_tier_has_one_subnet_per_availability_zone(plan_stack, stack: str, az_count: int) -> None:
    plan = plan_stack(stack)
    layout = config_of(stack_config(stack)).subnet_layout()
    vpc = plan.one(VPC)
    tiers = subnets_by_tier(plan, layout)

    assert len(plan.of_type(SUBNET)) == 3 * az_count
    for tier, subnets in tiers.items():
        assert len(subnets) == az_count
        zones = [subnet.inputs["availabilityZone"] for subnet in subnets]
        assert len(set(zones)) == az_count, f"{tier} subnets share an AZ: {zones}"
        assert all(linked_one(plan, subnet, "vpcId") == vpc for subnet in subnets)
    # Each AZ index names the same zone in every tier, so an AZ outage takes one slice of each tier.
    assert len({tuple(s.inputs["availabilityZone"] for s in subnets) for subnets in tiers.values()}) == 1
    assert {tier: len(ids) for tier, ids in plan.outputs["subnetIds"].items()} == {t.value: az_count for t in Tier}


@pytest.mark.parametrize("tier", list(Tier))
def test_no_subnet_maps_public_ips(prod_plan: Plan, prod_config: StackConfig, tier: Tier) -> None:
    for subnet in subnets_by_tier(prod_plan, prod_config.subnet_layout())[tier]:
        assert subnet.inputs["mapPublicIpOnLaunch"] is False, subnet.name


def test_db_subnet_group_spans_exactly_the_data_subnets(prod_plan: Plan, prod_config: StackConfig) -> None:
    data_subnets = subnets_by_tier(prod_plan, prod_config.subnet_layout())[Tier.DATA]
    group = prod_plan.one(DB_SUBNET_GROUP)
    assert {r.urn for r in linked(prod_plan, group, "subnetIds")} == {s.urn for s in data_subnets}


# --- routing --------------------------------------------------------------------------------


def test_ingress_subnets_route_to_the_internet_gateway(prod_plan: Plan, prod_config: StackConfig) -> None:
    ingress = subnets_by_tier(prod_plan, prod_config.subnet_layout())[Tier.INGRESS]
    gateway = prod_plan.one(INTERNET_GATEWAY)
    assert linked_one(prod_plan, gateway, "vpcId") == prod_plan.one(VPC)
    for table in tables_of(prod_plan, ingress):
        defaults = [r for r in routes_of(prod_plan, table) if r.inputs.get("destinationCidrBlock") == ANYWHERE]
        assert len(defaults) == 1
        assert linked_one(prod_plan, defaults[0], "gatewayId") == gateway


def test_data_tier_has_its_own_route_tables_without_any_route(prod_plan: Plan, prod_config: StackConfig) -> None:
    tiers = subnets_by_tier(prod_plan, prod_config.subnet_layout())
    data_tables = tables_of(prod_plan, tiers[Tier.DATA])
    other_tables = tables_of(prod_plan, tiers[Tier.APP] + tiers[Tier.INGRESS])

    assert len({table.urn for table in data_tables}) == len(tiers[Tier.DATA]), "one route table per data subnet"
    assert not {t.urn for t in data_tables} & {t.urn for t in other_tables}, "data subnets share a route table"
    # Only the implicit local route: no internet, NAT, VPN or any other path out of the VPC.
    for table in data_tables:
        assert routes_of(prod_plan, table) == [], table.name


def test_one_nat_per_az_gives_each_app_table_its_own_zones_nat(prod_plan: Plan, prod_config: StackConfig) -> None:
    tiers = subnets_by_tier(prod_plan, prod_config.subnet_layout())
    nats = prod_plan.of_type(NAT_GATEWAY)
    assert len(nats) == 3
    for nat in nats:
        assert linked_one(prod_plan, nat, "allocationId").type == EIP
        assert linked_one(prod_plan, nat, "subnetId") in tiers[Tier.INGRESS]
    for app_subnet, table in zip(tiers[Tier.APP], tables_of(prod_plan, tiers[Tier.APP]), strict=True):
        defaults = [r for r in routes_of(prod_plan, table) if r.inputs.get("destinationCidrBlock") == ANYWHERE]
        assert len(defaults) == 1, table.name
        nat = linked_one(prod_plan, defaults[0], "natGatewayId")
        nat_subnet = linked_one(prod_plan, nat, "subnetId")
        assert nat_subnet.inputs["availabilityZone"] == app_subnet.inputs["availabilityZone"]


@pytest.mark.parametrize(("strategy", "nat_count"), [("onePerAz", 2), ("single", 1), ("none", 0)])
def test_nat_strategy_decides_nat_gateways_and_app_default_routes(plan_stack, strategy: str, nat_count: int) -> None:
    raw = stack_config("qa", network={**stack_value("qa", "network"), "natStrategy": strategy})
    plan = plan_stack("qa", raw)
    tiers = subnets_by_tier(plan, config_of(raw).subnet_layout())
    nats = plan.of_type(NAT_GATEWAY)

    assert len(nats) == nat_count
    assert len(plan.of_type(EIP)) == nat_count
    for table in tables_of(plan, tiers[Tier.APP]):
        defaults = [r for r in routes_of(plan, table) if r.inputs.get("destinationCidrBlock") == ANYWHERE]
        assert len(defaults) == (1 if nat_count else 0), table.name
        assert {linked_one(plan, route, "natGatewayId").urn for route in defaults} <= {nat.urn for nat in nats}
    if strategy == "single":
        assert linked_one(plan, nats[0], "subnetId") == tiers[Tier.INGRESS][0]


def test_app_tables_route_vpn_plants_through_the_vpn_gateway(prod_plan: Plan, prod_config: StackConfig) -> None:
    tiers = subnets_by_tier(prod_plan, prod_config.subnet_layout())
    vpn_gateway = prod_plan.one(VPN_GATEWAY)
    for table in tables_of(prod_plan, tiers[Tier.APP]):
        via_vpn = {
            route.inputs["destinationCidrBlock"]
            for route in routes_of(prod_plan, table)
            if linked(prod_plan, route, "gatewayId") == [vpn_gateway]
        }
        assert via_vpn == {plant.cidr for plant in vpn_plants(prod_config)}, table.name


def test_plants_without_connectivity_get_no_route_anywhere(prod_plan: Plan, prod_config: StackConfig) -> None:
    unconnected = {plant.cidr for plant in prod_config.plants if plant.connectivity == "none"}
    assert unconnected, "prod declares a plant without connectivity"
    assert not {route.inputs.get("destinationCidrBlock") for route in prod_plan.of_type(ROUTE)} & unconnected


# --- network ACLs ---------------------------------------------------------------------------


def test_each_tier_has_its_own_acl_on_all_its_subnets(prod_plan: Plan, prod_config: StackConfig) -> None:
    tiers = subnets_by_tier(prod_plan, prod_config.subnet_layout())
    acl_by_tier = {tier: {acl_of(prod_plan, subnet).urn for subnet in subnets} for tier, subnets in tiers.items()}
    assert all(len(acls) == 1 for acls in acl_by_tier.values())
    assert len(set.union(*acl_by_tier.values())) == len(Tier)


def expected_acl_rules(config: StackConfig) -> dict[Tier, set[tuple[str, str, str, int, int]]]:
    layout = config.subnet_layout()
    app_cidrs = layout.tier(Tier.APP)
    return {
        Tier.INGRESS: {
            ("in", "tcp", ANYWHERE, 443, 443),
            ("in", "tcp", ANYWHERE, 80, 80),
            ("in", "tcp", ANYWHERE, 1024, 65535),
            ("out", "-1", ANYWHERE, 0, 0),
        },
        Tier.APP: {
            ("in", "-1", layout.vpc_cidr, 0, 0),
            *(("in", "tcp", plant.cidr, 443, 443) for plant in vpn_plants(config)),
            ("in", "tcp", ANYWHERE, 1024, 65535),
            ("out", "-1", ANYWHERE, 0, 0),
        },
        Tier.DATA: {
            *(("in", "tcp", cidr, DATABASE_PORT, DATABASE_PORT) for cidr in app_cidrs),
            *(("out", "tcp", cidr, 1024, 65535) for cidr in app_cidrs),
        },
    }


@pytest.mark.parametrize("tier", list(Tier))
def test_acl_rules_per_tier(prod_plan: Plan, prod_config: StackConfig, tier: Tier) -> None:
    subnet = subnets_by_tier(prod_plan, prod_config.subnet_layout())[tier][0]
    assert acl_rules(prod_plan, acl_of(prod_plan, subnet)) == expected_acl_rules(prod_config)[tier]


def test_acl_rule_numbers_are_unique_per_acl_and_direction(prod_plan: Plan) -> None:
    keys = [
        (linked_one(prod_plan, rule, "networkAclId").urn, bool(rule.inputs.get("egress")), rule.inputs["ruleNumber"])
        for rule in prod_plan.of_type(NETWORK_ACL_RULE)
    ]
    assert len(keys) == len(set(keys))


def test_data_tier_is_unreachable_from_plants(prod_plan: Plan, prod_config: StackConfig) -> None:
    data_subnet = subnets_by_tier(prod_plan, prod_config.subnet_layout())[Tier.DATA][0]
    admitted = [
        ipaddress.ip_network(cidr)
        for direction, _, cidr, _, _ in acl_rules(prod_plan, acl_of(prod_plan, data_subnet))
        if direction == "in"
    ]
    for plant in prod_config.plants:
        plant_net = ipaddress.ip_network(plant.cidr)
        assert not any(plant_net.overlaps(network) for network in admitted), plant.name


def test_default_security_group_and_acl_are_emptied(prod_plan: Plan) -> None:
    default_sg = prod_plan.one(DEFAULT_SECURITY_GROUP)
    default_acl = prod_plan.one(DEFAULT_NETWORK_ACL)
    assert linked_one(prod_plan, default_sg, "vpcId") == prod_plan.one(VPC)
    for resource in (default_sg, default_acl):
        assert not resource.inputs.get("ingress"), resource.name
        assert not resource.inputs.get("egress"), resource.name
    assert not default_acl.inputs.get("subnetIds")


# --- flow log -------------------------------------------------------------------------------


def test_flow_log_records_all_vpc_traffic_into_the_log_archive_bucket(prod_plan: Plan) -> None:
    flow_log = prod_plan.one(FLOW_LOG)
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "s3"
    assert flow_log.inputs["maxAggregationInterval"] == 60
    assert linked_one(prod_plan, flow_log, "vpcId") == prod_plan.one(VPC)

    archive = prod_plan.named("log-archive")
    buckets = [r for r in linked(prod_plan, flow_log, "logDestination") if r.type == S3_BUCKET]
    assert len(buckets) == 1, "the flow log must deliver to one S3 bucket"
    assert buckets[0].parent == archive.urn, "the destination bucket belongs to the log archive"
    assert flow_log.inputs["logDestination"].startswith("arn:aws:s3:::")


# --- endpoints ------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["s3", "dynamodb"])
def test_gateway_endpoints_serve_only_the_app_route_tables(
    prod_plan: Plan, prod_config: StackConfig, service: str
) -> None:
    tiers = subnets_by_tier(prod_plan, prod_config.subnet_layout())
    endpoint = next(
        r for r in prod_plan.of_type(VPC_ENDPOINT) if r.inputs["serviceName"] == f"com.amazonaws.eu-central-1.{service}"
    )
    app_tables = tables_of(prod_plan, tiers[Tier.APP])

    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert {r.urn for r in linked(prod_plan, endpoint, "routeTableIds")} == {t.urn for t in app_tables}


def test_endpoint_security_group_admits_only_https_from_the_vpc(prod_plan: Plan, prod_config: StackConfig) -> None:
    group = prod_plan.one(SECURITY_GROUP)
    assert linked_one(prod_plan, group, "vpcId") == prod_plan.one(VPC)
    ingress = [
        (rule["protocol"], rule["fromPort"], rule["toPort"], tuple(rule.get("cidrBlocks", ())))
        for rule in group.inputs["ingress"]
    ]
    assert ingress == [("tcp", 443, 443, (prod_config.network.vpc_cidr,))]
    assert group.inputs.get("egress") == []


def test_interface_endpoints_sit_in_the_app_subnets_behind_the_endpoint_group(
    prod_plan: Plan, prod_config: StackConfig
) -> None:
    app_subnets = subnets_by_tier(prod_plan, prod_config.subnet_layout())[Tier.APP]
    group = prod_plan.one(SECURITY_GROUP)
    endpoints = prod_plan.of_type(VPC_ENDPOINT)
    interface = {r.inputs["serviceName"]: r for r in endpoints if r.inputs["vpcEndpointType"] == "Interface"}

    assert set(interface) == {f"com.amazonaws.eu-central-1.{service}" for service in INTERFACE_ENDPOINTS}
    for endpoint in interface.values():
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert {r.urn for r in linked(prod_plan, endpoint, "subnetIds")} == {s.urn for s in app_subnets}
        assert linked(prod_plan, endpoint, "securityGroupIds") == [group]


# --- plant VPNs -----------------------------------------------------------------------------


def test_each_vpn_plant_gets_a_bgp_connection_on_one_vpn_gateway(prod_plan: Plan, prod_config: StackConfig) -> None:
    vpn_gateway = prod_plan.one(VPN_GATEWAY)
    assert linked_one(prod_plan, vpn_gateway, "vpcId") == prod_plan.one(VPC)
    connections = prod_plan.of_type(VPN_CONNECTION)
    customer_gateways = {cgw.inputs["ipAddress"]: cgw for cgw in prod_plan.of_type(CUSTOMER_GATEWAY)}

    assert set(customer_gateways) == {plant.customer_gateway_ip for plant in vpn_plants(prod_config)}
    for plant in vpn_plants(prod_config):
        customer_gateway = customer_gateways[plant.customer_gateway_ip]
        assert customer_gateway.inputs["type"] == "ipsec.1"
        assert customer_gateway.inputs["bgpAsn"] == str(plant.bgp_asn)
        [connection] = [c for c in connections if linked(prod_plan, c, "customerGatewayId") == [customer_gateway]]
        assert linked_one(prod_plan, connection, "vpnGatewayId") == vpn_gateway
        assert connection.inputs["type"] == "ipsec.1"
        assert connection.inputs["staticRoutesOnly"] is False
    assert len(connections) == len(vpn_plants(prod_config))


def test_four_byte_bgp_asn_uses_the_extended_field(plan_stack) -> None:
    plant = {
        "name": "plzen", "cidr": "172.22.0.0/20", "connectivity": "vpn",
        "customerGatewayIp": "198.51.100.77", "bgpAsn": 4200000000,
    }
    plan = plan_stack("qa", stack_config("qa", plants=[plant]))
    customer_gateway = plan.one(CUSTOMER_GATEWAY)
    assert customer_gateway.inputs["bgpAsnExtended"] == "4200000000"
    assert "bgpAsn" not in customer_gateway.inputs


def test_no_vpn_gateway_without_vpn_plants(plan_stack) -> None:
    plan = plan_stack("qa")
    assert config_of(stack_config("qa")).plants, "qa declares a plant, just not a VPN one"
    for type_ in (VPN_GATEWAY, CUSTOMER_GATEWAY, VPN_CONNECTION):
        assert plan.of_type(type_) == [], type_
