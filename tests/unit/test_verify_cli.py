"""`envcheck verify` through its command line: the JSON contract, exit codes, markdown and redaction.

The probes run for real, with the interpreter running the tests, against small profiles of packages it has.
"""

from __future__ import annotations

import json
import sys
import venv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.completion import Marker, write_marker
from envcheck.locations import OWNER_NAME

ENVELOPE_KEYS = [
    "schema_version",
    "envcheck_version",
    "command",
    "status",
    "exit_code",
    "environment",
    "versions",
    "devices",
    "checks",
    "plan",
    "duration",
    "lock",  # {"path", "digest"} of the lock compared with; null without one
]
CHECK_KEYS = ["id", "status", "detail", "hint", "duration", "data", "caused_by"]
ENVIRONMENT_KEYS = {
    "python",
    "prefix",
    "profile",
    "origin",
    "executable",
    "python_version",
    "implementation",
    "bits",
    "platform",
    "machine",
    "sys_prefix",
    "base_prefix",
    "kind",
    "managed",
    "pip",
    "cpu",
    "settings",
    "keras",
    "tensorflow_build",
    "user_site",
    "kernel",
    "probe_seconds",
}


def write_profile(tmp_path: Path, *packages: tuple[str, str]) -> Path:
    lines = ["schema = 1", 'name = "small"', "kernel = false"]
    for name, module in packages:
        lines += ["[[package]]", f'name = "{name}"', f'requirement = "{name}"', f'import = "{module}"']
    path = tmp_path / "small.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def passing(tmp_path: Path) -> Path:
    return write_profile(tmp_path, ("pip", "pip"), ("packaging", "packaging"))


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["verify", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_json_envelope_contract(passing: Path) -> None:
    code, stdout, _ = invoke("--python", sys.executable, "--file", str(passing), "--json")
    document = json.loads(stdout)  # exactly one document: anything else on stdout fails to parse
    assert code == 0
    assert list(document) == ENVELOPE_KEYS
    assert document["schema_version"] == 1
    assert document["command"] == "verify"
    assert document["status"] == "pass" and document["exit_code"] == 0
    assert set(document["environment"]) == ENVIRONMENT_KEYS
    assert document["versions"]["python"] == ".".join(str(v) for v in sys.version_info[:3])
    assert document["versions"]["pip"]
    assert document["lock"] is None  # no --lock, no marker
    for check in document["checks"]:
        assert list(check) == CHECK_KEYS
        assert check["status"] in ("pass", "warn", "fail", "skip")
    ids = [c["id"] for c in document["checks"]]
    assert ids[:5] == ["python.version", "python.bits", "python.prefix", "env.complete", "probe.environment"]
    assert "package.pip.import" in ids and "package.packaging.version" in ids


def test_a_failed_check_exits_1_with_its_hint(tmp_path: Path) -> None:
    profile = write_profile(tmp_path, ("pip", "pip"), ("envcheck-absent", "envcheck_absent"))
    code, stdout, _ = invoke("--python", sys.executable, "--file", str(profile))
    assert code == 1
    assert "✗ package.envcheck-absent.import" in stdout
    assert "ModuleNotFoundError: No module named 'envcheck_absent'" in stdout
    assert f"hint: {sys.executable} -m pip install envcheck-absent" in stdout
    assert "some checks failed" in stdout


def test_human_checklist_with_header_and_times(passing: Path) -> None:
    code, stdout, _ = invoke("--python", sys.executable, "--file", str(passing), "-v", env={"NO_COLOR": "1"})
    assert code == 0
    assert stdout.startswith("envcheck verify ")
    assert "versions python " in stdout
    assert "✓ package.pip.import" in stdout
    assert "all checks passed" in stdout
    assert "\x1b[3" not in stdout  # no colour codes with NO_COLOR


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_warning_passes_unless_strict(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(prefix)
    (prefix / OWNER_NAME).write_text("created by envcheck\n", encoding="utf-8")
    write_marker(prefix, Marker(profile="other", profile_digest="0", backend="venv", installer="uv", python="3"))
    # one installed distribution whose module is the standard library's json
    site = next((prefix / "lib").glob("python3*/site-packages"))
    dist = site / "envcheck_json-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: envcheck-json\nVersion: 1.0\n", encoding="utf-8")
    (dist / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n", encoding="utf-8")
    (dist / "RECORD").write_text("", encoding="utf-8")
    profile = write_profile(tmp_path, ("envcheck-json", "json"))
    code, stdout, _ = invoke("--prefix", str(prefix), "--file", str(profile), "--json", "--no-redact")
    document = json.loads(stdout)
    env_check = next(c for c in document["checks"] if c["id"] == "env.complete")
    assert env_check["status"] == "warn"
    assert env_check["hint"] == f"envcheck verify --profile other --prefix {prefix}"
    assert code == 0 and document["status"] == "warn"
    strict_code, strict_out, _ = invoke("--prefix", str(prefix), "--file", str(profile), "--json", "--strict")
    assert [c["id"] for c in json.loads(strict_out)["checks"] if c["status"] == "warn"] == ["env.complete"]
    assert strict_code == 1 and json.loads(strict_out)["exit_code"] == 1


def test_markdown_is_redacted_by_default(passing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = str(Path(sys.prefix).parent)
    monkeypatch.setenv("HOME", home)
    code, stdout, _ = invoke("--python", sys.executable, "--file", str(passing), "--markdown")
    assert code == 0
    assert stdout.startswith("### envcheck verify: pass (exit 0)")
    assert "| ✓ | `package.pip.import` |" in stdout
    assert home not in stdout
    assert "`~/" in stdout
    _, kept, _ = invoke("--python", sys.executable, "--file", str(passing), "--markdown", "--no-redact")
    assert f"`{sys.executable}`" in kept


def test_json_is_redacted_by_default(passing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = str(Path(sys.prefix).parent)
    monkeypatch.setenv("HOME", home)
    _, stdout, _ = invoke("--python", sys.executable, "--file", str(passing), "--json")
    assert home + "/" not in stdout
    _, kept, _ = invoke("--python", sys.executable, "--file", str(passing), "--json", "--no-redact")
    assert json.loads(kept)["environment"]["python"] == sys.executable


@pytest.mark.parametrize(
    "args",
    [
        ["--json", "--markdown"],
        ["--profile", "no-such-profile"],
        ["--prefix", "/nonexistent/envcheck/env"],
        ["--timeout", "0"],
        ["--prefix", "/a", "--python", "/b"],
        ["--dry-run"],
    ],
)
def test_usage_errors_exit_2(args: list[str], passing: Path) -> None:
    code, stdout, stderr = invoke("--python", sys.executable, *args) if args[0] == "--json" else invoke(*args)
    assert code == 2, stderr
    if "--json" in args:  # a script asked for JSON: the error comes as an envelope too
        assert json.loads(stdout)["status"] == "error"
    else:
        assert stdout == ""
