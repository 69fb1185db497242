"""Reading the Pulumi project and stack files the way the Pulumi CLI hands them to a program."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


class InputError(Exception):
    """An input file is missing, unreadable or not in the expected format (exit code 2)."""


@dataclass(frozen=True)
class Project:
    root: Path
    name: str

    @classmethod
    def load(cls, root: Path = REPO_ROOT) -> Project:
        document = _read_yaml(root / "Pulumi.yaml")
        if not isinstance(document, dict) or "name" not in document:
            raise InputError(f"{root / 'Pulumi.yaml'}: not a Pulumi project file (no 'name')")
        return cls(root=root, name=str(document["name"]))

    def stack_file(self, stack: str) -> Path:
        return self.root / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        return sorted(path.name[len("Pulumi."):-len(".yaml")] for path in self.root.glob("Pulumi.*.yaml"))

    def raw_config(self, stack: str) -> dict[str, str]:
        """The stack's config as the engine passes it to a program: `ns:key` -> string.

        Objects and arrays become JSON text and scalars their YAML text, exactly as
        Pulumi does for structured stack configuration.
        """
        path = self.stack_file(stack)
        if not path.exists():
            known = ", ".join(self.stacks()) or "none"
            raise InputError(f"no stack file {path.name} in {self.root} (stacks here: {known})")
        document = _read_yaml(path) or {}
        if not isinstance(document, dict):
            raise InputError(f"{path}: expected a mapping with a 'config' key")
        config = document.get("config") or {}
        if not isinstance(config, dict):
            raise InputError(f"{path}: 'config' must be a mapping of keys to values")
        return {str(key): encode_config_value(value) for key, value in config.items()}


def encode_config_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read YAML: {exc}") from None
