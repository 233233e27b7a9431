"""Why a conda call failed, as each tool and generation says it, and where python comes from in a conda setup.

The outputs are produced by the conda test double (tests/fakes), which writes the shapes of the real tools:
conda's NUL-terminated ``{"fetch": ...}`` progress records before its error document (conda 24 and 26),
libmamba's ``"solver_problems"`` with a bare "Could not solve" on stderr (micromamba 1.5 and 2.x, mamba 2.x),
mamba 2.x's ``"log_history"``. Every setup here runs envcheck for real against that double.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.conda import FAKE, SMALL, calls, posix_only, setup, write_profile
from support.wheels import make_wheel

from envcheck.completion import read_marker
from envcheck.setup.backends.conda import explain_output, json_records

FLAVOURS = [(flavour, generation) for flavour in ("micromamba", "mamba", "conda") for generation in ("1", "2")]

# What conda 24 prints on stdout with --json when a download breaks off: progress records, then the error.
CONDA_DOWNLOAD_FAILURE = (
    '{"fetch":"python-3.11.9","finished":false,"maxval":1,"progress":0.000000}\n\0'
    '{"fetch":"python-3.11.9","finished":false,"maxval":1,"progress":0.412000}\n\0'
    + json.dumps(
        {
            "caused_by": "None",
            "error": "CondaHTTPError: HTTP 000 CONNECTION FAILED for url <https://conda.anaconda.org/conda-forge>",
            "exception_name": "CondaHTTPError",
            "exception_type": "<class 'conda.exceptions.CondaHTTPError'>",
            "message": "HTTP 000 CONNECTION FAILED for url <https://conda.anaconda.org/conda-forge>",
        },
        indent=2,
        sort_keys=True,
    )
    + "\n"
)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The double's settings (as in test_conda_backend), and a wheel for the pip step in a local folder."""
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.setenv("FAKE_CONDA_PYTHON", sys.executable)
    monkeypatch.setenv("FAKE_CONDA_CALLS", str(tmp_path / "calls.jsonl"))
    monkeypatch.delenv("FAKE_CONDA_FAIL", raising=False)
    monkeypatch.delenv("FAKE_CONDA_GENERATION", raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # the machine's pip.conf must not add indexes or links
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    make_wheel(tmp_path / "wheels", "tinypip", "1.2.0")
    return {"calls": tmp_path / "calls.jsonl", "wheels": tmp_path / "wheels"}


def tool(tmp_path: Path, flavour: str) -> Path:
    """The double under the flavour's name (it imitates what its name says)."""
    if flavour == "micromamba":
        return FAKE
    link = tmp_path / "bin" / flavour
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(FAKE)
    return link


def test_every_record_is_read_and_the_one_with_the_error_wins() -> None:
    records = json_records(CONDA_DOWNLOAD_FAILURE)
    assert [("fetch" in r, "exception_name" in r) for r in records] == [(True, False), (True, False), (False, True)]
    assert explain_output(CONDA_DOWNLOAD_FAILURE) == (
        "CondaHTTPError: HTTP 000 CONNECTION FAILED for url <https://conda.anaconda.org/conda-forge>"
    )


def test_solver_problems_win_over_the_bare_stderr_line() -> None:
    output = json.dumps({"success": False, "solver_problems": ["nothing provides requested tensorflow-gpu 9.9"]})
    output += "\ncritical libmamba Could not solve for environment specs\n"
    assert explain_output(output) == "could not solve: nothing provides requested tensorflow-gpu 9.9"


@posix_only
@pytest.mark.parametrize(("flavour", "generation"), FLAVOURS)
def test_a_missing_package_is_named_by_every_tool_and_generation(
    tmp_path: Path, fake: dict[str, Path], monkeypatch: pytest.MonkeyPatch, flavour: str, generation: str
) -> None:
    monkeypatch.setenv("FAKE_CONDA_GENERATION", generation)
    profile = write_profile(tmp_path, SMALL.replace('"tiny-conda>=1.2"', '"no-such-thing>=1.2"'))
    result = setup(tmp_path / "env", profile, fake["wheels"], exe=tool(tmp_path, flavour))
    assert result.exit_code == 1, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: create interpreter failed: ")
    assert "no-such-thing" in first  # the package that cannot be found, not a guess
    assert not (tmp_path / "env").exists()


@posix_only
@pytest.mark.parametrize(("flavour", "generation"), [("conda", "1"), ("conda", "2"), ("mamba", "2")])
def test_a_download_that_breaks_off_after_progress_records_is_explained(
    tmp_path: Path, fake: dict[str, Path], monkeypatch: pytest.MonkeyPatch, flavour: str, generation: str
) -> None:
    monkeypatch.setenv("FAKE_CONDA_GENERATION", generation)
    monkeypatch.setenv("FAKE_CONDA_FAIL", "create")
    result = setup(tmp_path / "env", write_profile(tmp_path), fake["wheels"], exe=tool(tmp_path, flavour))
    assert result.exit_code == 1
    assert "HTTP 000 CONNECTION FAILED" in result.stderr.splitlines()[0]
    assert not (tmp_path / "env").exists()


@posix_only
def test_offline_reaches_the_conda_solve(tmp_path: Path, fake: dict[str, Path]) -> None:
    result = setup(tmp_path / "env", write_profile(tmp_path), fake["wheels"])  # setup() passes --offline
    assert result.exit_code == 0, result.stderr
    (create,) = calls(fake)
    assert "--offline" in create


@posix_only
def test_python_comes_from_conda_not_from_a_local_interpreter_in_range(tmp_path: Path, fake: dict[str, Path]) -> None:
    # a profile no interpreter here satisfies: the venv backend would stop at pre-flight with exit 2
    minor = sys.version_info[1]
    profile = write_profile(tmp_path, SMALL.replace('python = ">=3.8"', f'python = ">=3.{minor + 1}"'))
    result = setup(tmp_path / "env", profile, fake["wheels"])
    assert result.exit_code == 1, result.stderr  # the solver's answer, not a refusal before it
    (create,) = calls(fake)
    assert f"python>=3.{minor + 1}" in create  # the profile's range goes to the solver
    assert "nothing provides requested python>=3." in result.stderr.splitlines()[0]


@posix_only
def test_a_version_request_goes_to_conda_and_the_marker_records_the_environments_python(
    tmp_path: Path, fake: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = _another_python()
    monkeypatch.setenv("FAKE_CONDA_PYTHON", other.path)  # the double's python: not the one running envcheck
    make_wheel(fake["wheels"], "tinypip", "1.2.0")
    prefix = tmp_path / "env"
    result = setup(prefix, write_profile(tmp_path), fake["wheels"], "--python", other.minor, "--json")
    assert result.exit_code == 0, result.stderr
    (create,) = calls(fake)
    assert f"python={other.minor}" in create
    marker = read_marker(prefix)
    assert marker is not None and marker.python == other.version
    assert json.loads(result.stdout)["python"] == other.version


class _Python:
    def __init__(self, path: str, version: str) -> None:
        self.path, self.version = path, version
        self.minor = ".".join(version.split(".")[:2])


def _another_python() -> _Python:
    """A CPython of another minor version than the one running the tests, with ensurepip (the double needs it)."""
    running = f"3.{sys.version_info[1]}"
    for minor in range(10, 15):
        name = f"python3.{minor}"
        if f"3.{minor}" == running:
            continue
        for folder in os.environ.get("PATH", "").split(os.pathsep):
            candidate = Path(folder) / name
            if not candidate.is_file():
                continue
            answer = subprocess.run(
                [str(candidate), "-c", "import ensurepip, platform; print(platform.python_version())"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if answer.returncode == 0:
                return _Python(str(candidate), answer.stdout.strip())
    pytest.skip(f"no working CPython 3.x other than {running} with ensurepip on PATH")
