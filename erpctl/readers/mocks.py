"""Runs the Pulumi program in-process under Pulumi's mocks and records what it registers.

This is the repository's one way of running the program offline: `erpctl plan`,
`erpctl check --stack` and the tests all call `run_program`. No Pulumi CLI, no
provider plugin, no credentials and no network are involved.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import sys
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from google.protobuf import json_format
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from erpctl.model import SECRET_SIG, SECRET_SIG_KEY, STACK_TYPE, ResourceRecord, StackSnapshot
from erpctl.project import Project

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
DEFAULT_REGION = "us-east-1"

# Resource types whose physical id has a recognisable AWS prefix.
_ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:ec2/networkAcl:NetworkAcl": "acl",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/customerGateway:CustomerGateway": "cgw",
    "aws:ec2/vpnGateway:VpnGateway": "vgw",
    "aws:ec2/vpnConnection:VpnConnection": "vpn",
    "aws:ec2/transitGateway:TransitGateway": "tgw",
    "aws:ec2/flowLog:FlowLog": "fl",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
}


class ProgramError(Exception):
    """The program raised; `registered` is what it had registered by then."""

    def __init__(self, message: str, registered: list[ResourceRecord]) -> None:
        super().__init__(message)
        self.registered = registered


class PlatformMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes with realistic, deterministic values."""

    def __init__(self, default_region: str) -> None:
        self.default_region = default_region
        self.provider_regions: dict[str, str] = {}
        self.provider_default_tags: dict[str, dict[str, str]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        resource_id = _physical_id(args.typ, args.name)
        if args.typ.startswith("pulumi:providers:"):
            self.provider_regions[resource_id] = str(inputs.get("region") or self.default_region)
            default_tags = inputs.get("defaultTags")
            if isinstance(default_tags, str):
                default_tags = json.loads(default_tags)
            self.provider_default_tags[resource_id] = dict((default_tags or {}).get("tags") or {})
            return resource_id, inputs
        region = str(inputs.get("region") or self._region_of(args.provider))
        physical_name = _physical_name(args.typ, args.name, inputs)
        state = {**inputs, "id": resource_id, "region": region}
        state.setdefault("arn", _arn(args.typ, region, physical_name, resource_id))
        if args.typ == "aws:s3/bucket:Bucket":
            state["bucket"] = physical_name
            state["bucketDomainName"] = f"{physical_name}.s3.amazonaws.com"
            state["bucketRegionalDomainName"] = f"{physical_name}.s3.{region}.amazonaws.com"
        else:
            state.setdefault("name", physical_name)
        if args.typ == "aws:sqs/queue:Queue":
            state["url"] = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{physical_name}"
        if args.typ == "aws:kms/key:Key":
            state["keyId"] = resource_id
        if args.typ == "aws:ec2/vpc:Vpc":
            # AWS creates these with every VPC; programs adopt them as Default* resources.
            state["defaultNetworkAclId"] = _physical_id("aws:ec2/networkAcl:NetworkAcl", f"{args.name}-default")
            state["defaultSecurityGroupId"] = _physical_id("aws:ec2/securityGroup:SecurityGroup", f"{args.name}-default")
            state["defaultRouteTableId"] = _physical_id("aws:ec2/routeTable:RouteTable", f"{args.name}-default")
        if "tags" in inputs:
            # The provider merges its default tags under the resource's own.
            state["tagsAll"] = {**self._default_tags_of(args.provider), **_plain(inputs.get("tags") or {})}
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:  # type: ignore[override]  # a dict means no failures
        region = self._region_of(args.provider)
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            letters = "abcdef"
            return {
                "names": [f"{region}{letter}" for letter in letters],
                "zoneIds": [f"{region[:3]}{region.split('-')[1][:2]}{region[-1]}-az{n}" for n in range(1, 7)],
                "id": region,
                "groupNames": [region],
            }
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:{PARTITION}:sts::{ACCOUNT_ID}:assumed-role/platform-deployer/offline-plan",
                "userId": "AROAOFFLINEPLAN:offline-plan",
                "id": ACCOUNT_ID,
            }
        if token == "aws:index/getPartition:getPartition":
            return {
                "partition": PARTITION,
                "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
                "id": PARTITION,
            }
        if token == "aws:index/getRegion:getRegion":
            return {
                "name": region,
                "region": region,
                "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region,
                "id": region,
            }
        raise NotImplementedError(
            f"offline plan: no mock answer for invoke {token}; add one to erpctl/readers/mocks.py"
        )

    def _region_of(self, provider_ref: str | None) -> str:
        provider_id = (provider_ref or "").rpartition("::")[2]
        return self.provider_regions.get(provider_id, self.default_region)

    def _default_tags_of(self, provider_ref: str | None) -> dict[str, str]:
        return self.provider_default_tags.get((provider_ref or "").rpartition("::")[2], {})


