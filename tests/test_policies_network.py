"""Network policies: a compliant baseline per policy, then one changed property that must be caught.

Stack policies are also exercised as a preview sees them (ids UNKNOWN, companions linked
only through property dependencies) and as a state export does (known ids, no dependencies).
"""

from __future__ import annotations

from typing import Any

import pytest
from policy_support import QA_TAGS, UNKNOWN, findings, mutate, resource, skipped, urn_of

from erpctl.model import ResourceRecord

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
LB = "aws:lb/loadBalancer:LoadBalancer"
ALB = "aws:alb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
ALB_LISTENER = "aws:alb/listener:Listener"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"

SG_POLICY = "erp-ec2-security-group-no-public-ingress"
DEFAULT_SG_POLICY = "erp-ec2-default-security-group-no-rules"
RDS_POLICY = "erp-rds-instance-no-public-access"
SUBNET_POLICY = "erp-ec2-subnet-no-public-ip-on-launch"
FLOW_LOG_POLICY = "erp-ec2-vpc-flow-logs-enabled"
HEADERS_POLICY = "erp-elb-load-balancer-drop-invalid-headers"
LISTENER_POLICY = "erp-elb-listener-https-tls12"


def ingress(port: int, cidr: str = "0.0.0.0/0", protocol: str = "tcp", to_port: int | None = None) -> dict[str, Any]:
    last = port if to_port is None else to_port
    entry: dict[str, Any] = {"protocol": protocol, "fromPort": float(port), "toPort": float(last)}
    entry["ipv6CidrBlocks" if ":" in cidr else "cidrBlocks"] = [cidr]
    return entry


# --- security groups: open ingress -------------------------------------------------------------


def alb_sg(*rules: dict[str, Any]) -> ResourceRecord:
    return resource(SG, "web-alb-sg", {
        "vpcId": UNKNOWN,
        "description": "internet-facing ALB",
        "ingress": list(rules) or [ingress(443), ingress(80)],
        "egress": [],
    }, property_dependencies={"vpcId": [urn_of(VPC, "vpc")]})


def app_sg(*rules: dict[str, Any]) -> ResourceRecord:
    return resource(SG, "app-sg", {
        "vpcId": UNKNOWN,
        "description": "app tier",
        "ingress": list(rules) or [{"protocol": "tcp", "fromPort": 8443.0, "toPort": 8443.0,
                                    "securityGroups": [UNKNOWN]}],
        "egress": [],
    }, property_dependencies={"vpcId": [urn_of(VPC, "vpc")], "ingress": [urn_of(SG, "web-alb-sg")]})


def alb(**changes: Any) -> ResourceRecord:
    record = resource(LB, "web-alb", {
        "internal": False,
        "loadBalancerType": "application",
        "securityGroups": [UNKNOWN],
        "subnets": [UNKNOWN, UNKNOWN],
        "dropInvalidHeaderFields": True,
    }, property_dependencies={"securityGroups": [urn_of(SG, "web-alb-sg")], "subnets": [urn_of(SUBNET, "ingress-0")]})
    return mutate(record, **changes)


def sg_rule(group: str, **changes: Any) -> ResourceRecord:
    record = resource(SG_RULE, f"{group}-https-rule", {
        "type": "ingress", "protocol": "tcp", "fromPort": 443.0, "toPort": 443.0,
        "cidrBlocks": ["10.20.0.0/16"], "securityGroupId": UNKNOWN,
    }, property_dependencies={"securityGroupId": [urn_of(SG, group)]})
    return mutate(record, **changes)


def ingress_rule(group: str, **changes: Any) -> ResourceRecord:
    record = resource(SG_INGRESS_RULE, f"{group}-https-ingress", {
        "ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0,
        "cidrIpv4": "10.20.0.0/16", "securityGroupId": UNKNOWN,
    }, property_dependencies={"securityGroupId": [urn_of(SG, group)]})
    return mutate(record, **changes)


def network_baseline() -> list[ResourceRecord]:
    return [alb_sg(), app_sg(), alb(), sg_rule("app-sg"), ingress_rule("app-sg")]


def test_open_https_only_on_an_internet_facing_alb_group_passes() -> None:
    assert findings(SG_POLICY, network_baseline()) == []


