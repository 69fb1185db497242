"""A three-tier VPC: public ingress, private app and isolated data subnets in every AZ.

The data tier is isolated by construction rather than by convention: it has its own
route tables with no internet, NAT or plant routes, and a network ACL that admits only
the app tier on the database port. Popular VPC modules put database subnets on the
private (NAT) route table; this component never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.addressing import SubnetLayout, Tier
from components.config import NatStrategy, Plant
from components.tags import Tags

ANYWHERE = "0.0.0.0/0"
HTTPS = 443
HTTP = 80
# Network ACLs are stateless: replies to a connection arrive on the initiator's
# ephemeral port and must be admitted explicitly (Linux, NAT gateways and load
# balancers all use ports in this range).
EPHEMERAL_PORTS = (1024, 65535)
ALL_PROTOCOLS = "-1"
# CustomerGateway.bgp_asn accepts only 2-byte and signed 32-bit values; larger
# 4-byte ASNs must go through bgp_asn_extended.
MAX_BGP_ASN = 2_147_483_647


@dataclass(frozen=True)
class SegmentedNetworkArgs:
    name_prefix: str
    tags: Tags
    region: str
    layout: SubnetLayout
    nat_strategy: NatStrategy
    plants: tuple[Plant, ...]
    flow_log_bucket_arn: pulumi.Input[str]
    database_port: int = 5432
    interface_endpoints: tuple[str, ...] = (
        "kms", "secretsmanager", "logs", "sts", "ssm", "ecr.api", "ecr.dkr", "monitoring",
    )


@dataclass(frozen=True)
class AclRule:
    """One network ACL entry; ports are ignored by AWS when the protocol is all (-1)."""

    egress: bool
    protocol: str
    cidr: str
    from_port: int = 0
    to_port: int = 0


def _inbound(protocol: str, cidr: str, ports: tuple[int, int] = (0, 0)) -> AclRule:
    return AclRule(False, protocol, cidr, *ports)


def _outbound(protocol: str, cidr: str, ports: tuple[int, int] = (0, 0)) -> AclRule:
    return AclRule(True, protocol, cidr, *ports)


class SegmentedNetwork(pulumi.ComponentResource):
    """The VPC, its three tiers, egress, private AWS endpoints and the plant VPNs."""

    def __init__(self, name: str, args: SegmentedNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("erp:network:SegmentedNetwork", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        az_count = len(args.layout.tier(Tier.APP))
        self._az_names = _availability_zones(self, args.region, az_count)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.layout.vpc_cidr,
            enable_dns_support=True,
            # Interface endpoints with private DNS need both DNS settings.
            enable_dns_hostnames=True,
            tags=self._tags("vpc"),
            opts=self._child,
        )
        self.vpc_id = self.vpc.id
        self._lock_down_defaults()
        self._flow_log()

        self.subnets = {tier: self._subnets(tier) for tier in Tier}
        self.subnet_ids_by_tier = {tier.value: [s.id for s in subnets] for tier, subnets in self.subnets.items()}

        self.internet_gateway = aws.ec2.InternetGateway(
            f"{name}-igw",
            vpc_id=self.vpc.id,
            tags=self._tags("igw"),
            opts=self._child,
        )
        ingress_table = self._ingress_route_table()
        nat_gateways = self._nat_gateways()
        app_tables = self._app_route_tables(nat_gateways)
        data_tables = self._data_route_tables()
        self.route_table_ids_by_tier = {
            Tier.INGRESS.value: [ingress_table.id],
            Tier.APP.value: [table.id for table in app_tables],
            Tier.DATA.value: [table.id for table in data_tables],
        }

        self._network_acls()
        # The data tier gets no endpoint routes: its ACL only answers the app tier, and a
        # database subnet with a path to S3 would be an exfiltration route.
        self._gateway_endpoints(app_tables)
        self.endpoint_security_group_id = self._interface_endpoints()
        self.vpn_connection_ids = self._plant_vpns(app_tables)

        self.db_subnet_group = aws.rds.SubnetGroup(
            f"{name}-db-subnets",
            name=f"{args.name_prefix}-data",
            description="Isolated data-tier subnets; no internet, NAT or plant routes.",
            subnet_ids=self.subnet_ids_by_tier[Tier.DATA.value],
            tags=self._tags("data"),
            opts=self._child,
        )
        self.db_subnet_group_name = self.db_subnet_group.name

        self.register_outputs({
            "vpcId": self.vpc_id,
            "subnetIdsByTier": self.subnet_ids_by_tier,
            "routeTableIdsByTier": self.route_table_ids_by_tier,
            "dbSubnetGroupName": self.db_subnet_group_name,
            "endpointSecurityGroupId": self.endpoint_security_group_id,
            "vpnConnectionIds": self.vpn_connection_ids,
        })

    def _tags(self, suffix: str, **extra: str) -> dict[str, str]:
        return self._args.tags.for_resource(f"{self._args.name_prefix}-{suffix}", **extra)

    def _lock_down_defaults(self) -> None:
        # Adopting the default security group and network ACL without rules removes
        # AWS's allow-all entries, so nothing launched without explicit rules can talk.
        aws.ec2.DefaultSecurityGroup(
            f"{self._name}-default-sg",
            vpc_id=self.vpc.id,
            tags=self._tags("default-deny-all"),
            opts=self._child,
        )
        aws.ec2.DefaultNetworkAcl(
            f"{self._name}-default-acl",
            default_network_acl_id=self.vpc.default_network_acl_id,
            tags=self._tags("default-deny-all"),
            opts=self._child,
        )

    def _flow_log(self) -> None:
        aws.ec2.FlowLog(
            f"{self._name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="s3",
            # The bucket itself, not a prefix of it: AWS then writes under AWSLogs/<account>/,
            # the path the archive's bucket policy grants to the log delivery service.
            log_destination=self._args.flow_log_bucket_arn,
            max_aggregation_interval=60,
            tags=self._tags("flow-log"),
            opts=self._child,
        )

    def _subnets(self, tier: Tier) -> list[aws.ec2.Subnet]:
        return [
            aws.ec2.Subnet(
                f"{self._name}-{tier.value}-{index}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=self._az_names[index],
                # Not even the ingress tier needs public IPs: NAT gateways bring their
                # own elastic IPs and load balancers get theirs from AWS.
                map_public_ip_on_launch=False,
                tags=self._tags(f"{tier.value}-{index}", Tier=tier.value),
                opts=self._child,
            )
            for index, cidr in enumerate(self._args.layout.tier(tier))
        ]

    def _route_table(self, tier: Tier, index: int) -> aws.ec2.RouteTable:
        return aws.ec2.RouteTable(
            f"{self._name}-{tier.value}-rt-{index}",
            vpc_id=self.vpc.id,
            tags=self._tags(f"{tier.value}-rt-{index}", Tier=tier.value),
            opts=self._child,
        )

    def _associate(self, tier: Tier, index: int, table: aws.ec2.RouteTable) -> None:
        aws.ec2.RouteTableAssociation(
            f"{self._name}-{tier.value}-rta-{index}",
            route_table_id=table.id,
            subnet_id=self.subnets[tier][index].id,
            opts=self._child,
        )

    def _ingress_route_table(self) -> aws.ec2.RouteTable:
        # Every ingress subnet routes the same way, so one table serves all of them.
        table = self._route_table(Tier.INGRESS, 0)
        for index in range(len(self.subnets[Tier.INGRESS])):
            self._associate(Tier.INGRESS, index, table)
        aws.ec2.Route(
            f"{self._name}-ingress-default-route",
            route_table_id=table.id,
            destination_cidr_block=ANYWHERE,
            gateway_id=self.internet_gateway.id,
            opts=self._child,
        )
        return table

    def _nat_gateways(self) -> list[aws.ec2.NatGateway]:
        strategy = self._args.nat_strategy
        if strategy is NatStrategy.NONE:
            return []
        ingress_subnets = self.subnets[Tier.INGRESS]
        hosts = ingress_subnets if strategy is NatStrategy.ONE_PER_AZ else ingress_subnets[:1]
        gateways = []
        for index, subnet in enumerate(hosts):
            address = aws.ec2.Eip(
                f"{self._name}-nat-eip-{index}",
                domain="vpc",
                tags=self._tags(f"nat-{index}"),
                opts=self._child,
            )
            gateways.append(
                aws.ec2.NatGateway(
                    f"{self._name}-nat-{index}",
                    allocation_id=address.id,
                    subnet_id=subnet.id,
                    connectivity_type="public",
                    tags=self._tags(f"nat-{index}"),
                    # A public NAT gateway needs the VPC's internet gateway in place to
                    # work, and nothing in its inputs tells the engine so.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.internet_gateway]),
                )
            )
        return gateways

    def _app_route_tables(self, nat_gateways: Sequence[aws.ec2.NatGateway]) -> list[aws.ec2.RouteTable]:
        tables = []
        for index in range(len(self.subnets[Tier.APP])):
            table = self._route_table(Tier.APP, index)
            self._associate(Tier.APP, index, table)
            if nat_gateways:
                # With one NAT per AZ each AZ keeps egress when another AZ fails.
                nat = nat_gateways[index] if len(nat_gateways) > 1 else nat_gateways[0]
                aws.ec2.Route(
                    f"{self._name}-app-{index}-default-route",
                    route_table_id=table.id,
                    destination_cidr_block=ANYWHERE,
                    nat_gateway_id=nat.id,
                    opts=self._child,
                )
            tables.append(table)
        return tables

    def _data_route_tables(self) -> list[aws.ec2.RouteTable]:
        # Only the VPC's local route: the data tier reaches nothing outside the VPC.
        tables = []
        for index in range(len(self.subnets[Tier.DATA])):
            table = self._route_table(Tier.DATA, index)
            self._associate(Tier.DATA, index, table)
            tables.append(table)
        return tables

    def _acl_rules(self) -> dict[Tier, list[AclRule]]:
        layout = self._args.layout
        app_cidrs = layout.tier(Tier.APP)
        vpn_plant_cidrs = [plant.cidr for plant in self._args.plants if plant.connectivity == "vpn"]
        return {
            Tier.INGRESS: [
                _inbound("tcp", ANYWHERE, (HTTPS, HTTPS)),
                _inbound("tcp", ANYWHERE, (HTTP, HTTP)),
                # Replies to the load balancers' and NAT gateways' own connections
                # (to targets in the app tier and to the internet) come back here.
                _inbound("tcp", ANYWHERE, EPHEMERAL_PORTS),
                _outbound(ALL_PROTOCOLS, ANYWHERE),
            ],
            Tier.APP: [
                _inbound(ALL_PROTOCOLS, layout.vpc_cidr),
                *(_inbound("tcp", cidr, (HTTPS, HTTPS)) for cidr in vpn_plant_cidrs),
                # Replies to connections the app tier opens through NAT or to plants.
                _inbound("tcp", ANYWHERE, EPHEMERAL_PORTS),
                _outbound(ALL_PROTOCOLS, ANYWHERE),
            ],
            Tier.DATA: [
                *(_inbound("tcp", cidr, (self._args.database_port,) * 2) for cidr in app_cidrs),
                # Database replies leave towards the app clients' ephemeral ports.
                *(_outbound("tcp", cidr, EPHEMERAL_PORTS) for cidr in app_cidrs),
            ],
        }

    def _network_acls(self) -> None:
        for tier, rules in self._acl_rules().items():
            acl = aws.ec2.NetworkAcl(
                f"{self._name}-{tier.value}-acl",
                vpc_id=self.vpc.id,
                tags=self._tags(f"{tier.value}-acl", Tier=tier.value),
                opts=self._child,
            )
            for direction, egress in (("out", True), ("in", False)):
                for position, rule in enumerate(rule for rule in rules if rule.egress == egress):
                    number = 100 + 10 * position
                    aws.ec2.NetworkAclRule(
                        f"{self._name}-{tier.value}-acl-{direction}-{number}",
                        network_acl_id=acl.id,
                        rule_number=number,
                        egress=egress,
                        protocol=rule.protocol,
                        rule_action="allow",
                        cidr_block=rule.cidr,
                        from_port=rule.from_port,
                        to_port=rule.to_port,
                        opts=self._child,
                    )
            for index, subnet in enumerate(self.subnets[tier]):
                aws.ec2.NetworkAclAssociation(
                    f"{self._name}-{tier.value}-acl-assoc-{index}",
                    network_acl_id=acl.id,
                    subnet_id=subnet.id,
                    opts=self._child,
                )

    def _gateway_endpoints(self, route_tables: Sequence[aws.ec2.RouteTable]) -> None:
        for service in ("s3", "dynamodb"):
            aws.ec2.VpcEndpoint(
                f"{self._name}-endpoint-{service}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{self._args.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[table.id for table in route_tables],
                tags=self._tags(f"endpoint-{service}"),
                opts=self._child,
            )

    def _interface_endpoints(self) -> pulumi.Output[str]:
        security_group = aws.ec2.SecurityGroup(
            f"{self._name}-endpoints-sg",
            vpc_id=self.vpc.id,
            description="AWS API interface endpoints: HTTPS from inside the VPC only",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    description="HTTPS from the VPC",
                    protocol="tcp",
                    from_port=HTTPS,
                    to_port=HTTPS,
                    cidr_blocks=[self._args.layout.vpc_cidr],
                )
            ],
            # Endpoints only answer; security groups are stateful, so replies need no rule.
            egress=[],
            tags=self._tags("endpoints"),
            opts=self._child,
        )
        app_subnet_ids = self.subnet_ids_by_tier[Tier.APP.value]
        for service in self._args.interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{self._name}-endpoint-{service.replace('.', '-')}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{self._args.region}.{service}",
                vpc_endpoint_type="Interface",
                subnet_ids=app_subnet_ids,
                security_group_ids=[security_group.id],
                private_dns_enabled=True,
                tags=self._tags(f"endpoint-{service.replace('.', '-')}"),
                opts=self._child,
            )
        return security_group.id

    def _plant_vpns(self, app_tables: Sequence[aws.ec2.RouteTable]) -> dict[str, pulumi.Output[str]]:
        vpn_plants = [plant for plant in self._args.plants if plant.connectivity == "vpn"]
        if not vpn_plants:
            return {}
        vpn_gateway = aws.ec2.VpnGateway(
            f"{self._name}-vgw",
            vpc_id=self.vpc.id,
            tags=self._tags("vgw"),
            opts=self._child,
        )
        connection_ids = {}
        for plant in vpn_plants:
            # Plant validation requires both for connectivity vpn.
            assert plant.bgp_asn is not None and plant.customer_gateway_ip is not None
            extended = plant.bgp_asn > MAX_BGP_ASN
            customer_gateway = aws.ec2.CustomerGateway(
                f"{self._name}-plant-{plant.name}-cgw",
                type="ipsec.1",
                ip_address=plant.customer_gateway_ip,
                bgp_asn=None if extended else str(plant.bgp_asn),
                bgp_asn_extended=str(plant.bgp_asn) if extended else None,
                tags=self._tags(f"plant-{plant.name}", Plant=plant.name),
                opts=self._child,
            )
            connection = aws.ec2.VpnConnection(
                f"{self._name}-plant-{plant.name}-vpn",
                type="ipsec.1",
                customer_gateway_id=customer_gateway.id,
                vpn_gateway_id=vpn_gateway.id,
                # The plant announces its networks over BGP.
                static_routes_only=False,
                tags=self._tags(f"plant-{plant.name}", Plant=plant.name),
                opts=self._child,
            )
            connection_ids[plant.name] = connection.id
            # Plants reach the app tier only; the data tier is reachable from the app tier alone.
            for index, table in enumerate(app_tables):
                aws.ec2.Route(
                    f"{self._name}-app-{index}-to-{plant.name}",
                    route_table_id=table.id,
                    destination_cidr_block=plant.cidr,
                    gateway_id=vpn_gateway.id,
                    opts=self._child,
                )
        return connection_ids


def _availability_zones(parent: pulumi.Resource, region: str, count: int) -> list[pulumi.Output[str]]:
    zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=parent))

    def zone(index: int) -> pulumi.Output[str]:
        def pick(names: list[str]) -> str:
            if len(names) < count:
                raise ValueError(f"{region} has {len(names)} available availability zones; the stack asks for {count}")
            return names[index]

        return zones.names.apply(pick)

    return [zone(index) for index in range(count)]
