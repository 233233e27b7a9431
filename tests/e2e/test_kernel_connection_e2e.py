"""verify with a real Jupyter kernel of the shared TensorFlow environment leaves nothing in the temporary folder:
the kernel's connection file holds the key that authenticates to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def everything_in(*folders: Path) -> list[str]:
    return [str(p) for folder in folders for p in folder.rglob("*")]


def test_verify_with_a_real_kernel_leaves_the_temporary_folder_empty(dl_env: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "envcheck", "verify", "--prefix", str(dl_env), "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    checks = {c["id"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["jupyter.kernel-start"]["status"] == "pass", checks["jupyter.kernel-start"]
    assert everything_in(scratch) == []
