"""End to end: real published files of the corpus (tests/data/real) built for real from PyPI, each verified with the
command setup printed, run exactly as printed.

Four files that build with PyPI only, chosen for what they exercise: tf-profiler-lock (a hashed pip-compile lock
without TensorFlow, 9 small packages), bert (a paper's `tensorflow >= 1.11.0`, which resolves to today's
TensorFlow), open3d-tf (a `~=` pin of another TensorFlow release) and keras-io (TensorFlow reached through
tf_keras and keras-hub, never named: verify checks its device all the same). With uv's cache warm (the shared
``dl_env`` fills it with TensorFlow) each takes seconds to a minute; cold, each TensorFlow is about 600 MB.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.corpus import entries
from support.timeouts import E2E_TIMEOUT

pytestmark = pytest.mark.e2e

BUILT = ("tf-profiler-lock", "bert", "open3d-tf", "keras-io")


def envcheck(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, timeout=E2E_TIMEOUT, env=env
    )


@pytest.mark.parametrize("entry_id", BUILT)
def test_a_real_file_builds_and_verifies_with_the_command_setup_printed(entry_id: str, tmp_path: Path) -> None:
    entry = next(e for e in entries() if e.id == entry_id)
    assert entry.expected == "builds"
    folder = tmp_path / entry_id
    shutil.copytree(entry.path.parent, folder, ignore=shutil.ignore_patterns("recorded"))
    file = folder / entry.path.name
    prefix = tmp_path / "env"
    env = {**os.environ, "ENVCHECK_HOME": str(tmp_path / "home"), "JUPYTER_DATA_DIR": str(tmp_path / "jupyter")}
    done = envcheck("setup", "--file", str(file), "--prefix", str(prefix), "--no-kernel", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "✓ import check" in done.stderr
    marker = json.loads((prefix / "envcheck-marker.json").read_text(encoding="utf-8"))
    assert marker["file"] == str(file) and marker["import_failures"] == {}
    printed = next(line for line in done.stdout.splitlines() if line.startswith("next: "))
    argv = shlex.split(printed.removeprefix("next: "))
    assert argv[1:] == ["verify", "--file", str(file), "--prefix", str(prefix)]
    verified = subprocess.run([*argv, "--json"], capture_output=True, text=True, timeout=E2E_TIMEOUT, env=env)
    report = json.loads(verified.stdout)
    failed = [(c["id"], c["detail"]) for c in report["checks"] if c["status"] == "fail"]
    assert verified.returncode == 0 and failed == [], failed
    if entry_id != "tf-profiler-lock":
        # TensorFlow's devices, also where the file never names TensorFlow (keras-io)
        assert [d["type"] for d in report["devices"] if d["source"] == "tensorflow"] == ["CPU"]
    # and the plain command, without the file: the marker names it
    again = envcheck("verify", "--prefix", str(prefix), "--json", env=env)
    assert again.returncode == 0, again.stderr
    ids = [(c["id"], c["status"]) for c in json.loads(again.stdout)["checks"]]
    assert ids == [(c["id"], c["status"]) for c in report["checks"]]
