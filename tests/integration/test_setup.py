"""`envcheck setup` without downloads: the plan, rollback under injected faults, and refusals.

Real: the interpreter probe, `python -m venv` for the create step, the import-check probe, the file system.
Imitated: the installer. Only `envcheck.runner.run` is patched; it passes every other call to the real one.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from support.setups import MINI, FakeInstaller, fake_completed, request, site_packages

from envcheck import runner
from envcheck.completion import read_marker
from envcheck.errors import ExitCode, Interrupted, RefusedError, SetupError, UsageError
from envcheck.installers import IndexOptions
from envcheck.locations import LOG_NAME, OWNER_NAME, logs_dir
from envcheck.profiles.files import load_file, load_profile
from envcheck.setup.backends import get_backend
from envcheck.setup.journal import Journal
from envcheck.setup.pipeline import setup_environment
from envcheck.setup.plan import plan_steps
from envcheck.setup.prefix import PrefixState, prefix_state
from envcheck.setup.request import default_backend, resolve
from envcheck.setup.result import Action
from envcheck.setup.steps import shown


@pytest.fixture
def mini(tmp_path: Path):
    path = tmp_path / "mini.toml"
    path.write_text(MINI, encoding="utf-8")
    return load_file(path)


# -- the plan -----------------------------------------------------------------------------------------------


def test_plan_with_uv_creates_seeded_venv_then_installs_every_requirement(tmp_path: Path) -> None:
    profile = load_profile()
    req = request(profile, tmp_path / "env", index=IndexOptions(index_url="https://user:pw@mirror/simple"))
    steps = plan_steps(resolve(req), Path(sys.executable), "3.11.7", create=True)
    assert [s.phase for s in steps] == ["create", "install", "kernel"]
    create, install, kernel = (s.argv for s in steps)
    assert create[1:4] == ("venv", "--seed", "--no-project") and create[-1] == str(tmp_path / "env")
    assert install[1:3] == ("pip", "install") and "--index-url" not in install
    assert install[-7:] == tuple(profile.requirement_strings())
    assert kernel[1:5] == ("-m", "ipykernel", "install", "--user")
    assert kernel[kernel.index("--name") + 1] == "envcheck-deep-learning"
    # the index travels in uv's own variables, out of sight of other users' `ps`; the log hides its password
    for step in steps[:2]:
        assert step.env["UV_INDEX_URL"] == step.env["UV_DEFAULT_INDEX"] == "https://user:pw@mirror/simple"
        assert not any("pw@" in arg for arg in step.argv)
        assert shown(step).startswith("UV_INDEX_URL=https://***@mirror/simple UV_DEFAULT_INDEX=https://***@")


def test_plan_with_pip_and_offline_uses_venv_and_no_index(tmp_path: Path) -> None:
    req = request(
        load_profile(),
        tmp_path / "env",
        installer="pip",
        kernel=False,
        index=IndexOptions(find_links=("w",), offline=True),
    )
    steps = plan_steps(resolve(req), Path(sys.executable), "3.11.7", create=True)
    assert [s.phase for s in steps] == ["create", "install"]
    assert steps[0].argv == (sys.executable, "-m", "venv", str(tmp_path / "env"))
    assert steps[1].argv[1:4] == ("-m", "pip", "install")
    assert "--no-index" in steps[1].argv and "--find-links" in steps[1].argv


def test_plan_for_an_existing_environment_only_installs(tmp_path: Path) -> None:
    steps = plan_steps(
        resolve(request(load_profile(), tmp_path, kernel=False)), Path(sys.executable), "3.11", create=False
    )
    assert [s.phase for s in steps] == ["install"]


def test_unknown_backend_and_installer_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown backend 'poetry'"):
        get_backend("poetry")
    with pytest.raises(UsageError, match="unknown installer 'npm'"):
        get_backend("venv", installer="npm")


# -- creating, updating, and the marker ---------------------------------------------------------------------


def test_setup_creates_stamps_and_marks_then_reports_up_to_date(tmp_path: Path, mini, monkeypatch) -> None:
    fake = FakeInstaller(monkeypatch)
    prefix = tmp_path / "envs" / "mini"
    result = setup_environment(request(mini, prefix))
    assert result.action is Action.CREATED and fake.phases == ["create", "install"]
    assert (prefix / OWNER_NAME).is_file() and (prefix / LOG_NAME).is_file()
    marker = read_marker(prefix)
    assert marker is not None and marker.profile == "mini" and marker.profile_digest == mini.digest
    assert "Installed 1 package" in (prefix / LOG_NAME).read_text()

    again = setup_environment(request(mini, prefix))
    assert again.action is Action.UP_TO_DATE and fake.phases == ["create", "install"], "a no-op ran a program"


def test_changed_profile_is_brought_in_line_without_recreating(tmp_path: Path, mini, monkeypatch) -> None:
    fake = FakeInstaller(monkeypatch)
    prefix = tmp_path / "env"
    setup_environment(request(mini, prefix))
    (prefix / "user-file.txt").write_text("mine")
    changed_path = tmp_path / "mini2.toml"
    changed_path.write_text(MINI.replace("example>=1.0", "example>=2.0"))
    result = setup_environment(request(load_file(changed_path), prefix))
    assert result.action is Action.UPDATED
    assert fake.phases == ["create", "install", "install"]
    assert (prefix / "user-file.txt").read_text() == "mine"
    assert read_marker(prefix).profile_digest != mini.digest


def test_an_update_marks_the_environment_incomplete_before_its_first_install_step(
    tmp_path: Path, mini, monkeypatch
) -> None:
    """A kill -9 during the install gives no chance to clean up: the marker must already be gone by then."""
    FakeInstaller(monkeypatch)
    prefix = tmp_path / "env"
    setup_environment(request(mini, prefix))
    seen_during_install: list[object] = []

    def killed_half_way(prefix: Path) -> runner.Completed:
        seen_during_install.append(read_marker(prefix))
        return _half_way_failure(prefix)

    FakeInstaller(monkeypatch, killed_half_way)
    changed_path = tmp_path / "mini2.toml"
    changed_path.write_text(MINI.replace("example>=1.0", "example>=2.0"))
    with pytest.raises(SetupError, match="marked incomplete"):
        setup_environment(request(load_file(changed_path), prefix))
    assert seen_during_install == [None], "the installer ran while the environment still looked complete"
    assert prefix_state(prefix) is PrefixState.INCOMPLETE
    with pytest.raises(SetupError, match="is incomplete"):
        setup_environment(request(mini, prefix))


# -- rollback -------------------------------------------------------------------------------------------------


def _half_way_failure(prefix: Path) -> runner.Completed:
    (prefix / "lib" / "half-installed.py").write_text("x = 1")
    return fake_completed(1, "Resolved 40 packages\nerror: Failed to download `tensorflow==2.21.0`\n")


def test_installer_error_half_way_removes_the_new_environment_and_keeps_the_log(
    tmp_path: Path, mini, monkeypatch
) -> None:
    FakeInstaller(monkeypatch, _half_way_failure)
    prefix = tmp_path / "new" / "deeper" / "env"
    with pytest.raises(SetupError) as info:
        setup_environment(request(mini, prefix))
    assert "Failed to download" in info.value.message
    assert "removed the partial environment" in info.value.message
    assert not (tmp_path / "new").exists(), "folders this run created were left behind"
    assert tmp_path.exists()
    logs = list(logs_dir().glob("setup-mini-*.log"))
    assert logs and any("Failed to download" in log.read_text() for log in logs)
    assert str(logs_dir()) in (info.value.hint or "")


def _interrupt(prefix: Path) -> runner.Completed:
    (prefix / "lib" / "partial.py").write_text("")
    raise KeyboardInterrupt


def _terminate(prefix: Path) -> runner.Completed:
    (prefix / "lib" / "partial.py").write_text("")
    os.kill(os.getpid(), signal.SIGTERM)
    raise AssertionError("SIGTERM did not interrupt")  # pragma: no cover


@pytest.mark.parametrize("fault", [_interrupt, _terminate], ids=["ctrl-c", "sigterm"])
def test_interrupt_and_sigterm_leave_nothing_half_built(tmp_path: Path, mini, monkeypatch, fault) -> None:
    FakeInstaller(monkeypatch, fault)
    prefix = tmp_path / "env"
    with pytest.raises(Interrupted) as info:
        setup_environment(request(mini, prefix))
    assert info.value.exit_code == ExitCode.INTERRUPTED
    assert not prefix.exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_failed_recreate_restores_the_previous_environment(tmp_path: Path, mini, monkeypatch) -> None:
    FakeInstaller(monkeypatch)
    prefix = tmp_path / "env"
    setup_environment(request(mini, prefix))
    before = read_marker(prefix)
    (prefix / "notebook.ipynb").write_text("{}")

    FakeInstaller(monkeypatch, _half_way_failure)
    with pytest.raises(SetupError, match="previous environment .* was restored"):
        setup_environment(request(mini, prefix, recreate=True))
    assert read_marker(prefix) == before
    assert (prefix / "notebook.ipynb").read_text() == "{}"
    assert not list(tmp_path.glob("*.envcheck-previous"))


def test_successful_recreate_replaces_the_environment(tmp_path: Path, mini, monkeypatch) -> None:
    FakeInstaller(monkeypatch)
    prefix = tmp_path / "env"
    setup_environment(request(mini, prefix))
    (prefix / "stale.txt").write_text("old")
    result = setup_environment(request(mini, prefix, recreate=True))
    assert result.action is Action.RECREATED
    assert not (prefix / "stale.txt").exists()
    assert not list(tmp_path.glob("*.envcheck-previous"))


def test_an_empty_folder_given_as_prefix_is_kept_on_failure(tmp_path: Path, mini, monkeypatch) -> None:
    FakeInstaller(monkeypatch, _half_way_failure)
    prefix = tmp_path / "empty"
    prefix.mkdir()
    with pytest.raises(SetupError):
        setup_environment(request(mini, prefix))
    assert prefix.is_dir() and not any(prefix.iterdir())


# -- refusals -----------------------------------------------------------------------------------------------


def test_refuses_a_folder_that_is_not_an_environment(tmp_path: Path, mini, monkeypatch) -> None:
    fake = FakeInstaller(monkeypatch)
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.tex").write_text("precious")
    with pytest.raises(RefusedError) as info:
        setup_environment(request(mini, tmp_path / "thesis", recreate=True))
    assert info.value.exit_code == ExitCode.USAGE
    assert (tmp_path / "thesis" / "chapter1.tex").read_text() == "precious"
    assert fake.calls == []


def test_refuses_a_python_environment_it_did_not_create(tmp_path: Path, mini, monkeypatch) -> None:
    FakeInstaller(monkeypatch)
    foreign = tmp_path / "conda-env"
    (foreign / "conda-meta").mkdir(parents=True)
    with pytest.raises(RefusedError, match="did not create") as info:
        setup_environment(request(mini, foreign, recreate=True))
    assert "envcheck verify --prefix" in (info.value.hint or "")
    assert (foreign / "conda-meta").is_dir()


def test_an_incomplete_environment_asks_for_recreate(tmp_path: Path, mini, monkeypatch) -> None:
    FakeInstaller(monkeypatch)
    prefix = tmp_path / "env"
    setup_environment(request(mini, prefix))
    (prefix / "envcheck-marker.json").unlink()  # as after a kill -9 half-way
    with pytest.raises(SetupError, match="incomplete") as info:
        setup_environment(request(mini, prefix))
    assert "--recreate" in (info.value.hint or "")
    assert setup_environment(request(mini, prefix, recreate=True)).action is Action.RECREATED


def test_python_outside_the_profile_range_is_refused_before_anything_runs(tmp_path: Path, mini, monkeypatch) -> None:
    fake = FakeInstaller(monkeypatch)
    path = tmp_path / "old.toml"
    path.write_text(MINI.replace('python = ">=3.8"', 'python = "<3.0"'))
    with pytest.raises(UsageError) as info:
        setup_environment(request(load_file(path), tmp_path / "env"))
    assert "needs Python <3.0" in info.value.message
    # no Python 3 can satisfy it, so no command is offered that would fail the same way
    assert info.value.hint == "give an interpreter within <3.0 with --python PATH"
    assert fake.calls == [] and not (tmp_path / "env").exists()


def test_not_enough_disk_is_refused_before_download(tmp_path: Path, mini, monkeypatch) -> None:
    fake = FakeInstaller(monkeypatch)
    path = tmp_path / "huge.toml"
    path.write_text(MINI.replace("disk_gb = 0.001", "disk_gb = 1e9"))
    with pytest.raises(UsageError, match="GB free"):
        setup_environment(request(load_file(path), tmp_path / "env"))
    assert fake.calls == []


def test_another_interpreter_or_backend_for_an_existing_environment_needs_recreate(
    tmp_path: Path, mini, monkeypatch
) -> None:
    FakeInstaller(monkeypatch)
    prefix = tmp_path / "env"
    setup_environment(request(mini, prefix))
    same = setup_environment(request(mini, prefix, python=sys.executable))
    assert same.action is Action.UP_TO_DATE
    marker_path = prefix / "envcheck-marker.json"  # as if the environment had been built from Python 2.7
    marker_path.write_text(marker_path.read_text().replace('"python": "', '"python": "2.7.0-was-'))
    with pytest.raises(UsageError, match="uses Python 2.7.0") as info:
        setup_environment(request(mini, prefix, python=sys.executable))
    assert "--recreate" in (info.value.hint or "")
    with pytest.raises(UsageError, match="made with the venv backend"):
        setup_environment(request(mini, prefix, backend="conda"))


def test_a_failed_import_check_keeps_the_complete_environment_and_its_kernel(tmp_path: Path, monkeypatch) -> None:
    """Every package installed: a module that does not import is a finding about the environment, not a failed
    build. The environment and its kernel stay, the marker says what failed, and the hint is verify's fix."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    fake = FakeInstaller(monkeypatch)
    path = tmp_path / "kernel.toml"
    path.write_text(
        MINI.replace("kernel = false", "kernel = true")
        + '\n[[package]]\nname = "ipykernel"\nrequirement = "ipykernel"\nimport = "envcheck_missing_module"\n'
    )
    prefix = tmp_path / "env"
    with pytest.raises(SetupError) as info:
        setup_environment(request(load_file(path), prefix))
    assert info.value.message.startswith(
        "import check failed: import envcheck_missing_module (ipykernel): ModuleNotFoundError"
    )
    assert info.value.message.endswith(f"the environment at {prefix} is kept: every package is installed")
    assert "verify" in (info.value.hint or "") and "--fix" in (info.value.hint or "")
    assert fake.phases == ["create", "install", "kernel"]
    marker = read_marker(prefix)
    assert marker is not None and list(marker.import_failures) == ["envcheck_missing_module"]
    assert (Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / "envcheck-mini").is_dir()


