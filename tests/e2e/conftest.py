"""Fixtures of the end-to-end layer that need more than the shared environment: a running Slurm cluster."""

from __future__ import annotations

import shutil
import subprocess

import pytest

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
