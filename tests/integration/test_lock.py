"""Reading and checking PEP 751 locks: a good lock, a tampered wheel, a lock for another platform, a profile that
changed since the lock was written; and a real offline setup from a tiny wheelhouse with the network cut off."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import zipfile
from pathlib import Path

import pytest
from support.locks import lock_text
from support.wheels import make_wheel
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.lock.make import _coverage_gap
from envcheck.lock.platforms import PLATFORMS
from envcheck.lock.pylock import (
    EXTRA,
    MISSING,
    OTHER_VERSION,
    HashMismatchError,
    LockedFile,
    LockError,
    check_wheelhouse,
    drift,
    fits_profile,
    hashed_requirements,
    read_lock,
)
from envcheck.profiles.files import load_file

cli = CliRunner()

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


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(profile file, lock, wheelhouse) that belong together."""
    profile_path = tmp_path / "tiny.toml"
    profile_path.write_text(PROFILE)
    profile = load_file(profile_path)
    wheel = make_wheel(tmp_path / "wheelhouse")
    lock = tmp_path / "pylock.tiny.toml"
    lock.write_text(lock_text([("tiny-demo", "1.0", [(wheel.name, sha256(wheel))])], profile.name, profile.digest))
    return profile_path, lock, wheel.parent


def test_a_good_lock_is_read_with_its_profile_digest_and_hashes(tiny: tuple[Path, Path, Path]) -> None:
    profile_path, lock_path, wheelhouse = tiny
    lock = read_lock(lock_path)
    assert lock.profile == "tiny" and lock.profile_digest == load_file(profile_path).digest
    assert lock.digest == hashlib.sha256(lock_path.read_bytes()).hexdigest()
    files = lock.select_for(PLATFORMS["linux-x86_64"], "3.12")
    wheel = wheelhouse / "tiny_demo-1.0-py3-none-any.whl"
    assert [(f.name, f.version, f.filename, f.sha256) for f in files] == [
        ("tiny-demo", "1.0", wheel.name, sha256(wheel))
    ]
    assert hashed_requirements(files) == f"tiny-demo==1.0 --hash=sha256:{sha256(wheel)}\n"
    assert check_wheelhouse(wheelhouse, files) == []
    assert fits_profile(lock, "tiny", load_file(profile_path).digest) is None


def test_a_tampered_wheel_is_named_with_both_hashes(tiny: tuple[Path, Path, Path]) -> None:
    _, lock_path, wheelhouse = tiny
    wheel = wheelhouse / "tiny_demo-1.0-py3-none-any.whl"
    expected = sha256(wheel)
    with wheel.open("ab") as handle:
        handle.write(b"tampered")
    files = read_lock(lock_path).select_for(PLATFORMS["linux-x86_64"], "3.12")
    with pytest.raises(HashMismatchError) as caught:
        check_wheelhouse(wheelhouse, files)
    assert wheel.name in caught.value.message
    assert expected in caught.value.message and sha256(wheel) in caught.value.message
    assert caught.value.exit_code == 1


def test_a_lock_for_another_platform_says_which_it_was_made_for(tmp_path: Path) -> None:
    lock_path = tmp_path / "pylock.win.toml"
    lock_path.write_text(
        lock_text([("winonly", "2.0", [("winonly-2.0-cp312-cp312-win_amd64.whl", "a" * 64)])], "x", "d")
    )
    lock = read_lock(lock_path)
    assert len(lock.select_for(PLATFORMS["windows-x86_64"], "3.12")) == 1
    with pytest.raises(LockError) as caught:
        lock.select_for(PLATFORMS["linux-x86_64"], "3.12")
    assert "does not fit linux-x86_64 with Python 3.12" in caught.value.message
    assert "winonly" in caught.value.message and "envcheck lock" in (caught.value.hint or "")
    # and the lock command's check of every platform names the gap instead of writing a lock that will not install
    assert _coverage_gap(lock.select_for, PLATFORMS["macos-arm64"], "3.12") is not None
    assert _coverage_gap(lock.select_for, PLATFORMS["windows-x86_64"], "3.12") is None


