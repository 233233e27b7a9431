"""Fixtures of the end-to-end layer that need more than the shared environment: a lock of the default profile
with this machine's wheels (shared by the lock tests and the matrix), and a running Slurm cluster; the matrix's
table at the end of the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.matrix import TABLE

LOCK_TIMEOUT = 1800


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in TABLE.lines():
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory, session_home: Path) -> tuple[Path, Path]:
    """(lock, wheelhouse) of the default profile: `envcheck lock`, then `envcheck download` for this machine
    (about 0.7 GB), once per run."""
    root = tmp_path_factory.mktemp("locked")
    lock = root / "pylock.deep-learning.toml"
    made = _envcheck("lock", "--output", str(lock), "--json")
    assert made.returncode == 0, made.stderr
    wheels = root / "wheelhouse"
    fetched = _envcheck("download", "--lock", str(lock), "--dest", str(wheels), "--json")
    assert fetched.returncode == 0, fetched.stderr
    return lock, wheels


@pytest.fixture(scope="session")
def wheelhouse_env(wheelhouse: tuple[Path, Path]) -> dict[str, str]:
    """The environment for installs from the wheelhouse: uv's cache beside it, gone with the run's temporary
    folder. uv keeps what it unpacks from a --find-links folder under that folder's path, a new one every run:
    in the user's cache each run would leave one more unpacked TensorFlow (about 1.8 GB) that nothing uses again
    (not even `uv cache prune` removes it)."""
    return dict(os.environ, UV_CACHE_DIR=str(wheelhouse[1].parent / "uv-cache"))


def _envcheck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, timeout=LOCK_TIMEOUT
    )


UP = "start one with scripts/slurm-up.sh (Debian or Ubuntu, as root)"
READY = ("idle", "mixed", "allocated", "completing")


@pytest.fixture(scope="session")
def slurm_node() -> str:
    """The name of a node of the running Slurm cluster that takes jobs; the test is skipped when there is none."""
    for tool in ("srun", "salloc", "sbatch", "sinfo", "scontrol"):
        if shutil.which(tool) is None:
            pytest.skip(f"Slurm's {tool} is not installed: {UP}")
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%n %T"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.skip(f"sinfo did not answer within 30 s: no Slurm controller is running; {UP}")
    nodes = [line.split() for line in done.stdout.splitlines() if len(line.split()) == 2]
    ready = [name for name, state in nodes if state.rstrip("*~#!%$@^-+") in READY]
    if done.returncode != 0 or not ready:
        pytest.skip(f"no Slurm node takes jobs ({done.stderr.strip() or done.stdout.strip() or 'none'}); {UP}")
    return ready[0]
