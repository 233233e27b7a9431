"""Every file of the corpus of real published files (tests/data/real) through reading, planning and the messages
setup prints, with a stand-in installer that replays what uv really said about the file (its recordings).

``OUTCOMES`` says, for each file a user hands to `envcheck setup --file` (venv backend, uv, this machine's
CPython 3.11, PyPI only), where setup stops and what the user must read there; the manifest's own words on
each file (MANIFEST.toml ``reason``) are what these were written from.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.corpus import CORPUS, entries, read_recording
from support.setups import FakeInstaller, fake_completed, install_distribution
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.errors import ProfileError
from envcheck.installers import explain_install_failure
from envcheck.profiles.files import load_file
from envcheck.setup import pythons
from envcheck.setup.backends import BuildRequest, Unbuildable, get_backend
from envcheck.setup.pythons import FoundPython, python_hint, spans
from envcheck.suggest import Naming

# id -> (where setup stops, what the user reads there): "read" (the file is refused as it is read), "plan" (refused
# before anything is made: what a venv cannot hold), "install" (the installer's own refusal, replayed), "builds"
# (uv resolves it: a real install is the e2e layer's)
OUTCOMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "homl2-req": ("install", ("tensorflow 2.6.5 has wheels for CPython 3.7-3.9 only",)),
    "homl2-env": ("plan", ("no PyPI equivalent", "graphviz")),
    "homl3-req": ("builds", ()),  # resolves; box2d-py's build needs swig (a real install shows it)
    "homl3-env": ("plan", ("ffmpeg, graphviz", "ffmpeg comes from the system's packages")),
    "keras": ("install", ("could not reach the package index https://download.pytorch.org/whl/cpu",)),
    "keras-tf-cuda": ("install", ("could not reach the package index https://download.pytorch.org/whl/cpu",)),
    "keras-io": ("builds", ()),
    "open3d-tf": ("builds", ()),
    "open3d-tf-2023": ("install", ("tensorflow 2.8.4 has wheels for CPython 3.7-3.10 only",)),
    "addons-docs": ("install", ("Could not resolve host: github.com",)),
    "tf-keras-lock": ("builds", ()),
    "tf-keras-gpu": ("builds", ()),
    "tff-lock": ("install", ("there is no version of jaxlib==0.4.14",)),
    "tf-profiler-lock": ("builds", ()),
    "tfq": ("builds", ()),
    "tfx": ("install", ("does not appear to be a Python project",)),
    "tfm-official": ("plan", ("uv does not install editable installs from version control", "--installer pip")),
    "tfm-rngdet": ("install", ("tensorflow==2.14.0 depends on tensorboard>=2.14,<2.15", "tensorboard==2.15.1")),
    "ray-dl-gpu": ("install", ("could not reach the package index https://data.pyg.org/whl/torch-2.3.0+cu121.html",)),
    "dog-req": ("install", ("there is no version of opencv-python==3.2.0.6",)),
    "dog-req-gpu": ("install", ("there is no version of opencv-python==3.2.0.6",)),
    "dog-linux-gpu": ("plan", ("6 conda packages", "openssl, readline, sqlite, tk, xz, zlib")),
    "dog-mac": ("plan", ("26 conda packages", "anaconda")),
    "t81-export": ("plan", ("vs2015_runtime",)),
    "t81-tools": ("plan", ("cudatoolkit, cudnn", "tensorflow[and-cuda] installs CUDA and cuDNN from PyPI")),
    "t81-apple": ("plan", ("tensorflow-deps",)),
    "carnd": ("plan", ("has no PyPI equivalent", "ffmpeg")),
    "faceswap-nvidia": ("install", ("tensorflow 2.10.1 has wheels for CPython 3.7-3.10 only",)),
    "faceswap-head": ("read", ("_requirements_nvidia_13.txt",)),
    "dlc": ("plan", ("ffmpeg",)),
    "bert": ("builds", ()),
    "rfaa": ("plan", ("184 conda packages", "cudatoolkit")),
    "chess-export": ("plan", ("ucrt", "vs2015_runtime")),
    "chess-req": ("read", ("6 problems", "'Tensorflow 2.10.0' is not a requirement line (write tensorflow==2.10.0)")),
}
NAMING = Naming(("--file", "FILE"), "ENV")
UNREACHABLE = {"keras": "download.pytorch.org", "keras-tf-cuda": "download.pytorch.org", "ray-dl-gpu": "data.pyg.org"}


@pytest.fixture(autouse=True)
def _no_python_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """No other Python is found unless a test says so (what this machine has is not the test's business)."""
    monkeypatch.setattr(pythons, "find_python", lambda version: None)


def test_every_entry_of_the_corpus_has_an_outcome_here() -> None:
    assert {e.id for e in entries()} == set(OUTCOMES)


def copied(entry_id: str, tmp_path: Path) -> Path:
    """The entry's folder copied (its includes beside it, its recordings left out): the file to hand to setup."""
    entry = next(e for e in entries() if e.id == entry_id)
    folder = tmp_path / entry_id
    shutil.copytree(entry.path.parent, folder, ignore=shutil.ignore_patterns("recorded"))
    return folder / entry.path.name


def plan(path: Path, installer: str = "uv") -> tuple[str, ...]:
    """The install step's arguments for a venv, or Unbuildable."""
    profile = load_file(path)
    build = BuildRequest(Path("/env"), Path("/usr/bin/python3"), "3.11.7", profile, installer, fresh=True)
    (step,) = get_backend("venv", installer=installer).install_steps(build)
    return step.argv


@pytest.mark.parametrize("entry_id", sorted(OUTCOMES))
def test_each_file_is_read_and_planned_or_refused_with_its_reason(entry_id: str) -> None:
    entry = next(e for e in entries() if e.id == entry_id)
    stage, words = OUTCOMES[entry_id]
    if stage == "read":
        with pytest.raises(ProfileError) as refused:
            load_file(entry.path)
        said = f"{refused.value.message} {refused.value.hint}"
        assert all(word in said for word in words), said
        assert "\n" not in refused.value.message
        return
    if stage == "plan":
        with pytest.raises(Unbuildable) as unbuildable:
            plan(entry.path)
        refusal = unbuildable.value
        said = " ".join([refusal.reason, refusal.otherwise, *refusal.instead, *refusal.details])
        assert all(word in said for word in words), said
        return
    argv = plan(entry.path)
    if entry.kind == "requirements":
        assert argv[-2:] == ("-r", str(entry.path))  # the installer reads the file itself, hashes and all
    assert entry.expected == ("refused" if stage == "install" else entry.expected)


@pytest.mark.parametrize("entry_id", sorted(i for i, (stage, _) in OUTCOMES.items() if stage in ("install", "builds")))
def test_what_uv_said_of_each_file_is_what_setup_shows(entry_id: str) -> None:
    entry = next(e for e in entries() if e.id == entry_id)
    recording = read_recording(entry.recorded / "uv-install.txt")
    stage, words = OUTCOMES[entry_id]
    assert (recording.exit_code == 0) == (stage == "builds")
    if stage == "builds":
        return
    said = explain_install_failure(recording.stderr)
    assert said.lines and said.lines[0].startswith("error: ")
    assert "Using Python" not in "\n".join(said.lines)
    if said.wheels:
        hint = python_hint(said.wheels, NAMING)
        assert all(word in hint for word in words), hint


@pytest.mark.parametrize(
    "entry_id", sorted(i for i, (stage, _) in OUTCOMES.items() if stage == "install" and i not in UNREACHABLE)
)
def test_setup_shows_uvs_whole_explanation_and_leaves_nothing(
    entry_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real uv's words, replayed: its whole report under the error line, the Pythons the wheels need."""
    file = copied(entry_id, tmp_path)
    recording = read_recording(CORPUS / entry_id / "recorded" / "uv-install.txt")
    FakeInstaller(monkeypatch, lambda prefix: fake_completed(recording.exit_code, recording.stderr))
    prefix = tmp_path / "env"
    result = CliRunner().invoke(app, ["setup", "--file", str(file), "--prefix", str(prefix), "--no-kernel"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    error = next(line for line in lines if line.startswith("error: install packages failed: "))
    quoted = [line.removeprefix("  | ") for line in lines if line.startswith("  | ")]
    hint = next(line for line in lines if line.startswith("hint: "))
    uv_report = [line for line in recording.stderr.splitlines() if line.strip() and not line.startswith("Using ")]
    if "[stderr]" not in recording.stderr and "--- stderr" not in recording.stderr:
        assert quoted == uv_report  # every line uv wrote, causes and hints, as it wrote them
    _, words = OUTCOMES[entry_id]
    assert all(word in "\n".join([error, *quoted, hint]) for word in words), result.stderr
    assert "removed the partial environment" in error and not prefix.exists()


@pytest.mark.parametrize("entry_id", sorted(UNREACHABLE))
def test_an_index_the_file_names_that_does_not_answer_is_said_as_such(
    entry_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = read_recording(CORPUS / entry_id / "recorded" / "uv-install.txt")
    FakeInstaller(monkeypatch, lambda prefix: fake_completed(recording.exit_code, recording.stderr))
    file = copied(entry_id, tmp_path)
    result = CliRunner().invoke(app, ["setup", "--file", str(file), "--prefix", str(tmp_path / "env"), "--no-kernel"])
    assert result.exit_code == 1
    error, hint = result.stderr.splitlines()[-2:]
    assert OUTCOMES[entry_id][1][0] in error and error.endswith(
        ": the host name is unknown; removed the partial environment at " + str(tmp_path / "env")
    )
    assert (
        hint
        == f"hint: the file names {UNREACHABLE[entry_id]} as a package index: reach it (network, proxy), or leave out its lines"
    )


def test_a_file_for_another_python_names_the_python_that_is_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = tmp_path / "python3.10"
    monkeypatch.setattr(pythons, "find_python", lambda v: FoundPython(found, by_version=False) if v == "3.10" else None)
    recording = read_recording(CORPUS / "faceswap-nvidia" / "recorded" / "uv-install.txt")
    FakeInstaller(monkeypatch, lambda prefix: fake_completed(recording.exit_code, recording.stderr))
    file = copied("faceswap-nvidia", tmp_path)
    prefix = tmp_path / "env"
    result = CliRunner().invoke(app, ["setup", "--file", str(file), "--prefix", str(prefix), "--no-kernel"])
    hint = next(line for line in result.stderr.splitlines() if line.startswith("hint: "))
    assert hint.startswith("hint: tensorflow 2.10.1 has wheels for CPython 3.7-3.10 only: run: ")
    assert f"setup --file {file} --prefix {prefix} --no-kernel --python {found};" in hint  # the options it was given


def test_tensorflow_1_needs_a_python_envcheck_cannot_use_and_says_so() -> None:
    recording = read_recording(CORPUS / "carnd" / "recorded" / "uv-install.txt")  # its pip: section
    hint = python_hint(explain_install_failure(recording.stderr).wheels, NAMING)
    assert hint == (
        "tensorflow 1.3.0 has wheels for CPython 2.7, 3.3-3.6 only: no Python envcheck can use fits this file"
        " (envcheck builds from Python 3.8 or newer); it needs a version of the file written for a newer release"
    )


def test_with_no_python_of_that_version_here_the_hint_says_which_to_install() -> None:
    recording = read_recording(CORPUS / "open3d-tf-2023" / "recorded" / "uv-install.txt")
    hint = python_hint(explain_install_failure(recording.stderr).wheels, NAMING)
    assert "no Python 3.8-3.10 was found here: install Python 3.10, then run: " in hint
    assert hint.endswith("setup --file FILE --prefix ENV --python 3.10")


@pytest.mark.parametrize(
    ("entry_id", "recording", "words"),
    [
        # pip's real cause, above "This error originates from a subprocess"
        ("addons-docs", "pip-install.txt", "fatal: unable to access 'https://github.com/tensorflow/docs/': Could not resolve host: github.com"),
        ("homl2-req", "pip-install.txt", "ModuleNotFoundError: No module named 'pkg_resources'"),
        ("dog-linux-gpu", "pip-install.txt", "ImportError: cannot import name 'Feature' from 'setuptools'"),
        ("tfm-rngdet", "pip-install.txt", "tensorflow 2.14.0 depends on tensorboard<2.15 and >=2.14"),
        ("tff-lock", "pip-install.txt", "No matching distribution found for jaxlib==0.4.14"),
        # uv's build failure: its captured output cut to the error it ends with
        ("dog-linux-gpu", "uv-install.txt", "ImportError: cannot import name 'Feature' from 'setuptools'"),
    ],
)  # fmt: skip
def test_pips_explanation_is_its_real_cause(entry_id: str, recording: str, words: str) -> None:
    recorded = read_recording(CORPUS / entry_id / "recorded" / recording)
    said = explain_install_failure(recorded.stdout + recorded.stderr)  # one stream, as setup's runner reads it
    assert any(words in line for line in said.lines), said.lines
    assert not any("This error originates from a subprocess" in line for line in said.lines)
    assert len(said.lines) <= 6


def test_spans_say_python_versions_the_way_people_read_them() -> None:
    assert spans(("2.7", "3.3", "3.4", "3.5", "3.6")) == "2.7, 3.3-3.6"
    assert spans(("3.10", "3.8", "3.9")) == "3.8-3.10"
    assert spans(("3.9",)) == "3.9"


def test_a_pyenv_shim_whose_version_is_not_selected_is_not_offered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shim on PATH that exits 127 is no Python; `--python 3.10` would pick it, so the hint gives a path."""
    monkeypatch.undo()  # the real find_python
    shims, root = tmp_path / "shims", tmp_path / "pyenv"
    shims.mkdir()
    shim = shims / "python3.10"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.10: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    installed = root / "versions" / "3.10.13" / "bin" / "python3.10"
    installed.parent.mkdir(parents=True)
    installed.write_text("#!/bin/sh\necho 3.10\n")
    installed.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:/usr/bin:/bin")
    monkeypatch.setenv("PYENV_ROOT", str(root))
    monkeypatch.setattr(pythons, "_uv_find", lambda version: None)
    assert pythons.find_python("3.10") == FoundPython(installed, by_version=False)
    installed.unlink()
    assert pythons.find_python("3.10") is None


# --- what the reading accepts, as conda and pip do ------------------------------------------------------------


def installed(prefix: Path, name: str, files: dict[str, str]) -> object:
    install_distribution(prefix, name, files)
    return fake_completed(0, f"Installed 1 package\n + {name}==1.0")


@pytest.mark.parametrize(
    ("entry_id", "pairs"),
    [
        ("rfaa", [("typing-extensions", "typing_extensions"), ("cached-property", "cached_property")]),
        ("chess-export", [("typing-extensions", "typing_extensions")]),
    ],
)
def test_conda_names_that_differ_only_by_dash_and_underscore_are_two_packages(
    entry_id: str, pairs: list[tuple[str, str]]
) -> None:
    entry = next(e for e in entries() if e.id == entry_id)
    profile = load_file(entry.path)
    specs = [p.conda for p in profile.packages if isinstance(p.conda, str)]
    for dash, underscore in pairs:
        assert any(s.startswith(f"{dash}=") for s in specs) and any(s.startswith(f"{underscore}=") for s in specs)
    # one of each pair stands for the PyPI distribution both install; the other is conda's alone
    assert [p.name for p in profile.packages].count("typing-extensions") == 1


def test_every_problem_of_an_environment_yml_is_in_one_error(tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_text(
        "dependencies:\n  - numpy\n  - numpy=1.26\n  - ?bad\n  - pip:\n    - pandas>>2\n    - typing-extensions\n"
        "  - typing_extensions\n  - typing-extensions=4.12\n",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as refused:
        load_file(path)
    # conda's typing_extensions and typing-extensions, and pip's typing-extensions: three packages, no problem
    assert refused.value.message == (
        f"{path}: 3 problems: line 3: numpy is listed twice (also on line 2); line 4: not a conda package spec:"
        " '?bad'; line 6: invalid pip line 'pandas>>2': Invalid requirement: : Expected semicolon (after name with"
        " no version specifier) or end"
    )


def test_an_option_line_with_a_marker_is_left_to_the_installer_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A well-known project's GPU requirements: pip and uv read the marker after an option, pip's parser does not."""
    path = tmp_path / "requirements-gpu.txt"
    path.write_text(
        '--extra-index-url https://download.pytorch.org/whl/cu121 ; sys_platform == "win32"\nsix\n', encoding="utf-8"
    )
    profile = load_file(path)
    assert [p.name for p in profile.packages] == ["six"]
    assert profile.warnings == (
        f"{path}:1: envcheck cannot read '--extra-index-url https://download.pytorch.org/whl/cu121 ; sys_platform =="
        ' "win32"\' (Incorrect and ignored trailing argument(s): ;, sys_platform, ==, win32); the installer reads it',
    )
    FakeInstaller(monkeypatch, lambda prefix: installed(prefix, "six", {"six.py": "X = 1\n"}))
    result = CliRunner().invoke(app, ["setup", "--file", str(path), "--prefix", str(tmp_path / "env"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["warnings"] == list(profile.warnings)


def test_an_unknown_option_is_still_refused_as_pip_refuses_it(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("six\n--no-such-option x\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="no such option: --no-such-option"):
        load_file(path)


def test_conda_names_go_to_pypi_under_their_pypi_names(tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_text(
        "channels: [conda-forge]\ndependencies:\n  - python-graphviz\n  - py-xgboost=2.0\n  - pytables\n"
        "  - matplotlib-base>=3.8\n  - opencv\n  - pip:\n    - --extra-index-url https://example.org/simple\n"
        "    - tensorflow\n",
        encoding="utf-8",
    )
    argv = plan(path)
    start = argv.index("--python") + 2
    assert argv[start:] == (
        "graphviz",
        "xgboost==2.0.*",
        "tables",
        "matplotlib>=3.8",
        "opencv-python",
        "--extra-index-url",
        "https://example.org/simple",
        "tensorflow",
    )


def test_with_pip_an_editable_git_line_is_the_installers(tmp_path: Path) -> None:
    file = copied("tfm-official", tmp_path)
    assert plan(file, installer="pip")[-2:] == ("-r", str(file))


def test_setup_lists_what_pypi_lacks_before_making_anything(tmp_path: Path) -> None:
    file = copied("t81-tools", tmp_path)
    prefix = tmp_path / "env"
    result = CliRunner().invoke(app, ["setup", "--file", str(file), "--prefix", str(prefix), "--backend", "venv"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-2:] == [
        "error: 2 conda packages of tools.yml have no PyPI equivalent, so a venv cannot hold them: cudatoolkit, cudnn",
        "hint: cudatoolkit, cudnn: tensorflow[and-cuda] installs CUDA and cuDNN from PyPI; remove them from the file to"
        " build the rest as a venv; --backend conda would build it as it is, but no conda, mamba or micromamba found"
        " (searched PATH, CONDA_EXE, MAMBA_EXE)",
    ]
    assert not prefix.exists()


def test_setup_names_the_command_that_builds_an_editable_git_line(tmp_path: Path) -> None:
    file = copied("tfm-official", tmp_path)
    prefix = tmp_path / "env"
    result = CliRunner().invoke(app, ["setup", "--file", str(file), "--prefix", str(prefix), "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["message"] == (
        f"uv does not install editable installs from version control: {file}:25:"
        " -e git+https://github.com/cocodataset/cocoapi#egg=pycocotools&subdirectory=PythonAPI"
    )
    assert error["hint"].startswith("drop the -e from that line for uv to install it, not editable; or build it with: ")
    assert error["hint"].endswith(f"setup --file {file} --prefix {prefix} --installer pip")
    assert not prefix.exists()


def test_the_docs_table_says_for_every_file_where_setup_stops_and_what_the_user_reads() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "real-files.md").read_text(encoding="utf-8")
    rows = {}
    for line in page.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 4 and cells[0] in OUTCOMES:
            rows[cells[0]] = cells
    assert set(rows) == set(OUTCOMES)
    for entry_id, (stage, words) in OUTCOMES.items():
        _, _, stops, reads = rows[entry_id]
        assert stops == stage, entry_id
        for word in words:
            if stage == "plan" and word.endswith(" conda packages"):
                word = word.split()[0]  # "184 conda packages have no PyPI equivalent"
            assert word.replace("`", "") in reads.replace("`", ""), (entry_id, word)
