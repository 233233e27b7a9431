"""The conda stand-in (tests/fakes/micromamba) and a small profile for it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from envcheck.cli import app

FAKE = Path(__file__).parents[1] / "fakes" / "micromamba"


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="the conda test double is a POSIX shell script")


SMALL = """
schema = 1
name = "small"
python = ">=3.8"
disk_gb = 0.001
kernel = false

[[package]]
requirement = "tiny-conda>=1.2"

[[package]]
requirement = "tinypip>=1.0"
conda = false
"""


def write_profile(tmp_path: Path, text: str = SMALL, name: str = "small.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def setup(prefix: Path, profile: Path, wheels: Path, *extra: str, exe: Path = FAKE):
    args = ["setup", "--backend", "conda", "--conda-exe", str(exe), "--file", str(profile), "--prefix", str(prefix)]
    return CliRunner().invoke(app, [*args, "--offline", "--find-links", str(wheels), "--quiet", *extra])


def calls(fake: dict[str, Path]) -> list[list[str]]:
    if not fake["calls"].exists():
        return []
    return [json.loads(line) for line in fake["calls"].read_text(encoding="utf-8").splitlines()]
