"""The files users bring, as their tools write them: pip-compile's hashed output, conda env export, flow-style
YAML, UTF-8 with a byte-order mark and PowerShell's UTF-16.

tests/fixtures/files/requirements-hashed.txt is real `pip-compile --generate-hashes` output (from
requirements-hashed.in beside it). environment-export.yml has the shape of a Linux `conda env export` (no conda
runs here): the `_libgcc_mutex`/`_openmp_mutex` entries, name=version=build pins, a pip: section, a prefix line.
"""

from __future__ import annotations

import codecs
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.errors import ExitCode, ProfileError
from envcheck.profiles.condafile import conda_specs, render_environment_yml
from envcheck.profiles.files import load_file
from envcheck.setup.backends import BuildRequest, get_backend

FILES = Path(__file__).parents[1] / "fixtures" / "files"
HASHED = FILES / "requirements-hashed.txt"
MIXED = FILES / "requirements-mixed.txt"
EXPORT = FILES / "environment-export.yml"
FLOW = FILES / "environment-flow.yml"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "home"))


def install_argv(path: Path, installer: str = "uv") -> tuple[str, ...]:
    profile = load_file(path)
    backend = get_backend("venv", installer=installer)
    build = BuildRequest(Path("/env"), Path("/usr/bin/python3"), "3.11.7", profile, installer)
    (step,) = backend.install_steps(build)
    return step.argv


# --- requirements.txt ----------------------------------------------------------------------------------------


def test_pip_compile_hashed_output_gives_the_pins_and_the_file_goes_to_the_installer() -> None:
    profile = load_file(HASHED)
    assert profile.requirement_strings() == ["attrs==23.2.0", "six==1.16.0"]
    assert [p.import_name for p in profile.packages] == ["attrs", "six"]
    for installer in ("uv", "pip"):
        argv = install_argv(HASHED, installer)
        assert argv[-2:] == ("-r", str(HASHED.absolute()))  # hashes and all, read by the installer itself
        assert "six==1.16.0" not in argv


def test_every_line_kind_pip_accepts_is_read_and_only_named_packages_are_checked() -> None:
    profile = load_file(MIXED)
    names = [p.name for p in profile.packages]
    # -r includes are followed; -e . has no name before it is built; the git link names itself with #egg=
    assert names == ["attrs", "six", "numpy", "tinylib", "requests", "scikit-learn"]
    assert str(profile.package("numpy").requirements[0]) == "numpy>=1.26"  # the tab and comment are gone
    assert str(profile.package("requests").requirements[0]) == 'requests[socks]>=2.31; python_version >= "3.8"'
    assert profile.package("scikit-learn").import_name == "sklearn"
    assert profile.package("tinylib").conda is False  # a link is pip's alone, also under the conda backend
    assert profile.install_args == ("-r", str(MIXED.absolute()))


