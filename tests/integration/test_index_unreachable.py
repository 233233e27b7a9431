"""An index that cannot be reached is named as such, with its URL (credentials removed) and what to try.

Real: `envcheck setup`, uv and pip, a local port on which nothing listens (nothing leaves this machine).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.setups import MINI


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # free again once closed: connections are refused


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_an_unreachable_index_is_named_with_its_url_and_what_to_try(tmp_path: Path, installer: str) -> None:
    profile = tmp_path / "mini.toml"
    profile.write_text(MINI)
    port = closed_port()
    index = f"http://someone:s3cret@127.0.0.1:{port}/simple"
    prefix = tmp_path / "env"
    argv = [sys.executable, "-m", "envcheck", "setup", "--file", str(profile), "--prefix", str(prefix)]
    argv += ["--installer", installer, "--index-url", index]
    env = {**os.environ, "PIP_RETRIES": "1", "PIP_CONFIG_FILE": os.devnull, "UV_HTTP_RETRIES": "0"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stderr
    error = next(line for line in done.stderr.splitlines() if line.startswith("error:"))
    hint = next(line for line in done.stderr.splitlines() if line.startswith("hint:"))
    assert f"{installer} could not reach the package index http://" in error
    assert f"127.0.0.1:{port}/simple" in error
    assert "the connection was refused" in error
    assert "s3cret" not in done.stderr + done.stdout
    assert "--index-url" in hint and "--offline --find-links" in hint
    assert not prefix.exists()