@pytest.mark.parametrize("changes", [
    {"internal": True},
    {"loadBalancerType": "network"},
], ids=["internal-alb", "network-lb"])
def test_web_ports_from_anywhere_need_an_internet_facing_alb(changes: dict[str, Any]) -> None:
    resources = [alb_sg(), app_sg(), alb(**changes)]
    found = findings(SG_POLICY, resources)
    assert {f.resource_name for f in found} == {"web-alb-sg"}
    assert len(found) == 2
    assert all("not attached to an internet-facing" in f.message for f in found)


def test_group_without_any_load_balancer_may_not_open_web_ports() -> None:
    found = findings(SG_POLICY, [alb_sg(), app_sg()])
    assert len(found) == 2


@pytest.mark.parametrize("rule", [
    ingress(22),
    ingress(3389),
    ingress(0, protocol="-1"),
    ingress(443, protocol="udp"),
    ingress(80, to_port=443),
    ingress(22, cidr="::/0"),
], ids=["ssh", "rdp", "all-traffic", "udp-443", "port-range", "ssh-ipv6"])
def test_anything_but_single_web_ports_is_never_open_even_on_the_alb(rule: dict[str, Any]) -> None:
    found = findings(SG_POLICY, [alb_sg(ingress(443), rule), app_sg(), alb()])
    assert [f.resource_name for f in found] == ["web-alb-sg"]
    assert "only TCP 80, 443" in found[0].message


def test_inline_open_https_on_a_non_load_balancer_group_is_caught() -> None:
    resources = [alb_sg(), app_sg(ingress(443)), alb()]
    found = findings(SG_POLICY, resources)
    assert [f.resource_name for f in found] == ["app-sg"]


@pytest.mark.parametrize(("record", "name"), [
    (sg_rule("app-sg", cidrBlocks=["0.0.0.0/0"]), "app-sg-https-rule"),
    (sg_rule("app-sg", cidrBlocks=None, ipv6CidrBlocks=["::/0"]), "app-sg-https-rule"),
    (ingress_rule("app-sg", cidrIpv4="0.0.0.0/0"), "app-sg-https-ingress"),
    (ingress_rule("app-sg", cidrIpv4=None, cidrIpv6="::/0"), "app-sg-https-ingress"),
    (ingress_rule("web-alb-sg", cidrIpv4="0.0.0.0/0", fromPort=5432.0, toPort=5432.0), "web-alb-sg-https-ingress"),
], ids=["rule-ipv4", "rule-ipv6", "ingress-rule-ipv4", "ingress-rule-ipv6", "ingress-rule-db-on-alb"])
def test_standalone_rules_are_judged_like_inline_ones(record: ResourceRecord, name: str) -> None:
    found = findings(SG_POLICY, [alb_sg(), app_sg(), alb(), record])
    assert [f.resource_name for f in found] == [name]


def test_egress_rules_from_anywhere_are_not_ingress() -> None:
    resources = [*network_baseline(), sg_rule("app-sg", type="egress", cidrBlocks=["0.0.0.0/0"])]
    assert findings(SG_POLICY, resources) == []


def test_standalone_web_rules_on_the_alb_group_pass_at_preview() -> None:
    resources = [
        alb_sg(ingress(443, cidr="10.0.0.0/8")), app_sg(), alb(),
        sg_rule("web-alb-sg", cidrBlocks=["0.0.0.0/0"]),
        ingress_rule("web-alb-sg", cidrIpv4=None, cidrIpv6="::/0"),
    ]
    assert findings(SG_POLICY, resources) == []


def test_known_ids_link_groups_to_load_balancers_like_a_state_export() -> None:
    group = mutate(alb_sg(), id="sg-0alb")
    other = mutate(app_sg(), id="sg-0app")
    balancer = resource(LB, "web-alb", {"internal": False, "loadBalancerType": "application",
                                        "securityGroups": ["sg-0alb"], "dropInvalidHeaderFields": True})
    open_rule = resource(SG_RULE, "exported-rule", {"type": "ingress", "protocol": "tcp", "fromPort": 443.0,
                                                    "toPort": 443.0, "cidrBlocks": ["0.0.0.0/0"],
                                                    "securityGroupId": "sg-0alb"})
    assert findings(SG_POLICY, [group, other, balancer, open_rule]) == []
    moved = mutate(open_rule, securityGroupId="sg-0app")
    found = findings(SG_POLICY, [group, other, balancer, moved])
    assert [f.resource_name for f in found] == ["exported-rule"]


