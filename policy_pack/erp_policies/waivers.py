"""Waivers: version-controlled exceptions with a reason, an approver and an end date.

A waived finding is still reported (marked waived, with its reason). A waiver that
has expired no longer waives anything and is itself a finding, and so is a waiver
that matches nothing, because a stale exception would silently cover a future
violation. The CLI pack and the offline check share this module, so a waiver
means the same in both.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MIN_REASON_LENGTH = 20
WAIVER_FIELDS = ("policy", "resource", "reason", "approved_by", "expires")


class WaiverFileError(ValueError):
    """The waiver file is unreadable or an entry is incomplete."""


@dataclass(frozen=True)
class Waiver:
    policy: str
    resource: str  # a URN, or a glob over URNs or resource names
    reason: str
    approved_by: str
    expires: dt.date

    def matches(self, policy: str, urn: str | None) -> bool:
        if policy != self.policy or not urn:
            return False
        name = urn.rsplit("::", 1)[-1]
        return urn == self.resource or fnmatch.fnmatchcase(urn, self.resource) or fnmatch.fnmatchcase(name, self.resource)

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def describe(self) -> str:
        return f"{self.reason} (approved by {self.approved_by}, expires {self.expires.isoformat()})"


def parse_waivers(document: Any, source: str) -> list[Waiver]:
    """Validates the file's `waivers:` list; every problem names the entry and the field."""
    if document is None:
        return []
    entries = document.get("waivers") if isinstance(document, dict) else None
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise WaiverFileError(f"{source}: 'waivers' must be a list")
    problems: list[str] = []
    waivers: list[Waiver] = []
    for index, entry in enumerate(entries):
        where = f"{source}: waivers[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping with {', '.join(WAIVER_FIELDS)}")
            continue
        missing = [key for key in WAIVER_FIELDS if not entry.get(key)]
        unknown = sorted(set(entry) - set(WAIVER_FIELDS))
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        if unknown:
            problems.append(f"{where}: unknown keys {', '.join(unknown)}")
        if missing or unknown:
            continue
        reason = str(entry["reason"]).strip()
        if len(reason) < MIN_REASON_LENGTH:
            problems.append(f"{where}.reason: at least {MIN_REASON_LENGTH} characters of justification, got {len(reason)}")
            continue
        expires = entry["expires"]
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                problems.append(f"{where}.expires: {expires!r} is not a date (YYYY-MM-DD)")
                continue
        if not isinstance(expires, dt.date):
            problems.append(f"{where}.expires: expected a date (YYYY-MM-DD)")
            continue
        waivers.append(
            Waiver(
                policy=str(entry["policy"]),
                resource=str(entry["resource"]),
                reason=reason,
                approved_by=str(entry["approved_by"]),
                expires=expires,
            )
        )
    if problems:
        raise WaiverFileError("\n".join(problems))
    return waivers


def load_waivers(path: Path) -> list[Waiver]:
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, yaml.YAMLError) as exc:
        raise WaiverFileError(f"{path}: cannot read waivers: {exc}") from None
    return parse_waivers(document, str(path))


@dataclass(frozen=True)
class WaivedViolation:
    policy: str
    urn: str | None
    message: str
    waiver: Waiver


@dataclass
class WaiverLedger:
    """Decides, per violation, whether a waiver covers it, and remembers what it did."""

    waivers: list[Waiver]
    today: dt.date
    waived: list[WaivedViolation] = field(default_factory=list)
    _matched: set[int] = field(default_factory=set)

    def divert(self, policy: str, urn: str | None, message: str) -> bool:
        """True when an active waiver covers the violation (it is then recorded, not raised)."""
        for index, waiver in enumerate(self.waivers):
            if waiver.matches(policy, urn):
                self._matched.add(index)
                if not waiver.expired(self.today):
                    self.waived.append(WaivedViolation(policy, urn, message, waiver))
                    return True
        return False

    def problems(self) -> Iterable[tuple[Waiver, str]]:
        """Expired waivers and waivers that matched no violation, with the reason each is a finding."""
        for index, waiver in enumerate(self.waivers):
            if waiver.expired(self.today):
                yield waiver, (
                    f"waiver for {waiver.policy} on {waiver.resource} expired on {waiver.expires.isoformat()}; "
                    "fix the resource or renew the waiver with a new approval"
                )
            elif index not in self._matched:
                yield waiver, (
                    f"waiver for {waiver.policy} on {waiver.resource} matches no violation; remove it so it "
                    "cannot silently cover a future one"
                )
