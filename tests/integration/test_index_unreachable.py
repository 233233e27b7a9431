"""An index that cannot be reached stops setup, lock and download at pre-flight, before anything is created or
fetched, with its URL (credentials removed) and what to try; one met later is still named as such.

Real: `envcheck setup`, `lock` and `download` processes, uv and pip, and indexes on 127.0.0.1 that refuse
connections, answer 401 or answer 404 (tests/support/indexes.py); nothing leaves this machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.indexes import closed_port, failing_index
from support.locks import lock_text
from support.setups import MINI

# pip without retries and with a short wait, so that a case the pre-flight misses costs seconds, not minutes
QUICK = {"PIP_RETRIES": "1", "PIP_DEFAULT_TIMEOUT": "3", "UV_HTTP_RETRIES": "0", "PIP_CONFIG_FILE": os.devnull}


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_")) and "PROXY" not in k.upper()}
    return {**env, **QUICK, "ENVCHECK_HOME": str(tmp_path / "home"), "NETRC": str(tmp_path / "none"), **extra}


def setup(tmp_path: Path, *options: str, installer: str = "pip", **env: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    argv = [sys.executable, "-m", "envcheck", "setup", "--file", str(profile), "--prefix", str(tmp_path / "env")]
    argv += ["--installer", installer, *options]
    return subprocess.run(argv, capture_output=True, text=True, env=environment(tmp_path, **env), timeout=300)


def lines(done: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    said = done.stderr.splitlines()
    return next(x for x in said if x.startswith("error:")), next(x for x in said if x.startswith("hint:"))


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_an_index_that_refuses_connections_stops_setup_at_pre_flight(tmp_path: Path, installer: str) -> None:
    port = closed_port()
    started = time.monotonic()
    done = setup(tmp_path, "--extra-index-url", f"http://someone:s3cret@127.0.0.1:{port}/simple", installer=installer)
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 60  # pip's retries with back-off took minutes
    error, hint = lines(done)
    assert error == (
        f"error: the package index http://***@127.0.0.1:{port}/simple cannot be reached: the connection was refused;"
        " nothing was installed"
    )
    assert "--extra-index-url" in hint and "HTTPS_PROXY" in hint and "--offline --find-links DIR" in hint
    assert "s3cret" not in done.stderr + done.stdout
    assert "create interpreter" not in done.stderr  # nothing was made
    assert not (tmp_path / "env").exists() and not (tmp_path / "home" / "logs").exists()


def test_an_index_that_refuses_the_credentials_it_is_given_stops_setup_at_pre_flight(tmp_path: Path) -> None:
    with failing_index("401") as index:
        done = setup(tmp_path, "--index-url", index.url("/simple", userinfo="bot:wrong-password"))
    assert done.returncode == 1
    error, _ = lines(done)
    assert "http://***@127.0.0.1:" in error and "refuses the credentials given (401 Unauthorized)" in error
    assert index.requests == [("/simple", index.requests[0][1])] and index.requests[0][1].startswith("Basic ")
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize("failure", ["401", "404"])
def test_an_index_that_answers_passes_pre_flight_and_the_installer_says_the_rest(tmp_path: Path, failure: str) -> None:
    """A 404 root (an index serving only project pages) or a 401 without credentials (keyring's to answer) is an
    answer: the pre-flight lets it through, asking only the root."""
    with failing_index(failure) as index:
        done = setup(tmp_path, "--index-url", index.url("/simple"))
    assert done.returncode == 1
    assert index.requests[0][0] == "/simple" and len(index.requests) > 1  # the installer asked for the project
    assert "install packages" in done.stderr and "nothing was installed" not in done.stderr


def test_a_missing_links_folder_stops_setup_at_pre_flight(tmp_path: Path) -> None:
    missing = tmp_path / "wheels"
    (tmp_path / "empty-index").mkdir()
    done = setup(tmp_path, "--find-links", str(missing), "--index-url", (tmp_path / "empty-index").as_uri())
    error, hint = lines(done)
    assert done.returncode == 1
    assert error == f"error: the --find-links folder {missing} does not exist; nothing was installed"
    assert "give a folder that exists" in hint and "envcheck download" in hint


def test_offline_asks_no_index(tmp_path: Path) -> None:
    with failing_index("404") as index:
        done = setup(tmp_path, "--offline", "--index-url", index.url("/simple"))
    assert index.requests == []
    assert "nothing was installed" not in done.stderr


def test_the_check_goes_through_the_proxy_unless_no_proxy_names_the_host(tmp_path: Path) -> None:
    proxy = f"http://127.0.0.1:{closed_port()}"
    with failing_index("404") as index:
        through = setup(tmp_path, "--index-url", index.url("/simple"), HTTP_PROXY=proxy, http_proxy=proxy)
        bypassed = setup(
            tmp_path, "--index-url", index.url("/simple"), HTTP_PROXY=proxy, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1"
        )
    error, _ = lines(through)
    assert through.returncode == 1 and "cannot be reached: the connection was refused" in error
    assert "nothing was installed" not in bypassed.stderr and ("/simple", "") in index.requests


def test_lock_and_download_check_their_index_first(tmp_path: Path) -> None:
    port = closed_port()
    index = ["--index-url", f"http://127.0.0.1:{port}/simple?token=s3cret"]
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    lock = tmp_path / "pylock.toml"
    lock.write_text(lock_text([("tiny-demo", "1.0", [("tiny_demo-1.0-py3-none-any.whl", "a" * 64)])], "mini", "d"))
    env = environment(tmp_path)
    envcheck = [sys.executable, "-m", "envcheck"]
    for argv, untouched in (
        ([*envcheck, "lock", "--file", str(profile), "--output", str(tmp_path / "out.toml"), *index], "locked"),
        ([*envcheck, "download", "--lock", str(lock), "--dest", str(tmp_path / "wheels"), *index], "downloaded"),
    ):
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        error, _ = lines(done)
        assert done.returncode == 1, done.stderr
        assert error == (
            f"error: the package index http://127.0.0.1:{port}/simple?token=*** cannot be reached:"
            f" the connection was refused; nothing was {untouched}"
        )
    assert not (tmp_path / "out.toml").exists() and not (tmp_path / "wheels").exists()


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_an_index_that_stops_answering_after_pre_flight_is_still_named(tmp_path: Path, installer: str) -> None:
    with failing_index("refused", root_answers=True) as index:
        done = setup(tmp_path, "--index-url", index.url("/simple", userinfo="someone:s3cret"), installer=installer)
    error, hint = lines(done)
    assert done.returncode == 1
    assert f"{installer} could not reach the package index http://" in error
    # the listening socket closes as the root is answered: a connection already queued is reset, later ones refused
    assert "the connection was refused" in error or "the connection was reset" in error
    assert "s3cret" not in done.stderr + done.stdout
    assert "--index-url" in hint and "--offline --find-links" in hint
    assert not (tmp_path / "env").exists()
