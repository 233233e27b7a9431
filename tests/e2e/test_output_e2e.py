"""verify and smoke-train on the real environment, their text written to a pipe: whole lines, no cut column.

The smoke-train table's last column read `10,7…` in a pipe or a file, and verify's versions line was wrapped at
80 columns (as the README's captured output showed it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def piped(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}  # nothing that gives a width
    return subprocess.run(
        [sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, env=env, timeout=900
    )


def test_smoke_train_and_verify_text_in_a_pipe_is_whole(dl_env: Path) -> None:
    smoke = piped("smoke-train", "--prefix", str(dl_env), "--level", "scratch", "--level", "tape", "--level", "keras")
    assert smoke.returncode == 0, smoke.stderr
    assert "…" not in smoke.stdout
    rows = [line for line in smoke.stdout.splitlines() if line.startswith("✓ ") and "-batch" in line]
    assert len(rows) == 5 and all(row.rstrip()[-1].isdigit() for row in rows)  # steps/s, every digit of it

    verify = piped("verify", "--prefix", str(dl_env))
    assert verify.returncode in (0, 1), verify.stderr
    versions = next(line for line in verify.stdout.splitlines() if line.startswith("  versions "))
    assert "tensorflow" in versions and "matplotlib" in versions  # one line, however long
    assert "…" not in verify.stdout
