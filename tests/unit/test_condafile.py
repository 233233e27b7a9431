"""environment.yml and requirements.txt: rendered from profiles, and a user's environment.yml read back.

All real: the shipped profiles, the renderer, the reader. The structure checked is the one conda documents for
environment files (name, channels, a dependencies list of specs with one ``pip:`` list, pip itself listed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from envcheck.errors import ExitCode, ProfileError, UsageError
from envcheck.profiles.condafile import (
    conda_specs,
    export_text,
    parse_environment_yml,
    pip_requirements,
    render_environment_yml,
    render_requirements_txt,
)
from envcheck.profiles.files import load_file, load_profile
from envcheck.profiles.requirements import parse_requirements

USER_FILE = """\
# an environment file as people write them
name: my-ml
channels:
  - conda-forge
  - nodefaults
dependencies:
- python=3.11
- numpy=1.26.*          # pinned minor
- conda-forge::pandas>=2.0,<3
- matplotlib-base 3.8.* *_0
- cudatoolkit
- pip
- pip:
  - tensorflow>=2.16
  - "keras>=3.0; python_version >= '3.9'"
prefix: /opt/envs/my-ml
variables:
  TF_CPP_MIN_LOG_LEVEL: "2"
"""


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))


def structure(text: str) -> dict[str, object]:
    """The document as conda reads it, through envcheck's own reader (PyYAML is not one of its dependencies)."""
    profile = parse_environment_yml(text, Path("environment.yml"))
    return {
        "name": profile.name,
        "channels": list(profile.conda_channels),
        "conda": [p.conda for p in profile.packages if p.conda is not False],
        "pip": [str(r) for p in profile.packages if p.conda is False for r in p.requirements],
        "python": str(profile.python),
    }


def test_default_profile_renders_conda_forge_packages_then_tensorflow_and_keras_under_pip() -> None:
    text = render_environment_yml(load_profile("deep-learning"), "3.11.7")
    lines = text.splitlines()
    top = [line.split(":")[0] for line in lines if line and not line.startswith((" ", "#"))]
    assert top == ["name", "channels", "dependencies"]
    assert "  - conda-forge" in lines and "  - nodefaults" in lines
    dependencies = lines[lines.index("dependencies:") + 1 :]
    assert dependencies[0] == "  - python=3.11"  # the interpreter's major.minor, as setup builds it
    assert "  - pip" in dependencies  # conda wants pip itself listed when there is a pip: section
    assert dependencies[-3:] == ["  - pip:", "      - tensorflow>=2.16", "      - keras>=3.0"]  # the last entry
    parsed = structure(text)
    assert parsed["channels"] == ["conda-forge"]
    assert parsed["pip"] == ["tensorflow>=2.16", "keras>=3.0"]
    assert "pandas>=2.0" in parsed["conda"] and "scikit-learn>=1.3" in parsed["conda"]
    assert not any(str(spec).startswith(("tensorflow", "keras")) for spec in parsed["conda"])  # type: ignore[attr-defined]


def test_rendered_file_is_yaml_of_the_documented_shape() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed; the structure is checked by envcheck's reader")
    for name in ("deep-learning", "deep-learning-gpu"):
        doc = yaml.safe_load(render_environment_yml(load_profile(name), "3.12.1"))
        assert set(doc) == {"name", "channels", "dependencies"}
        assert all(isinstance(c, str) for c in doc["channels"])
        strings = [d for d in doc["dependencies"] if isinstance(d, str)]
        mappings = [d for d in doc["dependencies"] if not isinstance(d, str)]
        assert "python=3.12" in strings and "pip" in strings
        assert len(mappings) == 1 and list(mappings[0]) == ["pip"]
        assert all(isinstance(r, str) for r in mappings[0]["pip"])


def test_gpu_profile_keeps_platform_markers_in_the_pip_section_quoted() -> None:
    text = render_environment_yml(load_profile("deep-learning-gpu"), "3.11.7")
    assert '"tensorflow[and-cuda]>=2.16; sys_platform == \\"linux\\"' in text
    assert structure(text)["pip"] == pip_requirements(load_profile("deep-learning-gpu"))


def test_python_is_the_profile_range_when_no_allowed_interpreter_is_known() -> None:
    profile = load_profile("deep-learning")
    assert "  - python=3.12" in export_text(profile, "conda", "3.12.4").splitlines()
    assert "  - python<3.14,>=3.10" in export_text(profile, "conda", "3.9.18").splitlines()
    assert "  - python<3.14,>=3.10" in export_text(profile, "conda", None).splitlines()


