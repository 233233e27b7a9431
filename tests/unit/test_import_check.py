"""The import check of a user's file and verify's reading of it: the modules each distribution really provides,
TensorFlow first, a complete environment kept when something does not import, and what verify then says.

Distributions are installed here as wheels install them (files, METADATA, a RECORD with sizes): into a folder on
this interpreter's ``sys.path`` for the probe's reading, into a real venv (tests/support/setups.py) for setup.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from support.evidence import check, evidence, recorded
from support.probes import load_probe
from support.setups import FakeInstaller, fake_completed, install_distribution, site_packages
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.completion import Marker, read_marker, write_marker
from envcheck.errors import NoEnvironmentError
from envcheck.profiles.files import load_file
from envcheck.profiles.profile import Package
from envcheck.results import Status
from envcheck.targets import resolve_target
from envcheck.verify.checks import EnvState, evaluate
from envcheck.verify.gather import _as_provided
from envcheck.verify.plan import diagnose


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site-packages folder on this interpreter's sys.path, for distributions written by the test."""
    folder = tmp_path / "site"
    (folder / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    monkeypatch.syspath_prepend(str(site_packages(folder)))
    return folder


@pytest.mark.parametrize(
    ("name", "files", "entry_points", "modules", "reason"),
    [
        # a namespace folder: the first regular package in it (what `import google` would not check)
        (
            "protobuf-like",
            {"google/protobuf/__init__.py": "V = 1\n", "google/_upb/_message.abi3.so": "\0"},
            "",
            ["google.protobuf"],
            None,
        ),
        # a CUDA library wheel: empty __init__.py files beside shared libraries
        (
            "nvidia-cudnn-like",
            {"nvidia/__init__.py": "", "nvidia/cudnn_like/__init__.py": "", "nvidia/cudnn_like/lib/libx.so.9": "\0"},
            "",
            [],
            "no Python module among its files (libraries or data only)",
        ),
        # a TensorBoard plugin: TensorBoard loads it, nobody imports it
        (
            "tb-plugin-like",
            {"tb_plugin_like/__init__.py": "import tensorboard\n"},
            "[tensorboard_plugins]\nlike = tb_plugin_like:Plugin\n",
            [],
            "a TensorBoard plugin, loaded by TensorBoard",
        ),
        # TensorBoard itself declares its built-in plugins in the same group: it is no plugin
        (
            "tensorboard",
            {"tensorboard/__init__.py": "T = 1\n"},
            "[tensorboard_plugins]\nprojector = tensorboard.plugins.projector:ProjectorPlugin\n",
            ["tensorboard"],
            None,
        ),
        # TensorFlow's GCS file-system plugin: TensorFlow imports it itself
        (
            "tensorflow-io-gcs-filesystem",
            {"tensorflow_io_gcs_filesystem/__init__.py": "import tensorflow\n"},
            "",
            [],
            "TensorFlow's GCS file-system plugin, which TensorFlow loads itself",
        ),
        # what the name guesses wrong: the module the records name, private ones only where there is nothing else
        ("absl-py-like", {"absl_like/__init__.py": "A = 1\n", "_absl_private.py": "P = 1\n"}, "", ["absl_like"], None),
        ("cffi-like", {"_cffi_like_backend.abi3.so": "\0"}, "", ["_cffi_like_backend"], None),
        # a wheel that carries its tests at the top by mistake
        ("lib-like", {"lib_like.py": "L = 1\n", "tests/__init__.py": "import pytest\n"}, "", ["lib_like"], None),
    ],
)
def test_the_probe_reads_which_modules_a_distribution_provides(
    site: Path, name: str, files: dict[str, str], entry_points: str, modules: list[str], reason: str | None
) -> None:
    install_distribution(site, name, files, entry_points=entry_points)
    assert load_probe("imports").provided_modules(name) == {"modules": modules, "reason": reason}
    assert load_probe("imports").provided_modules("not-installed-here") is None


def test_the_guessed_name_comes_first_when_it_is_among_them(site: Path) -> None:
    install_distribution(site, "pyyaml-like", {"yaml_like/__init__.py": "Y = 1\n", "other_like.py": "O = 1\n" * 9})
    assert load_probe("imports").provided_modules("pyyaml-like", "yaml_like")["modules"] == ["yaml_like", "other_like"]


# --- setup ----------------------------------------------------------------------------------------------------


def write_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(text, encoding="utf-8")
    return path


def installing(*distributions: tuple[str, dict[str, str]]) -> object:
    def install(prefix: Path) -> object:
        for name, files in distributions:
            install_distribution(prefix, name, files)
        return fake_completed(0, f"Installed {len(distributions)} packages")

    return install


def test_a_complete_install_is_kept_when_a_package_does_not_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tensorflow-hub 0.15 imports pkg_resources, which setuptools 82 no longer ships: the environment stays."""
    file = write_file(tmp_path, "hub-like==1.0\nwith-no-module==1.0\n")
    FakeInstaller(
        monkeypatch,
        installing(
            ("hub-like", {"hub_like/__init__.py": "import pkg_resources\n"}),
            ("with-no-module", {"with_no_module_data/table.csv": "a,b\n"}),
        ),
    )
    prefix = tmp_path / "env"
    result = CliRunner().invoke(app, ["setup", "--file", str(file), "--prefix", str(prefix), "--no-kernel"])
    assert result.exit_code == 1
    error, detail, hint = result.stderr.splitlines()[-3:]
    assert error == (
        "error: import check failed: import hub_like: ModuleNotFoundError: No module named"
        f" 'pkg_resources'; the environment at {prefix} is kept: every package is installed"
    )
    assert detail == "  | import hub_like: ModuleNotFoundError: No module named 'pkg_resources'"
    assert hint.startswith("hint: see why and repair it: ") and f"verify --file {file} --prefix {prefix} --fix;" in hint
    assert "✗ import check 1 of 1 modules fail" in result.stderr  # the data package is not imported
    marker = read_marker(prefix)
    assert marker is not None and marker.file == str(file)
    assert marker.import_failures == {"hub_like": "ModuleNotFoundError: No module named 'pkg_resources'"}
    assert marker.versions == {"hub-like": "1.0", "with-no-module": "1.0"}
    # the next setup checks again rather than answering "up to date"
    again = CliRunner().invoke(app, ["setup", "--file", str(file), "--prefix", str(prefix), "--no-kernel", "--json"])
    assert again.exit_code == 1 and json.loads(again.stdout)["error"]["details"] == [detail.removeprefix("  | ")]


def test_a_module_that_fails_only_after_the_others_is_not_the_users_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TensorFlow registers its GCS file-system plugin itself; importing the plugin again in that process fails."""
    file = write_file(tmp_path, "registers-first==1.0\nregisters-again==1.0\n")
    FakeInstaller(
        monkeypatch,
        installing(
            ("registers-first", {"registers_first/__init__.py": "import builtins\nbuiltins._envcheck_gs = True\n"}),
            (
                "registers-again",
                {
                    "registers_again/__init__.py": "import builtins\n"
                    "if getattr(builtins, '_envcheck_gs', False):\n"
                    "    raise RuntimeError('set up twice in one process')\n"
                },
            ),
        ),
    )
    prefix = tmp_path / "env"
    result = CliRunner().invoke(app, ["setup", "--file", str(file), "--prefix", str(prefix), "--no-kernel"])
    assert result.exit_code == 0, result.stderr
    assert "✓ import check 2 modules of 2 packages" in result.stderr
    log = (prefix / "envcheck-setup.log").read_text(encoding="utf-8")
    assert "registers_again imports on its own, not after the others" in log
    assert read_marker(prefix).import_failures == {}  # type: ignore[union-attr]


def test_tensorflows_own_gcs_plugin_registering_twice_is_not_the_users_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tensorflow-io-gcs-filesystem: TensorFlow loads it itself; imported again, even alone, it registers twice."""
    file = write_file(tmp_path, "gcs-like==1.0\n")
    error = "raise RuntimeError('File system for gs already registered')\n"
    FakeInstaller(monkeypatch, installing(("gcs-like", {"gcs_like/__init__.py": error})))
    prefix = tmp_path / "env"
    result = CliRunner().invoke(app, ["setup", "--file", str(file), "--prefix", str(prefix), "--no-kernel"])
    assert result.exit_code == 0, result.stderr
    log = (prefix / "envcheck-setup.log").read_text(encoding="utf-8")
    assert "gcs_like is TensorFlow's to load, not to import again: RuntimeError: File system for gs" in log


def test_one_module_of_each_distribution_is_imported_the_one_its_users_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """black's blackd needs black[d]; keras-io's file lists black without it."""
    file = write_file(tmp_path, "black-like==1.0\n")
    extra = "raise ImportError('aiohttp dependency is not installed')\n"
    FakeInstaller(
        monkeypatch, installing(("black-like", {"black_like/__init__.py": "B = 1\n", "blackd_like.py": extra}))
    )
    result = CliRunner().invoke(app, ["setup", "--file", str(file), "--prefix", str(tmp_path / "env"), "--no-kernel"])
    assert result.exit_code == 0, result.stderr
    assert "✓ import check 1 modules of 1 packages" in result.stderr


def test_a_package_for_another_platform_is_not_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = write_file(tmp_path, 'plain==1.0\nmacos-only==1.0; sys_platform == "darwin"\n')
    FakeInstaller(monkeypatch, installing(("plain", {"plain.py": "P = 1\n"})))
    result = CliRunner().invoke(app, ["setup", "--file", str(file), "--prefix", str(tmp_path / "env"), "--no-kernel"])
    assert result.exit_code == 0, result.stderr


# --- verify ---------------------------------------------------------------------------------------------------


def file_profile(tmp_path: Path, text: str) -> object:
    return load_file(write_file(tmp_path, text))


def test_pkg_resources_gone_from_setuptools_82_is_named_and_fixed(tmp_path: Path) -> None:
    profile = file_profile(tmp_path, "tensorflow-hub==0.15.0\n")
    probe = recorded()
    probe["imports"]["tensorflow_hub"] = {
        "ok": False,
        "error_type": "ModuleNotFoundError",
        "error": "No module named 'pkg_resources'",
    }
    probe["distributions"]["setuptools"] = {"name": "setuptools", "version": "84.2.1", "requires": [], "location": "x"}
    probe["distributions"]["tensorflow-hub"] = {"name": "tensorflow-hub", "version": "0.15.0", "requires": [], "location": "x"}  # fmt: skip
    ev = evidence(probe, profile=profile)
    found = check(ev, "compat.pkg-resources")
    assert found.status is Status.FAIL
    assert (
        found.detail
        == "tensorflow_hub imports pkg_resources, and setuptools 84.2.1 has no pkg_resources (gone from 82 on)"
    )
    assert found.hint.endswith("-m pip install 'setuptools<82'")  # type: ignore[union-attr]
    diagnosis = diagnose(ev, evaluate(ev))
    step = next(s for s in diagnosis.plan if "setuptools<82" in s.argv)
    assert {"compat.pkg-resources", "package.tensorflow-hub.import"} <= set(step.resolves)


def test_pkg_resources_check_does_not_apply_when_nothing_needs_it() -> None:
    assert "compat.pkg-resources" not in {r.id for r in evaluate(evidence())}


def test_tensorflow_installed_through_another_package_has_its_device_checked(tmp_path: Path) -> None:
    """keras-io's file names tf_keras and keras-hub, not TensorFlow: the probe imports it all the same."""
    profile = file_profile(tmp_path, "tf-keras\n")
    ev = evidence(profile=profile)  # the recorded probe imported tensorflow and listed its devices
    assert profile.package("tensorflow") is None  # type: ignore[attr-defined]
    assert check(ev, "device.tensorflow").detail.startswith("CPU only (TensorFlow ")


def test_verify_passes_a_module_that_registers_with_tensorflow_twice(tmp_path: Path) -> None:
    profile = file_profile(tmp_path, "tensorflow-io-gcs-filesystem\n")
    probe = recorded()
    probe["imports"]["tensorflow_io_gcs_filesystem"] = {
        "ok": False,
        "error_type": "AlreadyExistsError",
        "error": "File system for gs already registered",
    }
    found = check(evidence(probe, profile=profile), "package.tensorflow-io-gcs-filesystem.import")
    assert found.status is Status.PASS
    assert found.detail == (
        "`import tensorflow_io_gcs_filesystem` registers again what TensorFlow loaded itself (File system for gs"
        " already registered): TensorFlow's to load, not to import"
    )


def test_verify_reads_the_modules_the_probe_found(tmp_path: Path) -> None:
    profile = load_file(write_file(tmp_path, "protobuf\nnvidia-cudnn-cu12\nsix\n"))
    packages = [{"name": p.name, "import": p.import_name, "discover": True} for p in profile.packages]
    provides = {
        "protobuf": {"modules": ["google.protobuf"], "reason": None},
        "nvidia-cudnn-cu12": {"modules": [], "reason": "no Python module among its files (libraries or data only)"},
        "six": None,  # not installed: its guessed name says so when it is imported
    }
    changed, asked = _as_provided(profile, packages, provides)
    assert [(p.name, p.import_name) for p in changed.packages] == [
        ("protobuf", "google.protobuf"),
        ("nvidia-cudnn-cu12", None),
        ("six", "six"),
    ]
    assert [p["import"] for p in asked] == ["google.protobuf", "six"]


def test_verify_judges_an_environment_against_the_file_it_was_set_up_from(tmp_path: Path) -> None:
    file = write_file(tmp_path, "six==1.17.0\n")
    prefix = tmp_path / "env"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "python").symlink_to(sys.executable)
    profile = load_file(file)
    marker = Marker(profile.name, profile.digest, "venv", "uv", "3.11.7", file=str(file))
    write_marker(prefix, marker)
    assert resolve_target(prefix=prefix).profile.source == file
    file.unlink()
    with pytest.raises(NoEnvironmentError) as gone:
        resolve_target(prefix=prefix)
    assert gone.value.message == f"{prefix} was set up from {file}, which is not there any more"
    assert f"verify --profile deep-learning --prefix {prefix}" in gone.value.hint  # type: ignore[operator]


