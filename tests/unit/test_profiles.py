"""The profile loader: bundled profiles, users' files, and a one-line error with exit code 2 for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcheck.errors import ExitCode, ProfileError
from envcheck.kernels import kernel_name
from envcheck.profiles.files import load_file, load_profile
from envcheck.profiles.profile import available_profiles

GOOD = """
schema = 1
name = "mini"
python = ">=3.8"
device = "cpu"
kernel = false

[[package]]
name = "example"
requirement = "example>=1.0"
import = "json"
"""


def write(tmp_path: Path, text: str, name: str = "profile.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_profile_holds_the_tutorial_stack() -> None:
    profile = load_profile()
    assert profile.name == "deep-learning"
    assert {p.name for p in profile.packages} >= {
        "tensorflow",
        "keras",
        "pandas",
        "scikit-learn",
        "matplotlib",
        "notebook",
        "ipykernel",
    }
    assert profile.package("scikit-learn").import_name == "sklearn"
    assert profile.python.contains("3.12.1") and not profile.python.contains("3.14.0")
    assert profile.device == "cpu"
    assert kernel_name(profile) == "envcheck-deep-learning"


def test_gpu_profile_picks_the_cuda_wheels_only_on_linux_x86_64() -> None:
    tensorflow = load_profile("deep-learning-gpu").package("tensorflow")
    linux = {"sys_platform": "linux", "platform_machine": "x86_64"}
    mac = {"sys_platform": "darwin", "platform_machine": "arm64"}
    assert [r.extras for r in tensorflow.applicable(linux)] == [{"and-cuda"}]
    assert [r.extras for r in tensorflow.applicable(mac)] == [set()]
    metal = load_profile("deep-learning-gpu").package("tensorflow-metal")
    assert metal.applicable(mac) and not metal.applicable(linux)


def test_every_bundled_profile_loads() -> None:
    names = available_profiles()
    assert "deep-learning" in names and "deep-learning-gpu" in names
    for name in names:
        assert load_profile(name).name == name


def test_digest_ignores_comments_but_not_content(tmp_path: Path) -> None:
    a = load_file(write(tmp_path, GOOD, "a.toml"))
    b = load_file(write(tmp_path, "# a comment\n" + GOOD, "b.toml"))
    c = load_file(write(tmp_path, GOOD.replace("example>=1.0", "example>=2.0"), "c.toml"))
    assert a.digest == b.digest != c.digest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = [", "not valid TOML"),
        ("colour = 'red'\n" + GOOD, "unknown key colour"),
        (GOOD.replace('import = "json"', 'import = "json"\nextra = 1'), "unknown key package[0].extra"),
        (GOOD.replace("example>=1.0", "example>=>1"), "invalid requirement"),
        (GOOD.replace('python = ">=3.8"', 'python = "three"'), "invalid version range"),
        (GOOD.replace('device = "cpu"', 'device = "tpu"'), "device must be one of"),
        (GOOD.replace("kernel = false", 'kernel = "no"'), "kernel must be of type bool"),
        (GOOD.replace('requirement = "example>=1.0"', 'requirement = "other>=1.0"'), "is not for package"),
        ('schema = 1\nname = "x"\n', "no [[package]] entries"),
        (GOOD.replace("schema = 1", "schema = 7"), "unsupported schema"),
    ],
)
def test_bad_profiles_give_one_line_errors_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_file(path)
    assert message in info.value.message
    assert str(path) in info.value.message
    assert "\n" not in info.value.message
    assert info.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("name", ["nope", "../deep-learning", "/etc/passwd", "deep-learning/../x", "deep learning"])
def test_unknown_or_escaping_profile_names_are_refused(name: str) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(name)
    assert info.value.exit_code == ExitCode.USAGE
    assert "--file" in (info.value.hint or "")


def test_requirements_txt_becomes_a_profile(tmp_path: Path) -> None:
    path = write(tmp_path, "# my stack\ntensorflow>=2.16\nscikit-learn  # ml\n\npandas==2.2.*\n", "lab.txt")
    profile = load_file(path)
    assert profile.name == "lab"
    assert profile.requirement_strings() == ["tensorflow>=2.16", "scikit-learn", "pandas==2.2.*"]
    assert profile.package("scikit-learn").import_name == "sklearn"
    assert profile.package("tensorflow").conda is False


def test_requirements_txt_options_are_for_the_installer_and_unknown_ones_name_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, "numpy\n--index-url https://example.org/simple\n", "reqs.txt")
    profile = load_file(path)
    assert profile.install_args == ("-r", str(path))  # the installer reads the option itself
    assert profile.requirement_strings() == ["numpy"]
    path = write(tmp_path, "numpy\n--bogus https://example.org/simple\n", "bad.txt")
    with pytest.raises(ProfileError) as info:
        load_file(path)
    assert info.value.message == f"{path}:2: no such option: --bogus"
    assert "requirements-file-format" in (info.value.hint or "")


def test_profile_and_file_together_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError):
        load_profile("deep-learning", write(tmp_path, GOOD))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such file"):
        load_file(tmp_path / "absent.toml")


def test_the_readers_do_not_import_each_other() -> None:
    """profiles/profile.py (the model) imports no reader; profiles/files.py alone knows them all."""
    import ast

    import envcheck

    root = Path(envcheck.__file__).parent / "profiles"

    def imported(module: str) -> set[str]:
        tree = ast.parse((root / f"{module}.py").read_text(encoding="utf-8"))
        names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        return {name.removeprefix("envcheck.profiles.") for name in names if name.startswith("envcheck.profiles.")}

    assert imported("profile") & {"condafile", "requirements", "files"} == set()
    assert imported("requirements") & {"condafile", "files"} == set()
    assert imported("condafile") & {"files"} == set()
    assert {"condafile", "requirements", "profile"} <= imported("files")


def test_a_source_checkout_run_with_pythonpath_finds_the_profiles_beside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Uninstalled (PYTHONPATH=. on a machine where nothing may be installed), there is no package
    envcheck.environments: the profiles are the checkout's environments/ folder."""
    from importlib import resources

    from envcheck.profiles import profile

    def uninstalled(name: str) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(resources, "files", uninstalled)
    assert profile.profiles_dir() == Path(__file__).parents[2] / "environments"
    assert available_profiles() == ["deep-learning", "deep-learning-gpu"]
