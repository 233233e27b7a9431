"""verify against real, cheap venvs holding modules that misbehave on import: each fault becomes a verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from envcheck.cli import app

TIMEOUT = 6  # seconds the whole verify may take, every process it starts included
# What envcheck itself may add (loading the profile, judging, stopping the children) on a busy machine: a bound,
# not a speed target (bench/interrupt_bench.py measures that); a second probe run after the limit would break it.
SLACK = 5.0

MODULES = {
    "faulty_segv": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
    "faulty_hang": "import threading\nthreading.Event().wait()\n",
    "faulty_garbage": (
        "import os, sys\n"
        "sys.stdout.write('{\"complete\": true, \"imports\": {}}\\n' + 'x' * 5000 + '\\n')\n"
        "sys.stdout.flush()\n"
        "os.write(1, bytes(range(256)))\n"
        "__version__ = '1.0'\n"
    ),
}


def _site_packages(prefix: Path) -> Path:
    out = subprocess.run(
        [str(prefix / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return Path(out.stdout.strip())


@pytest.fixture(scope="module")
def faulty_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv without pip whose site-packages holds the misbehaving modules, each with its metadata."""
    if os.name != "posix":
        pytest.skip("the fault modules use POSIX signals")
    prefix = tmp_path_factory.mktemp("faults") / "env"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(prefix)
    site = _site_packages(prefix)
    for module, code in MODULES.items():
        (site / f"{module}.py").write_text(code, encoding="utf-8")
        dist = site / f"{module}-1.0.dist-info"
        dist.mkdir()
        name = module.replace("_", "-")
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
        wheel = "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        (dist / "WHEEL").write_text(wheel, encoding="utf-8")
        (dist / "RECORD").write_text("", encoding="utf-8")
    return prefix


def profile(tmp_path: Path, modules: list[str]) -> Path:
    lines = ["schema = 1", 'name = "faults"', 'python = ">=3.8"', "kernel = false"]
    for module in modules:
        name = module.replace("_", "-")
        lines += ["[[package]]", f'name = "{name}"', f'requirement = "{name}>=1.0"', f'import = "{module}"']
    path = tmp_path / "faults.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_verify(prefix: Path, profile_file: Path) -> tuple[int, dict, float]:
    started = time.monotonic()
    result = CliRunner().invoke(
        app, ["verify", "--prefix", str(prefix), "--file", str(profile_file), "--json", "--timeout", str(TIMEOUT)]
    )
    elapsed = time.monotonic() - started
    return result.exit_code, json.loads(result.stdout), elapsed


def by_id(document: dict) -> dict[str, dict]:
    return {c["id"]: c for c in document["checks"]}


def test_each_fault_is_named_and_every_other_check_reports(faulty_env: Path, tmp_path: Path) -> None:
    modules = ["faulty_segv", "faulty_hang", "faulty_garbage", "envcheck_absent"]
    code, document, elapsed = run_verify(faulty_env, profile(tmp_path, modules))
    checks = by_id(document)
    assert code == 1
    assert document["exit_code"] == 1 and document["status"] == "fail"

    segv = checks["package.faulty-segv.import"]
    assert segv["status"] == "fail"
    assert segv["detail"] == "`import faulty_segv` was killed by SIGSEGV (the probe crashed)"
    assert "-X faulthandler -c 'import faulty_segv'" in segv["hint"]

    hang = checks["package.faulty-hang.import"]
    assert hang["status"] == "fail"
    assert hang["detail"] == f"`import faulty_hang` did not finish within {TIMEOUT} s"
    assert "-X importtime" in hang["hint"]

    assert checks["package.faulty-garbage.import"]["status"] == "pass"

    absent = checks["package.envcheck-absent.import"]
    assert absent["status"] == "fail"
    assert absent["detail"] == "ModuleNotFoundError: No module named 'envcheck_absent'"
    assert "install" in absent["hint"] and "'envcheck-absent>=1.0'" in absent["hint"]
    assert checks["package.envcheck-absent.version"]["status"] == "skip"  # the import check has the hint

    main = checks["probe.environment"]
    assert main["status"] == "fail"
    assert "was killed by SIGSEGV during import faulty_segv" in main["detail"]

    # the rest still report
    assert checks["python.version"]["status"] == "pass"
    assert checks["python.prefix"]["status"] == "pass"
    assert checks["package.faulty-garbage.version"]["status"] == "pass"
    assert checks["packages.pip-check"]["status"] in ("pass", "warn")
    # one crash, then the unfinished packages alone, side by side, within the one limit
    assert elapsed < TIMEOUT + SLACK


def test_a_hang_in_the_combined_probe_is_named(faulty_env: Path, tmp_path: Path) -> None:
    code, document, elapsed = run_verify(faulty_env, profile(tmp_path, ["faulty_hang", "faulty_garbage"]))
    checks = by_id(document)
    assert code == 1
    assert checks["probe.environment"]["detail"].startswith(
        f"the probe did not finish within {TIMEOUT} s during import faulty_hang"
    )
    assert checks["package.faulty-hang.import"]["status"] == "fail"
    # the hang used all the time there was: what it kept from being imported is said to be unchecked
    garbage = checks["package.faulty-garbage.import"]
    assert garbage["status"] == "skip" and garbage["detail"] == "`import faulty_garbage` was not reached"
    assert elapsed < TIMEOUT + SLACK


def test_garbage_on_stdout_does_not_disturb_the_answer(faulty_env: Path, tmp_path: Path) -> None:
    code, document, _ = run_verify(faulty_env, profile(tmp_path, ["faulty_garbage"]))
    checks = by_id(document)
    assert code == 0, checks
    assert checks["probe.environment"]["status"] == "pass"
    assert checks["package.faulty-garbage.import"]["detail"] == "import faulty_garbage (1.0) works"


def test_a_python_that_hangs_at_start_up_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    """A sitecustomize that never returns: the probe, pip check and everything else end within --timeout."""
    prefix = tmp_path / "env"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(prefix)
    site = _site_packages(prefix)
    (site / "sitecustomize.py").write_text("import time\ntime.sleep(10**6)\n", encoding="utf-8")
    started = time.monotonic()
    result = CliRunner().invoke(app, ["verify", "--prefix", str(prefix), "--timeout", "3", "--json"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 3, result.stderr
    assert "did not finish within its time limit" in result.stderr
    assert json.loads(result.stdout)["exit_code"] == 3
    assert elapsed < 3 + SLACK


def test_an_interpreter_that_cannot_run_the_probe_is_unusable(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'not a python' >&2\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)
    result = CliRunner().invoke(app, ["verify", "--python", str(fake), "--json"])
    assert result.exit_code == 3
    assert "cannot run envcheck's probe" in result.stderr
    assert "not a python" in result.stderr


def test_no_such_interpreter_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["verify", "--python", str(tmp_path / "nope" / "python")])
    assert result.exit_code == 2


def test_verify_the_running_interpreter(tmp_path: Path) -> None:
    """Any interpreter can be checked, here the one running the tests, against a stdlib-only profile."""
    path = tmp_path / "stdlib.toml"
    path.write_text(
        'schema = 1\nname = "stdlib"\nkernel = false\n[[package]]\nname = "pip"\nrequirement = "pip"\nimport = "pip"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["verify", "--python", sys.executable, "--file", str(path), "--json"])
    document = json.loads(result.stdout)
    checks = by_id(document)
    assert checks["python.prefix"]["status"] == "pass"
    assert checks["env.complete"]["status"] == "skip"
