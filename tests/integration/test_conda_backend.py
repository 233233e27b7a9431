"""The conda backend: finding the tool, the argument lists per flavour, and setup through a conda test double.

Real: envcheck's whole setup (pre-flight, rollback, marker, import check), the prefix's python, pip and the pip
step (it installs wheels this file builds, from a local folder, with --no-index), the conda-meta records that
verify's conda checks read. Imitated: the conda executable. tests/fakes/micromamba (linked as ``conda`` or
``mamba`` for those flavours) answers create and install like the real tools, with a real prefix in conda's
layout, but it solves nothing and downloads nothing: python is a copy of the interpreter running the tests, and
every other conda package is a synthesized module with a .dist-info (see tests/fakes/fake_conda.py).
Tests marked ``conda`` drive a real micromamba, mamba or conda instead, and need conda-forge and PyPI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.conda import FAKE, SMALL, calls, posix_only, setup, write_profile
from support.wheels import make_wheel
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.completion import read_marker
from envcheck.errors import ExitCode, ProgramNotFoundError, UsageError
from envcheck.installers import IndexOptions
from envcheck.locations import OWNER_NAME
from envcheck.profiles.files import load_file
from envcheck.results import Status
from envcheck.setup.backends import BuildRequest, get_backend
from envcheck.setup.backends.conda import GET_CONDA, CondaBackend, explain_output, find_conda
from envcheck.verify.condafacts import (
    check_activation,
    check_double_install,
    check_python_in_prefix,
    conda_checks,
)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))


def executable(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def request(tmp_path: Path, *, fresh: bool = True, index: IndexOptions | None = None) -> BuildRequest:
    return BuildRequest(
        prefix=tmp_path / "env",
        interpreter=Path(sys.executable),
        python_version="3.11.7",
        profile=load_file(write_profile(tmp_path)),
        installer="uv",
        index=index or IndexOptions(),
        fresh=fresh,
    )


# --- finding the tool -----------------------------------------------------------------------------------------


def test_path_is_searched_micromamba_then_mamba_then_conda(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    executable(bin_dir, "conda")
    assert find_conda(environ={"PATH": str(bin_dir)}).flavour == "conda"
    executable(bin_dir, "mamba")
    assert find_conda(environ={"PATH": str(bin_dir)}).flavour == "mamba"
    executable(bin_dir, "micromamba")
    found = find_conda(environ={"PATH": str(bin_dir)})
    assert (found.flavour, found.path) == ("micromamba", bin_dir / "micromamba")


def test_conda_exe_and_mamba_exe_are_the_fallback(tmp_path: Path) -> None:
    conda = executable(tmp_path / "miniforge" / "bin", "conda")
    found = find_conda(environ={"PATH": str(tmp_path / "empty"), "CONDA_EXE": str(conda)})
    assert (found.path, found.flavour) == (conda, "conda")
    micromamba = executable(tmp_path / "mm", "micromamba")
    assert find_conda(environ={"PATH": "", "MAMBA_EXE": str(micromamba)}).flavour == "micromamba"


def test_explicit_conda_exe_wins_and_a_missing_one_is_exit_3(tmp_path: Path) -> None:
    mamba = executable(tmp_path / "other", "mamba")
    executable(tmp_path / "bin", "micromamba")
    assert find_conda(str(mamba), environ={"PATH": str(tmp_path / "bin")}).path == mamba
    with pytest.raises(ProgramNotFoundError) as caught:
        find_conda(str(tmp_path / "nowhere" / "conda"))
    assert caught.value.exit_code == ExitCode.UNUSABLE


def test_nothing_found_names_miniforge_and_micromamba(tmp_path: Path) -> None:
    with pytest.raises(ProgramNotFoundError) as caught:
        find_conda(environ={"PATH": str(tmp_path)})
    assert caught.value.exit_code == ExitCode.UNUSABLE == 3
    assert "Miniforge" in GET_CONDA and "micromamba" in GET_CONDA
    assert caught.value.hint == GET_CONDA


def test_cli_without_conda_is_exit_3_before_anything_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("CONDA_EXE", raising=False)
    monkeypatch.delenv("MAMBA_EXE", raising=False)
    prefix = tmp_path / "envs" / "x"
    result = CliRunner().invoke(
        app, ["setup", "--backend", "conda", "--file", str(write_profile(tmp_path)), "--prefix", str(prefix)]
    )
    assert result.exit_code == 3
    assert "error: no conda, mamba or micromamba found" in result.stderr
    assert "hint: install Miniforge" in result.stderr and "micromamba" in result.stderr
    assert not (tmp_path / "envs").exists()


def test_backend_registry_knows_conda() -> None:
    assert isinstance(get_backend("conda", installer="uv", conda_exe=None), CondaBackend)
    with pytest.raises(UsageError, match="unknown backend") as caught:
        get_backend("pixi")
    assert "conda" in (caught.value.hint or "")


# --- the plan -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["micromamba", "mamba", "conda"])
def test_create_is_one_non_interactive_solve_by_prefix_from_the_profile_channels(tmp_path: Path, flavour: str) -> None:
    tool = executable(tmp_path / "bin", flavour)
    build = request(tmp_path)
    (step,) = CondaBackend(conda_exe=str(tool)).create_steps(build)
    extra = ["--no-default-packages"] if flavour == "conda" else []
    assert step.phase == "create"
    assert list(step.argv) == [
        str(tool),
        "create",
        "--prefix",
        str(tmp_path / "env"),
        "--yes",
        "--json",
        "--override-channels",
        "-c",
        "conda-forge",
        *extra,
        "python=3.11",
        "pip",
        "tiny-conda>=1.2",
    ]
    assert step.explain is explain_output


def test_new_prefix_gets_only_the_pip_step_with_index_options(tmp_path: Path) -> None:
    tool = executable(tmp_path / "bin", "micromamba")
    index = IndexOptions(index_url="https://mirror.example/simple", find_links=("wheels",), offline=True)
    (step,) = CondaBackend(conda_exe=str(tool)).install_steps(request(tmp_path, index=index))
    python = str(tmp_path / "env" / ("python.exe" if sys.platform == "win32" else "bin/python"))
    assert step.phase == "install"
    assert list(step.argv) == [
        python,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "--find-links",
        "wheels",
        "--no-index",
        "tinypip>=1.0",
    ]
    assert step.env == {"PIP_REQUIRE_VIRTUALENV": "0", "PIP_INDEX_URL": "https://mirror.example/simple"}


def test_update_installs_the_conda_packages_again_then_pip(tmp_path: Path) -> None:
    tool = executable(tmp_path / "bin", "mamba")
    conda_step, pip_step = CondaBackend(conda_exe=str(tool)).install_steps(request(tmp_path, fresh=False))
    assert conda_step.argv[:8] == (
        str(tool),
        "install",
        "--prefix",
        str(tmp_path / "env"),
        "--yes",
        "--json",
        "--override-channels",
        "-c",
    )
    assert conda_step.argv[-3:] == ("python=3.11", "pip", "tiny-conda>=1.2")  # python stays on its minor
    assert pip_step.argv[1:4] == ("-m", "pip", "install")


def test_explain_output_reads_conda_json_and_mamba_logs() -> None:
    conda = json.dumps(
        {
            "caused_by": "None",
            "error": "PackagesNotFoundError: The following packages are not available",
            "exception_name": "PackagesNotFoundError",
            "message": "The following packages are not available\n  - nope",
        },
        indent=2,
    )
    assert explain_output("Channels:\n - conda-forge\n" + conda) == (
        "PackagesNotFoundError: The following packages are not available - nope"
    )
    assert explain_output("info libmamba x\ncritical libmamba Could not solve for environment specs\n") == (
        "Could not solve for environment specs"
    )
    newer = {
        "success": False,
        "log_records": [{"level": "info", "message": "x"}, {"level": "critical", "message": "no space"}],
    }
    assert explain_output(json.dumps(newer)) == "no space"
    assert explain_output("Segmentation fault\n") is None


# --- setup through the test double ----------------------------------------------------------------------------


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The test double's settings, and wheels for the pip step in a local folder."""
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_CONDA_PYTHON", sys.executable)
    monkeypatch.setenv("FAKE_CONDA_CALLS", str(calls))
    monkeypatch.delenv("FAKE_CONDA_FAIL", raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # the machine's pip.conf must not add indexes or links
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "tinypip", "1.2.0")
    return {"calls": calls, "wheels": wheels}


