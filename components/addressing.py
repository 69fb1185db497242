"""Pure address planning: from tier sizing to one CIDR per tier and availability zone.

Kept free of Pulumi so the config model can reject a layout that does not fit the
VPC before any resource is registered, and so the rules are testable with a table.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum


class Tier(StrEnum):
    """Network tiers, ordered from the internet inwards."""

    INGRESS = "ingress"
    APP = "app"
    DATA = "data"


class AddressPlanError(ValueError):
    """The requested subnets cannot be carved out of the VPC range."""


@dataclass(frozen=True)
class SubnetLayout:
    """Subnet CIDRs per tier, one per availability zone, in AZ order."""

    vpc_cidr: str
    subnets: dict[Tier, tuple[str, ...]]

    def tier(self, tier: Tier) -> tuple[str, ...]:
        return self.subnets[tier]


def plan_subnets(vpc_cidr: str, az_count: int, prefixes: dict[Tier, int]) -> SubnetLayout:
    """Allocates `az_count` subnets per tier inside `vpc_cidr`.

    Larger subnets are placed first so that every block stays aligned on its own
    size and no address space is lost to padding; the result is deterministic,
    which keeps subnet CIDRs stable across plans.
    """
    vpc = ipaddress.ip_network(vpc_cidr)
    for tier, prefix in prefixes.items():
        if prefix < vpc.prefixlen:
            raise AddressPlanError(
                f"the {tier} tier asks for /{prefix} subnets, larger than the VPC range {vpc}"
            )
        if prefix > 28:
            raise AddressPlanError(f"the {tier} tier asks for /{prefix} subnets; AWS allows /16 to /28")

    needed = sum(az_count * 2 ** (32 - prefix) for prefix in prefixes.values())
    if needed > vpc.num_addresses:
        demand = ", ".join(f"{tier} {az_count} x /{prefix}" for tier, prefix in prefixes.items())
        raise AddressPlanError(
            f"the tiers need {needed} addresses ({demand}) but the VPC range {vpc} has {vpc.num_addresses}"
        )

    cursor = int(vpc.network_address)
    allocated: dict[Tier, list[str]] = {tier: [] for tier in prefixes}
    # Descending prefix size keeps each block aligned without gaps (buddy allocation).
    for tier, prefix in sorted(prefixes.items(), key=lambda item: item[1]):
        size = 2 ** (32 - prefix)
        for _ in range(az_count):
            allocated[tier].append(str(ipaddress.ip_network((cursor, prefix))))
            cursor += size
    return SubnetLayout(
        vpc_cidr=str(vpc),
        subnets={tier: tuple(allocated[tier]) for tier in Tier if tier in allocated},
    )