def test_a_lock_for_another_platform_is_refused_by_setup_before_anything_is_made(tmp_path: Path) -> None:
    profile = tmp_path / "tiny.toml"
    profile.write_text(PROFILE)
    digest = load_file(profile).digest
    lock_path = tmp_path / "pylock.tiny.toml"
    lock_path.write_text(
        lock_text([("tiny-demo", "1.0", [("tiny_demo-1.0-cp312-cp312-win_amd64.whl", "b" * 64)])], "tiny", digest)
    )
    prefix = tmp_path / "env"
    result = cli.invoke(app, ["setup", "--file", str(profile), "--lock", str(lock_path), "--prefix", str(prefix)])
    assert result.exit_code == 2, result.stderr
    assert "does not fit this machine" in result.stderr and "hint: " in result.stderr
    assert not prefix.exists()


def test_lock_check_exits_1_when_the_profile_changed_and_0_when_it_fits(tmp_path: Path) -> None:
    profile = tmp_path / "tiny.toml"
    profile.write_text(PROFILE)
    lock_path = tmp_path / "pylock.tiny.toml"
    lock_path.write_text(
        lock_text(
            [("tiny-demo", "1.0", [("tiny_demo-1.0-py3-none-any.whl", "c" * 64)])], "tiny", load_file(profile).digest
        )
    )
    fits = cli.invoke(app, ["lock", "--check", "--file", str(profile), "-o", str(lock_path), "--json"])
    assert fits.exit_code == 0, fits.stderr
    document = json.loads(fits.stdout)
    assert document["fits"] is True and document["lock"]["digest"] == read_lock(lock_path).digest

    profile.write_text(PROFILE.replace("tiny-demo>=1.0", "tiny-demo>=2.0"))
    changed = cli.invoke(app, ["lock", "--check", "--file", str(profile), "-o", str(lock_path)])
    assert changed.exit_code == 1
    assert "profile 'tiny' changed since pylock.tiny.toml was written" in changed.stderr
    assert "hint: write it again with: envcheck lock" in changed.stderr
    # a comment does not change a profile
    profile.write_text(PROFILE + "\n# a comment\n")
    assert cli.invoke(app, ["lock", "--check", "--file", str(profile), "-o", str(lock_path)]).exit_code == 0


def test_a_file_that_is_not_a_lock_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "pylock.bad.toml"
    bad.write_text('lock-version = "1.0"\n[[packages]]\nname = "x"\n')
    result = cli.invoke(app, ["setup", "--lock", str(bad), "--prefix", str(tmp_path / "env")])
    assert result.exit_code == 2
    assert "not a valid PEP 751 lock" in result.stderr and "hint: make it again with: envcheck lock" in result.stderr
    missing = cli.invoke(app, ["lock", "--check", "-o", str(tmp_path / "pylock.none.toml")])
    assert missing.exit_code == 2 and "cannot read the lock" in missing.stderr


def test_drift_lists_missing_other_version_and_extra_but_not_the_installers_tools() -> None:
    files = [
        LockedFile("numpy", "2.1.0", "numpy.whl", None, "0" * 64, True),
        LockedFile("pandas", "2.2.3", "pandas.whl", None, "1" * 64, True),
        LockedFile("six", "1.17.0", "six.whl", None, "2" * 64, True),
    ]
    installed = {"NumPy": "2.0.0", "six": "1.17", "pip": "25.0", "setuptools": "80", "rich": "14.0"}
    found = {(d.kind, d.name, d.locked, d.installed) for d in drift(files, installed)}
    assert found == {
        (OTHER_VERSION, "numpy", "2.1.0", "2.0.0"),
        (MISSING, "pandas", "2.2.3", None),
        (EXTRA, "rich", None, "14.0"),
    }


