"""An environment's kernel: one name for setup and verify, and which environment a kernelspec really runs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from envcheck import kernels
from envcheck.profiles.files import load_profile

PROFILE = load_profile()


def test_the_name_asked_for_wins_then_the_recorded_one_then_the_profiles_default() -> None:
    assert kernels.kernel_name(PROFILE) == "envcheck-deep-learning"
    assert kernels.kernel_name(PROFILE, recorded="lab-b") == "lab-b"
    assert kernels.kernel_name(PROFILE, asked="mine", recorded="lab-b") == "mine"
    assert kernels.wants_kernel(PROFILE)


def test_the_program_of_a_kernelspec_is_read_and_an_unreadable_one_is_none() -> None:
    folder = kernels.spec_dir("envcheck-test-read")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps({"argv": ["/envs/a/bin/python", "-m", "ipykernel_launcher"]}))
    assert kernels.spec_python("envcheck-test-read") == Path("/envs/a/bin/python")
    (folder / "kernel.json").write_text("{not json")
    assert kernels.spec_python("envcheck-test-read") is None
    assert kernels.spec_python("envcheck-test-absent") is None
    assert folder.parent == Path(os.environ["JUPYTER_DATA_DIR"]).absolute() / "kernels"


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_kernelspec_runs_an_environment_when_its_program_lies_inside_it(tmp_path: Path) -> None:
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    python = env / "bin" / "python"
    python.symlink_to(sys.executable)  # a venv's python leads out of the environment: its folder counts
    assert kernels.runs_environment(python, env)
    alias = tmp_path / "alias"
    alias.symlink_to(env)  # the same environment reached through a link
    assert kernels.runs_environment(alias / "bin" / "python", env)
    assert kernels.runs_environment(python, alias)
    sibling = tmp_path / "env2" / "bin" / "python"
    assert not kernels.runs_environment(sibling, env)


def test_the_install_command_names_the_kernel_and_its_display_name() -> None:
    assert kernels.install_argv("/e/bin/python", "lab") == (
        "/e/bin/python",
        "-m",
        "ipykernel",
        "install",
        "--user",
        "--name",
        "lab",
        "--display-name",
        "Python (lab)",
    )


def register(name: str, python: Path) -> None:
    folder = kernels.spec_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps({"argv": [str(python), "-m", "ipykernel_launcher"]}))


def environment(path: Path) -> Path:
    (path / "bin").mkdir(parents=True)
    (path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    python = path / "bin" / "python"
    python.symlink_to(sys.executable)
    return python


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_second_environment_of_a_profile_gets_a_name_from_its_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    first, second = tmp_path / "first", tmp_path / "Lab B (2024)"
    assert kernels.default_name(PROFILE, first) == "envcheck-deep-learning"  # nobody has the name yet
    register("envcheck-deep-learning", environment(first))
    assert kernels.default_name(PROFILE, first) == "envcheck-deep-learning"  # its own
    assert kernels.default_name(PROFILE, second) == "envcheck-deep-learning-lab-b-2024"
    assert kernels.default_name(PROFILE, tmp_path / "link-to-first") == "envcheck-deep-learning-link-to-first"
    (tmp_path / "link-to-first").symlink_to(first)
    assert kernels.default_name(PROFILE, tmp_path / "link-to-first") == "envcheck-deep-learning"  # the same place
    # a third folder of the same name elsewhere, while the folder's name is taken too: its path's digest
    register("envcheck-deep-learning-lab-b-2024", environment(second))
    elsewhere = tmp_path / "other" / "Lab B (2024)"
    name = kernels.default_name(PROFILE, elsewhere)
    assert (
        name.startswith("envcheck-deep-learning-lab-b-2024-")
        and len(name) == len("envcheck-deep-learning-lab-b-2024") + 9
    )
    assert kernels.default_name(PROFILE, elsewhere) == name  # the same every time


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_recorded_name_is_kept_while_it_is_free_for_its_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    mine, other = tmp_path / "mine", tmp_path / "other"
    assert kernels.kernel_name(PROFILE, recorded="lab", prefix=mine) == "lab"  # not registered (yet): free
    register("lab", environment(mine))
    assert kernels.kernel_name(PROFILE, recorded="lab", prefix=mine) == "lab"
    register("lab", environment(other))  # someone gave the name to another environment since
    assert kernels.kernel_name(PROFILE, recorded="lab", prefix=mine) == "envcheck-deep-learning"
    register("lab", tmp_path / "gone" / "bin" / "python")  # a kernel whose python is gone is free again
    assert kernels.kernel_name(PROFILE, recorded="lab", prefix=mine) == "lab"
    assert kernels.kernel_name(PROFILE, asked="lab", recorded="x", prefix=mine) == "lab"  # asked: as asked