def _python_that_dies(prefix: Path) -> runner.Completed:
    """An install after which the environment's python dies as it starts (a broken sitecustomize): the import
    check cannot run at all, which says nothing about a package, so the run is undone."""
    (site_packages(prefix) / "sitecustomize.py").write_text("import os\nos._exit(3)\n", encoding="utf-8")
    return fake_completed(0, "Installed 1 package")


def test_an_environment_whose_python_dies_after_the_install_is_removed_with_its_kernel(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    fake = FakeInstaller(monkeypatch, _python_that_dies)
    with pytest.raises(SetupError, match="removed the partial environment"):
        setup_environment(request(_kernel_profile(tmp_path), tmp_path / "env"))
    assert fake.phases == ["create", "install", "kernel"]
    assert not (tmp_path / "env").exists()
    assert not (Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / "envcheck-mini").exists()


def _kernel_profile(tmp_path: Path, ipykernel_import: str = "json"):
    path = tmp_path / "kernel.toml"
    path.write_text(
        MINI.replace("kernel = false", "kernel = true")
        + f'\n[[package]]\nname = "ipykernel"\nrequirement = "ipykernel"\nimport = "{ipykernel_import}"\n'
    )
    return load_file(path)


def _kernel_python(name: str) -> str:
    spec = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / name / "kernel.json"
    return json.loads(spec.read_text())["argv"][0]


def test_a_second_environment_of_a_profile_gets_a_kernel_of_its_own(tmp_path: Path, monkeypatch) -> None:
    """The first environment of a profile gets envcheck-<profile>; a second one, by default, a name derived from
    its folder (shown, recorded); only an explicit --kernel-name that runs another environment is refused."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    fake = FakeInstaller(monkeypatch)
    profile = _kernel_profile(tmp_path)
    first, second, third = tmp_path / "a", tmp_path / "Lab B", tmp_path / "c"
    assert setup_environment(request(profile, first)).kernel == "envcheck-mini"
    result = setup_environment(request(profile, second))
    assert result.kernel == "envcheck-mini-lab-b" and _kernel_python("envcheck-mini-lab-b").startswith(str(second))
    marker = read_marker(second)
    assert marker is not None and marker.kernel == "envcheck-mini-lab-b" and not marker.no_kernel
    assert _kernel_python("envcheck-mini").startswith(str(first))
    calls = len(fake.calls)
    with pytest.raises(UsageError) as info:
        setup_environment(request(profile, third, kernel_name="envcheck-mini"))
    assert info.value.message == (
        f"the Jupyter kernel 'envcheck-mini' already runs the environment at {first}; envcheck will not repoint it"
    )
    assert info.value.hint == (
        "leave out --kernel-name and this environment gets its own kernel ('envcheck-mini-c'):"
        f" envcheck setup --file {profile.source} --prefix {third}; or choose another --kernel-name"
    )
    assert len(fake.calls) == calls and not third.exists(), "refused after work had started"
    assert _kernel_python("envcheck-mini").startswith(str(first))
    # the first environment's own kernel is registered again when it is recreated; the second keeps its own
    assert setup_environment(request(profile, first, recreate=True)).kernel == "envcheck-mini"
    assert setup_environment(request(profile, second, recreate=True)).kernel == "envcheck-mini-lab-b"


def test_an_environment_set_up_without_a_kernel_records_it_and_stays_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    fake = FakeInstaller(monkeypatch)
    profile = _kernel_profile(tmp_path)
    prefix = tmp_path / "env"
    assert setup_environment(request(profile, prefix, kernel=False)).kernel is None
    marker = read_marker(prefix)
    assert marker is not None and marker.no_kernel and marker.kernel is None and marker.options == ["--no-kernel"]
    changed = tmp_path / "changed.toml"
    changed.write_text(profile.source.read_text().replace("example>=1.0", "example>=2.0"))
    # brought in line without --no-kernel: still no kernel
    assert setup_environment(request(load_file(changed), prefix)).kernel is None
    assert "kernel" not in fake.phases
    # a kernel name asked for registers one
    result = setup_environment(request(load_file(changed), prefix, kernel_name="mine"))
    assert result.kernel == "mine" and _kernel_python("mine").startswith(str(prefix))
    marker = read_marker(prefix)
    assert marker is not None and marker.kernel == "mine" and not marker.no_kernel


def test_an_environment_keeps_its_own_kernel_name_when_brought_in_line(tmp_path: Path, monkeypatch) -> None:
    """The second environment of a profile was given --kernel-name once; updating it must not reach for the
    first one's kernel (and be refused), nor register a second kernel for itself."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    FakeInstaller(monkeypatch)
    profile = _kernel_profile(tmp_path)
    first, second = tmp_path / "a", tmp_path / "b"
    setup_environment(request(profile, first))
    setup_environment(request(profile, second, kernel_name="envcheck-mini-b"))
    changed = tmp_path / "changed.toml"
    changed.write_text(profile.source.read_text().replace("example>=1.0", "example>=2.0"))
    result = setup_environment(request(load_file(changed), second))
    assert result.action is Action.UPDATED and result.kernel == "envcheck-mini-b"
    assert _kernel_python("envcheck-mini").startswith(str(first))
    assert sorted(p.name for p in (tmp_path / "jupyter" / "kernels").iterdir()) == ["envcheck-mini", "envcheck-mini-b"]


def test_a_failed_recreate_removes_the_kernelspec_it_created_and_restores_the_rest(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    FakeInstaller(monkeypatch)
    prefix = tmp_path / "env"
    setup_environment(request(_kernel_profile(tmp_path), prefix, kernel=False))
    before = read_marker(prefix)
    FakeInstaller(monkeypatch, _python_that_dies)
    with pytest.raises(SetupError, match="previous environment .* was restored"):
        setup_environment(request(_kernel_profile(tmp_path), prefix, recreate=True))
    assert read_marker(prefix) == before
    assert not (tmp_path / "jupyter" / "kernels" / "envcheck-mini").exists(), "a kernel of the failed run stayed"


def test_a_failed_setup_keeps_a_kernelspec_it_did_not_create(tmp_path: Path, monkeypatch) -> None:
    """A kernel left by an environment that no longer exists is replaced, but a failure does not delete it."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    spec = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / "envcheck-mini"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": [str(tmp_path / "gone" / "bin" / "python")]}))
    FakeInstaller(monkeypatch, _python_that_dies)
    with pytest.raises(SetupError, match="removed the partial environment"):
        setup_environment(request(_kernel_profile(tmp_path), tmp_path / "env"))
    assert not (tmp_path / "env").exists()
    assert (spec / "kernel.json").is_file(), "removed a kernelspec this run did not create"


def test_an_environment_yml_defaults_to_the_conda_backend(tmp_path: Path, mini) -> None:
    path = tmp_path / "environment.yml"
    path.write_text("name: lab\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pandas\n")
    assert default_backend(load_file(path)) == "conda"
    assert default_backend(mini) == default_backend(load_profile()) == "venv"


def test_a_second_ctrl_c_during_clean_up_does_not_stop_it(tmp_path: Path, mini, monkeypatch) -> None:
    FakeInstaller(monkeypatch, _interrupt)
    real_undo = Journal.undo

    def impatient_undo(self, otherwise):
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C again while envcheck cleans up
        return real_undo(self, otherwise)

    monkeypatch.setattr(Journal, "undo", impatient_undo)
    # what was there before comes back: Python's default, or SIG_IGN when the tests run as a background job
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted):
        setup_environment(request(mini, tmp_path / "env"))
    assert not (tmp_path / "env").exists()
    assert signal.getsignal(signal.SIGINT) is before
