"""No secret leaks from a failing setup: every byte envcheck printed or wrote is searched for it.

Real: `envcheck setup` in a process of its own, uv and pip, and package indexes on 127.0.0.1 that refuse
connections, answer 401 or answer 404 (tests/support/indexes.py), either from the first request (envcheck's
pre-flight meets the failure) or after answering the root (the installer meets it, with its retries and its
error messages). The secret is given five ways: in the query of --index-url, as the password of --index-url, in
the installer's own variable, in pip's or uv's configuration file, in netrc. Each run has -v and --json (the
installer's output streamed on stderr, the document on stdout) and keeps its log; afterwards stdout, stderr and
every file under envcheck's home and in the environment's folder are searched for the secret in its raw,
percent-encoded and percent-decoded forms: 44 setups, 0 leaks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from support.indexes import FAILURES, failing_index
from support.setups import MINI

TOKEN = "tok-Xk93Lm2Qp8"
PASSWORD = "p@ss:w/rd#Zq7"  # reserved characters: a URL carries it percent-encoded
PLACES = ("option-query", "option-password", "variable", "config", "netrc")
SENDS_CREDENTIALS = ("option-password", "netrc")  # an Authorization header: a 401 refuses it at pre-flight
INSTALLERS = ("pip", "uv")


def fails_at_root(failure: str, place: str) -> bool:
    """Where an index failing from its root is met by the pre-flight (404: the root is not needed)."""
    return failure == "refused" or (failure == "401" and place in SENDS_CREDENTIALS)


# Every failure met by the installer (the root answers once, then the index fails), and every one the index
# root shows, met from the first request: 30 + 14 = 44 setups.
CASES = [(i, p, f, "install") for i in INSTALLERS for p in PLACES for f in FAILURES] + [
    (i, p, f, "root") for i in INSTALLERS for p in PLACES for f in FAILURES if fails_at_root(f, p)
]


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), unquote(secret), quote(secret, safe="/:@")}


def secret_of(place: str) -> str:
    return PASSWORD if place in ("option-password", "netrc") else TOKEN


def arrange(place: str, installer: str, url: str, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """The options and the variables that give the index with its secret ``place``'s way."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(
        ENVCHECK_HOME=str(tmp_path / "home"),
        PIP_CONFIG_FILE=os.devnull,
        PIP_RETRIES="1",
        PIP_DEFAULT_TIMEOUT="3",
        UV_HTTP_RETRIES="1",
        UV_NO_CONFIG="1",
        NETRC=str(tmp_path / "no-netrc"),
    )
    with_token = f"{url}?token={TOKEN}"
    if place == "option-query":
        return ["--index-url", with_token], env
    if place == "option-password":
        return ["--index-url", url.replace("http://", f"http://bot:{quote(PASSWORD, safe='')}@")], env
    if place == "variable":
        return [], {**env, "PIP_INDEX_URL": with_token, "UV_DEFAULT_INDEX": with_token}
    if place == "config":
        if installer == "pip":
            conf = tmp_path / "pip.conf"
            conf.write_text(f"[global]\nindex-url = {with_token}\n")
            return [], {**env, "PIP_CONFIG_FILE": str(conf)}
        conf = tmp_path / "uv.toml"
        conf.write_text(f'[pip]\nindex-url = "{with_token}"\n')
        del env["UV_NO_CONFIG"]
        return [], {**env, "UV_CONFIG_FILE": str(conf)}
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login bot password {PASSWORD}\n")
    netrc.chmod(0o600)
    return ["--index-url", url], {**env, "NETRC": str(netrc)}


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize(("installer", "place", "failure", "when"), CASES)
def test_no_secret_in_anything_a_failing_setup_printed_or_wrote(
    tmp_path: Path, installer: str, place: str, failure: str, when: str
) -> None:
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    prefix = tmp_path / "env"
    with failing_index(failure, root_answers=when == "install") as index:
        options, env = arrange(place, installer, index.url("/simple"), tmp_path)
        argv = [sys.executable, "-m", "envcheck", "setup", "--file", str(profile), "--prefix", str(prefix)]
        argv += ["--installer", installer, *options, "-v", "--json"]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert (document["status"], document["exit_code"]) == ("fail", 1)
    assert not prefix.exists()  # the partial environment was removed
    written = files_under(tmp_path / "home", prefix)
    secret = secret_of(place)
    leaks = [
        where
        for where, text in [("stdout", done.stdout), ("stderr", done.stderr)]
        + [(str(p), p.read_text("utf-8", "replace")) for p in written]
        for form in forms(secret)
        if form in text
    ]
    assert leaks == []
    # not vacuous: the secret went to the index, and the failure was met where this case says
    sent = [path for path, auth in index.requests if TOKEN in path or auth]
    reached_installer = "install packages" in done.stderr or "create interpreter" in done.stderr
    if when == "install":
        assert sent and reached_installer, done.stderr
        assert any(p.suffix == ".log" for p in written), "the failed setup keeps its log"
    elif place != "config":  # pre-flight checks the indexes envcheck is given and the installer's variables
        assert "nothing was installed" in document["error"]["message"] and not reached_installer, done.stderr
