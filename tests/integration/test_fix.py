"""`envcheck verify --fix` and the shell's variables, through the command line, on small real environments.

Real: venvs with pip, pip installing a wheel built here (no index: PIP_NO_INDEX with a folder of wheels), the
probes, a PYTHONPATH folder that shadows a module. The TensorFlow environment is exercised in test_fix_e2e.py.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from support.locks import lock_text
from support.wheels import make_wheel
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.completion import Marker, write_marker
from envcheck.locations import OWNER_NAME, default_prefix, python_in
from envcheck.profiles.files import load_profile
from envcheck.verify.fix import changes, parse_freeze

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")

DEMO = "envcheck-fixdemo"


def write_profile(folder: Path, *packages: tuple[str, str]) -> Path:
    lines = ["schema = 1", 'name = "fixdemo"', "kernel = false"]
    for name, module in packages:
        lines += ["[[package]]", f'name = "{name}"', f'requirement = "{name}"', f'import = "{module}"']
    path = folder / "fixdemo.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_wheel(folder: Path) -> Path:
    """A minimal, valid pure-Python wheel of envcheck-fixdemo 1.0."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "envcheck_fixdemo/__init__.py": '__version__ = "1.0"\n',
        "envcheck_fixdemo-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {DEMO}\nVersion: 1.0\n",
        "envcheck_fixdemo-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("envcheck_fixdemo-1.0.dist-info/RECORD,,")
    files["envcheck_fixdemo-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / "envcheck_fixdemo-1.0-py3-none-any.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    wheel.write_bytes(buffer.getvalue())
    return wheel


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prefix = tmp_path_factory.mktemp("fix") / "base"
    venv.EnvBuilder(with_pip=True, symlinks=True).create(prefix)
    return prefix


@pytest.fixture()
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip finds packages only in a folder of this test's wheels."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    return wheels


def copy_of(base: Path, where: Path) -> Path:
    shutil.copytree(base, where, symlinks=True)
    return where


def freeze(prefix: Path) -> dict[str, str]:
    completed = subprocess.run(
        [str(python_in(prefix)), "-m", "pip", "freeze", "--all"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return parse_freeze(completed.stdout)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["verify", *args], env={"NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


def test_fix_installs_the_missing_package_and_verifies_again(base_venv: Path, offline: Path, tmp_path: Path) -> None:
    build_wheel(offline)
    prefix = copy_of(base_venv, tmp_path / "env")
    profile = write_profile(tmp_path, ("pip", "pip"), (DEMO, "envcheck_fixdemo"))
    code, stdout, _ = invoke("--prefix", str(prefix), "--file", str(profile), "--fix", "--json", "--no-redact")
    document = json.loads(stdout)
    assert code == 0, document
    fix = document["fix"]
    python = str(python_in(prefix))
    assert [s["argv"] for s in fix["steps"]] == [[python, "-m", "pip", "install", DEMO]]
    assert fix["steps"][0]["returncode"] == 0 and fix["steps"][0]["scope"] == "environment"
    assert f"package.{DEMO}.import" in fix["steps"][0]["resolves"]
    assert fix["before"]["plan"] and document["plan"] == []
    assert document["status"] == "pass" and fix["restored"] is None
    assert Path(fix["log"]).is_file() and Path(fix["freeze"]).read_text().strip()
    assert DEMO in freeze(prefix)


def test_fix_refuses_an_environment_envcheck_did_not_create_unless_named(
    base_venv: Path, offline: Path, tmp_path: Path
) -> None:
    build_wheel(offline)
    profile = write_profile(tmp_path, ("pip", "pip"), (DEMO, "envcheck_fixdemo"))
    prefix = copy_of(base_venv, default_prefix("fixdemo"))
    try:
        code, stdout, stderr = invoke("--file", str(profile), "--fix")
        assert code == 2
        assert f"error: envcheck did not create {prefix}; --fix changes it only when you name it" in stderr
        assert f"hint: envcheck verify --file {profile} --prefix {prefix} --fix" in stderr
        # what it would change comes first
        assert "Fix plan" in stdout and f"{python_in(prefix)} -m pip install {DEMO}" in stdout
        assert DEMO not in freeze(prefix)
        (prefix / OWNER_NAME).write_text("created by envcheck\n", encoding="utf-8")
        digest = load_profile(None, profile).digest
        write_marker(
            prefix, Marker(profile="fixdemo", profile_digest=digest, backend="venv", installer="pip", python="3")
        )
        code, stdout, _ = invoke("--file", str(profile), "--fix")
        assert code == 0, stdout
        assert "before 1 failed → after all passed" in stdout
    finally:
        shutil.rmtree(prefix)


def test_dry_run_prints_the_plan_and_changes_nothing(base_venv: Path, offline: Path, tmp_path: Path) -> None:
    build_wheel(offline)
    prefix = copy_of(base_venv, tmp_path / "env")
    profile = write_profile(tmp_path, ("pip", "pip"), (DEMO, "envcheck_fixdemo"))
    before = freeze(prefix)
    code, stdout, _ = invoke("--prefix", str(prefix), "--file", str(profile), "--fix", "--dry-run")
    assert code == 1
    assert f"1. {python_in(prefix)} -m pip install {DEMO}" in stdout
    assert f"resolves package.{DEMO}.import" in stdout
    assert freeze(prefix) == before


def test_a_failing_step_leaves_the_environment_as_it_was(base_venv: Path, offline: Path, tmp_path: Path) -> None:
    prefix = copy_of(base_venv, tmp_path / "env")  # no wheel in the folder: pip cannot install it
    profile = write_profile(tmp_path, ("pip", "pip"), (DEMO, "envcheck_fixdemo"))
    before = freeze(prefix)
    code, stdout, _ = invoke("--prefix", str(prefix), "--file", str(profile), "--fix")
    assert code == 1
    assert f"✗ 1. {python_in(prefix)} -m pip install {DEMO}" in stdout
    assert "put back: nothing had changed in the environment" in stdout
    assert freeze(prefix) == before


def test_fix_refuses_a_python_outside_any_environment(tmp_path: Path) -> None:
    profile = write_profile(tmp_path, ("pip", "pip"), (DEMO, "envcheck_fixdemo"))
    system = Path(sys.base_prefix) / "bin" / "python3"
    if sys.prefix == sys.base_prefix or not system.exists():
        pytest.skip("needs a base interpreter outside a virtual environment")
    code, _, stderr = invoke("--python", str(system), "--file", str(profile), "--fix")
    assert code == 2
    assert "is not a virtual or conda environment; --fix changes nothing outside one" in stderr


def test_freeze_changes_name_what_to_put_back() -> None:
    before = parse_freeze("numpy==1.26.4\npandas==2.2.0\n-e git+https://x/y#egg=y\n")
    after = parse_freeze("numpy==2.1.0\nprotobuf==5.0\n-e git+https://x/y#egg=y\n")
    added, changed = changes(before, after)
    assert added == ["protobuf"]
    assert changed == ["numpy==1.26.4", "pandas==2.2.0"]


# ---------------------------------------------------------------------------------------------- the shell


def test_pythonpath_shadowing_a_module_fails_and_names_the_variable(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    (shadow / "packaging").mkdir(parents=True)
    (shadow / "packaging" / "__init__.py").write_text("__version__ = '0'\n", encoding="utf-8")
    profile = write_profile(tmp_path, ("pip", "pip"), ("packaging", "packaging"))
    result = CliRunner().invoke(
        app,
        ["verify", "--python", sys.executable, "--file", str(profile), "--json", "--no-redact"],
        env={"PYTHONPATH": str(shadow)},
    )
    document = json.loads(result.stdout)
    checks = {c["id"]: c for c in document["checks"]}
    assert result.exit_code == 1
    assert checks["package.packaging.import"]["status"] == "pass"  # the environment itself is fine
    found = checks["environ.pythonpath"]
    assert found["status"] == "fail"
    assert f"loads packaging from {shadow / 'packaging' / '__init__.py'}" in found["detail"]
    assert document["plan"] == [
        {"argv": ["unset", "PYTHONPATH"], "resolves": ["environ.pythonpath"], "scope": "outside"}
    ]


# ---------------------------------------------------------------------------------------------- --fix and a lock


def locked_wheels(wheels: Path, tmp_path: Path, profile: Path) -> Path:
    """fixa 1.0 (needs fixb), fixb 1.0 and 2.0, fixc 1.0 in the wheel folder; a lock of fixa 1.0 and fixb 1.0."""
    built = {
        "fixa": make_wheel(wheels, "fixa", requires=("fixb",)),
        "fixb": make_wheel(wheels, "fixb"),
    }
    make_wheel(wheels, "fixb", "2.0")
    make_wheel(wheels, "fixc")
    entries = [(n, "1.0", [(w.name, hashlib.sha256(w.read_bytes()).hexdigest())]) for n, w in built.items()]
    lock = tmp_path / "pylock.fixdemo.toml"
    lock.write_text(lock_text(entries, "fixdemo", load_profile(None, profile).digest))
    return lock


def pip_in(prefix: Path, *args: str) -> None:
    subprocess.run([str(python_in(prefix)), "-m", "pip", *args], check=True, capture_output=True, timeout=300)


def test_fix_with_a_lock_repairs_drift_and_an_extra_package_and_verifies_against_the_lock_again(
    base_venv: Path, offline: Path, tmp_path: Path
) -> None:
    """fixb gone (pip check and the lock both say so) and fixc, which the lock does not hold: the lock's repair
    stays in the plan, installs fixb once, and the second verify compares with the lock again."""
    profile = write_profile(tmp_path, ("pip", "pip"), ("fixa", "fixa"))
    lock = locked_wheels(offline, tmp_path, profile)
    prefix = copy_of(base_venv, tmp_path / "env")
    pip_in(prefix, "install", "fixa==1.0", "fixb==1.0", "fixc")
    pip_in(prefix, "uninstall", "-y", "fixb")
    args = ["--prefix", str(prefix), "--file", str(profile), "--lock", str(lock), "--json", "--no-redact"]
    code, stdout, _ = invoke(*args, "--fix")
    document = json.loads(stdout)
    fix = document["fix"]
    before = {c["id"]: c for c in fix["before"]["checks"]}
    assert before["packages.lock"]["status"] == "warn" and before["packages.pip-check"]["status"] == "fail"
    python = str(python_in(prefix))
    assert [(s["argv"], s["resolves"]) for s in fix["steps"]] == [
        ([python, "-m", "pip", "uninstall", "-y", "fixc"], ["packages.lock"]),
        ([python, "-m", "pip", "install", "--no-deps", "fixb==1.0"], ["packages.pip-check", "packages.lock"]),
    ]
    after = {c["id"]: c for c in document["checks"]}
    assert after["packages.lock"]["status"] == "pass", after["packages.lock"]  # compared with the lock again
    assert code == 0 and fix["unresolved"] == [] and document["status"] == "pass"
    assert freeze(prefix) == {**freeze(base_venv), "fixa": "fixa==1.0", "fixb": "fixb==1.0"}


def test_fix_exits_1_when_a_step_moves_a_locked_package(base_venv: Path, offline: Path, tmp_path: Path) -> None:
    """A broken fixa is reinstalled with --force-reinstall, which brings its dependency's newest release along
    (fixb 2.0, not the locked 1.0): the import is repaired, but the environment no longer matches the lock, so
    --fix does not say it is done."""
    profile = write_profile(tmp_path, ("pip", "pip"), ("fixa", "fixa"))
    lock = locked_wheels(offline, tmp_path, profile)
    prefix = copy_of(base_venv, tmp_path / "env")
    pip_in(prefix, "install", "fixa==1.0", "fixb==1.0")
    module = next(prefix.glob("lib/python3*/site-packages/fixa/__init__.py"))
    module.write_text("raise ImportError('a broken build of fixa')\n")
    shown = copy_of(prefix, tmp_path / "shown")  # the same, for the text report
    args = ["--prefix", str(prefix), "--file", str(profile), "--lock", str(lock), "--json", "--no-redact"]
    code, stdout, _ = invoke(*args, "--fix")
    document = json.loads(stdout)
    fix = document["fix"]
    assert [s["argv"][3:] for s in fix["steps"]] == [["install", "--force-reinstall", "fixa"]]
    after = {c["id"]: c for c in document["checks"]}
    assert after["package.fixa.import"]["status"] == "pass"
    assert after["packages.lock"]["status"] == "warn" and "fixb is 2.0" in after["packages.lock"]["detail"]
    assert fix["unresolved"] == ["packages.lock"] and code == 1
    code, text, _ = invoke("--prefix", str(shown), "--file", str(profile), "--lock", str(lock), "--fix")
    assert code == 1 and "the steps did not resolve: packages.lock (see the second report)" in text
