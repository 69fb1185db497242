"""Generated documentation: the config reference and diagram in the README, and docs/policies.md.

The README keeps generated blocks between `<!-- generated:NAME -->` and
`<!-- end:NAME -->` markers; `python -m erpctl docs` rewrites them and tests fail
when a committed block differs from what the code generates.
"""

from __future__ import annotations

import re
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from components.config import StackConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
README = REPO_ROOT / "README.md"
POLICY_DOCS = REPO_ROOT / "docs" / "policies.md"


def config_reference(model: type[BaseModel] = StackConfig, namespace: str = "erp-platform") -> str:
    rows = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for path, annotation, default, description in _fields(model, prefix=""):
        rows.append(f"| `{namespace}:{path}` | {_type_name(annotation)} | {default} | {description} |")
    return "\n".join(rows)


def _fields(model: type[BaseModel], prefix: str) -> typing.Iterator[tuple[str, Any, str, str]]:
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}{key}"
        annotation = field.annotation
        default = _default_text(field)
        yield path, annotation, default, (field.description or _doc(annotation)).replace("|", "\\|")
        nested = _nested_model(annotation)
        if nested is not None:
            container = typing.get_origin(annotation)
            suffix = "[]." if container in (tuple, list) else ".<domain>." if container is dict else "."
            yield from _fields(nested, prefix=path + suffix)


def _default_text(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return "see nested keys"
    default = field.default
    if default is PydanticUndefined:
        return "required"
    if default is None:
        return "unset"
    if isinstance(default, Enum):
        return f"`{default.value}`"
    if default == ():
        return "none"
    return f"`{default}`"


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (tuple, list):
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(f"`{member.value}`" for member in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return {str: "string", int: "integer", bool: "boolean"}.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _doc(annotation: Any) -> str:
    model = _nested_model(annotation)
    return (model.__doc__ or "").strip().splitlines()[0] if model is not None and model.__doc__ else ""


def replace_block(text: str, name: str, content: str) -> str:
    pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- end:{name} -->)", re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README.md has no <!-- generated:{name} --> ... <!-- end:{name} --> block")
    return pattern.sub(lambda match: match.group(1) + content + "\n" + match.group(2), text)


def readme_blocks(mermaid: str) -> dict[str, str]:
    return {
        "architecture": f"```mermaid\n{mermaid}\n```",
        "config-reference": config_reference(),
    }
