"""Every registered policy has its own tests (a baseline and a failing case) in a test_policies_* file."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_pack.erp_policies.registry import POLICIES

POLICY_TESTS = "".join(path.read_text() for path in Path(__file__).parent.glob("test_policies_*.py"))


@pytest.mark.parametrize("name", [definition.name for definition in POLICIES])
def test_policy_is_exercised_by_a_policy_test(name: str) -> None:
    assert f'"{name}"' in POLICY_TESTS, f"{name} has no baseline-and-mutation test in tests/test_policies_*.py"