@pytest.fixture
def cut_off() -> dict[str, object]:
    """An address that answers nothing: a listening socket nobody accepts on. Anything that tries to reach it
    (an index, a proxy) leaves a connection in its backlog, which the test then looks for."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    yield {"url": f"http://127.0.0.1:{port}", "socket": listener}
    listener.close()


def _reached(listener: socket.socket) -> bool:
    listener.setblocking(False)
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def _offline_env(url: str) -> dict[str, str]:
    return {"HTTP_PROXY": url, "HTTPS_PROXY": url, "ALL_PROXY": url, "http_proxy": url, "https_proxy": url}


def test_setup_from_a_wheelhouse_offline_reaches_no_network(
    tiny: tuple[Path, Path, Path], tmp_path: Path, cut_off: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    profile, lock_path, wheelhouse = tiny
    url = str(cut_off["url"])
    for name, value in _offline_env(url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-cache"))  # nothing cached to fall back on
    prefix = tmp_path / "env"
    args = ["setup", "--file", str(profile), "--lock", str(lock_path), "--prefix", str(prefix), "--json"]
    args += ["--offline", "--find-links", str(wheelhouse), "--index-url", f"{url}/simple"]
    args += ["--extra-index-url", f"{url}/extra"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["lock"] == {"path": str(lock_path), "digest": read_lock(lock_path).digest}
    assert document["versions"] == {"tiny-demo": "1.0"}
    marker = json.loads((prefix / "envcheck-marker.json").read_text())
    assert marker["lock_digest"] == read_lock(lock_path).digest and marker["offline"] is True
    assert not _reached(cut_off["socket"])  # type: ignore[arg-type]

    # the same lock again: up to date from the marker; a changed lock brings the environment in line
    again = cli.invoke(app, args)
    assert json.loads(again.stdout)["action"] == "up-to-date"
    summary = cli.invoke(app, [a for a in args if a != "--json"]).stdout
    assert "Environment is up to date" in summary
    assert f"(sha256 {read_lock(lock_path).digest[:12]})" in summary
    newer = make_wheel(wheelhouse, version="1.1")
    digest = load_file(profile).digest
    lock_path.write_text(lock_text([("tiny-demo", "1.1", [(newer.name, sha256(newer))])], "tiny", digest))
    changed = cli.invoke(app, args)
    assert changed.exit_code == 0, changed.stderr
    assert json.loads(changed.stdout)["versions"] == {"tiny-demo": "1.1"}
    assert not _reached(cut_off["socket"])  # type: ignore[arg-type]


def test_a_corrupted_wheel_in_the_wheelhouse_is_refused_and_leaves_nothing_behind(
    tiny: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    profile, lock_path, wheelhouse = tiny
    wheel = wheelhouse / "tiny_demo-1.0-py3-none-any.whl"
    expected = sha256(wheel)
    wheel.write_bytes(wheel.read_bytes()[:-10] + b"0123456789")
    prefix = tmp_path / "deep" / "env"
    args = ["setup", "--file", str(profile), "--lock", str(lock_path), "--prefix", str(prefix)]
    result = cli.invoke(app, [*args, "--offline", "--find-links", str(wheelhouse)])
    assert result.exit_code == 1
    error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert wheel.name in error and expected in error and sha256(wheel) in error
    assert sorted(os.listdir(tmp_path)) == ["pylock.tiny.toml", "tiny.toml", "wheelhouse"]  # nothing was made


def _evidence_with_lock(tmp_path: Path, change: dict[str, str], **extra: object) -> object:
    """The recorded CPU probe, judged against a lock of exactly its distributions, with ``change`` applied."""
    from support.evidence import evidence, recorded

    from envcheck.verify.checks import LockFacts

    probe = recorded()
    versions = {name: d["version"] for name, d in probe["distributions"].items() if name not in {"pip", "setuptools"}}
    locked = [
        (n, change.get(n, v), [(f"{n.replace('-', '_')}-{change.get(n, v)}-py3-none-any.whl", "d" * 64)])
        for n, v in versions.items()
    ]
    path = tmp_path / "pylock.deep-learning.toml"
    path.write_text(lock_text(locked, "deep-learning", "x"))
    lock = read_lock(path)
    facts = LockFacts(path=str(path), digest=lock.digest, lock=lock, find_links=("/srv/wheels",), offline=True)
    return evidence(probe, lock=facts, **extra)


def test_verify_rule_passes_on_a_matching_lock_and_warns_on_drift_with_the_repair(tmp_path: Path) -> None:
    from support.evidence import check

    from envcheck.results import exit_code_for

    same = check(_evidence_with_lock(tmp_path, {}), "packages.lock")  # type: ignore[arg-type]
    assert same.status.value == "pass" and same.data["lock"]["digest"]
    ev = _evidence_with_lock(tmp_path, {"numpy": "1.0.0"})
    found = check(ev, "packages.lock")  # type: ignore[arg-type]
    assert found.status.value == "warn"
    assert "numpy is " in found.detail and "the lock says 1.0.0" in found.detail
    assert found.hint == found.data["commands"][0]
    assert found.hint.endswith("-m pip install --no-deps --no-index --find-links /srv/wheels numpy==1.0.0")
    assert exit_code_for([found], strict=False) == 0  # drift alone is a warning
    assert exit_code_for([found], strict=True) == 1  # --strict: drift is a failure


def test_verify_rule_warns_when_the_recorded_lock_is_gone(tmp_path: Path) -> None:
    from support.evidence import check, evidence, recorded

    from envcheck.verify.checks import LockFacts

    facts = LockFacts(path=str(tmp_path / "gone.toml"), digest="e" * 64, lock=None, problem="cannot read the lock")
    found = check(evidence(recorded(), lock=facts), "packages.lock")
    assert found.status.value == "warn" and "cannot compare with the lock" in found.detail
    assert "envcheck verify --lock PATH" in (found.hint or "")


def test_setup_with_pip_installs_the_lock_as_hashed_requirements_offline(
    tiny: tuple[Path, Path, Path], tmp_path: Path, cut_off: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    profile, lock_path, wheelhouse = tiny
    url = str(cut_off["url"])
    for name, value in _offline_env(url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PIP_INDEX_URL", f"{url}/simple")
    prefix = tmp_path / "env"
    args = ["setup", "--file", str(profile), "--lock", str(lock_path), "--prefix", str(prefix), "--json"]
    args += ["--installer", "pip", "--offline", "--find-links", str(wheelhouse)]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["installer"] == "pip" and document["versions"] == {"tiny-demo": "1.0"}
    log = (prefix / "envcheck-setup.log").read_text()
    assert "--require-hashes --no-deps -r" in log and "--no-index" in log
    assert not _reached(cut_off["socket"])  # type: ignore[arg-type]


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_hash_mismatch_while_installing_is_refused_naming_the_file_and_both_hashes(
    tiny: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installer: str
) -> None:
    """A wheel that arrives from a page (here a file:// URL, not checked beforehand) is checked by the installer."""
    profile, lock_path, wheelhouse = tiny
    wheel = wheelhouse / "tiny_demo-1.0-py3-none-any.whl"
    expected = sha256(wheel)
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("tiny_demo/extra.py", "X = 1\n")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "cache"))
    prefix = tmp_path / "env"
    args = ["setup", "--file", str(profile), "--lock", str(lock_path), "--prefix", str(prefix)]
    args += ["--installer", installer, "--offline", "--find-links", wheelhouse.as_uri()]
    result = cli.invoke(app, args)
    assert result.exit_code == 1, result.stderr
    error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert "does not match the lock" in error and expected in error and sha256(wheel) in error
    assert "tiny_demo-1.0" in error or "tiny-demo==1.0" in error
    assert "removed the partial environment" in error and not prefix.exists()


