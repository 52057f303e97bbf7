"""The engine's tick and monitor figures against a saved baseline commit, in one run.

    python bench/compare.py [BASELINE]       (default: the commit before the engine redesign)

Checks the baseline out into a temporary git worktree, then measures `tick_latency` and
`monitor_latency` of each tree's own `bench/engine.py` in alternating subprocesses (three
rounds each, so machine noise hits both alike) and prints the medians and their ratios:

compare tick baseline_ms=<x> current_ms=<y> ratio=<y/x>
compare monitor baseline_ms=<x> current_ms=<y> ratio=<y/x>
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "a8521d7"  # main before the engine-truth redesign (issue 12)
ROUNDS = 3

MEASURE = """
import asyncio, importlib.util, json, statistics, sys
root = sys.argv[1]
sys.path.insert(0, root)
spec = importlib.util.spec_from_file_location("bench_engine", root + "/bench/engine.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
chain = bench.load_chain(bench.ROOT / "data" / "spx" / "spx_sample_ivolatility.csv").on(bench.DAY)
tick = statistics.median(asyncio.run(bench.tick_latency(chain)))
monitor = asyncio.run(bench.monitor_latency(chain))
print(json.dumps({"tick": tick, "monitor": monitor}))
"""


def measure(tree: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(tree)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    baseline = sys.argv[1] if len(sys.argv) > 1 else BASELINE
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), baseline],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            runs: dict[str, list[dict[str, float]]] = {"baseline": [], "current": []}
            for _ in range(ROUNDS):
                runs["baseline"].append(measure(tree))
                runs["current"].append(measure(ROOT))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    for figure in ("tick", "monitor"):
        old = statistics.median(r[figure] for r in runs["baseline"])
        new = statistics.median(r[figure] for r in runs["current"])
        print(
            f"compare {figure} baseline={baseline} baseline_ms={old:.2f} "
            f"current_ms={new:.2f} ratio={new / old:.2f}"
        )


if __name__ == "__main__":
    main()
