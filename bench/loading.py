"""Loading is part of a scan: a 2M-row normalised chain file loaded and scanned with the bull
put spread, wall time and peak memory (resident set) of a fresh process.

loading rows=<n> file_mb=<m> load_s=<x> scan_s=<y> peak_mb=<z>
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MEASURE = """
import resource, sys, time
sys.path.insert(0, sys.argv[2])
from rulesengine.check.checker import check_file
from rulesengine.compile import compile_program
from rulesengine.data.formats import load_chain
from rulesengine.strategies.scan import scan
start = time.perf_counter()
chain = load_chain(sys.argv[1])
loaded = time.perf_counter() - start
program = check_file(sys.argv[2] + "/rules/bull_put_spread.yaml").program
program.universe = ()
start = time.perf_counter()
found = scan(program, compile_program(program), chain)
scanned = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(len(chain), f"{loaded:.1f}", f"{scanned:.1f}", f"{peak:.0f}", len(found))
"""


def write_file(path: Path, underlyings: int = 1000) -> int:
    """~2M rows of a synthetic market in the normalised CSV (written with pandas)."""
    import pandas as pd

    from rulesengine.check.names import ENUMS
    from rulesengine.data.chain import COLUMNS, from_seconds
    from rulesengine.data.synthetic import synthetic_market

    chain = synthetic_market(underlyings, 2000)
    frame = pd.DataFrame({name: chain.columns[name] for name in COLUMNS})
    for name, enum in (("type", "option_type"), ("style", "style"), ("settlement", "settlement")):
        frame[name] = [ENUMS[enum][int(code)] for code in frame[name]]
    for name in ("expiry", "quote_date"):
        frame[name] = [from_seconds(float(s)).isoformat() for s in frame[name]]
    frame.to_csv(path, index=False)
    return len(frame)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "market.csv"
        # written by another process: a child forked from a parent holding the market would
        # report the parent's memory as its own peak
        writer = subprocess.run(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
             f"from bench.loading import write_file; print(write_file(__import__('pathlib')"
             f".Path({str(path)!r})))"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        rows = int(writer.stdout.strip())
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(path), str(ROOT)],
            capture_output=True,
            text=True,
            check=True,
        )
        count, load_s, scan_s, peak, found = done.stdout.split()
        size = path.stat().st_size / 1e6
        print(
            f"loading rows={int(count):,} (written {rows:,}) file_mb={size:.0f} load_s={load_s} "
            f"scan_s={scan_s} peak_mb={peak} candidates={found}"
        )


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"(bench wall {time.perf_counter() - start:.0f} s, writing the file included)")
