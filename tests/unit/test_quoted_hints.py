"""Hints that put a path into a command quote it: pasted into a shell, a path with a space stays one argument.

Each test makes envcheck print one such hint for a path with a space (as under macOS's ``~/Library/Application
Support``) and splits the printed command as the user's shell would.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from support.locks import lock_text
from support.wheels import make_wheel
from typer.testing import CliRunner

from envcheck import runner
from envcheck.cli import app
from envcheck.errors import ProgramNotFoundError
from envcheck.lock.make import download
from envcheck.profiles.files import load_file, load_profile
from envcheck.suggest import Naming
from envcheck.targets import Target
from envcheck.verify.checks.conda import judge_python_in_prefix
from envcheck.verify.evidence import CondaFacts
from envcheck.verify.examine import VerifyReport
from envcheck.verify.fix import refusal

cli = CliRunner()
posix = pytest.mark.skipif(os.name != "posix", reason="POSIX quoting and /bin/false")

PROFILE = """
schema = 1
name = "tiny"
python = ">=3.8"
disk_gb = 0.001
kernel = false

[[package]]
name = "tiny-demo"
requirement = "tiny-demo>=1.0"
import = "tiny_demo"
"""


def spaced(tmp_path: Path) -> Path:
    folder = tmp_path / "Application Support"
    folder.mkdir(exist_ok=True)
    return folder


def command_after(text: str, lead: str) -> list[str]:
    """The command printed after ``lead`` on its line, split as a POSIX shell splits it."""
    line = next(line for line in text.splitlines() if lead in line)
    return shlex.split(line.split(lead, 1)[1])


def tiny_lock(folder: Path, digest: str | None = None) -> tuple[Path, Path, Path]:
    """(profile, lock, wheel) that belong together, unless ``digest`` names another profile's content."""
    profile = folder / "tiny.toml"
    profile.write_text(PROFILE)
    wheel = make_wheel(folder / "built")
    lock = folder / "pylock.tiny.toml"
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    lock.write_text(lock_text([("tiny-demo", "1.0", [(wheel.name, sha)])], "tiny", digest or load_file(profile).digest))
    return profile, lock, wheel


def test_setup_with_a_lock_of_a_changed_profile_says_how_to_lock_again(tmp_path: Path) -> None:
    profile, lock, _ = tiny_lock(spaced(tmp_path), digest="0" * 64)
    result = cli.invoke(app, ["setup", "--file", str(profile), "--lock", str(lock), "--prefix", str(tmp_path / "e")])
    assert result.exit_code == 2, result.stderr
    assert command_after(result.stderr, "lock it again with: ") == [
        "envcheck",
        "lock",
        "--file",
        str(profile),
        "--output",
        str(lock),
    ]


def test_an_offline_setup_missing_wheels_says_how_to_fill_the_wheelhouse(tmp_path: Path) -> None:
    profile, lock, _ = tiny_lock(spaced(tmp_path))
    wheelhouse = spaced(tmp_path) / "wheel house"
    wheelhouse.mkdir()
    args = ["setup", "--file", str(profile), "--lock", str(lock), "--prefix", str(tmp_path / "env")]
    result = cli.invoke(app, [*args, "--offline", "--find-links", str(wheelhouse)])
    assert result.exit_code != 0 and "is in no --find-links folder" in result.stderr, result.stderr
    assert command_after(result.stderr, "fill the folder with: ") == [
        "envcheck",
        "download",
        "--lock",
        str(lock),
        "--dest",
        str(wheelhouse),
    ]
    assert not (tmp_path / "env").exists()


def test_lock_check_of_a_changed_profile_says_how_to_write_it_again(tmp_path: Path) -> None:
    profile, lock, _ = tiny_lock(spaced(tmp_path), digest="0" * 64)
    result = cli.invoke(app, ["lock", "--check", "--file", str(profile), "--output", str(lock)])
    assert result.exit_code == 1
    assert command_after(result.stderr, "write it again with: ") == [
        "envcheck",
        "lock",
        "--file",
        str(profile),
        "--output",
        str(lock),
    ]


def test_download_says_how_to_build_from_the_wheelhouse(tmp_path: Path) -> None:
    _, lock, wheel = tiny_lock(spaced(tmp_path))
    dest = spaced(tmp_path) / "wheel house"
    dest.mkdir()
    shutil.copy(wheel, dest)  # already there with the lock's hash: nothing is fetched
    result = cli.invoke(app, ["download", "--lock", str(lock), "--dest", str(dest)])
    assert result.exit_code == 0, result.stderr
    assert command_after(result.stdout, "build from it with: ") == [
        "envcheck",
        "setup",
        "--lock",
        str(lock),
        "--offline",
        "--find-links",
        str(dest),
    ]


