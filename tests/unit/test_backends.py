"""A backend is one class registered in one place, and its steps may be functions run in envcheck's own process.

The tiny backend below stands for an engine used as a library (a conda engine, pixi): it creates and fills its
environment in-process, has its python elsewhere than bin/python, and is recognised by a file of its own. A
setup runs through it with the same progress, log, redaction, marker and undo as a command-line backend.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.setups import MINI

from envcheck.completion import read_marker
from envcheck.errors import ExitCode, Interrupted, SetupError, UsageError
from envcheck.installers import IndexOptions
from envcheck.locations import LOG_NAME, OWNER_NAME, logs_dir
from envcheck.profiles.files import load_file
from envcheck.progress import NullReporter
from envcheck.run import command_environment
from envcheck.setup import backends
from envcheck.setup.backends import BuildRequest, Exports, Step, StepFailure, StepOutput
from envcheck.setup.pipeline import setup_environment
from envcheck.setup.request import SetupRequest
from envcheck.setup.result import Action

SECRET = "s3cret-t0ken"


class TinyBackend:
    """Creates and installs by calling functions; its environment is a folder with tiny-env.json in it."""

    name = "tiny"
    needs_absent_prefix = False
    options = ("installer",)  # takes --installer too, as venv does
    files = (".tiny",)
    installer = "tiny-engine"
    install_fails: str | None = None  # why the install step fails, when a test wants it to
    interrupt = False  # the install step is interrupted by Ctrl-C

    def __init__(self, **_: str | None) -> None:
        pass

    def preflight(self) -> None:
        pass

    def provides_python(self, asked: str | None) -> bool:
        return False  # built from the interpreter running the tests, which the pre-flight probes

    def python(self, prefix: Path) -> Path:
        return Path(sys.executable)  # the engine's python lives outside the prefix

    def recognizes(self, prefix: Path) -> bool:
        return (prefix / "tiny-env.json").is_file()

    def exports(self, prefix: Path) -> Exports:
        return Exports((prefix / "programs",), {"TINY_ENV": str(prefix)}, ("VIRTUAL_ENV",))

    def create_steps(self, request: BuildRequest) -> list[Step]:
        def create(output: StepOutput) -> None:
            request.prefix.mkdir(parents=True, exist_ok=True)
            (request.prefix / "tiny-env.json").write_text(json.dumps({"index": request.index.index_url}))
            output.line(f"solved with {request.index.index_url}\ncreated {request.prefix}")

        return [Step.function("create", f"tiny-engine create {request.prefix}", create)]

    def install_steps(self, request: BuildRequest) -> list[Step]:
        def install(output: StepOutput) -> None:
            (request.prefix / "half-installed").write_text("")
            output.line(f"installing {' '.join(request.profile.requirement_strings())}")
            if self.interrupt:
                raise KeyboardInterrupt
            if self.install_fails:
                raise StepFailure(self.install_fails)
            output.line("installed 1 package")

        return [Step.function("install", "tiny-engine install", install)]


@pytest.fixture
def tiny() -> Iterator[type[TinyBackend]]:
    backends.register("tiny", TinyBackend)
    try:
        yield TinyBackend
    finally:
        backends.unregister("tiny")
        TinyBackend.install_fails = None
        TinyBackend.interrupt = False


@pytest.fixture
def mini(tmp_path: Path):
    path = tmp_path / "mini.toml"
    path.write_text(MINI, encoding="utf-8")
    return load_file(path)


class Lines(NullReporter):
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.phases: list[str] = []

    def phase(self, name: str) -> None:
        self.phases.append(name)

    def line(self, text: str) -> None:
        self.lines.append(text)


def _request(mini, prefix: Path) -> SetupRequest:
    # offline: the index is imagined, so the pre-flight does not ask it whether it answers
    index = IndexOptions(index_url=f"https://user:{SECRET}@mirror.example/simple", offline=True)
    return SetupRequest(profile=mini, prefix=prefix, backend="tiny", index=index)


def test_an_in_process_backend_is_registered_in_one_place_and_runs_a_whole_setup(tiny, mini, tmp_path: Path) -> None:
    assert "tiny" in backends.names() and {"venv", "conda"} <= set(backends.names())
    prefix = tmp_path / "envs" / "tiny"
    progress = Lines()
    result = setup_environment(_request(mini, prefix), progress)
    assert result.action is Action.CREATED
    assert (result.backend, result.installer) == ("tiny", "tiny-engine")
    assert result.steps == [f"tiny-engine create {prefix}", "tiny-engine install"]
    assert progress.phases == ["pre-flight", "create interpreter", "install packages", "import check"]
    assert "installed 1 package" in progress.lines
    assert (prefix / OWNER_NAME).is_file()
    marker = read_marker(prefix)
    assert marker is not None and marker.backend == "tiny" and marker.installer == "tiny-engine"
    log = (prefix / LOG_NAME).read_text()
    assert "$ tiny-engine install" in log and "installed 1 package" in log
    assert "solved with https://***@mirror.example/simple" in log
    assert SECRET not in log and not any(SECRET in line for line in progress.lines)
    # recognised as its own kind: the second run answers from the marker, and `envcheck run` uses its exports
    assert setup_environment(_request(mini, prefix)).action is Action.UP_TO_DATE
    env = command_environment(prefix, {"PATH": "/usr/bin", "VIRTUAL_ENV": "/elsewhere"})
    assert env["TINY_ENV"] == str(prefix) and "VIRTUAL_ENV" not in env
    assert env["PATH"].split(":")[0] == str(prefix / "programs")


def test_a_failing_in_process_step_is_reported_and_undone_like_a_program(tiny, mini, tmp_path: Path) -> None:
    tiny.install_fails = f"example 1.0 is not on https://user:{SECRET}@mirror.example/simple"
    prefix = tmp_path / "new" / "env"
    with pytest.raises(SetupError) as info:
        setup_environment(_request(mini, prefix))
    assert info.value.message == (
        "install packages failed: tiny-engine install: example 1.0 is not on https://***@mirror.example/simple;"
        f" removed the partial environment at {prefix}"
    )
    assert info.value.exit_code == ExitCode.FAILED
    assert not (tmp_path / "new").exists()
    logs = list(logs_dir().glob("setup-mini-*.log"))
    assert any("installing example>=1.0" in log.read_text() for log in logs)


def test_ctrl_c_inside_an_in_process_step_undoes_the_run(tiny, mini, tmp_path: Path) -> None:
    tiny.interrupt = True
    prefix = tmp_path / "env"
    with pytest.raises(Interrupted) as info:
        setup_environment(_request(mini, prefix))
    assert info.value.exit_code == ExitCode.INTERRUPTED
    assert "removed the partial environment" in info.value.message
    assert not prefix.exists()


def test_a_wrong_backend_name_lists_the_registered_ones(tiny) -> None:
    with pytest.raises(UsageError) as info:
        backends.get_backend("pixi")
    assert info.value.message == "unknown backend 'pixi'"
    assert info.value.hint == "choose one of: conda, tiny, venv"


def test_a_backend_says_which_files_it_builds_and_which_options_are_its_own(tiny) -> None:
    assert backends.default_for(Path("lab.tiny")) == "tiny"
    assert backends.default_for(Path("environment.yml")) == "conda"
    assert backends.default_for(Path("requirements.txt")) == backends.default_for(Path("lab.toml")) == "venv"
    assert backends.options_of("conda") == ("conda_exe",) and backends.options_of("tiny") == ("installer",)