@pytest.fixture
def local_index(tmp_path: Path) -> tuple[Path, list[str]]:
    """A folder of wheels and the options that make uv resolve from it alone (the index a folder that is empty)."""
    wheels = tmp_path / "wheels"
    make_wheel(wheels, name="pip", version="99.0")  # a lock also pins the environment's pip
    (tmp_path / "empty-index").mkdir()
    return wheels, ["--find-links", str(wheels), "--index-url", (tmp_path / "empty-index").as_uri()]


def test_lock_resolves_with_uv_for_every_platform_and_python_and_records_the_profile(
    tmp_path: Path, local_index: tuple[Path, list[str]]
) -> None:
    wheels, options = local_index
    make_wheel(wheels)
    profile = tmp_path / "tiny.toml"
    profile.write_text(PROFILE.replace('">=3.8"', '">=3.10,<3.12"'))
    output = tmp_path / "pylock.tiny.toml"
    result = cli.invoke(app, ["lock", "--file", str(profile), "-o", str(output), "--json", *options])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    lock = read_lock(output)
    assert document["lock"] == {"path": str(output), "digest": lock.digest}
    assert document["pythons"] == ["3.10", "3.11"] and document["left_out"] == []
    assert set(document["platforms"]) == set(PLATFORMS)
    assert lock.document.created_by == "uv"
    assert {p.name for p in lock.document.packages} == {"pip", "tiny-demo"}
    assert (lock.profile, lock.profile_digest) == ("tiny", load_file(profile).digest)
    assert cli.invoke(app, ["lock", "--check", "--file", str(profile), "-o", str(output)]).exit_code == 0


