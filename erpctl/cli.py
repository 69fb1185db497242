"""`python -m erpctl`: the offline plan, the offline policy check and the config schema.

Exit codes: 0 success (check: no unwaived mandatory violation), 1 unwaived mandatory
violations, 2 unusable input (missing, unreadable, wrong format, invalid config).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from components.config import ConfigError, config_json_schema, parse_stack_config
from erpctl.model import StackSnapshot
from erpctl.project import InputError, Project

EXIT_OK, EXIT_VIOLATIONS, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_WAIVERS = Path(__file__).resolve().parent.parent / "policy_pack" / "waivers.yaml"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (InputError, ConfigError) as exc:
        print(f"erpctl: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader (for example `| head`) went away; that is not an error of ours.
        sys.stderr.close()
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m erpctl", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    plan = commands.add_parser("plan", help="run the program under Pulumi's mocks and print what it registers")
    plan.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    plan.add_argument("--format", choices=("text", "json", "mermaid"), default="text")
    plan.set_defaults(handler=_plan)

    check = commands.add_parser("check", help="evaluate the policy pack offline")
    source = check.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="the program under mocks with Pulumi.<stack>.yaml")
    source.add_argument("--preview-json", type=Path, help="output of `pulumi preview --json`")
    source.add_argument("--state", type=Path, help="file written by `pulumi stack export`")
    check.add_argument("--format", choices=("table", "json", "sarif", "markdown"), default="table")
    check.add_argument("--output", type=Path, help="write the report here instead of standard output")
    check.add_argument(
        "--policy-config", type=Path,
        help="policy config JSON, the same file `pulumi preview --policy-pack-config` takes",
    )
    check.set_defaults(handler=_check)

    schema = commands.add_parser("config-schema", help="print the JSON Schema of the stack config keys")
    schema.set_defaults(handler=lambda args: _print(json.dumps(config_json_schema(), indent=2)))

    docs = commands.add_parser(
        "docs", help="regenerate docs/policies.md and the README's config reference and architecture diagram"
    )
    docs.set_defaults(handler=_docs)
    return parser


def _load_program_snapshot(stack: str) -> StackSnapshot:
    from erpctl.readers.mocks import run_program

    project = Project.load()
    # Validate first so that a bad stack file is a clear exit 2, not a program failure.
    parse_stack_config(project.name, project.raw_config(stack))
    return run_program(project, stack)


def _plan(args: argparse.Namespace) -> int:
    from erpctl import plan_views

    snapshot = _load_program_snapshot(args.stack)
    renderers: dict[str, Callable[[StackSnapshot], str]] = {
        "text": plan_views.render_text,
        "json": plan_views.render_json,
        "mermaid": plan_views.render_mermaid,
    }
    return _print(renderers[args.format](snapshot))


def _check(args: argparse.Namespace) -> int:
    from erpctl.evaluator import PolicyConfigError, evaluate
    from erpctl.readers.pulumi_json import read_preview, read_state
    from erpctl.reporters import REPORTERS
    from policy_pack.erp_policies.waivers import WaiverFileError, load_waivers

    if args.stack:
        snapshot = _load_program_snapshot(args.stack)
    elif args.preview_json:
        snapshot = read_preview(args.preview_json)
    else:
        snapshot = read_state(args.state)
    try:
        policy_config = _read_policy_config(args.policy_config) if args.policy_config else {}
        result = evaluate(snapshot, policy_config=policy_config, waivers=load_waivers(DEFAULT_WAIVERS),
                          today=dt.date.today())
    except (PolicyConfigError, WaiverFileError) as exc:
        raise InputError(str(exc)) from None
    report = REPORTERS[args.format](result)
    if args.output:
        try:
            args.output.write_text(report + "\n")
        except OSError as exc:
            raise InputError(f"{args.output}: cannot write report: {exc}") from None
    else:
        _print(report)
    return result.exit_code


def _read_policy_config(path: Path) -> dict:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON policy config: {exc}") from None
    if not isinstance(document, dict):
        raise InputError(f"{path}: policy config must be a JSON object keyed by policy name")
    return document


def _docs(args: argparse.Namespace) -> int:
    from erpctl import docs, plan_views, policy_docs
    from policy_pack.erp_policies.registry import POLICIES, WAIVER_HYGIENE

    docs.POLICY_DOCS.write_text(policy_docs.render([*POLICIES, WAIVER_HYGIENE]))
    readme = docs.README.read_text()
    for name, content in docs.readme_blocks(plan_views.render_mermaid(_load_program_snapshot("prod"))).items():
        readme = docs.replace_block(readme, name, content)
    docs.README.write_text(readme)
    return _print(f"wrote {docs.POLICY_DOCS.relative_to(docs.REPO_ROOT)} and the generated blocks of README.md")


def _print(text: str) -> int:
    print(text)
    return EXIT_OK
