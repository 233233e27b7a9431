"""End to end: verify on the environment `envcheck setup` built, then with keras uninstalled from it."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.locations import python_in

pytestmark = pytest.mark.e2e


def verify_json(prefix: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["verify", "--prefix", str(prefix), "--json", "--no-redact"])
    return result.exit_code, json.loads(result.stdout)


def test_verify_passes_on_the_environment_setup_built(dl_env: Path) -> None:
    code, document = verify_json(dl_env)
    checks = {c["id"]: c for c in document["checks"]}
    problems = {i: c["detail"] for i, c in checks.items() if c["status"] in ("warn", "fail")}
    assert code == 0, problems
    assert problems == {}
    for check_id in (
        "env.complete",
        "probe.environment",
        "package.tensorflow.import",
        "package.keras.version",
        "packages.pip-check",
        "tensorflow.single-distribution",
        "keras.flavour",
        "keras.backend",
        "device.tensorflow",
        "work.matmul",
        "work.pandas",
        "work.scikit-learn",
        "work.matplotlib",
        "jupyter.kernelspec",
        "jupyter.kernel-start",
    ):
        assert checks[check_id]["status"] == "pass", (check_id, checks[check_id]["detail"])
    assert checks["jupyter.kernel-start"]["detail"] == f"kernel started and reports sys.prefix {dl_env}"
    assert set(document["versions"]) >= {"python", "tensorflow", "keras", "pandas", "scikit-learn", "matplotlib"}
    assert any(d["type"] == "CPU" for d in document["devices"])


def test_verify_human_output_on_the_environment_setup_built(dl_env: Path) -> None:
    result = CliRunner().invoke(app, ["verify", "--prefix", str(dl_env)], env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "versions python " in result.stdout and "tensorflow " in result.stdout
    assert "✓ work.matmul" in result.stdout
    assert "all checks passed" in result.stdout or "passed with warnings" in result.stdout


def test_verify_without_keras_fails_and_says_how_to_fix_it(dl_env: Path) -> None:
    """Last of the e2e tests here: it changes the shared environment and puts keras back afterwards."""
    python = python_in(dl_env)
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('keras'))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
    # what the installed TensorFlow declares for keras: the hint narrows the profile's keras>=3.0 to it
    declared = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print('\\n'.join(m.requires('tensorflow') or []))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.splitlines()
    keras = SpecifierSet(">=3.0")
    for line in declared:
        requirement = Requirement(line)
        if requirement.name == "keras" and requirement.marker is None:
            keras &= requirement.specifier
    subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "keras"], capture_output=True, check=True, timeout=300)
    try:
        code, document = verify_json(dl_env)
        checks = {c["id"]: c for c in document["checks"]}
        assert code == 1
        assert document["status"] == "fail"
        assert checks["package.keras.import"]["status"] == "fail"
        assert checks["package.keras.import"]["detail"].startswith("ModuleNotFoundError")
        words = shlex.split(checks["package.keras.import"]["hint"])
        assert words[:4] == [str(python), "-m", "pip", "install"] and len(words) == 5
        wanted = Requirement(words[4])
        assert wanted.name == "keras" and wanted.specifier.contains(version)
        bounds = {Version(clause.version) for clause in keras} | {Version("2.15.0"), Version("99")}
        for candidate in bounds:  # accepts a version exactly when the profile and TensorFlow both do
            assert wanted.specifier.contains(candidate) == keras.contains(candidate), candidate
        assert checks["package.keras.version"]["status"] == "skip"
        assert checks["keras.flavour"]["status"] == "fail"
    finally:
        subprocess.run(
            [str(python), "-m", "pip", "install", f"keras=={version}"], capture_output=True, check=True, timeout=900
        )
    code, _ = verify_json(dl_env)
    assert code == 0