def test_unknown_exposure_of_the_load_balancer_is_not_a_violation() -> None:
    resources = [alb_sg(ingress(443), ingress(22)), app_sg(), alb(internal=UNKNOWN)]
    found = findings(SG_POLICY, resources)
    # 443 cannot be judged until `internal` is known; SSH from anywhere is wrong whatever it is.
    assert len(found) == 1
    assert "tcp port 22" in found[0].message


def test_unknown_ports_or_group_are_not_violations() -> None:
    resources = [
        alb_sg(), app_sg(), alb(),
        sg_rule("app-sg", cidrBlocks=["0.0.0.0/0"], fromPort=UNKNOWN, toPort=UNKNOWN),
        resource(SG_RULE, "unattributed", {"type": "ingress", "protocol": "tcp", "fromPort": 443.0, "toPort": 443.0,
                                           "cidrBlocks": ["0.0.0.0/0"], "securityGroupId": UNKNOWN}),
    ]
    assert findings(SG_POLICY, resources) == []


def test_alb_type_token_counts_as_a_load_balancer() -> None:
    balancer = alb()
    aliased = resource(ALB, "web-alb", dict(balancer.inputs),
                       property_dependencies={"securityGroups": [urn_of(SG, "web-alb-sg")]})
    assert findings(SG_POLICY, [alb_sg(), app_sg(), aliased]) == []


# --- default security group ----------------------------------------------------------------------


def default_sg(**changes: Any) -> ResourceRecord:
    record = resource(DEFAULT_SG, "default-sg", {"vpcId": UNKNOWN},
                      property_dependencies={"vpcId": [urn_of(VPC, "vpc")]})
    return mutate(record, **changes)


def test_default_security_group_without_rules_passes() -> None:
    assert findings(DEFAULT_SG_POLICY, [default_sg()]) == []
    assert findings(DEFAULT_SG_POLICY, [default_sg(ingress=[], egress=[])]) == []


@pytest.mark.parametrize("changes", [
    {"ingress": [{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "self": True}]},
    {"egress": [{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "cidrBlocks": ["0.0.0.0/0"]}]},
], ids=["ingress", "egress"])
def test_default_security_group_with_rules_is_caught(changes: dict[str, Any]) -> None:
    found = findings(DEFAULT_SG_POLICY, [default_sg(**changes)])
    assert len(found) == 1
    assert next(iter(changes)) in found[0].message


def test_default_security_group_with_unknown_rules_is_not_evaluable() -> None:
    record = default_sg(ingress=UNKNOWN)
    assert findings(DEFAULT_SG_POLICY, [record]) == []
    assert skipped(DEFAULT_SG_POLICY, [record])


# --- databases -----------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", [RDS_INSTANCE, RDS_CLUSTER_INSTANCE])
def test_database_public_access(type_: str) -> None:
    private = resource(type_, "erp-db", {"instanceClass": "db.r6g.xlarge", "publiclyAccessible": False})
    assert findings(RDS_POLICY, [private]) == []
    assert findings(RDS_POLICY, [mutate(private, publiclyAccessible=None)]) == []
    found = findings(RDS_POLICY, [mutate(private, publiclyAccessible=True)])
    assert [f.resource_name for f in found] == ["erp-db"]


def test_database_public_access_unknown_is_not_evaluable() -> None:
    record = resource(RDS_INSTANCE, "erp-db", {"publiclyAccessible": UNKNOWN})
    assert findings(RDS_POLICY, [record]) == []
    assert skipped(RDS_POLICY, [record])


# --- subnets -------------------------------------------------------------------------------------


def subnet(tier: str = "app", **changes: Any) -> ResourceRecord:
    record = resource(SUBNET, f"{tier}-0", {
        "vpcId": UNKNOWN, "cidrBlock": "10.20.16.0/20", "mapPublicIpOnLaunch": False,
        "tags": {"Name": f"erp-prod-{tier}-0", "Tier": tier},
    })
    return mutate(record, **changes)


@pytest.mark.parametrize("tier", ["ingress", "app", "data"])
def test_subnets_without_public_ips_pass(tier: str) -> None:
    assert findings(SUBNET_POLICY, [subnet(tier)]) == []
    assert findings(SUBNET_POLICY, [subnet(tier, mapPublicIpOnLaunch=None)]) == []


