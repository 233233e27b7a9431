"""The benchmarks fail when the command they time fails, instead of reporting it as fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_smoke_bench_exits_2_when_smoke_train_fails(tmp_path: Path) -> None:
    # an environment whose python imports (the floor, `python -c ...`, succeeds at once) but cannot run a
    # probe script: smoke-train stops early with exit 3, faster than any real run
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.write_text('#!/bin/sh\n[ "$1" = "-c" ] && exit 0\necho "broken interpreter" >&2\nexit 1\n')
    python.chmod(0o755)
    done = subprocess.run(
        [sys.executable, str(BENCH / "smoke_bench.py"), str(tmp_path), "--reps", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the timed command failed (exit 3)" in done.stderr
    assert "ratio of medians" not in done.stdout
