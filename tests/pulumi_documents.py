"""Builds the documents the Pulumi CLI writes, from a snapshot, for tests and benchmarks.

`preview_document` imitates `pulumi preview --json` for a first deployment: every
input that depends on another resource is unknown (ids and ARNs do not exist yet),
secrets print as "[secret]". `export_document` imitates `pulumi stack export`:
secrets are ciphertext the reader cannot open.
"""

from __future__ import annotations

from typing import Any

from erpctl.model import SECRET_SIG, SECRET_SIG_KEY, StackSnapshot, is_secret, redact_secrets

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def preview_document(snapshot: StackSnapshot) -> dict[str, Any]:
    steps = []
    for record in snapshot.resources:
        inputs = {
            key: UNKNOWN if record.property_dependencies.get(key) else redact_secrets(value)
            for key, value in record.inputs.items()
        }
        state = {**record.to_json(), "inputs": inputs, "outputs": {}}
        del state["name"]
        steps.append({"op": "create", "urn": record.urn, "provider": record.provider or "", "newState": state})
    return {"config": {}, "steps": steps, "diagnostics": [], "changeSummary": {"create": len(steps)}}


def export_document(snapshot: StackSnapshot) -> dict[str, Any]:
    resources = []
    for record in snapshot.resources:
        state = {**record.to_json(), "inputs": _encrypt(dict(record.inputs)), "outputs": {}, "id": record.name}
        del state["name"]
        resources.append(state)
    return {"version": 3, "deployment": {"manifest": {"version": "3.272.0"}, "resources": resources}}


def _encrypt(value: Any) -> Any:
    if is_secret(value):
        return {SECRET_SIG_KEY: SECRET_SIG, "ciphertext": "v1:AAAAAAAAAAAAAAAA:opaque"}
    if isinstance(value, dict):
        return {key: _encrypt(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encrypt(item) for item in value]
    return value
