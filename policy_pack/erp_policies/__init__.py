"""The ERP platform's policies, importable without constructing a PolicyPack.

`registry.POLICIES` is the one list; `policy_pack/__main__.py` turns it into the
CrossGuard pack and `erpctl check` evaluates the very same objects offline.
"""
