"""Readers for what the Pulumi CLI writes: `pulumi preview --json` and `pulumi stack export`.

Both become the same StackSnapshot the mocks reader produces. Inputs are kept in
the engine's form; secrets that the file cannot reveal (ciphertext, "[secret]")
stay opaque strings, and preview unknowns stay pulumi's sentinel strings, so the
evaluator treats them exactly as `pulumi preview` does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from erpctl.model import SECRET_PLACEHOLDER, SECRET_SIG, SECRET_SIG_KEY, ResourceRecord, StackSnapshot
from erpctl.project import InputError


def read_preview(path: Path) -> StackSnapshot:
    document = _load(path)
    steps = document.get("steps") if isinstance(document, Mapping) else None
    if not isinstance(steps, list):
        raise InputError(f"{path}: not `pulumi preview --json` output (no 'steps' list)")
    states = [step["newState"] for step in steps if isinstance(step, Mapping) and isinstance(step.get("newState"), Mapping)]
    return _snapshot(path, states, "preview-json")


def read_state(path: Path) -> StackSnapshot:
    document = _load(path)
    deployment = document.get("deployment") if isinstance(document, Mapping) else None
    resources = deployment.get("resources") if isinstance(deployment, Mapping) else None
    if not isinstance(resources, list):
        raise InputError(f"{path}: not a `pulumi stack export` file (no 'deployment.resources' list)")
    return _snapshot(path, resources, "stack-export")


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None


def _snapshot(path: Path, states: list[Any], source: str) -> StackSnapshot:
    records = []
    for index, state in enumerate(states):
        if not isinstance(state, Mapping) or not isinstance(state.get("urn"), str) or not isinstance(state.get("type"), str):
            raise InputError(f"{path}: resource #{index} has no urn or type")
        records.append(_record(state))
    stack = records[0].urn.split("::")[0].removeprefix("urn:pulumi:") if records else ""
    return StackSnapshot(stack=stack, resources=tuple(records), source=source)


def _record(state: Mapping[str, Any]) -> ResourceRecord:
    urn = state["urn"]
    property_dependencies = state.get("propertyDependencies") or {}
    return ResourceRecord(
        urn=urn,
        type=state["type"],
        name=urn.rsplit("::", 1)[-1],
        custom=bool(state.get("custom", False)),
        parent=state.get("parent") or None,
        protect=bool(state.get("protect", False)),
        provider=state.get("provider") or None,
        inputs=_reveal(state.get("inputs") or {}),
        dependencies=tuple(state.get("dependencies") or ()),
        property_dependencies={key: tuple(urns or ()) for key, urns in property_dependencies.items()},
    )


def _reveal(value: Any) -> Any:
    """Secret envelopes become what a policy can see: the plaintext if exported, else `[secret]`."""
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            if "plaintext" in value:
                return {SECRET_SIG_KEY: SECRET_SIG, "value": _reveal(json.loads(value["plaintext"]))}
            if "value" in value:
                return {SECRET_SIG_KEY: SECRET_SIG, "value": _reveal(value["value"])}
            return SECRET_PLACEHOLDER
        return {key: _reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_reveal(item) for item in value]
    return value
