"""Offline check timings: prod end to end, and a 5,000-resource `pulumi preview --json`.

Usage: `venv/bin/python benchmarks/check_speed.py`. Runs in one fresh interpreter;
the prod figure includes importing the program's modules, as `make check` does.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

TARGET_RESOURCES = 5000


def main() -> None:
    started = time.perf_counter()
    from conftest import PROJECT
    from pulumi_documents import preview_document

    from erpctl.evaluator import evaluate
    from erpctl.readers.mocks import run_program
    from erpctl.readers.pulumi_json import read_preview

    planned = time.perf_counter()
    snapshot = run_program(PROJECT, "prod")
    evaluating = time.perf_counter()
    result = evaluate(snapshot)
    finished = time.perf_counter()
    total = finished - started
    print(f"prod check: {len(snapshot.resources)} resources, {len(result.policies)} policies, "
          f"{total:.2f} s wall (imports {planned - started:.2f}, plan {evaluating - planned:.2f}, "
          f"evaluation {finished - evaluating:.2f} = {100 * (finished - evaluating) / total:.0f}% of total)")

    document = preview_document(snapshot)
    template = [s for s in document["steps"] if s["newState"]["type"] != "pulumi:pulumi:Stack"]
    steps = [s for s in document["steps"] if s["newState"]["type"] == "pulumi:pulumi:Stack"]
    copy_index = 0
    while len(steps) < TARGET_RESOURCES:
        for step in template:
            if len(steps) >= TARGET_RESOURCES:
                break
            clone = copy.deepcopy(step)
            suffix = f"-copy{copy_index}"
            clone["urn"] = clone["newState"]["urn"] = step["urn"] + suffix
            steps.append(clone)
        copy_index += 1
    document["steps"] = steps
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "preview.json"
        text = json.dumps(document)
        path.write_text(text)
        read_started = time.perf_counter()
        large = read_preview(path)
        read_done = time.perf_counter()
        large_result = evaluate(large)
        evaluated = time.perf_counter()
    print(f"preview JSON: {len(large.resources)} resources, {len(text) / 1e6:.1f} MB, "
          f"{evaluated - read_started:.2f} s (read {read_done - read_started:.2f}, evaluate {evaluated - read_done:.2f}), "
          f"{len(large_result.findings)} findings")


if __name__ == "__main__":
    main()
