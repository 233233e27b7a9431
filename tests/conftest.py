"""Shared fixtures: an isolated envcheck home for every test, and one real environment per test run.

The folders are the layers: ``unit/`` (rules, readers, rendering and the CLI, with probes run by the current
interpreter at most), ``integration/`` (real processes: small real environments, signals, time limits, uv and
pip, the conda stand-in) and ``e2e/`` (a real environment with TensorFlow). Every test under ``e2e/`` is marked
``e2e`` here, so ``-m "not e2e"`` keeps meaning what it always did.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

E2E_TIMEOUT = 1800
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if (TESTS / "e2e") in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """ENVCHECK_HOME and JUPYTER_DATA_DIR point into a temporary folder for the whole run."""
    home = tmp_path_factory.mktemp("envcheck-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENVCHECK_HOME", str(home))
        mp.setenv("JUPYTER_DATA_DIR", str(home / "jupyter"))
        yield home


@pytest.fixture(scope="session", autouse=True)
def _envcheck_on_path() -> Iterator[None]:
    """The folder of envcheck's script (and of its uv) first on PATH, as for a user who installed it there, so
    that hints name `envcheck` and `uv` whether or not the test run's environment is activated. Tests of a
    machine where they are off PATH set PATH themselves."""
    scripts = sysconfig.get_path("scripts")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", os.pathsep.join([scripts, os.environ.get("PATH", "")]))
        yield


@pytest.fixture(autouse=True)
def _isolated_home(session_home: Path) -> Path:
    """No test ever touches the user's envcheck home or Jupyter kernels."""
    return session_home


@pytest.fixture(scope="session")
def dl_env(session_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real environment of the default profile, made by `envcheck setup` once per test run.

    It downloads TensorFlow from the package registry once; every e2e test shares it.
    """
    prefix = tmp_path_factory.mktemp("e2e") / "deep-learning"
    completed = subprocess.run(
        [sys.executable, "-m", "envcheck", "setup", "--prefix", str(prefix)],
        capture_output=True,
        text=True,
        timeout=E2E_TIMEOUT,
    )
    if completed.returncode != 0:
        pytest.fail(f"envcheck setup failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    return prefix