class RecordingMonitor(MockMonitor):
    """Keeps the whole RegisterResource request, which `MockResourceArgs` does not carry."""

    def __init__(self, mocks: PlatformMocks) -> None:
        super().__init__(mocks)
        self.records: list[ResourceRecord] = []
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine does: the qualified type chains every ancestor's type except
        # the root stack's, so URNs (and the waivers that name them) match a real preview.
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != STACK_TYPE:
                qualified = f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), qualified, name])

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        record = ResourceRecord(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            protect=bool(request.protect) if request.HasField("protect") else False,
            provider=request.provider or None,
            inputs=json_format.MessageToDict(request.object),
            dependencies=tuple(request.dependencies),
            property_dependencies={
                key: tuple(value.urns) for key, value in request.propertyDependencies.items()
            },
        )
        with self._lock:
            self.records.append(record)
        return response


def run_program(
    project: Project,
    stack: str,
    raw_config: Mapping[str, str] | None = None,
    program: Path | None = None,
) -> StackSnapshot:
    """Runs the program (default: the project's `__main__.py`) for `stack` and returns what it registered.

    `raw_config` overrides the stack file, in the engine's `ns:key` -> string form;
    tests use it to try configurations without writing files.
    """
    config = dict(project.raw_config(stack) if raw_config is None else raw_config)
    region = config.get(f"{project.name}:region") or config.get("aws:region") or DEFAULT_REGION
    mocks = PlatformMocks(default_region=region)
    monitor = RecordingMonitor(mocks)

    runtime_settings.reset_options(project=project.name, stack=stack, preview=False)
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()
    pulumi.runtime.set_all_config(config, secret_keys=[])
    pulumi.runtime.set_mocks(mocks, project=project.name, stack=stack, preview=False, monitor=monitor)

    entry = program or project.root / "__main__.py"
    if str(project.root) not in sys.path:
        sys.path.insert(0, str(project.root))
    with warnings.catch_warnings():
        # pulumi-aws marks parts of aws.s3 deprecated at import; that is not our signal.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            _sync_await(run_pulumi_func(lambda: _run_script(entry)))
        except Exception as exc:
            raise ProgramError(str(exc), list(monitor.records)) from exc
        outputs = _resolve_outputs()

    records = sorted(monitor.records, key=lambda record: (record.type != STACK_TYPE, record.urn))
    return StackSnapshot(stack=stack, resources=tuple(records), outputs=outputs, source="mocks")


def _run_script(entry: Path) -> None:
    runpy.run_path(str(entry), run_name="__main__")


def _resolve_outputs() -> dict[str, Any]:
    root = runtime_settings.get_root_resource()
    exported = getattr(root, "outputs", {}) or {}
    resolved: dict[str, Any] = {}
    for key, value in exported.items():
        output = pulumi.Output.from_input(value)
        plain = _sync_await(output.future())
        secret = _sync_await(output.is_secret())
        resolved[key] = {SECRET_SIG_KEY: SECRET_SIG, "value": plain} if secret else plain
    return resolved


def _physical_id(type_: str, name: str) -> str:
    digest = hashlib.sha256(f"{type_}::{name}".encode()).hexdigest()
    prefix = _ID_PREFIXES.get(type_)
    if prefix:
        return f"{prefix}-{digest[:17]}"
    if type_ == "aws:kms/key:Key":
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return f"{name}-{digest[:7]}"


def _physical_name(type_: str, name: str, inputs: Mapping[str, Any]) -> str:
    for key in ("bucket", "name"):
        value = inputs.get(key)
        if isinstance(value, str) and value:
            return value
    prefix = inputs.get("bucketPrefix") or inputs.get("namePrefix")
    digest = hashlib.sha256(f"{type_}::{name}".encode()).hexdigest()[:7]
    return f"{prefix or name + '-'}{digest}"


def _arn(type_: str, region: str, physical_name: str, resource_id: str) -> str:
    module, _, kind = type_.partition(":")[2].partition("/")
    service = module
    kind = kind.split(":")[0]
    if type_ == "aws:s3/bucket:Bucket":
        return f"arn:{PARTITION}:s3:::{physical_name}"
    if service == "iam":
        return f"arn:{PARTITION}:iam::{ACCOUNT_ID}:{kind.lower()}/{physical_name}"
    if type_ == "aws:kms/key:Key":
        return f"arn:{PARTITION}:kms:{region}:{ACCOUNT_ID}:key/{resource_id}"
    if type_ == "aws:kms/alias:Alias":
        return f"arn:{PARTITION}:kms:{region}:{ACCOUNT_ID}:{physical_name}"
    if type_ == "aws:cloudwatch/logGroup:LogGroup":
        return f"arn:{PARTITION}:logs:{region}:{ACCOUNT_ID}:log-group:{physical_name}"
    if service in ("sns", "sqs"):
        return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT_ID}:{physical_name}"
    if service == "cloudtrail":
        return f"arn:{PARTITION}:cloudtrail:{region}:{ACCOUNT_ID}:trail/{physical_name}"
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT_ID}:{_kebab(kind)}/{resource_id}"


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping) and value.get(SECRET_SIG_KEY) == SECRET_SIG:
        return _plain(value.get("value"))
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value
