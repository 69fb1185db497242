"""The one list of policies. Add a policy to its area module's POLICIES; nothing else."""

from __future__ import annotations

from . import tagging
from .framework import PolicyDefinition
from .hygiene import WAIVER_HYGIENE, waiver_hygiene

POLICIES: list[PolicyDefinition] = [
    *tagging.POLICIES,
]

__all__ = ["POLICIES", "WAIVER_HYGIENE", "waiver_hygiene"]
