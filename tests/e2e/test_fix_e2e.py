"""End to end: `verify --fix` on a real TensorFlow environment of its own (never the shared one), broken by
uninstalling numpy, which breaks TensorFlow's import and more. Once it repairs it; once it is interrupted
half-way by SIGINT and must leave the environment exactly as it found it (the same `pip freeze`)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.locations import python_in

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")]

SETUP_TIMEOUT = 1800


@pytest.fixture(scope="module")
def own_env(session_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment of the default profile for these tests alone, with a kernel name of its own."""
    prefix = tmp_path_factory.mktemp("fix-e2e") / "deep-learning"
    argv = [sys.executable, "-m", "envcheck", "setup", "--prefix", str(prefix), "--kernel-name", "envcheck-fix-e2e"]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=SETUP_TIMEOUT)
    if completed.returncode != 0:
        pytest.fail(f"envcheck setup failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    return prefix


def pip(prefix: Path, *args: str) -> str:
    argv = [str(python_in(prefix)), "-m", "pip", *args]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=900).stdout


def uninstall_numpy(prefix: Path) -> None:
    pip(prefix, "uninstall", "-y", "numpy")
    assert "numpy==" not in pip(prefix, "freeze", "--all")


def test_fix_repairs_a_missing_numpy(own_env: Path) -> None:
    uninstall_numpy(own_env)
    result = CliRunner().invoke(app, ["verify", "--prefix", str(own_env), "--fix", "--json", "--no-redact"])
    document = json.loads(result.stdout)
    before = {c["id"]: c for c in document["fix"]["before"]["checks"]}
    assert before["package.tensorflow.import"]["status"] == "fail"
    assert before["package.tensorflow.import"]["caused_by"] == ["packages.pip-check"]
    steps = document["fix"]["steps"]
    assert len(steps) == 1 and steps[0]["argv"][:4] == [str(python_in(own_env)), "-m", "pip", "install"]
    assert [a.split("<")[0].split(">")[0] for a in steps[0]["argv"][4:]] == ["numpy"]
    assert steps[0]["returncode"] == 0
    assert result.exit_code == 0, {c["id"]: c["detail"] for c in document["checks"] if c["status"] == "fail"}
    assert document["status"] in ("pass", "warn") and document["fix"]["restored"] is None
    assert "numpy==" in pip(own_env, "freeze", "--all")


def site_packages(prefix: Path) -> set[str]:
    """The top-level entries of site-packages: a half-installed package shows here even where freeze is blind."""
    return {p.name for folder in prefix.glob("lib/python3*/site-packages") for p in folder.iterdir()}


def test_interrupted_fix_leaves_the_environment_as_it_found_it(own_env: Path) -> None:
    uninstall_numpy(own_env)
    before = pip(own_env, "freeze", "--all")
    entries = site_packages(own_env)
    argv = [sys.executable, "-m", "envcheck", "verify", "--prefix", str(own_env), "--fix", "-v"]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a background job inherits SIGINT ignored: give the child Python's own Ctrl-C handling
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr or ()], daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not any("Installing collected packages" in s for s in seen):
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                assert proc.poll() is None, seen
        assert any("Installing collected packages" in s for s in seen), seen
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=600)
        while True:  # the rest of what it said
            try:
                seen.append(lines.get(timeout=2))
            except queue.Empty:
                break
    finally:
        proc.kill()
    assert proc.returncode == 130, seen
    said = "".join(seen)
    assert "error: --fix interrupted; " in said
    assert "nothing had changed" in said or "the environment is as it was" in said
    assert pip(own_env, "freeze", "--all") == before
    assert site_packages(own_env) == entries
