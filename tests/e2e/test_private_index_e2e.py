"""`envcheck setup` against a private index that wants credentials: basic auth and a token in the query.

A small index on 127.0.0.1 serves real wheels (downloaded once per test run): ``six`` (and what uv seeds a
new environment with) only to requests with the right basic-auth password, ``idna`` only from a links page
that wants ``?token=``. While the installers run, the index looks through every process's command line for the
secrets (what `ps` shows to other users). Afterwards everything envcheck wrote is searched for them: stdout,
stderr, its logs, the marker and every file of the environment it created.
"""

from __future__ import annotations

import base64
import html
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads other processes' command lines"),
]

USER = "ci-bot@corp"
PASSWORD = "p@ss:w/rd#Zq7"  # reserved characters: the URL carries it percent-encoded
TOKEN = "tok-Xk93Lm2Qp8"
# uv seeds a new environment with pip, setuptools and wheel (which needs packaging) from the index
WHEELS = {"index": ("pip", "setuptools", "wheel", "packaging", "six"), "links": ("idna",)}


@dataclass
class Index:
    """The fake private index: what it served, and whose command line showed a secret."""

    wheels: Path
    port: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, how it was let in)
    seen_in_argv: list[str] = field(default_factory=list)
    ignore_pids: set[int] = field(default_factory=set)

    @property
    def index_url(self) -> str:
        return f"http://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}/simple/"

    @property
    def links_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/links/?token={TOKEN}"

    def scan_processes(self) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in self.ignore_pids:
                continue
            try:
                argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if any(secret in argv for secret in secrets()):
                self.seen_in_argv.append(argv)


def secrets() -> list[str]:
    return [PASSWORD, quote(PASSWORD, safe=""), TOKEN, USER, quote(USER, safe="")]


def _handler(index: Index) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            index.scan_processes()
            url = urlsplit(self.path)
            token = parse_qs(url.query).get("token") == [TOKEN]
            basic = self.headers.get("Authorization") == expected
            parts = [p for p in url.path.split("/") if p]
            if parts[:1] == ["simple"] and basic:
                index.requests.append((url.path, "basic"))
                return self._page(parts[1:], WHEELS["index"], "/files/{}")
            if parts[:1] == ["links"] and token:
                index.requests.append((url.path, "token"))
                return self._page(["idna"], WHEELS["links"], "/files/{}?token=" + TOKEN)
            if parts[:1] == ["files"] and len(parts) == 2 and (basic or token):
                index.requests.append((url.path, "token" if token else "basic"))
                return self._send(200, (index.wheels / parts[1]).read_bytes(), "application/octet-stream")
            if parts[:1] == ["simple"]:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="private"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self._send(404, b"not here", "text/plain")

        do_HEAD = do_GET  # noqa: N815 - uv asks for a wheel's size first

        def _page(self, project: list[str], served: tuple[str, ...], href: str) -> None:
            wanted = project[0].lower() if project else None
            if wanted not in served:
                return self._send(404, b"no such project", "text/plain")
            files = [w.name for w in sorted(index.wheels.glob("*.whl")) if w.name.lower().startswith(wanted + "-")]
            links = "".join(f'<a href="{html.escape(href.format(name))}">{name}</a>\n' for name in files)
            return self._send(200, f"<!DOCTYPE html><html><body>\n{links}</body></html>".encode(), "text/html")

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real wheels of small projects, downloaded once per test run."""
    folder = tmp_path_factory.mktemp("wheels")
    names = [*WHEELS["index"], *WHEELS["links"]]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(folder), *names],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.skip(f"could not download {', '.join(names)} from the package registry: {done.stderr[-300:]}")
    return folder


@pytest.fixture()
def index(wheels: Path) -> Iterator[Index]:
    served = Index(wheels)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_setup_from_a_private_index_leaves_no_secret_anywhere(index: Index, tmp_path: Path, installer: str) -> None:
    profile = tmp_path / "private.toml"
    profile.write_text(
        'schema = 1\nname = "private"\nkernel = false\n'
        '[[package]]\nname = "six"\nrequirement = "six"\nimport = "six"\n'
        '[[package]]\nname = "idna"\nrequirement = "idna"\nimport = "idna"\n',
        encoding="utf-8",
    )
    home, prefix = tmp_path / "home", tmp_path / "env"
    env = {
        **os.environ,
        "ENVCHECK_HOME": str(home),
        # the installers see this index and nothing else: no user or machine configuration, no shared cache
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_CACHE_DIR": "1",
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
    }
    argv = [sys.executable, "-m", "envcheck", "setup", "--file", str(profile), "--prefix", str(prefix)]
    argv += ["--installer", installer, "--index-url", index.index_url, "--find-links", index.links_url, "--json", "-v"]
    # envcheck's own command line holds what the user typed; the programs it starts must not
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        index.ignore_pids.add(proc.pid)
        stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    document = json.loads(stdout)
    assert set(document["versions"]) >= {"six", "idna"}
    assert {how for _, how in index.requests} == {"basic", "token"}  # both ways in were used
    assert index.seen_in_argv == []

    written = {"stdout": stdout, "stderr": stderr}
    for root in (home, prefix):
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                written[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert str(prefix / "envcheck-marker.json") in written and str(prefix / "envcheck-setup.log") in written
    for where, text in written.items():
        for secret in secrets():
            assert secret not in text, f"{secret!r} in {where}"
    log = written[str(prefix / "envcheck-setup.log")]
    assert f"http://***@127.0.0.1:{index.port}/simple/" in log
    assert f"http://127.0.0.1:{index.port}/links/?token=***" in log
