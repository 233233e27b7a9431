"""The conda backend: an environment made by micromamba, mamba or conda, addressed by prefix, pip packages last.

Python and the scientific packages come from the profile's channels (conda-forge) in one solve when the prefix
is created; TensorFlow and Keras are installed afterwards by the prefix's own ``python -m pip`` as a separate
step (TensorFlow's install guide uses pip, also inside conda), so that a failing pip section cannot hide inside
``conda env create``. Every call is non-interactive (``--yes``) and asks for machine output (``--json``), whose
errors ``explain_output`` turns into one line; ``--offline`` reaches the solve as well as the pip step.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcheck.errors import ProgramNotFoundError
from envcheck.installers import explain_hash_mismatch, pip_install_argv, pip_locked_argv
from envcheck.locations import python_in
from envcheck.profiles.condafile import conda_specs, pip_install_args
from envcheck.setup.backends import INSTALL_TIMEOUT, BuildRequest, Exports, Step
from envcheck.targets import VERSION_REQUEST

FLAVOURS = ("micromamba", "mamba", "conda")  # also the order in which PATH is searched
CREATE_TIMEOUT = 1800.0  # a solve and the download of python and the scientific stack
GET_CONDA = (
    "install Miniforge (https://conda-forge.org/download/) or micromamba "
    "(https://mamba.readthedocs.io/en/latest/installation/micromamba-installation.html), "
    "or name one with --conda-exe PATH"
)


@dataclass(frozen=True)
class CondaTool:
    path: Path
    flavour: str  # "micromamba", "mamba" or "conda": what the argument forms depend on


def flavour_of(path: Path) -> str:
    name = path.name.lower()
    for flavour in FLAVOURS:  # micromamba before mamba: "micromamba" contains "mamba"
        if flavour in name:
            return flavour
    return "conda"  # an unknown name (a wrapper, a renamed binary) gets conda's argument forms


def find_conda(conda_exe: str | None = None, environ: Mapping[str, str] | None = None) -> CondaTool:
    """--conda-exe, else micromamba, mamba, conda on PATH, else $CONDA_EXE / $MAMBA_EXE (set by activation)."""
    environ = os.environ if environ is None else environ
    if conda_exe:
        given = Path(conda_exe).expanduser()
        found = str(given) if given.is_file() and os.access(given, os.X_OK) else shutil.which(conda_exe)
        if not found:
            raise ProgramNotFoundError(f"--conda-exe {conda_exe}: no such executable program", GET_CONDA)
        return CondaTool(Path(found).absolute(), flavour_of(Path(found)))
    for flavour in FLAVOURS:
        found = shutil.which(flavour, path=environ.get("PATH"))
        if found:
            return CondaTool(Path(found), flavour)
    for variable in ("CONDA_EXE", "MAMBA_EXE"):
        value = environ.get(variable)
        if value and Path(value).is_file() and os.access(value, os.X_OK):
            return CondaTool(Path(value), flavour_of(Path(value)))
    raise ProgramNotFoundError("no conda, mamba or micromamba found (searched PATH, CONDA_EXE, MAMBA_EXE)", GET_CONDA)


class CondaBackend:
    name = "conda"
    # micromamba before 1.5 and mamba before 2.4 refuse even an empty folder ("Non-conda folder exists at
    # prefix"); setup removes a user's empty folder before the create step and puts it back on failure
    needs_absent_prefix = True
    options = ("conda_exe",)
    files = (".yml", ".yaml")  # an environment.yml: its specs mean nothing to pip

    def __init__(self, conda_exe: str | None = None, installer: str | None = None, **_: str | None) -> None:
        # installer (uv or pip) is the venv backend's choice; here conda installs, and pip does the pip step
        self.conda_exe = conda_exe
        self._tool: CondaTool | None = None

    @property
    def tool(self) -> CondaTool:
        if self._tool is None:
            self._tool = find_conda(self.conda_exe)
        return self._tool

    @property
    def installer(self) -> str:
        """What the marker and the summary name as the installer: the conda flavour used."""
        return self.tool.flavour

    def preflight(self) -> None:
        self.tool  # noqa: B018 - raises ProgramNotFoundError, with how to get one, before anything is created

    def provides_python(self, asked: str | None) -> bool:
        """A new prefix gets python from the solve, unless --python names an interpreter (a path or a name)."""
        return asked is None or VERSION_REQUEST.match(asked) is not None

    def python(self, prefix: Path) -> Path:
        return python_in(prefix)

    def recognizes(self, prefix: Path) -> bool:
        return (prefix / "conda-meta").is_dir()

    def exports(self, prefix: Path) -> Exports:
        """The folders conda's activation puts on PATH, in its order, and the variables that name the prefix."""
        if sys.platform == "win32":
            candidates = [
                prefix,
                prefix / "Library" / "mingw-w64" / "bin",
                prefix / "Library" / "usr" / "bin",
                prefix / "Library" / "bin",
                prefix / "Scripts",
                prefix / "bin",
            ]
            folders = tuple(folder for folder in candidates if folder.is_dir())
        else:
            folders = (prefix / "bin",)
        where = os.fspath(prefix)
        return Exports(folders, {"CONDA_PREFIX": where, "CONDA_DEFAULT_ENV": where}, ("VIRTUAL_ENV",))

    def create_steps(self, request: BuildRequest) -> list[Step]:
        """One solve for python (the major.minor of the chosen interpreter), pip and the conda packages."""
        argv = self._solve_args("create", request) + conda_specs(request.profile, request.python_version)
        return [Step("create", tuple(argv), CREATE_TIMEOUT, explain=explain_output)]

    def install_steps(self, request: BuildRequest) -> list[Step]:
        """An existing prefix gets the conda packages again first (a new one has them); pip packages last."""
        steps: list[Step] = []
        if not request.fresh:
            argv = self._solve_args("install", request) + conda_specs(request.profile, request.python_version)
            steps.append(Step("install", tuple(argv), INSTALL_TIMEOUT, explain=explain_output))
        requirements = pip_install_args(request.profile)
        python = os.fspath(self.python(request.prefix))
        if request.locked_requirements is not None:
            # a lock covers what pip installs: its files for this machine, hashes checked, over conda's part
            argv = pip_locked_argv(python, request.index, request.locked_requirements)
            env = {"PIP_REQUIRE_VIRTUALENV": "0", **request.index.environment(uv=False)}
            steps.append(Step("install", tuple(argv), INSTALL_TIMEOUT, env, explain=explain_hash_mismatch))
        elif requirements:
            argv = pip_install_argv(python, request.index)
            # a user-wide PIP_REQUIRE_VIRTUALENV would refuse a conda prefix, which is not a virtualenv
            env = {"PIP_REQUIRE_VIRTUALENV": "0", **request.index.environment(uv=False)}
            # pip: lines with options are relative to the environment.yml's folder, as conda runs them
            steps.append(
                Step("install", tuple(argv + requirements), INSTALL_TIMEOUT, env, cwd=request.profile.install_cwd)
            )
        return steps

    def _solve_args(self, command: str, request: BuildRequest) -> list[str]:
        tool = self.tool
        argv = [os.fspath(tool.path), command, "--prefix", os.fspath(request.prefix), "--yes", "--json"]
        # only the profile's channels: a .condarc's defaults channel must not change what gets installed
        argv.append("--override-channels")
        for channel in request.profile.conda_channels:
            argv += ["-c", channel]
        if request.index.offline:
            argv.append("--offline")  # only the package cache, as the pip step gets --no-index
        if command == "create" and tool.flavour == "conda":
            argv.append("--no-default-packages")  # nor its create_default_packages (conda's own option)
        return argv


