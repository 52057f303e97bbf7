"""`rules lint` over 100 rule files: in-process (grammar built once) and as a fresh command."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rulesengine.cli.lint import lint_paths  # noqa: E402


def main() -> None:
    examples = sorted((ROOT / "rules").glob("*.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(100):
            source = examples[i % len(examples)]
            shutil.copy(source, Path(tmp) / f"{i:03d}_{source.name}")
        lint_paths([tmp])  # builds the grammar once
        start = time.perf_counter()
        results = lint_paths([tmp])
        in_process = (time.perf_counter() - start) * 1000
        assert len(results) == 100 and not any(r.errors for r in results)
        rules = Path(sys.executable).parent / "rules"
        start = time.perf_counter()
        subprocess.run([str(rules), "lint", tmp], check=True, capture_output=True)
        command = (time.perf_counter() - start) * 1000
    print(f"lint files=100 in_process_ms={in_process:.0f} command_ms={command:.0f}")


if __name__ == "__main__":
    main()