def test_a_changed_hash_changes_the_digest_but_a_comment_does_not(tmp_path: Path) -> None:
    text = HASHED.read_text(encoding="utf-8")
    same = tmp_path / "same" / "requirements-hashed.txt"
    same.parent.mkdir()
    same.write_text("# a new comment\n" + text, encoding="utf-8")
    changed = tmp_path / "changed" / "requirements-hashed.txt"
    changed.parent.mkdir()
    changed.write_text(text.replace("935dc3b5", "035dc3b5"), encoding="utf-8")
    assert load_file(same).digest == load_file(HASHED).digest
    assert load_file(changed).digest != load_file(HASHED).digest


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("numpy\nnot a requirement!\n", 2, "Invalid requirement"),
        ("numpy\n\n--no-such-option\n", 3, "no such option: --no-such-option"),
        ("numpy==1.0 \\\n    --hash=sha256:ab\npandas>>2\n", 3, "Invalid requirement"),
    ],
)
def test_requirements_errors_are_one_line_with_the_line_number(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_file(path)
    assert caught.value.message.startswith(f"{path}:{line}: ")
    assert words in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE


def test_a_missing_include_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("-r nowhere.txt\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["export", "--format", "pip", "--file", str(path)])
    assert result.exit_code == 2
    assert "nowhere.txt" in result.stderr and "Traceback" not in result.output
    assert result.stderr.count("error:") == 1 and len(result.stderr.strip().splitlines()) == 2


# --- environment.yml -----------------------------------------------------------------------------------------


def test_conda_env_export_keeps_conda_only_names_as_conda_specs() -> None:
    profile = load_file(EXPORT)
    assert profile.name == "tf"
    assert str(profile.python) == "==3.11.8"
    mutex = profile.package("_libgcc_mutex")
    assert mutex is not None and mutex.conda == "_libgcc_mutex=0.1=conda_forge" and mutex.requirements == ()
    assert profile.package("_openmp_mutex").conda == "_openmp_mutex=4.5=2_gnu"  # type: ignore[union-attr]
    assert str(profile.package("numpy").requirements[0]) == "numpy==1.26.4"  # type: ignore[union-attr]
    assert profile.package("tensorflow").conda is False  # type: ignore[union-attr]
    specs = conda_specs(profile, "3.11.8")
    assert "_libgcc_mutex=0.1=conda_forge" in specs and "numpy=1.26.4=py311h64a7726_0" in specs
    assert not any(s.startswith("tensorflow") for s in specs)


def test_conda_env_export_through_the_cli_is_not_a_traceback() -> None:
    result = CliRunner().invoke(app, ["export", "--file", str(EXPORT)])
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.stdout)  # the writer's output is YAML that PyYAML reads back
    assert "_libgcc_mutex=0.1=conda_forge" in document["dependencies"]
    assert {"pip": ["absl-py==2.1.0", "keras==3.1.1", "ml-dtypes==0.3.2", "protobuf==4.25.3", "tensorboard==2.16.2", "tensorflow==2.16.1"]} in document["dependencies"]  # fmt: skip


def test_flow_style_and_pip_options_are_read_and_pip_gets_the_lines(tmp_path: Path) -> None:
    profile = load_file(FLOW)
    assert profile.name == "flow-lab"
    assert profile.conda_channels == ("conda-forge",)
    assert [p.name for p in profile.packages] == ["numpy", "tensorflow"]
    assert profile.install_args == ("--extra-index-url", "https://download.example.org/simple", "tensorflow>=2.16")
    assert profile.install_cwd == FLOW.absolute().parent  # relative paths there are the file's, as with conda
    steps = get_backend("conda", conda_exe=shutil.which("true") or "/bin/true").install_steps(
        BuildRequest(tmp_path / "env", Path("/usr/bin/python3"), "3.11.7", profile, "pip", fresh=True)
    )
    assert steps[-1].argv[-3:] == profile.install_args and steps[-1].cwd == FLOW.absolute().parent


def test_rendered_environment_yml_reads_back_with_pyyaml_and_with_envcheck(tmp_path: Path) -> None:
    profile = load_file(FLOW)
    text = render_environment_yml(profile, "3.11.7")
    assert yaml.safe_load(text)["dependencies"][0] == "python=3.11"
    path = tmp_path / "environment.yml"
    path.write_text(text, encoding="utf-8")
    assert [p.name for p in load_file(path).packages] == ["pip", "numpy", "tensorflow"]  # conda wants pip listed


@pytest.mark.parametrize(
    ("encoding", "bom", "newline"),
    [
        ("utf-8", codecs.BOM_UTF8, "\n"),  # Notepad's "UTF-8 with BOM"
        ("utf-16-le", codecs.BOM_UTF16_LE, "\r\n"),  # Windows PowerShell 5: `conda env export > environment.yml`
        ("utf-16-be", codecs.BOM_UTF16_BE, "\n"),
    ],
)
def test_files_in_the_encodings_users_have(tmp_path: Path, encoding: str, bom: bytes, newline: str) -> None:
    for source in (EXPORT, HASHED):
        path = tmp_path / source.name
        path.write_bytes(bom + source.read_text(encoding="utf-8").replace("\n", newline).encode(encoding))
        assert load_file(path).requirement_strings() == load_file(source).requirement_strings()


def test_a_file_in_no_known_encoding_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_bytes(b"name: x\ndependencies:\n  - caf\xe9\n")  # Latin-1
    result = CliRunner().invoke(app, ["export", "--file", str(path)])
    assert result.exit_code == 2
    assert f"error: {path}: not readable as UTF-8 text" in result.stderr
    assert "Traceback" not in result.output


def test_verify_calls_conda_only_packages_what_they_are() -> None:
    from support.evidence import check, evidence

    ev = evidence(profile=load_file(EXPORT))
    for kind in ("import", "version"):
        found = check(ev, f"package._libgcc_mutex.{kind}")
        assert found.status.value == "skip" and "conda-only package" in found.detail
    assert "not needed on this platform" not in check(ev, "package._openmp_mutex.import").detail
