"""Generated documentation stays true: README blocks and the config reference match the code."""

from __future__ import annotations

import json
import re

from conftest import PROJECT

from erpctl import docs, plan_views
from erpctl.evaluator import enforcement_levels
from erpctl.readers.mocks import run_program
from policy_pack.erp_policies.registry import POLICIES


def _block(name: str) -> str:
    match = re.search(rf"<!-- generated:{name} -->\n(.*?)\n<!-- end:{name} -->", docs.README.read_text(), re.DOTALL)
    assert match, f"README.md lost its generated {name} block"
    return match.group(1)


def test_readme_blocks_are_current() -> None:
    expected = docs.readme_blocks(plan_views.render_mermaid(run_program(PROJECT, "prod")))
    for name, content in expected.items():
        assert _block(name) == content, f"README.md's {name} block is stale: run `make docs`"


def test_config_reference_lists_every_key_with_its_namespace() -> None:
    reference = docs.config_reference()
    for key in ("environment", "network.vpcCidr", "network.natStrategy", "plants[].bgpAsn",
                "processDomains.<domain>.rpoMinutes", "logArchive.objectLockMode"):
        assert f"`erp-platform:{key}`" in reference


def test_readme_states_the_two_commands() -> None:
    text = docs.README.read_text()
    assert "make plan STACK=prod" in text and "make test" in text


def test_readme_policy_config_example_is_accepted() -> None:
    text = docs.README.read_text()
    example = re.search(r"```json\n(.*?)\n```", text, re.DOTALL)
    assert example, "README.md lost its policy config example"
    levels = enforcement_levels(POLICIES, json.loads(example.group(1)))  # raises on unknown policies or settings
    assert levels["erp-aws-resource-required-tags"].value == "advisory"