def test_download_with_a_python_without_pip_says_how_to_get_pip(tmp_path: Path, monkeypatch) -> None:
    _, lock, _ = tiny_lock(spaced(tmp_path))
    python = spaced(tmp_path) / "bin" / "python3"
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.setattr(
        runner, "run", lambda argv, **_: runner.Completed(tuple(argv), 1, "No module named pip", "", 0.1)
    )
    with pytest.raises(ProgramNotFoundError) as info:
        download(lock, tmp_path / "dest")
    assert shlex.split(str(info.value.hint).removeprefix("install it: ")) == [str(python), "-m", "ensurepip"]


def test_fix_refusing_an_environment_it_did_not_create_names_it_again_with_its_profile(tmp_path: Path) -> None:
    prefix = spaced(tmp_path) / "env"
    python = prefix / "bin" / "python"
    profile = load_profile("deep-learning-gpu")
    report = VerifyReport(str(python), str(prefix), profile.name, "default", {"kind": "venv"}, {}, [], ())
    target = Target(python=python, prefix=prefix, profile=profile, marker=None, origin="default")
    refused = refusal(target, report, explicit=False)
    assert refused is not None
    assert shlex.split(str(refused.hint)) == [
        "envcheck",
        "verify",
        "--profile",
        "deep-learning-gpu",
        "--prefix",
        str(prefix),
        "--fix",
    ]
    # an interpreter named without its folder is named again by --python
    loose = VerifyReport(str(python), None, profile.name, "python", {"kind": "venv"}, {}, [], ())
    refused = refusal(Target(python, None, profile, None, "python"), loose, explicit=False)
    assert refused is not None and shlex.split(str(refused.hint))[-3:] == ["--python", str(python), "--fix"]


@posix
@pytest.mark.parametrize("verb", ["verify", "smoke-train"])
def test_a_python_that_cannot_run_a_probe_gets_a_command_to_try_it(tmp_path: Path, verb: str) -> None:
    python = spaced(tmp_path) / "python"
    python.symlink_to(shutil.which("false") or "/bin/false")
    result = cli.invoke(app, [verb, "--python", str(python)])
    assert result.exit_code == 3, result.stderr
    lead = "check that it is a working Python 3.8 or later: "
    assert command_after(result.stderr, lead) == [str(python), "-c", "import sys; print(sys.version)"]


def test_every_envcheck_line_quotes_its_paths_for_the_shell_it_is_meant_for(tmp_path: Path) -> None:
    profile = load_file(tiny_lock(spaced(tmp_path))[0])
    prefix = spaced(tmp_path) / "env"
    naming = Naming.of(profile, prefix, kernel_name="my kernel")
    assert shlex.split(naming.setup("--recreate")) == [
        "envcheck",
        "setup",
        "--file",
        str(profile.source),
        "--prefix",
        str(prefix),
        "--kernel-name",
        "my kernel",
        "--recreate",
    ]
    assert shlex.split(naming.setup_with_own_kernel()) == [
        "envcheck",
        "setup",
        "--file",
        str(profile.source),
        "--prefix",
        str(prefix),
    ]
    assert shlex.split(naming.run("jupyter", "lab")) == [
        "envcheck",
        "run",
        "--prefix",
        str(prefix),
        "--",
        "jupyter",
        "lab",
    ]
    assert shlex.split(Naming.of(profile).run()) == ["envcheck", "run", "--file", str(profile.source), "--", "python"]
    windows = Naming.of(load_profile(), r"C:\Users\Ada Lovelace\env", platform="win32")
    assert windows.verify() == r'envcheck verify --prefix "C:\Users\Ada Lovelace\env"'
    assert Naming.of(load_profile()).run() == "envcheck run -- python"


@pytest.mark.parametrize("exists", [False, True], ids=["missing", "outside"])
def test_a_conda_prefix_without_its_own_python_gets_a_conda_command_for_that_prefix(tmp_path: Path, exists) -> None:
    prefix = str(spaced(tmp_path) / "conda env")
    python = f"{prefix}/bin/python"
    facts = CondaFacts(prefix, True, python, exists, "/usr/bin/python3.12", prefix, None, None, (), (), (), ())
    hint = str(judge_python_in_prefix(facts).hint)
    command = hint.split(": ", 1)[1].split("  (")[0]
    assert shlex.split(command)[:4] == ["conda", "install", "--prefix", prefix]