def test_conda_specs_follow_markers_explicit_specs_and_conda_version_syntax(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        """
schema = 1
python = ">=3.8"
[[package]]
requirement = "numpy==1.26.*"
[[package]]
name = "matplotlib"
requirement = "matplotlib>=3.7"
conda = "matplotlib-base>=3.7"
[[package]]
requirement = "pywin32>=300; sys_platform == 'win32'"
[[package]]
requirement = "onlyold>=1; python_version < '3.9'"
[[package]]
requirement = "keras>=3.0"
conda = false
""",
        encoding="utf-8",
    )
    profile = load_file(path)
    specs = conda_specs(profile, "3.11.2")
    assert specs[:2] == ["python=3.11", "pip"]
    assert "numpy=1.26" in specs  # conda's fuzzy "=1.26" is PEP 440's "==1.26.*"
    assert "matplotlib-base>=3.7" in specs  # an explicit conda spec is used verbatim
    assert "onlyold>=1" not in specs and "keras>=3.0" not in specs
    assert ("pywin32>=300" in specs) == (__import__("sys").platform == "win32")
    assert pip_requirements(profile) == ["keras>=3.0"]


def test_requirements_txt_lists_every_package_and_reads_back(tmp_path: Path) -> None:
    profile = load_profile("deep-learning")
    text = render_requirements_txt(profile)
    assert text.startswith("# envcheck profile 'deep-learning'")
    (tmp_path / "requirements.txt").write_text(text, encoding="utf-8")
    back = parse_requirements(tmp_path / "requirements.txt")
    assert back.requirement_strings() == profile.requirement_strings()


def test_users_environment_yml_becomes_a_profile(tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_text(USER_FILE, encoding="utf-8")
    profile = load_file(path)  # .yml files are dispatched to the conda reader
    assert profile.name == "my-ml"
    assert profile.conda_channels == ("conda-forge",)
    assert str(profile.python) == "==3.11.*"
    by_name = {p.name: p for p in profile.packages}
    assert by_name["numpy"].conda == "numpy=1.26.*" and str(by_name["numpy"].requirements[0]) == "numpy==1.26.*"
    assert by_name["pandas"].conda == "conda-forge::pandas>=2.0,<3"
    # conda-forge's matplotlib-base is PyPI's matplotlib: checked under that name, installed by conda as written
    assert by_name["matplotlib"].conda == "matplotlib-base 3.8.* *_0"
    assert str(by_name["matplotlib"].requirements[0]) == "matplotlib==3.8.*"
    assert by_name["cudatoolkit"].import_name is None  # no module to import: installed, not import-checked
    assert profile.conda_only == ("cudatoolkit",)  # PyPI has no such package
    assert by_name["tensorflow"].conda is False and by_name["tensorflow"].import_name == "tensorflow"
    assert str(by_name["keras"].requirements[0]) == 'keras>=3.0; python_version >= "3.9"'
    assert conda_specs(profile, "3.11.4")[:2] == ["python=3.11", "pip"]
    assert "conda-forge::pandas>=2.0,<3" in conda_specs(profile, "3.11.4")


def test_render_then_read_keeps_the_profile() -> None:
    profile = load_profile("deep-learning")
    back = parse_environment_yml(render_environment_yml(profile), Path("environment.yml"))
    assert back.name == profile.name
    assert str(back.python) == str(profile.python)
    assert pip_requirements(back) == pip_requirements(profile)
    assert conda_specs(back, "3.11.0") == conda_specs(profile, "3.11.0")


def test_flow_lists_and_document_start_are_read() -> None:
    text = "---\nname: x\nchannels: [conda-forge, nodefaults]\ndependencies:\n  - pandas\n  - pip: [keras]\n"
    assert structure(text) == {
        "name": "x",
        "channels": ["conda-forge"],
        "conda": ["pandas"],
        "pip": ["keras"],
        "python": "",
    }


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name: x\nplatforms:\n  - linux-64\ndependencies:\n  - numpy\n", 2, "unsupported key 'platforms'"),
        ("dependencies:\n  - numpy\n  - conda: [x]\n", 3, "only package specs and pip: lists"),
        ("dependencies:\n  - pip:\n    - -r requirements.txt\n    - numpy>>1\n", 4, "invalid pip line 'numpy>>1'"),
        ("dependencies:\n  - pip:\n    - --no-such-option\n", 3, "no such option: --no-such-option"),
        ("dependencies:\n  - pip: tensorflow\n", 2, "pip: must be a list"),
        ("dependencies:\n\t- numpy\n", 2, "not valid YAML"),
        ("dependencies:\n  - numpy\n   - pandas\n", 2, "not a conda package spec"),
        ("dependencies:\n  - numpy\n  - numpy>=2\n", 3, "listed twice"),
        ("name: x\n  more: y\ndependencies:\n  - numpy\n", 2, "not valid YAML"),
        ("name: x\nname: y\ndependencies:\n  - numpy\n", 2, "name appears twice"),
        ("dependencies: numpy\n", 1, "dependencies must be a list"),
        ("just text\n", 1, "expected a mapping"),
    ],
)
def test_unsupported_yaml_is_one_error_naming_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "environment.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_file(path)
    assert caught.value.message.startswith(f"{path}:{line}: ")
    assert words in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.hint


def test_a_file_without_dependencies_is_refused(tmp_path: Path) -> None:
    for text in ("name: x\nchannels:\n  - conda-forge\n", "dependencies:\n  - python=3.11\n"):
        path = tmp_path / "environment.yml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ProfileError, match="dependencies"):
            load_file(path)


def test_unknown_export_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown export format 'yaml'"):
        export_text(load_profile("deep-learning"), "yaml")
