"""Wall time and peak memory of the offline plan of prod with 1, 10 and 50 plants.

Each size runs in a fresh interpreter so that peak RSS and import costs are those a
user sees from `make plan`. Usage: `venv/bin/python benchmarks/plan_scaling.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1, 10, 50)

CHILD = """
import json, resource, sys, time
started = time.perf_counter()
sys.path.insert(0, {root!r}); sys.path.insert(0, {root!r} + "/tests")
from conftest import PROJECT, stack_config
from erpctl.readers.mocks import run_program
plants = [
    {{"name": f"plant-{{i:02d}}", "cidr": f"172.16.{{i}}.0/24", "connectivity": "vpn",
      "customerGatewayIp": f"198.51.100.{{i + 1}}", "bgpAsn": 65000 + i}}
    for i in range({count})
]
loaded = time.perf_counter()
snapshot = run_program(PROJECT, "prod", stack_config("prod", plants=plants))
done = time.perf_counter()
print(json.dumps({{
    "plants": {count}, "resources": len(snapshot.resources), "wall_s": done - started,
    "program_s": done - loaded, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}}))
"""


def measure(count: int) -> dict:
    run = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), count=count)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = [measure(count) for count in SIZES]
    print(f"{'plants':>6} {'resources':>9} {'wall s':>7} {'program s':>9} {'ms/resource':>11} {'peak RSS MB':>11}")
    for row in rows:
        per_resource = 1000 * row["program_s"] / row["resources"]
        print(f"{row['plants']:>6} {row['resources']:>9} {row['wall_s']:>7.2f} {row['program_s']:>9.2f} "
              f"{per_resource:>11.2f} {row['peak_rss_mb']:>11.0f}")
    first, last = rows[0], rows[-1]
    marginal = 1000 * (last["program_s"] - first["program_s"]) / (last["resources"] - first["resources"])
    print(f"marginal cost: {marginal:.2f} ms per added resource (1 -> {last['plants']} plants)")


if __name__ == "__main__":
    main()
