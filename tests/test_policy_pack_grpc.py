"""The CrossGuard pack as the Pulumi CLI runs it: a process speaking the analyzer gRPC protocol.

The pack's `__main__.py` is started exactly as the CLI starts it (it prints its port
and serves), then fed the engine's Analyze and AnalyzeStack requests for a weakened
prod stack. Its verdicts must equal the offline evaluator's, which is the promise
that `erpctl check` and `pulumi preview --policy-pack` cannot disagree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator

import grpc
import pytest
from conftest import PROJECT
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_documents import preview_document

from erpctl.evaluator import evaluate
from erpctl.model import ResourceRecord, StackSnapshot
from erpctl.readers.mocks import run_program
from erpctl.readers.pulumi_json import read_preview
from policy_pack.erp_policies.registry import POLICIES, WAIVER_HYGIENE


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    process = subprocess.Popen(
        [sys.executable, "__main__.py"], cwd=PROJECT.root / "policy_pack",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = process.stdout.readline().strip() if process.stdout else ""
        assert port.isdigit(), f"the pack did not start: {process.stderr.read() if process.stderr else ''}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def weakened_prod() -> StackSnapshot:
    snapshot = run_program(PROJECT, "prod")
    weakening = {
        "aws:kms/key:Key": {"enableKeyRotation": False},
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {"restrictPublicBuckets": False},
        "aws:ec2/subnet:Subnet": {"mapPublicIpOnLaunch": True},
    }
    resources = tuple(
        ResourceRecord(**{**r.__dict__, "inputs": {**r.inputs, **weakening.get(r.type, {})}}) for r in snapshot.resources
    )
    return StackSnapshot(snapshot.stack, resources, snapshot.outputs, snapshot.source)


def _struct(value: dict) -> struct_pb2.Struct:
    return json_format.ParseDict(value, struct_pb2.Struct())


def _options(record: ResourceRecord) -> proto.AnalyzerResourceOptions:
    return proto.AnalyzerResourceOptions(protect=record.protect, parent=record.parent or "")


def _provider(snapshot: StackSnapshot, record: ResourceRecord) -> proto.AnalyzerProviderResource | None:
    provider = snapshot.by_urn().get(record.provider_urn or "")
    if provider is None:
        return None
    return proto.AnalyzerProviderResource(
        type=provider.type, properties=_struct(dict(provider.inputs)), urn=provider.urn, name=provider.name
    )


def _verdicts(analyzer: analyzer_pb2_grpc.AnalyzerStub, snapshot: StackSnapshot) -> set[tuple[str, str, int]]:
    diagnostics = []
    for record in snapshot.resources:
        response = analyzer.Analyze(proto.AnalyzeRequest(
            type=record.type, properties=_struct(dict(record.inputs)), urn=record.urn, name=record.name,
            options=_options(record), provider=_provider(snapshot, record),
        ))
        diagnostics += response.diagnostics
    stack = analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=[
        proto.AnalyzerResource(
            type=record.type, properties=_struct(dict(record.inputs)), urn=record.urn, name=record.name,
            options=_options(record), provider=_provider(snapshot, record), parent=record.parent or "",
            dependencies=list(record.dependencies),
            propertyDependencies={
                key: proto.AnalyzerPropertyDependencies(urns=list(urns))
                for key, urns in record.property_dependencies.items()
            },
        )
        for record in snapshot.resources
    ]))
    diagnostics += stack.diagnostics
    return {(d.policyName, d.urn, d.enforcementLevel) for d in diagnostics}


def test_the_pack_announces_every_registered_policy_with_its_metadata(analyzer) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    announced = {policy.name: policy for policy in info.policies}
    assert set(announced) == {d.name for d in POLICIES} | {WAIVER_HYGIENE.name}
    for definition in POLICIES:
        policy = announced[definition.name]
        assert policy.remediation_steps == definition.remediation_steps
        assert policy.framework.reference == definition.references.framework().reference
        assert f"area:{definition.area}" in policy.tags


def test_the_cli_pack_and_the_offline_check_reach_the_same_verdicts(analyzer, weakened_prod) -> None:
    level = {"mandatory": proto.MANDATORY, "advisory": proto.ADVISORY}
    offline = {(f.policy, f.urn or "", level[f.enforcement_level]) for f in evaluate(weakened_prod).findings}
    cli = _verdicts(analyzer, weakened_prod)
    assert {policy for policy, _, _ in offline} >= {
        "erp-kms-key-rotation-enabled", "erp-s3-bucket-public-access-blocked", "erp-ec2-subnet-no-public-ip-on-launch",
    }
    assert cli == offline


def test_values_unknown_at_preview_are_not_evaluable_in_both(analyzer, tmp_path) -> None:
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(preview_document(run_program(PROJECT, "prod"))))
    preview = read_preview(path)
    result = evaluate(preview)
    offline_skips = Counter(s.policy for s in result.skipped if s.reason.startswith("can't be evaluated"))
    assert offline_skips, "a first-deployment preview has unknown ids, so some policy must wait for the update"

    diagnostics = []
    for record in preview.resources:
        diagnostics += analyzer.Analyze(proto.AnalyzeRequest(
            type=record.type, properties=_struct(dict(record.inputs)), urn=record.urn, name=record.name,
            options=_options(record), provider=_provider(preview, record),
        )).diagnostics
    cli_skips = Counter(d.policyName for d in diagnostics if "during preview" in d.message)
    assert cli_skips == offline_skips
    assert not [d for d in diagnostics if "during preview" not in d.message]
    assert result.unwaived("mandatory") == []
