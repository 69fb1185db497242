"""Which AWS resource types take tags, decided by the provider SDK itself.

A hand-written list goes stale with every provider release; the installed
pulumi-aws SDK knows, for each type token, the resource class and whether its
constructor accepts `tags`. Lookups are cached, and only the modules of types
actually seen are imported.
"""

from __future__ import annotations

import functools
import importlib
import inspect

import pulumi.runtime
import pulumi_aws  # noqa: F401  (importing it registers its type tokens with the runtime)


@functools.cache
def is_taggable(type_token: str) -> bool:
    package, _, rest = type_token.partition(":")
    module_path, _, _ = rest.partition(":")
    if package != "aws" or not module_path:
        return False
    module = pulumi.runtime.rpc.get_resource_module(package, module_path, "")
    mod_info = getattr(module, "mod_info", None) or {}
    class_name = mod_info.get("classes", {}).get(type_token)
    if class_name is None:
        return False
    resource_class = getattr(importlib.import_module(mod_info["fqn"]), class_name)
    return "tags" in inspect.signature(resource_class._internal_init).parameters
