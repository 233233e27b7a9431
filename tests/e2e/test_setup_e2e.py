"""`envcheck setup` for real: TensorFlow from the package registry, the five imports, the kernel, a no-op re-run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.completion import read_marker
from envcheck.locations import python_in

pytestmark = pytest.mark.e2e


def test_the_environment_imports_the_five_packages(dl_env: Path) -> None:
    code = "import tensorflow, keras, pandas, sklearn, matplotlib; print(tensorflow.__version__, keras.__version__)"
    done = subprocess.run([str(python_in(dl_env)), "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    marker = read_marker(dl_env)
    assert marker is not None
    assert done.stdout.split() == [marker.versions["tensorflow"], marker.versions["keras"]]


def test_jupyter_lists_the_kernel_with_the_environments_python(dl_env: Path) -> None:
    done = subprocess.run(
        [str(python_in(dl_env)), "-m", "jupyter", "kernelspec", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    spec = json.loads(done.stdout)["kernelspecs"]["envcheck-deep-learning"]["spec"]
    assert Path(spec["argv"][0]) == python_in(dl_env)


def test_a_second_run_is_up_to_date(dl_env: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "envcheck", "setup", "--prefix", str(dl_env), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["action"] == "up-to-date"