def run_python(prefix: Path, code: str) -> str:
    return subprocess.run(
        [str(prefix / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


@posix_only
def test_setup_builds_a_real_conda_prefix(tmp_path: Path, fake: dict[str, Path]) -> None:
    prefix = tmp_path / "envs" / "small"
    result = setup(prefix, write_profile(tmp_path), fake["wheels"], "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["backend"], document["installer"]) == ("conda", "micromamba")
    assert document["versions"] == {"tiny-conda": "1.2", "tinypip": "1.2.0"}
    (create,) = calls(fake)
    assert create[:8] == [
        "micromamba",
        "create",
        "--prefix",
        str(prefix),
        "--yes",
        "--json",
        "--override-channels",
        "-c",
    ]
    assert create[-3:] == [f"python={sys.version_info[0]}.{sys.version_info[1]}", "pip", "tiny-conda>=1.2"]
    records = sorted(p.name.split("-")[0] for p in (prefix / "conda-meta").glob("*.json"))
    assert records == ["pip", "python", "tiny"]
    assert "+conda-forge/noarch::tiny-conda-1.2" in (prefix / "conda-meta" / "history").read_text(encoding="utf-8")
    assert (prefix / OWNER_NAME).is_file()
    marker = read_marker(prefix)
    assert marker is not None and (marker.backend, marker.installer) == ("conda", "micromamba")
    assert run_python(prefix, "import sys, tinypip; print(sys.prefix)") == str(prefix)
    # the pip package came from pip, the conda one from "conda": the checks verify adds see it that way
    checks = {c.id: c for c in conda_checks(prefix)}
    assert {c.status for c in checks.values()} == {Status.PASS}, checks
    assert set(checks) == {"conda.python-in-prefix", "conda.double-install", "conda.activation"}


@posix_only
def test_verify_adds_the_conda_checks_for_a_conda_prefix(tmp_path: Path, fake: dict[str, Path]) -> None:
    prefix, profile = tmp_path / "env", write_profile(tmp_path)
    assert setup(prefix, profile, fake["wheels"]).exit_code == 0
    activate = prefix / "etc" / "conda" / "activate.d"
    activate.mkdir(parents=True)
    (activate / "cuda.sh").write_text('export XLA_FLAGS="--xla_gpu_cuda_data_dir=$CONDA_PREFIX"\n', "utf-8")
    result = CliRunner().invoke(app, ["verify", "--prefix", str(prefix), "--file", str(profile), "--json"])
    assert result.exit_code == 0, result.stderr  # a warning is not a failure without --strict
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["conda.python-in-prefix"]["status"] == "pass"
    assert checks["conda.double-install"]["status"] == "pass"
    assert checks["conda.activation"]["status"] == "warn"
    assert checks["conda.activation"]["data"]["variables"] == ["XLA_FLAGS"]


@posix_only
def test_second_run_is_up_to_date_without_calling_conda(tmp_path: Path, fake: dict[str, Path]) -> None:
    prefix, profile = tmp_path / "env", write_profile(tmp_path)
    assert setup(prefix, profile, fake["wheels"]).exit_code == 0
    assert len(calls(fake)) == 1
    again = setup(prefix, profile, fake["wheels"], "--json")
    assert json.loads(again.stdout)["action"] == "up-to-date"
    assert len(calls(fake)) == 1


@posix_only
def test_changed_profile_updates_with_conda_install_then_pip(tmp_path: Path, fake: dict[str, Path]) -> None:
    prefix = tmp_path / "env"
    assert setup(prefix, write_profile(tmp_path), fake["wheels"]).exit_code == 0
    newer = write_profile(tmp_path, SMALL.replace("tiny-conda>=1.2", "tiny-conda>=1.3"))
    result = setup(prefix, newer, fake["wheels"], "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["action"] == "updated"
    assert calls(fake)[-1][:2] == ["micromamba", "install"]
    assert json.loads(result.stdout)["versions"]["tiny-conda"] == "1.3"
    assert [p.name for p in (prefix / "conda-meta").glob("tiny-conda-*.json")] == ["tiny-conda-1.3-pyh0_fake.json"]


@posix_only
def test_failing_pip_step_removes_the_prefix(tmp_path: Path, fake: dict[str, Path]) -> None:
    prefix = tmp_path / "envs" / "small"
    broken = write_profile(tmp_path, SMALL.replace("tinypip>=1.0", "not-in-the-folder>=1.0"))
    result = setup(prefix, broken, fake["wheels"])
    assert result.exit_code == 1
    assert "install packages failed: pip exited with code 1" in result.stderr
    assert "not-in-the-folder" in result.stderr
    assert "removed the partial environment" in result.stderr
    assert not (tmp_path / "envs").exists()


@posix_only
@pytest.mark.parametrize(("flavour", "said"), [("micromamba", "HTTP 000"), ("conda", "CondaHTTPError: HTTP 000")])
def test_failed_create_is_removed_so_the_retry_is_not_blocked(
    tmp_path: Path, fake: dict[str, Path], monkeypatch: pytest.MonkeyPatch, flavour: str, said: str
) -> None:
    exe = tmp_path / "bin" / flavour
    exe.parent.mkdir()
    exe.symlink_to(FAKE)
    prefix, profile = tmp_path / "env", write_profile(tmp_path)
    monkeypatch.setenv("FAKE_CONDA_FAIL", "create")
    result = setup(prefix, profile, fake["wheels"], exe=exe)
    assert result.exit_code == 1
    assert f"create interpreter failed: {flavour} exited with code 1: {said}" in result.stderr
    assert not prefix.exists()  # the test double left a half-built prefix; envcheck removed it
    monkeypatch.delenv("FAKE_CONDA_FAIL")
    retry = setup(prefix, profile, fake["wheels"], exe=exe)
    assert retry.exit_code == 0, retry.stderr
    assert "prefix already exists" not in retry.stderr


@posix_only
def test_failed_recreate_restores_the_previous_environment(tmp_path: Path, fake: dict[str, Path]) -> None:
    prefix, profile = tmp_path / "env", write_profile(tmp_path)
    assert setup(prefix, profile, fake["wheels"]).exit_code == 0
    before = read_marker(prefix)
    broken = write_profile(tmp_path, SMALL.replace("tinypip>=1.0", "not-in-the-folder>=1.0"), "broken.toml")
    result = setup(prefix, broken, fake["wheels"], "--recreate")
    assert result.exit_code == 1
    assert "the previous environment at" in result.stderr and "was restored" in result.stderr
    assert read_marker(prefix) == before
    assert run_python(prefix, "import tinypip, tiny_conda; print(tiny_conda.__version__)") == "1.2"
    assert not prefix.with_name("env.envcheck-previous").exists()


@posix_only
def test_an_empty_folder_is_a_prefix_even_for_tools_that_refuse_it(
    tmp_path: Path, fake: dict[str, Path], monkeypatch
) -> None:
    prefix = tmp_path / "empty"
    prefix.mkdir()
    monkeypatch.setenv("FAKE_CONDA_FAIL", "solve")
    assert setup(prefix, write_profile(tmp_path), fake["wheels"]).exit_code == 1
    assert prefix.is_dir() and not any(prefix.iterdir())  # the user's folder is back, empty
    monkeypatch.delenv("FAKE_CONDA_FAIL")
    result = setup(prefix, write_profile(tmp_path), fake["wheels"])
    assert result.exit_code == 0, result.stderr  # the double refuses existing folders, as micromamba < 1.5 did


@posix_only
def test_pip_over_a_conda_package_is_a_double_install(tmp_path: Path, fake: dict[str, Path]) -> None:
    prefix = tmp_path / "env"
    assert setup(prefix, write_profile(tmp_path), fake["wheels"]).exit_code == 0
    make_wheel(fake["wheels"], "tiny-conda", "2.0")
    subprocess.run(
        [
            str(prefix / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(fake["wheels"]),
            "tiny-conda==2.0",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    check = check_double_install(prefix)
    assert check.status is Status.WARN
    assert "tiny-conda: conda records 1.2, pip installed 2.0" in check.detail
    assert check.hint == f"rebuild it: envcheck setup --prefix {prefix} --recreate"
    assert check.data["packages"] == [{"name": "tiny-conda", "conda": "1.2", "pip": "2.0", "installer": "pip"}]


# --- the test double itself behaves like the real tools -------------------------------------------------------


def run_fake(exe: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "FAKE_CONDA_PYTHON": sys.executable, **(env or {})}
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=60, env=environment, stdin=subprocess.DEVNULL
    )


@posix_only
def test_double_prompts_without_yes_and_knows_each_flavours_arguments(tmp_path: Path) -> None:
    conda = tmp_path / "conda"
    conda.symlink_to(FAKE)
    no_yes = run_fake(FAKE, "create", "--prefix", str(tmp_path / "a"), "python")
    assert no_yes.returncode == 1 and not (tmp_path / "a").exists()
    wrong = run_fake(FAKE, "create", "-p", str(tmp_path / "b"), "--yes", "--no-default-packages", "python")
    assert wrong.returncode == 109 and "The following argument was not expected" in wrong.stderr
    made = run_fake(conda, "create", "-p", str(tmp_path / "c"), "-y", "--json", "--no-default-packages", "python")
    # conda's progress records (NUL-terminated) come first, its final document last
    *progress, final = made.stdout.split("\0")
    assert [json.loads(r)["fetch"] for r in progress][-1].startswith("python-") and json.loads(progress[-1])["finished"]
    assert made.returncode == 0 and json.loads(final)["success"] is True
    leftover = tmp_path / "d"
    (leftover / "conda-meta").mkdir(parents=True)
    refused = run_fake(conda, "create", "-p", str(leftover), "-y", "--json", "python")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["message"] == f"prefix already exists: {leftover}"
    folder = tmp_path / "e"
    folder.mkdir()
    non_conda = run_fake(FAKE, "create", "-p", str(folder), "-y", "python")
    assert non_conda.returncode == 1 and "Non-conda folder exists at prefix" in non_conda.stderr
    missing = run_fake(conda, "create", "-p", str(tmp_path / "f"), "-y", "--json", "no-such-package")
    assert json.loads(missing.stdout)["exception_name"] == "PackagesNotFoundError"


# --- verify's conda checks on hand-made prefixes --------------------------------------------------------------


def conda_prefix(tmp_path: Path) -> Path:
    prefix = tmp_path / "prefix"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "bin").mkdir()
    python = prefix / "bin" / "python3.11"
    python.write_text("", encoding="utf-8")
    (prefix / "bin" / "python").symlink_to("python3.11")
    return prefix


@posix_only
def test_python_outside_the_prefix_fails(tmp_path: Path) -> None:
    prefix = conda_prefix(tmp_path)
    assert check_python_in_prefix(prefix).status is Status.PASS
    assert check_python_in_prefix(prefix, reported_prefix=str(tmp_path / "elsewhere")).status is Status.FAIL
    (prefix / "bin" / "python").unlink()
    (prefix / "bin" / "python").symlink_to(sys.executable)
    check = check_python_in_prefix(prefix)
    assert check.status is Status.FAIL and "outside the prefix" in check.detail
    assert check.hint and "--force-reinstall python" in check.hint


def test_missing_python_fails(tmp_path: Path) -> None:
    (tmp_path / "conda-meta").mkdir()
    check = check_python_in_prefix(tmp_path)
    assert check.status is Status.FAIL and "has no python" in check.detail


def test_activation_scripts_that_set_cuda_paths_warn_with_a_hint(tmp_path: Path) -> None:
    prefix = tmp_path
    assert check_activation(prefix).status is Status.PASS
    folder = prefix / "etc" / "conda" / "activate.d"
    folder.mkdir(parents=True)
    (folder / "quiet.sh").write_text("echo hello\n", encoding="utf-8")
    assert check_activation(prefix).status is Status.PASS
    (folder / "cuda.sh").write_text('export CUDA_HOME="$CONDA_PREFIX"\nLD_LIBRARY_PATH=$CONDA_PREFIX/lib\n', "utf-8")
    (folder / "cuda.bat").write_text('@set "CUDA_PATH=%CONDA_PREFIX%"\n', encoding="utf-8")
    check = check_activation(prefix)
    assert check.status is Status.WARN
    assert check.data["variables"] == ["CUDA_HOME", "CUDA_PATH", "LD_LIBRARY_PATH"]
    assert "like a Jupyter kernel, runs the python without activation" in check.detail
    assert check.hint and "tensorflow[and-cuda]" in check.hint and "kernel.json" in check.hint


def test_variables_stored_with_conda_env_config_vars_count_too(tmp_path: Path) -> None:
    (tmp_path / "conda-meta").mkdir()
    state = {"env_vars": {"MY_DATA": "/data", "XLA_FLAGS": "--xla_gpu_cuda_data_dir=/x"}}
    (tmp_path / "conda-meta" / "state").write_text(json.dumps(state), "utf-8")
    check = check_activation(tmp_path)
    assert check.status is Status.WARN and check.data["variables"] == ["MY_DATA", "XLA_FLAGS"]
    assert "activation sets XLA_FLAGS" in check.detail
    assert check.hint and "kernel.json" in check.hint


def test_activation_that_sets_only_other_libraries_data_paths_passes(tmp_path: Path) -> None:
    folder = tmp_path / "etc" / "conda" / "activate.d"
    folder.mkdir(parents=True)
    (folder / "proj4-activate.sh").write_text('export PROJ_DATA="$CONDA_PREFIX/share/proj"\n', "utf-8")
    check = check_activation(tmp_path)
    assert check.status is Status.PASS and check.data["variables"] == ["PROJ_DATA"]
    assert "none of them changes how python or TensorFlow load" in check.detail


def test_double_install_reads_records_files_and_installer(tmp_path: Path) -> None:
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    (tmp_path / "conda-meta").mkdir()

    def record(name: str, version: str, files: list[str]) -> None:
        doc = {"name": name, "version": version, "build": "0", "files": files}
        (tmp_path / "conda-meta" / f"{name}-{version}-0.json").write_text(json.dumps(doc), encoding="utf-8")

    def dist(name: str, version: str, installer: str | None) -> str:
        folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
        folder.mkdir(parents=True)
        (folder / "METADATA").write_text(f"Name: {name}\nVersion: {version}\n", encoding="utf-8")
        if installer:
            (folder / "INSTALLER").write_text(installer + "\n", encoding="utf-8")
        return f"lib/python3.11/site-packages/{folder.name}/METADATA"

    record("numpy", "1.26.4", [dist("numpy", "1.26.4", "conda")])
    record("matplotlib-base", "3.8.0", [dist("matplotlib", "3.8.0", None)])  # no INSTALLER, but conda's files
    record("graphviz", "9.0", ["bin/dot"])  # a C library; pip's graphviz binding is another package
    dist("graphviz", "0.20", "pip")
    assert check_double_install(tmp_path).status is Status.PASS
    record("protobuf", "4.25.3", [])  # a metapackage-like record without files stands for its name
    dist("protobuf", "5.28.0", "uv")
    check = check_double_install(tmp_path)
    assert check.status is Status.WARN
    assert check.data["packages"] == [{"name": "protobuf", "conda": "4.25.3", "pip": "5.28.0", "installer": "uv"}]
    assert check.hint and "pip uninstall -y protobuf" in check.hint  # not envcheck's environment: no --recreate


# --- a real conda executable ----------------------------------------------------------------------------------


def real_conda() -> str | None:
    for name in ("micromamba", "mamba", "conda"):
        found = shutil.which(name)
        if found and Path(found).resolve() != FAKE.resolve():
            return found
    return None


needs_conda = pytest.mark.skipif(real_conda() is None, reason="no micromamba, mamba or conda on PATH")

REAL = """
schema = 1
name = "real-conda"
python = ">=3.8"
disk_gb = 0.5
kernel = false

[[package]]
requirement = "six>=1.16"

[[package]]
requirement = "tinypip>=1.0"
conda = false
"""


@pytest.mark.conda
@needs_conda
def test_real_tool_builds_a_prefix_that_passes_the_conda_checks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "tinypip", "1.2.0")
    prefix = tmp_path / "real"
    exe = Path(str(real_conda()))
    result = setup(prefix, write_profile(tmp_path, REAL), wheels, "--json", exe=exe)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["backend"] == "conda" and document["versions"]["tinypip"] == "1.2.0"
    assert any(p.name.startswith("python-3.") for p in (prefix / "conda-meta").glob("*.json"))
    checks = {c.id: c for c in conda_checks(prefix)}
    assert checks["conda.python-in-prefix"].status is Status.PASS
    assert checks["conda.double-install"].status is Status.PASS


@pytest.mark.conda
@needs_conda
def test_real_tool_failing_pip_step_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    prefix = tmp_path / "real"
    profile = write_profile(tmp_path, REAL.replace("tinypip>=1.0", "not-in-the-folder>=1.0"))
    result = setup(prefix, profile, tmp_path, exe=Path(str(real_conda())))
    assert result.exit_code == 1
    assert "install packages failed" in result.stderr
    assert not prefix.exists()