def explain_output(output: str) -> str | None:
    """One line on why a conda call failed, from its --json records or its log lines; None if neither says.

    conda's --json mode writes progress records (``{"fetch": ...}``, each ending in a NUL byte) before its
    final document, and stdout and stderr arrive merged with log lines around them: every JSON record in the
    output is read, and the one that carries the error wins. libmamba (micromamba, mamba 2.x) names what
    made a solve fail only in ``"solver_problems"``; its stderr line says no more than that it failed.
    """
    records = json_records(output)
    for record in records:
        problems = record.get("solver_problems")
        if isinstance(problems, list) and problems:
            lines = [" ".join(str(p).split()) for p in problems if str(p).strip()]
            return ("could not solve: " + "; ".join(lines))[:300]
        if isinstance(problems, str) and problems.strip():
            return ("could not solve: " + " ".join(problems.split()))[:300]
    for record in records:
        for key in ("message", "error"):
            value = record.get(key)
            if isinstance(value, str) and value.strip():
                name = record.get("exception_name")
                text = " ".join(value.split())
                return f"{name}: {text}"[:300] if isinstance(name, str) and key == "message" else text[:300]
    for record in records:
        for key in ("log_records", "log_history"):  # mamba 2.x puts its log into the document
            logged = record.get(key)
            if isinstance(logged, list):
                for item in reversed(logged):
                    entry: dict[str, Any] = item if isinstance(item, dict) else {"message": item}
                    said = entry.get("message", entry.get("msg"))
                    if isinstance(said, str) and str(entry.get("level", "error")).lower() in ("error", "critical"):
                        return " ".join(said.split())[:300]
    for line in reversed(output.splitlines()):
        stripped = line.strip().strip("\0")
        for prefix in ("critical libmamba", "error    libmamba", "error libmamba"):
            if stripped.startswith(prefix):
                return stripped[len(prefix) :].strip()[:300]
    return None


def json_records(output: str) -> list[dict[str, Any]]:
    """Every top-level JSON object in the output, in order: NUL-separated records, documents, log lines between."""
    decoder = json.JSONDecoder()
    records: list[dict[str, Any]] = []
    position = output.find("{")
    while position != -1:
        try:
            value, end = decoder.raw_decode(output, position)
        except ValueError:
            position = output.find("{", position + 1)
            continue
        if isinstance(value, dict):
            records.append(value)
        position = output.find("{", end)
    return records
