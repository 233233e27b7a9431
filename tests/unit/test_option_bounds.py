"""Option bounds: values no run can use are refused at once with one line (exit 2), before anything starts.

`--epochs 1000000000000` ran to the time limit; `verify --timeout nan` blamed the python and `--timeout inf` failed
a healthy environment with an OverflowError; an impossible TF_CONFIG (a `ps` task, a bad port, a host that
does not resolve) started TensorFlow and waited for the whole time limit, and its hint suggested `--level`,
which `--cluster` refuses; `download --dest` onto a file was called a disk problem (exit 3).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from envcheck import runner
from envcheck.cli import app
from envcheck.errors import UsageError
from envcheck.smoke import levels
from envcheck.smoke.train import make_options

cli = CliRunner()
PYTHON = sys.executable


class Started:
    """runner.run standing in for the training probe: it records that something was started."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, timed_out: bool = False) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.timed_out = timed_out
        monkeypatch.setattr(runner, "run", self)

    def __call__(self, argv: Sequence[str | os.PathLike[str]], *, timeout: float, **_: Any) -> runner.Completed:
        self.calls.append(tuple(map(str, argv)))
        (Path(argv[-1]) / "output.json").write_text(json.dumps({"complete": False}), encoding="utf-8")
        return runner.Completed(tuple(map(str, argv)), None, "", "", timeout, timed_out=self.timed_out)


def error_line(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if line.startswith("error:"))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["smoke-train", "--epochs", "1000000000000"], "'--epochs': 1000000000000 is not in the range 1<=x<=100000."),
        (["verify", "--timeout", "nan"], "'--timeout': nan is not a number of seconds."),
        (["verify", "--timeout", "inf"], "'--timeout': inf is not in the range 1.0<=x<=86400.0."),
        (["verify", "--timeout", "1e300"], "'--timeout': 1e+300 is not in the range 1.0<=x<=86400.0."),
        (["smoke-train", "--timeout", "nan"], "'--timeout': nan is not a number of seconds."),
    ],
)
def test_a_value_no_run_can_use_is_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, args: list[str], error: str
) -> None:
    started = Started(monkeypatch)
    result = cli.invoke(app, [*args, "--python", PYTHON, "--json"])
    assert result.exit_code == 2
    assert error_line(result.stderr) == f"error: Invalid value for {error}"
    assert json.loads(result.stdout)["status"] == "error"
    assert started.calls == []
    hint = next(line for line in result.stderr.splitlines() if line.startswith("hint:"))
    typed = cli.invoke(app, hint.removeprefix("hint: run: envcheck ").split())  # the hint runs as typed
    assert typed.exit_code == 0 and "--timeout" in typed.stdout


def test_the_core_refuses_them_too() -> None:
    for options in ({"epochs": levels.MAX_EPOCHS + 1}, {"timeout": float("inf")}, {"timeout": float("nan")}):
        with pytest.raises(UsageError):
            make_options(**options)
    assert make_options(epochs=levels.MAX_EPOCHS, timeout=levels.MAX_TIMEOUT).epochs == levels.MAX_EPOCHS


def tf_config(cluster: dict[str, list[str]], task: tuple[str, int] = ("worker", 0)) -> str:
    return json.dumps({"cluster": cluster, "task": {"type": task[0], "index": task[1]}})


@pytest.mark.parametrize(
    ("cluster", "task", "error"),
    [
        (
            {"worker": ["127.0.0.1:2222"], "ps": ["127.0.0.1:2223"]},
            ("worker", 0),
            "TF_CONFIG's cluster has a 'ps' job: MultiWorkerMirroredStrategy trains on chief and worker tasks only",
        ),
        ({"worker": ["127.0.0.1:2222"], "ps": ["127.0.0.1:2223"]}, ("ps", 0), "has a 'ps' job"),
        ({"worker": ["127.0.0.1:2222", "127.0.0.1:99999"]}, ("worker", 0), "'127.0.0.1:99999', not host:port"),
        ({"worker": ["127.0.0.1:0"]}, ("worker", 0), "'127.0.0.1:0', not host:port with a port from 1 to 65535"),
        ({"worker": ["127.0.0.1"]}, ("worker", 0), "TF_CONFIG's worker #0 is '127.0.0.1', not host:port"),
        ({"chief": ["localhost:x"], "worker": ["[::1]:2222"]}, ("chief", 0), "chief #0 is 'localhost:x'"),
    ],
)
def test_an_impossible_tf_config_is_refused_before_tensorflow_starts(
    monkeypatch: pytest.MonkeyPatch, cluster: dict[str, list[str]], task: tuple[str, int], error: str
) -> None:
    started = Started(monkeypatch)
    monkeypatch.setenv("TF_CONFIG", tf_config(cluster, task))
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON, "--cluster"])
    assert result.exit_code == 2 and error in error_line(result.stderr)
    assert "--level" not in result.stderr
    assert started.calls == []


def test_a_host_that_does_not_resolve_is_named_within_the_join_time(monkeypatch: pytest.MonkeyPatch) -> None:
    started = Started(monkeypatch)
    cluster = {"worker": ["127.0.0.1:2222", "no-such-host.invalid:2222"]}
    monkeypatch.setenv("TF_CONFIG", tf_config(cluster))
    began = time.monotonic()
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON, "--cluster", "--timeout", "2"])
    assert result.exit_code == 2
    assert (
        time.monotonic() - began < 30
    )  # the join time (three quarters of --timeout), not the whole time limit of TensorFlow
    assert error_line(result.stderr) == (
        "error: TF_CONFIG names host(s) that do not resolve on this machine after 1.5 s: no-such-host.invalid:2222"
    )
    assert started.calls == []


def test_a_cluster_run_that_times_out_does_not_suggest_level(monkeypatch: pytest.MonkeyPatch) -> None:
    Started(monkeypatch, timed_out=True)
    monkeypatch.setenv("TF_CONFIG", tf_config({"worker": ["127.0.0.1:2222", "localhost:2223"]}))
    result = cli.invoke(app, ["smoke-train", "--python", PYTHON, "--cluster", "--json"])
    probe = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "smoke.probe")
    assert "--level" not in probe["hint"] and "--timeout" in probe["hint"]
    assert "check that each one was started" in probe["hint"]
    with_level = cli.invoke(app, ["smoke-train", "--python", PYTHON, "--cluster", "--level", "tape"])
    assert with_level.exit_code == 2  # what the old hint asked for, refused


@pytest.mark.parametrize("where", ["file", "inside-a-file"])
def test_download_dest_onto_a_file_is_a_usage_error(tmp_path: Path, where: str) -> None:
    from support.locks import lock_text

    lock = tmp_path / "pylock.toml"
    lock.write_text(lock_text([("six", "1.0", [("six-1.0-py3-none-any.whl", "a" * 64)])], "p", "d"))
    file = tmp_path / "wheels.txt"
    file.write_text("not a folder\n")
    dest = file if where == "file" else file / "wheels"
    result = cli.invoke(app, ["download", "--lock", str(lock), "--dest", str(dest)])
    assert result.exit_code == 2  # a disk problem is exit 3; this is the user's mistake
    said = "is a file" if where == "file" else f"is inside {file}, which is a file"
    assert error_line(result.stderr) == f"error: --dest {dest} {said}, not a folder"
    assert file.read_text() == "not a folder\n"