def test_a_changed_file_is_named_with_the_setup_that_brings_the_environment_in_line(tmp_path: Path) -> None:
    file = write_file(tmp_path, "six==1.17.0\n")
    before = load_file(file)
    file.write_text("six==1.16.0\n", encoding="utf-8")
    marker = Marker(before.name, before.digest, "venv", "uv", "3.11.7", file=str(file))
    ev = evidence(
        profile=load_file(file), env=EnvState(prefix="/envs/six", marker=marker), profile_args=("--file", str(file))
    )
    found = check(ev, "env.complete")
    assert found.status is Status.WARN
    assert found.detail == f"{file} changed since this environment was set up from it"
    assert found.hint is not None and found.hint.endswith(f"setup --file {file} --prefix /envs/six")


def test_a_conda_only_package_is_named_as_such_by_verify(tmp_path: Path) -> None:
    requirement = Requirement("nvidia-cudnn-cu12")
    package = Package("nvidia-cudnn-cu12", (requirement,), None, core=False, conda=False, discover=True)
    profile = file_profile(tmp_path, "six\n")
    ev = evidence(profile=__import__("dataclasses").replace(profile, packages=(package,)))
    assert check(ev, "package.nvidia-cudnn-cu12.import").detail == (
        "it provides no Python module to import (libraries, data or a plugin)"
    )
