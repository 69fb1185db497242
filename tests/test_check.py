"""The offline check end to end: three inputs, the exit-code contract, the committed stacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pulumi_aws as aws
import pytest
from conftest import PROJECT
from pulumi_documents import UNKNOWN, export_document, preview_document

from erpctl.cli import main
from erpctl.evaluator import evaluate
from erpctl.readers.mocks import run_program
from erpctl.readers.pulumi_json import read_preview, read_state


@pytest.fixture(scope="module")
def prod_snapshot():
    return run_program(PROJECT, "prod")


@pytest.mark.parametrize("stack", PROJECT.stacks())
def test_every_committed_stack_has_no_unwaived_mandatory_violation(stack: str) -> None:
    result = evaluate(run_program(PROJECT, stack))
    blocking = [(f.policy, f.resource_name, f.message) for f in result.unwaived("mandatory")]
    assert blocking == []
    assert result.resource_count > 50


def _weakened(cls: type, **forced: object) -> type:
    """A subclass of a pulumi-aws resource that overrides some arguments: a careless edit."""

    class Weakened(cls):  # type: ignore[misc, valid-type]
        def __init__(self, resource_name, *args, **kwargs):
            kwargs.update(forced)
            super().__init__(resource_name, *args, **kwargs)

    return Weakened


def test_a_weakened_program_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws.kms, "Key", _weakened(aws.kms.Key, enable_key_rotation=False, deletion_window_in_days=7))
    monkeypatch.setattr(aws.s3, "BucketPublicAccessBlock",
                        _weakened(aws.s3.BucketPublicAccessBlock, block_public_policy=False))
    monkeypatch.setattr(aws.cloudtrail, "Trail", _weakened(aws.cloudtrail.Trail, is_multi_region_trail=False))
    result = evaluate(run_program(PROJECT, "prod"))
    caught = {f.policy for f in result.unwaived("mandatory")}
    assert {
        "erp-kms-key-rotation-enabled",
        "erp-kms-key-deletion-window",
        "erp-s3-bucket-public-access-blocked",
        "erp-cloudtrail-trail-multi-region",
    } <= caught
    assert result.exit_code == 1


def test_preview_json_of_prod_passes_with_unknowns(prod_snapshot, tmp_path: Path) -> None:
    document = preview_document(prod_snapshot)
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(document))
    snapshot = read_preview(path)
    assert len(snapshot.resources) == len(prod_snapshot.resources)
    assert any(UNKNOWN in json.dumps(r.inputs) for r in snapshot.resources)
    result = evaluate(snapshot)
    assert result.unwaived("mandatory") == []


def test_preview_json_catches_a_removed_encryption_configuration(prod_snapshot, tmp_path: Path) -> None:
    document = preview_document(prod_snapshot)
    document["steps"] = [
        s for s in document["steps"]
        if s["newState"]["type"] != "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ]
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(document))
    result = evaluate(read_preview(path))
    assert {f.resource_type for f in result.unwaived("mandatory")} == {"aws:s3/bucket:Bucket"}


def test_stack_export_is_read_with_opaque_secrets(prod_snapshot, tmp_path: Path) -> None:
    document = export_document(prod_snapshot)
    document["deployment"]["resources"][-1]["inputs"]["password"] = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:abc",
    }
    path = tmp_path / "state.json"
    path.write_text(json.dumps(document))
    snapshot = read_state(path)
    assert snapshot.stack == "prod"
    assert snapshot.resources[-1].inputs["password"] == "[secret]"
    assert evaluate(snapshot).unwaived("mandatory") == []


def test_check_json_contract_and_exit_code(prod_snapshot, tmp_path: Path, capsys) -> None:
    preview = tmp_path / "preview.json"
    preview.write_text(json.dumps(preview_document(prod_snapshot)))
    assert main(["check", "--preview-json", str(preview), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"violations", "summary"}
    assert set(report["summary"]) == {"mandatory", "advisory", "waived", "resources", "policies"}
    assert report["summary"]["mandatory"] == 0
    assert report["summary"]["policies"] >= 45


@pytest.fixture
def rotation_off_state(prod_snapshot, tmp_path: Path) -> Path:
    """A stack export of prod in which every key's rotation was switched off."""
    document = export_document(prod_snapshot)
    for state in document["deployment"]["resources"]:
        if state["type"] == "aws:kms/key:Key":
            state["inputs"]["enableKeyRotation"] = False
    path = tmp_path / "state.json"
    path.write_text(json.dumps(document))
    return path


def test_check_exits_1_on_mandatory_violation_and_writes_output(rotation_off_state: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert main(["check", "--state", str(rotation_off_state), "--format", "json", "--output", str(out)]) == 1
    report = json.loads(out.read_text())
    rotation = [v for v in report["violations"] if v["policy"] == "erp-kms-key-rotation-enabled"]
    assert len(rotation) == 6 and all(v["enforcementLevel"] == "mandatory" for v in rotation)


def test_policy_config_can_lower_a_policy_to_advisory(rotation_off_state: Path, tmp_path: Path) -> None:
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"erp-kms-key-rotation-enabled": "advisory"}))
    report = tmp_path / "report.txt"
    assert main(["check", "--state", str(rotation_off_state), "--policy-config", str(config), "--output", str(report)]) == 0
    assert "advisory" in report.read_text() and "erp-kms-key-rotation-enabled" in report.read_text()


