"""Network: what can reach the estate from the internet, and what the network records about it.

Only an internet-facing application load balancer may accept traffic from anywhere,
and only on the web ports; databases and app/data subnets are never addressable from
the internet; every VPC records its traffic; load balancers speak TLS 1.2+ only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, Severity

from .framework import (
    References,
    ResourceView,
    StackView,
    is_unknown,
    not_evaluable,
    peek,
    resource_policy,
    stack_policy,
)

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
DATABASE_INSTANCES = ("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance")

ANYWHERE = ("0.0.0.0/0", "::/0")
DEFAULT_INTERNET_FACING_PORTS = [80, 443]
PUBLIC_TIER_TAG = "Tier"
PUBLIC_TIER_VALUES = ("ingress", "public")

# Elastic Load Balancing policies whose minimum protocol is TLS 1.2 (TLS 1.3-only included).
DEFAULT_TLS12_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
]


def _elements(value: Any) -> list[Any]:
    """The elements of a list prop, each read through `peek` (UNKNOWN where unknown)."""
    if is_unknown(value) or value is None or isinstance(value, (str, bytes, Mapping)):
        return []
    return [peek(value, index) for index in range(len(value))]


# --- security groups -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _OpenRule:
    """An ingress permission from anywhere, with the keys (urns, ids) of the group it opens."""

    report_urn: str
    group_keys: frozenset[str]
    protocol: Any
    from_port: Any
    to_port: Any
    cidr: str
    where: str

    def describe(self) -> str:
        protocol = _protocol(self.protocol)
        if protocol == "all":
            what = "all traffic"
        elif self.from_port == self.to_port:
            what = f"{protocol} port {_port(self.from_port)}"
        else:
            what = f"{protocol} ports {_port(self.from_port)}-{_port(self.to_port)}"
        return f"{self.where} allows {what} from {self.cidr}"


def _protocol(value: Any) -> str:
    text = str(value).lower()
    return {"-1": "all", "all": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}.get(text, text)


def _port(value: Any) -> str:
    return str(int(value)) if isinstance(value, (int, float)) else str(value)


def _keys_of(resource: PolicyResource, prop: str) -> frozenset[str]:
    """Urns and known ids of the security groups that input `prop` of `resource` refers to."""
    keys: set[str] = set()
    for dependency in resource.property_dependencies.get(prop, []):
        keys.add(dependency.urn)
        known_id = peek(dependency.props, "id")
        if isinstance(known_id, str) and known_id:
            keys.add(known_id)
    value = peek(resource.props, prop)
    for item in [value] if isinstance(value, str) else _elements(value):
        if isinstance(item, str) and item:
            keys.add(item)
    return frozenset(keys)


def _group_keys(group: PolicyResource) -> frozenset[str]:
    known_id = peek(group.props, "id")
    return frozenset({group.urn, *([known_id] if isinstance(known_id, str) and known_id else [])})


def _open_cidrs(*values: Any) -> list[str]:
    found = []
    for value in values:
        for cidr in [value] if isinstance(value, str) else _elements(value):
            if isinstance(cidr, str) and cidr in ANYWHERE:
                found.append(cidr)
    return found


def _open_rules(view: StackView) -> Iterator[_OpenRule]:
    for group in view.of_type(SECURITY_GROUP):
        for index, entry in enumerate(_elements(peek(group.props, "ingress"))):
            if not isinstance(entry, Mapping):
                continue
            for cidr in _open_cidrs(peek(entry, "cidrBlocks"), peek(entry, "ipv6CidrBlocks")):
                yield _OpenRule(
                    group.urn,
                    _group_keys(group),
                    peek(entry, "protocol"),
                    peek(entry, "fromPort"),
                    peek(entry, "toPort"),
                    cidr,
                    f"ingress[{index}] of security group {group.name!r}",
                )
    for rule in view.of_type(SECURITY_GROUP_RULE):
        if peek(rule.props, "type") != "ingress":
            continue
        for cidr in _open_cidrs(peek(rule.props, "cidrBlocks"), peek(rule.props, "ipv6CidrBlocks")):
            yield _OpenRule(
                rule.urn,
                _keys_of(rule, "securityGroupId"),
                peek(rule.props, "protocol"),
                peek(rule.props, "fromPort"),
                peek(rule.props, "toPort"),
                cidr,
                f"security group rule {rule.name!r}",
            )
    for rule in view.of_type(SECURITY_GROUP_INGRESS_RULE):
        for cidr in _open_cidrs(peek(rule.props, "cidrIpv4"), peek(rule.props, "cidrIpv6")):
            yield _OpenRule(
                rule.urn,
                _keys_of(rule, "securityGroupId"),
                peek(rule.props, "ipProtocol"),
                peek(rule.props, "fromPort"),
                peek(rule.props, "toPort"),
                cidr,
                f"security group ingress rule {rule.name!r}",
            )


@dataclass(frozen=True)
class _LoadBalancerGroups:
    facing: frozenset[str]  # groups of internet-facing application load balancers
    maybe_facing: frozenset[str]  # groups of load balancers whose exposure is unknown at preview
    unattributable: bool  # some internet-facing load balancer's groups cannot be told at all


def _load_balancer_groups(view: StackView) -> _LoadBalancerGroups:
    facing: set[str] = set()
    maybe: set[str] = set()
    unattributable = False
    for balancer in view.of_type(*LOAD_BALANCERS):
        kind = peek(balancer.props, "loadBalancerType", default="application")
        internal = peek(balancer.props, "internal", default=False)
        if is_unknown(kind) or is_unknown(internal):
            target = maybe
        elif kind == "application" and internal is not True:
            target = facing
        else:
            continue
        keys = _keys_of(balancer, "securityGroups")
        if not keys and is_unknown(peek(balancer.props, "securityGroups")):
            unattributable = True
        target.update(keys)
    return _LoadBalancerGroups(frozenset(facing), frozenset(maybe), unattributable)


@stack_policy(
    name="erp-ec2-security-group-no-public-ingress",
    description=(
        "No security group admits traffic from 0.0.0.0/0 or ::/0, except TCP 443/80 on the security group of an "
        "internet-facing application load balancer."
    ),
    area="network",
    severity=Severity.CRITICAL,
    references=References(fsbp=("EC2.18", "EC2.19"), cis=("5.2", "5.3"), nist=("AC-4", "SC-7"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "Replace the 0.0.0.0/0 or ::/0 source with the caller's security group (source_security_group_id / "
        "referenced_security_group_id) or a specific CIDR (VPC, plant or VPN range). Only the security group passed "
        "in security_groups=[...] of an aws.lb.LoadBalancer with internal=False and load_balancer_type='application' "
        "may allow tcp 443 (and 80, for the HTTPS redirect) from anywhere; reach instances through that load "
        "balancer, and administer hosts with SSM Session Manager instead of opening SSH/RDP."
    ),
    rationale=(
        "Every port open to the internet is scanned within minutes; the load balancer is the one component built "
        "to face it, terminating TLS and dropping malformed requests before anything reaches the ERP tiers."
    ),
    config={
        "internetFacingPorts": {
            "type": "array",
            "items": {"type": "integer"},
            "default": DEFAULT_INTERNET_FACING_PORTS,
            "description": (
                "TCP ports an internet-facing application load balancer's security group may open to anywhere."
            ),
        }
    },
)
def no_public_ingress(view: StackView, settings: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    web_ports = {int(port) for port in settings["internetFacingPorts"]}
    groups = _load_balancer_groups(view)
    for rule in _open_rules(view):
        if any(is_unknown(v) for v in (rule.protocol, rule.from_port, rule.to_port)):
            continue  # undecidable at preview; judged at update
        single_web_port = (
            _protocol(rule.protocol) == "tcp"
            and isinstance(rule.from_port, (int, float))
            and rule.from_port == rule.to_port
            and int(rule.from_port) in web_ports
        )
        if not single_web_port:
            yield (
                rule.report_urn,
                (
                    f"{rule.describe()}; only TCP {', '.join(map(str, sorted(web_ports)))} on an internet-facing "
                    "application load balancer's security group may be open to the internet"
                ),
            )
            continue
        if rule.group_keys & groups.facing:
            continue
        if not rule.group_keys or rule.group_keys & groups.maybe_facing or groups.unattributable:
            continue  # which group, or whether its load balancer faces the internet, is unknown at preview
        yield (
            rule.report_urn,
            (f"{rule.describe()}, but the group is not attached to an internet-facing application load balancer"),
        )


@resource_policy(
    name="erp-ec2-default-security-group-no-rules",
    description="The default security group of every VPC has no ingress and no egress rules.",
    area="network",
    severity=Severity.HIGH,
    references=References(fsbp=("EC2.2",), cis=("5.4",), nist=("AC-4", "SC-7"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "Declare aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id) without ingress= and egress= (the network component "
        "does): Pulumi then removes AWS's allow-all rules. Put the rules you need on a dedicated aws.ec2.SecurityGroup."
    ),
    rationale=(
        "Anything launched without an explicit security group lands in the default one; if it has rules, that "
        "resource silently gets network access nobody reviewed."
    ),
    resource_types=[DEFAULT_SECURITY_GROUP],
)
def default_security_group_no_rules(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    for direction in ("ingress", "egress"):
        rules = resource.get(direction)
        if rules:
            yield f"the default security group has {len(rules)} {direction} rule(s); it must have none"


# --- addressing ----------------------------------------------------------------------------------


@resource_policy(
    name="erp-rds-instance-no-public-access",
    description="RDS instances and Aurora cluster instances are never publicly accessible.",
    area="network",
    severity=Severity.CRITICAL,
    references=References(fsbp=("RDS.2",), cis=("2.3.3",), nist=("AC-4", "SC-7"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "Remove publicly_accessible=True (or set it to False) on the aws.rds.Instance / aws.rds.ClusterInstance and "
        "place it in the network component's data-tier db_subnet_group; reach it from the app tier or a bastion-less "
        "SSM port forward."
    ),
    rationale=(
        "A publicly accessible database gets a public DNS address; one permissive security group or leaked password "
        "then exposes the ERP's system of record directly."
    ),
    resource_types=DATABASE_INSTANCES,
)
def database_not_public(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if resource.get("publiclyAccessible") is True:
        yield "publiclyAccessible is true; databases must only be reachable from inside the VPC"


@resource_policy(
    name="erp-ec2-subnet-no-public-ip-on-launch",
    description="Subnets do not assign public IPs on launch, except subnets tagged Tier=ingress (or Tier=public).",
    area="network",
    severity=Severity.HIGH,
    references=References(fsbp=("EC2.15",), nist=("AC-4", "SC-7"), cfr11=("11.10(d)",)),
    remediation_steps=(
        "Set map_public_ip_on_launch=False on the aws.ec2.Subnet (the network component does, even for the ingress "
        "tier: NAT gateways and load balancers bring their own addresses). If a subnet genuinely is the public "
        "ingress tier and needs auto-assigned addresses, tag it Tier='ingress' (or Tier='public')."
    ),
    rationale=(
        "App and data subnets must not hand internet-routable addresses to whatever is launched in them; exposure "
        "should be a deliberate choice of the ingress tier, not a subnet default."
    ),
    resource_types=[SUBNET],
)
def subnet_no_public_ip(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if resource.get("mapPublicIpOnLaunch") is not True:
        return
    tier = peek(resource.known_tags(), PUBLIC_TIER_TAG)
    if is_unknown(tier):
        raise not_evaluable("tags", PUBLIC_TIER_TAG)
    if isinstance(tier, str) and tier.lower() in PUBLIC_TIER_VALUES:
        return
    shown = f"Tier={tier!r}" if tier else f"no {PUBLIC_TIER_TAG} tag"
    yield f"mapPublicIpOnLaunch is true on a subnet with {shown}; only the ingress tier may assign public IPs"


# --- visibility ----------------------------------------------------------------------------------


@stack_policy(
    name="erp-ec2-vpc-flow-logs-enabled",
    description="Every VPC has a flow log capturing ALL traffic (accepted and rejected).",
    area="network",
    severity=Severity.MEDIUM,
    references=References(fsbp=("EC2.6",), cis=("3.7",), nist=("AU-2", "AU-12", "SI-4"), cfr11=("11.10(e)",)),
    remediation_steps=(
        "Add aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type='ALL', log_destination_type='s3', "
        "log_destination=<log archive bucket ARN>) next to the aws.ec2.Vpc (the network component does); "
        "a REJECT-only flow log does not satisfy this platform."
    ),
    rationale=(
        "Flow logs are the only record of which hosts talked to which; incident response and the plant-connectivity "
        "audit need accepted connections as much as rejected ones."
    ),
)
def vpc_flow_logs(view: StackView, settings: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    for vpc in view.of_type(VPC):
        logs = view.linked(vpc, FLOW_LOG, "vpcId")
        traffic = [peek(log.props, "trafficType") for log in logs]
        if "ALL" in traffic or any(is_unknown(value) for value in traffic):
            continue
        if not logs:
            yield vpc.urn, f"VPC {vpc.name!r} has no flow log"
        else:
            captured = ", ".join(sorted({str(value) for value in traffic}))
            yield vpc.urn, f"VPC {vpc.name!r} flow logs capture only {captured} traffic; trafficType must be ALL"


# --- load balancers ------------------------------------------------------------------------------


@resource_policy(
    name="erp-elb-load-balancer-drop-invalid-headers",
    description="Application load balancers drop HTTP headers with invalid names.",
    area="network",
    severity=Severity.MEDIUM,
    references=References(fsbp=("ELB.4",), nist=("SC-7", "SI-10")),
    remediation_steps=(
        "Set drop_invalid_header_fields=True on the aws.lb.LoadBalancer (load_balancer_type='application')."
    ),
    rationale=(
        "Headers the load balancer does not understand but forwards anyway are the raw material of request "
        "smuggling and header-injection attacks against the application tier."
    ),
    resource_types=LOAD_BALANCERS,
)
def drop_invalid_headers(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    if resource.get("loadBalancerType", "application") != "application":
        return
    if resource.get("dropInvalidHeaderFields") is not True:
        yield "dropInvalidHeaderFields is not true on an application load balancer"


@resource_policy(
    name="erp-elb-listener-https-tls12",
    description=(
        "Load balancer listeners use HTTPS/TLS with a TLS 1.2+ security policy; plain HTTP listeners only redirect "
        "to HTTPS."
    ),
    area="network",
    severity=Severity.HIGH,
    references=References(fsbp=("ELB.1",), nist=("SC-8", "SC-23"), cfr11=("11.10(c)",)),
    remediation_steps=(
        "On the aws.lb.Listener set protocol='HTTPS' (or 'TLS' on a network load balancer), certificate_arn=... and "
        "ssl_policy='ELBSecurityPolicy-TLS13-1-2-Res-2021-06' (or another TLS 1.2+ policy from this policy's "
        "allowedSslPolicies). A port-80 listener may stay only with every default_actions entry "
        "type='redirect', redirect=aws.lb.ListenerDefaultActionRedirectArgs(protocol='HTTPS', port='443', "
        "status_code='HTTP_301'). TCP/UDP listeners carry unencrypted client traffic: terminate TLS on the listener, "
        "or waive with the reason when the targets terminate TLS themselves."
    ),
    rationale=(
        "ERP sessions carry credentials and regulated records; TLS 1.0/1.1 and the provider's default policy "
        "(ELBSecurityPolicy-2016-08) allow protocol versions with known weaknesses."
    ),
    resource_types=LISTENERS,
    config={
        "allowedSslPolicies": {
            "type": "array",
            "items": {"type": "string"},
            "default": DEFAULT_TLS12_POLICIES,
            "description": "ELB security policies accepted on HTTPS/TLS listeners (all with TLS 1.2 as minimum).",
        }
    },
)
def listener_tls(resource: ResourceView, settings: Mapping[str, Any]) -> Iterator[str]:
    # The provider's default protocol for application load balancers is HTTP.
    protocol = str(resource.get("protocol") or "HTTP").upper()
    if protocol == "GENEVE":
        return  # gateway load balancer: no client TLS to speak of
    if protocol in ("HTTPS", "TLS"):
        policy = resource.get("sslPolicy")
        if not policy:
            yield f"{protocol} listener has no sslPolicy; the default ELBSecurityPolicy-2016-08 allows TLS 1.0"
        elif policy not in settings["allowedSslPolicies"]:
            yield f"sslPolicy {policy!r} is not an allowed TLS 1.2+ policy"
        return
    if protocol == "HTTP":
        actions = resource.get("defaultActions") or []
        if not actions or not all(_redirects_to_https(action) for action in actions):
            yield "HTTP listener does not redirect every request to HTTPS; serve HTTPS or redirect"
        return
    yield f"{protocol} listener carries client traffic without TLS; use protocol TLS or HTTPS"


def _redirects_to_https(action: Mapping[str, Any]) -> bool:
    redirect = action.get("redirect") or {}
    return action.get("type") == "redirect" and str(redirect.get("protocol") or "").upper() == "HTTPS"


POLICIES = [
    no_public_ingress,
    default_security_group_no_rules,
    database_not_public,
    subnet_no_public_ip,
    vpc_flow_logs,
    drop_invalid_headers,
    listener_tls,
]
