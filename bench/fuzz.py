"""A long fuzz run: mutated rule files and damaged chain files through the real loaders.

The suite runs the same properties with a few hundred examples; this runs thousands and
prints what happened to them (the figures in the README's reliability section). A crash
(any exception but the loaders' own errors, or an E000 diagnostic) stops the run.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rulesengine.check.checker import check_text  # noqa: E402
from rulesengine.data.formats import ChainFileError, load_chain  # noqa: E402
from tests.check.test_never_crashes import mutated  # noqa: E402
from tests.data.test_hostile_chains import damaged_file  # noqa: E402

EXAMPLES = 3000
FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def rule_files() -> tuple[Counter, float]:
    seen: Counter = Counter()

    @FAST
    @given(mutated())
    def run(text: str) -> None:
        result = check_text(text)
        codes = {d.code for d in result.errors}
        assert "E000" not in codes, text
        seen["with errors" if codes else "clean"] += 1
        seen.update(sorted(codes)[:1])

    start = time.perf_counter()
    run()
    return seen, time.perf_counter() - start


def chain_files() -> tuple[Counter, float]:
    seen: Counter = Counter()
    folder = Path(tempfile.mkdtemp())

    @FAST
    @given(damaged_file())
    def run(data: bytes) -> None:
        path = folder / ("c.csv.gz" if data[:2] == b"\x1f\x8b" else "c.csv")
        path.write_bytes(data)
        try:
            chain = load_chain(path)
        except ChainFileError:
            seen["refused with a message"] += 1
            return
        seen["loaded"] += 1
        seen["rows skipped or duplicates dropped"] += bool(chain.warnings)
        seen["quotes rejected by sanity"] += int((chain.column("quote_problem") != 0).any())

    start = time.perf_counter()
    run()
    return seen, time.perf_counter() - start


def main() -> None:
    for name, job in (("rule files", rule_files), ("chain files", chain_files)):
        seen, seconds = job()
        top = ", ".join(f"{k}: {v}" for k, v in seen.most_common(8))
        print(f"{name}: {EXAMPLES} fuzzed in {seconds:.0f} s, 0 crashes ({top})")


if __name__ == "__main__":
    main()