@pytest.mark.parametrize("tags", [
    {"Name": "erp-prod-app-0", "Tier": "app"},
    {"Name": "erp-prod-data-0", "Tier": "data"},
    {"Name": "erp-prod-untiered"},
], ids=["app", "data", "no-tier"])
def test_public_ips_outside_the_ingress_tier_are_caught(tags: dict[str, str]) -> None:
    found = findings(SUBNET_POLICY, [subnet(mapPublicIpOnLaunch=True, tags=tags)])
    assert len(found) == 1
    assert "mapPublicIpOnLaunch" in found[0].message


@pytest.mark.parametrize("tier", ["ingress", "public"])
def test_ingress_tier_may_map_public_ips(tier: str) -> None:
    assert findings(SUBNET_POLICY, [subnet(tier, mapPublicIpOnLaunch=True)]) == []


def test_unknown_public_ip_setting_is_not_evaluable() -> None:
    record = subnet(mapPublicIpOnLaunch=UNKNOWN)
    assert findings(SUBNET_POLICY, [record]) == []
    assert skipped(SUBNET_POLICY, [record])


# --- flow logs -----------------------------------------------------------------------------------


def vpc(name: str = "vpc", **changes: Any) -> ResourceRecord:
    return mutate(resource(VPC, name, {"cidrBlock": "10.20.0.0/16", "enableDnsSupport": True}), **changes)


def flow_log(vpc_name: str = "vpc", **changes: Any) -> ResourceRecord:
    record = resource(FLOW_LOG, f"{vpc_name}-flow-log", {
        "vpcId": UNKNOWN, "trafficType": "ALL", "logDestinationType": "s3", "logDestination": UNKNOWN,
    }, property_dependencies={"vpcId": [urn_of(VPC, vpc_name)]})
    return mutate(record, **changes)


def test_vpc_with_an_all_traffic_flow_log_passes_at_preview() -> None:
    assert findings(FLOW_LOG_POLICY, [vpc(), flow_log()]) == []


@pytest.mark.parametrize("traffic", ["REJECT", "ACCEPT"])
def test_partial_flow_log_is_caught(traffic: str) -> None:
    found = findings(FLOW_LOG_POLICY, [vpc(), flow_log(trafficType=traffic)])
    assert [f.resource_name for f in found] == ["vpc"]
    assert traffic in found[0].message


def test_vpc_without_flow_log_is_caught() -> None:
    found = findings(FLOW_LOG_POLICY, [vpc(), vpc("other"), flow_log("other")])
    assert [f.resource_name for f in found] == ["vpc"]
    assert "no flow log" in found[0].message


def test_flow_logs_link_by_known_vpc_id_like_a_state_export() -> None:
    exported = [vpc(id="vpc-0abc"), resource(FLOW_LOG, "vpc-flow-log", {"vpcId": "vpc-0abc", "trafficType": "ALL"})]
    assert findings(FLOW_LOG_POLICY, exported) == []
    elsewhere = [exported[0], mutate(exported[1], vpcId="vpc-0other")]
    assert [f.resource_name for f in findings(FLOW_LOG_POLICY, elsewhere)] == ["vpc"]


def test_unknown_traffic_type_is_not_a_violation() -> None:
    assert findings(FLOW_LOG_POLICY, [vpc(), flow_log(trafficType=UNKNOWN)]) == []


# --- load balancers: invalid headers -------------------------------------------------------------


@pytest.mark.parametrize("type_", [LB, ALB])
def test_application_load_balancer_drops_invalid_headers(type_: str) -> None:
    balancer = resource(type_, "web-alb", {"loadBalancerType": "application", "dropInvalidHeaderFields": True})
    assert findings(HEADERS_POLICY, [balancer]) == []
    for changes in ({"dropInvalidHeaderFields": False}, {"dropInvalidHeaderFields": None}):
        found = findings(HEADERS_POLICY, [mutate(balancer, **changes)])
        assert [f.resource_name for f in found] == ["web-alb"]


def test_load_balancer_type_defaults_to_application() -> None:
    balancer = resource(LB, "web-alb", {"dropInvalidHeaderFields": False})
    assert len(findings(HEADERS_POLICY, [balancer])) == 1


