"""Shared fixtures: an isolated envcheck home for every test, and one real environment per test run.

The folders are the layers: ``unit/`` (rules, readers, rendering and the CLI, with probes run by the current
interpreter at most), ``integration/`` (real processes: small real environments, signals, time limits, uv and
pip, the conda stand-in) and ``e2e/`` (a real environment with TensorFlow). Every test under ``e2e/`` is marked
``e2e`` here, so ``-m "not e2e"`` keeps meaning what it always did.

Every JSON document envcheck prints with --json during the run, in-process (CliRunner) or from a child process
(``envcheck`` or ``python -m envcheck`` read through ``subprocess.run`` or ``communicate``), is validated against its shipped schema; a test
whose document does not follow it errors at teardown, and the terminal summary counts the documents.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import documents
from support.timeouts import E2E_TIMEOUT

TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if (TESTS / "e2e") in item.path.parents:
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    line = documents.summary()
    if line:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session", autouse=True)
def _json_validation() -> Iterator[list[str]]:
    """Validate every document envcheck prints with --json against its schema, without changing what it prints.

    In-process: the one writer, ``emit_json``, wherever a module holds it. Child processes: the stdout of every
    envcheck --json child a test reads with ``communicate`` (``subprocess.run`` included), also in session and
    module fixtures. The value is the list of problems found and not yet reported.
    """
    from envcheck.output import envelope

    found: list[str] = []
    original = envelope.emit_json

    def emit_json(document: dict[str, Any]) -> None:
        try:
            printed = json.loads(json.dumps(document))
        except (TypeError, ValueError) as exc:
            found.append(f"not JSON: {exc}")
        else:
            found.extend(documents.check(printed, "printed"))
        original(document)

    class Popen(subprocess.Popen):  # type: ignore[type-arg]
        """subprocess.Popen that validates what an envcheck --json child printed (subprocess.run uses it too)."""

        def communicate(self, *args: Any, **kwargs: Any) -> Any:
            stdout, stderr = super().communicate(*args, **kwargs)
            # a child killed by a signal may have printed half a document: the test that killed it judges that
            finished = self.returncode is not None and self.returncode >= 0
            if finished and isinstance(self.args, (list, tuple)) and documents.envcheck_json_run(self.args):
                found.extend(documents.check_output(stdout, "subprocess"))
            return stdout, stderr

    with pytest.MonkeyPatch.context() as mp:
        for module in list(sys.modules.values()):
            name = getattr(module, "__name__", "")
            if name.startswith("envcheck") and getattr(module, "emit_json", None) is original:
                mp.setattr(module, "emit_json", emit_json)
        mp.setattr(subprocess, "Popen", Popen)
        yield found


@pytest.fixture(autouse=True)
def _json_documents_follow_their_schemas(
    request: pytest.FixtureRequest, _json_validation: list[str]
) -> Iterator[list[str]]:
    """A test (or a fixture it set up) whose --json document does not follow its schema errors at teardown,
    unless it is marked ``fake_documents`` (it prints made-up envelopes on purpose)."""
    yield _json_validation
    problems = list(_json_validation)
    _json_validation.clear()
    if problems and request.node.get_closest_marker("fake_documents") is None:
        pytest.fail("a --json document does not follow its schema:\n" + "\n".join(problems), pytrace=False)


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


@pytest.fixture(scope="session")
def layer_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ENVCHECK_HOME and JUPYTER_DATA_DIR of the unit and integration layers: apart from the e2e layer's, so
    that the environment `dl_env` puts in the default place and the kernels e2e tests register are never seen by
    a test of another layer that runs after them in the same process."""
    return tmp_path_factory.mktemp("envcheck-home-layers")


@pytest.fixture(autouse=True)
def _isolated_home(request: pytest.FixtureRequest, session_home: Path, layer_home: Path) -> Iterator[Path]:
    """No test ever touches the user's envcheck home or Jupyter kernels, nor a test of another layer the ones
    its own layer made."""
    if (TESTS / "e2e") in request.path.parents:
        yield session_home
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENVCHECK_HOME", str(layer_home))
        mp.setenv("JUPYTER_DATA_DIR", str(layer_home / "jupyter"))
        yield layer_home


@pytest.fixture(scope="session")
def dl_env(session_home: Path) -> Path:
    """A real environment of the default profile, made by a plain `envcheck setup` once per test run: the default
    place (under the session's ENVCHECK_HOME) and the profile's kernel, `envcheck-deep-learning`.

    It downloads TensorFlow from the package registry once; every e2e test shares it (the matrix's "default" row).
    """
    completed = subprocess.run(
        [sys.executable, "-m", "envcheck", "setup"],
        capture_output=True,
        text=True,
        timeout=E2E_TIMEOUT,
    )
    if completed.returncode != 0:
        pytest.fail(f"envcheck setup failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    return session_home / "envs" / "deep-learning"