def test_lock_names_the_platforms_it_cannot_cover_and_locks_the_rest_only_when_asked(
    tmp_path: Path, local_index: tuple[Path, list[str]]
) -> None:
    wheels, options = local_index
    make_wheel(wheels, tag="cp311-cp311-manylinux_2_17_x86_64")
    profile = tmp_path / "tiny.toml"
    profile.write_text(PROFILE.replace('">=3.8"', '">=3.10,<3.12"'))
    output = tmp_path / "pylock.tiny.toml"
    refused = cli.invoke(app, ["lock", "--file", str(profile), "-o", str(output), *options])
    assert refused.exit_code == 1
    error = next(line for line in refused.stderr.splitlines() if line.startswith("error:"))
    assert "would not install on linux-x86_64 with Python 3.10" in error and "tiny-demo" in error
    assert "(and 6 more)" in error and "--skip-unavailable" in refused.stderr
    assert not output.exists()

    partial = cli.invoke(app, ["lock", "--file", str(profile), "-o", str(output), "--skip-unavailable", *options])
    assert partial.exit_code == 0, partial.stderr
    assert "left out windows-x86_64 with Python 3.11" in partial.stdout
    lock = read_lock(output)
    assert (lock.platforms, lock.pythons) == (("linux-x86_64",), ("3.11",))


def test_download_fills_a_wheelhouse_checked_against_the_lock(tiny: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, lock_path, source = tiny
    (tmp_path / "empty").mkdir()  # an index with nothing in it: every file comes from the links folder
    options = ["--find-links", str(source), "--index-url", (tmp_path / "empty").as_uri()]
    dest = tmp_path / "dest"
    args = ["download", "--lock", str(lock_path), "--dest", str(dest), "--json", *options]
    first = cli.invoke(app, args)
    assert first.exit_code == 0, first.stderr
    document = json.loads(first.stdout)
    assert document["files"] == ["tiny_demo-1.0-py3-none-any.whl"] and document["targets"] == ["this machine"]
    assert sha256(dest / "tiny_demo-1.0-py3-none-any.whl") == sha256(source / "tiny_demo-1.0-py3-none-any.whl")
    # named platforms: each Python the lock was made for
    other = cli.invoke(app, [*args, "--platform", "windows-x86_64"])
    assert other.exit_code == 0, other.stderr
    assert json.loads(other.stdout)["targets"] == ["windows-x86_64 with Python 3.12"]

    with (source / "tiny_demo-1.0-py3-none-any.whl").open("ab") as handle:
        handle.write(b"tampered")
    refused = cli.invoke(app, ["download", "--lock", str(lock_path), "--dest", str(tmp_path / "d2"), *options])
    assert refused.exit_code == 1
    error = next(line for line in refused.stderr.splitlines() if line.startswith("error:"))
    assert "tiny_demo-1.0-py3-none-any.whl does not match the lock" in error
    assert not (tmp_path / "d2").exists()  # the folder it made is gone again


def test_conda_backend_installs_the_lock_with_pip_hashes_required(tmp_path: Path) -> None:
    """With a lock, conda's part stays; pip installs the lock's files for this machine with every hash checked."""
    from envcheck.setup.backends import BuildRequest
    from envcheck.setup.backends.conda import CondaBackend

    profile = load_file(Path(__file__).parents[2] / "environments" / "deep-learning.toml")
    requirements = tmp_path / "locked.txt"
    request = BuildRequest(
        prefix=tmp_path / "env",
        interpreter=Path(sys.executable),
        python_version="3.11.7",
        profile=profile,
        installer="uv",
        fresh=True,
        locked_requirements=requirements,
    )
    steps = CondaBackend().install_steps(request)
    assert len(steps) == 1
    argv = steps[0].argv
    assert argv[1:4] == ("-m", "pip", "install")
    assert argv[-4:] == ("--require-hashes", "--no-deps", "-r", str(requirements))
    assert not any(arg.startswith("tensorflow") for arg in argv)  # the profile's own lines are not used