@pytest.mark.parametrize(
    ("content", "flag", "message"),
    [
        (None, "--preview-json", "file not found"),
        ("{not json", "--preview-json", "not JSON"),
        ('{"deployment": {}}', "--preview-json", "no 'steps' list"),
        ('{"steps": []}', "--state", "no 'deployment.resources' list"),
        ('{"steps": [{"newState": {"type": "x"}}]}', "--preview-json", "resource #0 has no urn or type"),
    ],
)
def test_unusable_input_exits_2_with_one_line_and_no_traceback(tmp_path: Path, content, flag, message) -> None:
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    run = subprocess.run(
        [sys.executable, "-m", "erpctl", "check", flag, str(path)],
        capture_output=True, text=True, cwd=PROJECT.root,
    )
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_invalid_stack_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "erpctl", "plan", "--stack", "does-not-exist"],
        capture_output=True, text=True, cwd=PROJECT.root,
    )
    assert run.returncode == 2
    assert "no stack file Pulumi.does-not-exist.yaml" in run.stderr
    assert "Traceback" not in run.stderr


def test_invalid_stack_file_exits_2_with_one_line_per_problem() -> None:
    stack_file = PROJECT.stack_file("pytest-invalid")
    config = PROJECT.raw_config("prod")
    config["erp-platform:availabilityZones"] = "2"
    config["erp-platform:netwrk"] = "{}"
    stack_file.write_text("config:\n" + "".join(f"  {key}: '{value}'\n" for key, value in config.items()))
    try:
        for command in (["plan"], ["check"]):
            run = subprocess.run(
                [sys.executable, "-m", "erpctl", *command, "--stack", "pytest-invalid"],
                capture_output=True, text=True, cwd=PROJECT.root,
            )
            assert run.returncode == 2
            assert "Traceback" not in run.stderr
            assert "  - erp-platform:netwrk: unknown key; did you mean network?" in run.stderr
            assert run.stdout == ""
    finally:
        stack_file.unlink()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"erp-no-such-policy": "advisory"}, "policy config names unknown policies: erp-no-such-policy"),
        ({"erp-kms-key-rotation-enabled": "sometimes"}, "enforcement level 'sometimes' is not one of"),
        ({"erp-kms-key-deletion-window": {"minimumDeletionWindowDays": "thirty"}},
         "erp-kms-key-deletion-window.minimumDeletionWindowDays: 'thirty' is not of type 'integer'"),
    ],
)
def test_bad_policy_config_exits_2_naming_the_policy(tmp_path: Path, config: dict, message: str) -> None:
    path = tmp_path / "policy-config.json"
    path.write_text(json.dumps(config))
    preview = tmp_path / "preview.json"
    preview.write_text(json.dumps({"steps": []}))
    run = subprocess.run(
        [sys.executable, "-m", "erpctl", "check", "--preview-json", str(preview), "--policy-config", str(path)],
        capture_output=True, text=True, cwd=PROJECT.root,
    )
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


def test_preview_json_tolerates_what_the_cli_prints_for_new_providers(tmp_path: Path) -> None:
    # As `pulumi preview --json` prints a first deployment: a provider id that is itself
    # unknown, and null entries for properties that depend on nothing.
    stack = "urn:pulumi:prod::erp-platform::pulumi:pulumi:Stack::erp-platform-prod"
    provider = "urn:pulumi:prod::erp-platform::pulumi:providers:aws::aws-primary"
    queue = {
        "urn": "urn:pulumi:prod::erp-platform::aws:sqs/queue:Queue::orders", "type": "aws:sqs/queue:Queue",
        "custom": True, "parent": stack, "provider": f"{provider}::{UNKNOWN}",
        "inputs": {"kmsMasterKeyId": UNKNOWN, "tags": {"Name": "orders"}},
        "propertyDependencies": {"kmsMasterKeyId": None, "tags": None}, "dependencies": None,
    }
    document = {"steps": [
        {"op": "create", "newState": {"urn": stack, "type": "pulumi:pulumi:Stack", "custom": False}},
        {"op": "create", "newState": {"urn": provider, "type": "pulumi:providers:aws", "custom": True, "parent": stack,
                                      "inputs": {"region": "eu-central-1", "defaultTags": '{"tags":{"Owner":"x"}}'}}},
        {"op": "create", "newState": queue},
        {"op": "delete", "oldState": {"urn": "urn:pulumi:prod::erp-platform::aws:sqs/queue:Queue::gone"}},
    ]}
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(document))
    snapshot = read_preview(path)
    (record,) = [r for r in snapshot.resources if r.type == "aws:sqs/queue:Queue"]
    assert record.provider_urn == provider
    assert record.property_dependencies == {"kmsMasterKeyId": (), "tags": ()}
    result = evaluate(snapshot)
    assert "erp-sqs-queue-cmk-encrypted" in {s.policy for s in result.skipped}
    assert {f.message for f in result.findings if f.policy == "erp-aws-resource-required-tags"} >= {
        "missing tag CostCenter"}
