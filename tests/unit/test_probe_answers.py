"""The probes' answers are read once into typed records, and an answer of another schema version is refused:
the probes ship inside envcheck, so another version means an install mixed from two envchecks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from support.evidence import check, evidence
from support.probes import load_probe
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.errors import ExitCode, ProbeVersionError
from envcheck.probes import script_path
from envcheck.results import Status
from envcheck.verify.answers import (
    ENVIRONMENT_SCHEMA,
    IMPORTS_SCHEMA,
    KERNEL_SCHEMA,
    read_environment,
    read_imports,
    read_kernel,
)


def probe_schema(name: str) -> int:
    return int(load_probe(name).SCHEMA)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("environment", ENVIRONMENT_SCHEMA), ("kernel", KERNEL_SCHEMA), ("imports", IMPORTS_SCHEMA)],
)
def test_each_probe_writes_the_version_the_host_reads(name: str, expected: int) -> None:
    assert probe_schema(name) == expected


@pytest.mark.parametrize(
    ("reader", "probe", "expected"),
    [
        (read_environment, "environment", ENVIRONMENT_SCHEMA),
        (read_kernel, "kernel", KERNEL_SCHEMA),
        (read_imports, "imports", IMPORTS_SCHEMA),
    ],
)
def test_an_answer_of_another_version_is_refused_naming_both(reader: Any, probe: str, expected: int) -> None:
    with pytest.raises(ProbeVersionError) as raised:
        reader({"schema": expected + 1, "complete": True})
    assert f"{probe} probe answered with schema {expected + 1}" in raised.value.message
    assert f"this envcheck reads schema {expected}" in raised.value.message
    assert raised.value.hint is not None and "reinstall envcheck" in raised.value.hint
    assert raised.value.exit_code is ExitCode.UNUSABLE
    with pytest.raises(ProbeVersionError, match="no schema number"):
        reader({"complete": True})


def test_a_probe_stopped_after_the_interpreter_reads_with_the_rest_unknown() -> None:
    answer = read_environment(
        {
            "schema": ENVIRONMENT_SCHEMA,
            "complete": False,
            "stage": "cpu",
            "interpreter": {"version": "3.11.7", "bits": 64, "platform": "linux", "prefix": "/srv/env"},
        }
    )
    assert answer.stage == "cpu" and not answer.complete
    assert answer.interpreter.bits == 64 and answer.interpreter.prefix == "/srv/env"
    assert answer.distributions is None and answer.imports == {} and answer.tensorflow is None
    assert answer.pip is None and answer.user_site is None and answer.cpu.flags == {}


def test_rules_say_what_a_partial_answer_did_not_show() -> None:
    partial = {"schema": ENVIRONMENT_SCHEMA, "complete": False, "stage": "distributions", "interpreter": {}}
    ev = evidence(partial)
    assert check(ev, "package.keras.version").status is Status.SKIP
    assert check(ev, "package.keras.version").detail == "installed versions are unknown"
    assert check(ev, "python.version").detail == "the probe did not report the interpreter"
    assert check(ev, "cpu.avx").status is Status.SKIP


def test_verify_refuses_a_probe_of_another_version_with_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe file from another envcheck (a mixed install), run for real: one error line, one hint line."""
    stale = tmp_path / "environment.py"
    stale.write_text(
        "import json, os, sys\n"
        "answer = {'schema': 99, 'complete': True, 'stage': 'done'}\n"
        "with open(os.path.join(sys.argv[1], 'output.json'), 'w') as handle:\n"
        "    json.dump(answer, handle)\n",
        encoding="utf-8",
    )
    real = script_path
    monkeypatch.setattr("envcheck.probes.script_path", lambda name: stale if name == "environment" else real(name))
    profile = tmp_path / "small.toml"
    profile.write_text(
        'schema = 1\nname = "small"\nkernel = false\n[[package]]\nname = "pip"\nrequirement = "pip"\nimport = "pip"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["verify", "--python", sys.executable, "--file", str(profile), "--json"])
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: envcheck's environment probe answered with schema 99")
    assert "this envcheck reads schema 1" in lines[0]
    assert lines[1].startswith("hint: reinstall envcheck")
    document = json.loads(result.stdout)
    assert document["exit_code"] == 3 and "schema 99" in document["error"]["message"]
