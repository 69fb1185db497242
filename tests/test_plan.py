"""The offline plan views: what `make plan` prints is computed from the registered resources."""

from __future__ import annotations

import json

from conftest import PROJECT, Plan

from erpctl.cli import main
from erpctl.model import STACK_TYPE


def test_json_plan_records_the_whole_register_request(capsys) -> None:
    assert main(["plan", "--stack", "prod", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["stack"] == "prod"
    keys = {"urn", "type", "name", "custom", "parent", "protect", "provider", "inputs", "dependencies",
            "propertyDependencies"}
    assert all(set(resource) == keys for resource in plan["resources"])
    by_type = {}
    for resource in plan["resources"]:
        by_type.setdefault(resource["type"], []).append(resource)
    (trail,) = by_type["aws:cloudtrail/trail:Trail"]
    assert trail["protect"] is True
    assert trail["provider"].startswith(f"urn:pulumi:prod::{PROJECT.name}::pulumi:providers:aws::aws-primary::")
    assert trail["parent"].endswith("erp:log_archive:LogArchive::log-archive")
    assert trail["inputs"]["isMultiRegionTrail"] is True  # camelCase provider-schema names
    assert trail["propertyDependencies"]["kmsKeyId"]
    assert plan["outputs"]["environment"] == "prod"


def test_text_plan_counts_by_component_and_type(capsys, prod_plan: Plan) -> None:
    assert main(["plan", "--stack", "prod"]) == 0
    text = capsys.readouterr().out
    custom = [r for r in prod_plan.resources if r.custom and not r.is_provider]
    assert f"({len(custom)} AWS, 3 components, 1 providers)" in text
    assert "network (erp:network:SegmentedNetwork)" in text
    subnets = sum(r.type == "aws:ec2/subnet:Subnet" for r in custom)
    assert any(line.split() == ["aws:ec2/subnet:Subnet", str(subnets)] for line in text.splitlines())
    assert "Stack outputs:" in text and "vpcId" in text
    tree = text[text.index("Component tree:"):text.index("Stack outputs:")].splitlines()
    assert "  ├─ keys (erp:keys:KeyRing)" in tree
    assert tree[tree.index("  ├─ keys (erp:keys:KeyRing)") + 1].split() == ["│", "6", "Alias,", "6", "Key"]


def test_mermaid_plan_reflects_the_stack(capsys) -> None:
    assert main(["plan", "--stack", "qa", "--format", "mermaid"]) == 0
    diagram = capsys.readouterr().out
    assert diagram.startswith("flowchart LR")
    assert 'Ingress tier: 2 public subnets' in diagram and 'Data tier: 2 isolated subnets' in diagram
    assert "NAT gateways: 1" in diagram and "Plants: 0 site-to-site VPN" in diagram
    assert "GOVERNANCE 30 days" in diagram


def test_every_resource_hangs_under_the_stack(prod_plan: Plan) -> None:
    (stack,) = [r for r in prod_plan.resources if r.type == STACK_TYPE]
    orphans = [r.urn for r in prod_plan.resources if r is not stack and r.parent not in prod_plan.urns]
    assert orphans == []
    components = [r for r in prod_plan.resources if not r.custom and r is not stack]
    assert {c.type for c in components} == {"erp:keys:KeyRing", "erp:log_archive:LogArchive",
                                            "erp:network:SegmentedNetwork"}
    assert all(c.parent == stack.urn for c in components)