def test_network_load_balancers_have_no_http_headers_to_drop() -> None:
    balancer = resource(LB, "plant-nlb", {"loadBalancerType": "network", "internal": True})
    assert findings(HEADERS_POLICY, [balancer]) == []


# --- listeners -----------------------------------------------------------------------------------


FORWARD = {"type": "forward", "targetGroupArn": UNKNOWN}


def https_listener(type_: str = LISTENER, **changes: Any) -> ResourceRecord:
    record = resource(type_, "web-https", {
        "loadBalancerArn": UNKNOWN, "port": 443.0, "protocol": "HTTPS",
        "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "certificateArn": UNKNOWN,
        "defaultActions": [FORWARD],
    })
    return mutate(record, **changes)


def http_listener(type_: str = LISTENER, **changes: Any) -> ResourceRecord:
    record = resource(type_, "web-http", {
        "loadBalancerArn": UNKNOWN, "port": 80.0, "protocol": "HTTP",
        "defaultActions": [redirect()],
    })
    return mutate(record, **changes)


def redirect(protocol: str = "HTTPS") -> dict[str, Any]:
    return {"type": "redirect", "redirect": {"protocol": protocol, "port": "443", "statusCode": "HTTP_301"}}


@pytest.mark.parametrize("type_", [LISTENER, ALB_LISTENER])
def test_https_listener_and_redirecting_http_listener_pass(type_: str) -> None:
    assert findings(LISTENER_POLICY, [https_listener(type_), http_listener(type_)]) == []


@pytest.mark.parametrize("policy", [
    "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-FS-1-2-Res-2020-10", "ELBSecurityPolicy-TLS-1-2-2017-01",
])
def test_other_tls12_policies_pass(policy: str) -> None:
    assert findings(LISTENER_POLICY, [https_listener(sslPolicy=policy)]) == []
    assert findings(LISTENER_POLICY, [https_listener(protocol="TLS", sslPolicy=policy)]) == []


@pytest.mark.parametrize(("record", "expected"), [
    (https_listener(sslPolicy="ELBSecurityPolicy-2016-08"), "not an allowed TLS 1.2+ policy"),
    (https_listener(sslPolicy="ELBSecurityPolicy-TLS-1-1-2017-01"), "not an allowed TLS 1.2+ policy"),
    (https_listener(sslPolicy=None), "has no sslPolicy"),
    (https_listener(protocol="TLS", sslPolicy=None), "has no sslPolicy"),
    (http_listener(defaultActions=[FORWARD]), "does not redirect"),
    (http_listener(defaultActions=[redirect("HTTP")]), "does not redirect"),
    (http_listener(defaultActions=[redirect(), FORWARD]), "does not redirect"),
    (http_listener(defaultActions=[]), "does not redirect"),
    (http_listener(protocol=None, defaultActions=[FORWARD]), "does not redirect"),
    (https_listener(protocol="TCP", sslPolicy=None), "without TLS"),
], ids=["2016-08", "tls11", "https-no-policy", "tls-no-policy", "http-forward", "redirect-to-http", "mixed-actions",
        "no-actions", "default-protocol", "tcp"])
def test_weak_or_plaintext_listeners_are_caught(record: ResourceRecord, expected: str) -> None:
    found = findings(LISTENER_POLICY, [record])
    assert len(found) == 1
    assert expected in found[0].message


def test_allowed_policies_are_configurable() -> None:
    config = {LISTENER_POLICY: {"allowedSslPolicies": ["ELBSecurityPolicy-TLS13-1-3-2021-06"]}}
    assert len(findings(LISTENER_POLICY, [https_listener()], policy_config=config)) == 1
    assert findings(LISTENER_POLICY, [https_listener(sslPolicy="ELBSecurityPolicy-TLS13-1-3-2021-06")],
                    policy_config=config) == []


def test_unknown_ssl_policy_is_not_evaluable() -> None:
    record = https_listener(sslPolicy=UNKNOWN)
    assert findings(LISTENER_POLICY, [record]) == []
    assert skipped(LISTENER_POLICY, [record])


def test_non_production_stacks_get_the_same_network_rules() -> None:
    found = findings(SG_POLICY, [alb_sg(ingress(22)), app_sg(), alb()], default_tags=QA_TAGS)
    assert len(found) == 1
