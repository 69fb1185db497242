"""The one list of policies. Add a policy to its area module's POLICIES; nothing else."""

from __future__ import annotations

from . import backup, encryption, identity, keys, logging_audit, network, residency, secrets, tagging
from .framework import PolicyDefinition
from .hygiene import WAIVER_HYGIENE, waiver_hygiene

POLICIES: list[PolicyDefinition] = [
    *tagging.POLICIES,
    *residency.POLICIES,
    *encryption.POLICIES,
    *keys.POLICIES,
    *backup.POLICIES,
    *identity.POLICIES,
    *secrets.POLICIES,
    *network.POLICIES,
    *logging_audit.POLICIES,
]

__all__ = ["POLICIES", "WAIVER_HYGIENE", "waiver_hygiene"]
