"""`envcheck compare` on real verify and smoke-train reports (tests/fixtures/compare/) and copies edited as
another machine's would differ: equal, drifted, mixed kinds, lock digests, bad files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from envcheck.cli import app

cli = CliRunner()
FIXTURES = Path(__file__).parents[1] / "fixtures" / "compare"


def verify_report() -> dict[str, Any]:
    return json.loads((FIXTURES / "verify-linux-cpu.json").read_text(encoding="utf-8"))


def smoke_report() -> dict[str, Any]:
    return json.loads((FIXTURES / "smoke-train-workers-2.json").read_text(encoding="utf-8"))


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document, encoding="utf-8")
    return path


def set_check(document: dict[str, Any], check_id: str, status: str) -> None:
    next(c for c in document["checks"] if c["id"] == check_id)["status"] = status


def compare(*args: str | Path) -> Any:
    return cli.invoke(app, ["compare", *map(str, args)])


def test_identical_reports_agree_exit_0(tmp_path: Path) -> None:
    paths = [write(tmp_path, f"node{i}.json", verify_report()) for i in range(3)]
    result = compare(*paths)
    assert result.exit_code == 0, result.output
    assert "all 3 reports agree" in result.stdout
    assert "(reference)" in result.stdout and "CPU only" in result.stdout


def test_a_different_version_and_a_failing_check_are_drift_exit_1(tmp_path: Path) -> None:
    a, b, c = verify_report(), verify_report(), verify_report()
    b["versions"]["tensorflow"] = "2.20.0"
    set_check(c, "package.tensorflow.import", "fail")
    paths = [write(tmp_path, n, d) for n, d in (("a.json", a), ("b.json", b), ("c.json", c))]
    result = cli.invoke(app, ["compare", *map(str, paths), "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["command"] == "compare" and document["status"] == "fail" and document["exit_code"] == 1
    assert document["drift"]["versions"] == {
        "tensorflow": {str(paths[0]): "2.21.0", str(paths[1]): "2.20.0", str(paths[2]): "2.21.0"}
    }
    assert document["drift"]["checks"]["package.tensorflow.import"][str(paths[2])] == "fail"
    by_path = {r["path"]: r for r in document["reports"]}
    assert by_path[str(paths[0])]["drift"] == []
    assert by_path[str(paths[1])]["drift"] == ["tensorflow 2.20.0 (reference 2.21.0)"]
    assert by_path[str(paths[2])]["drift"] == ["package.tensorflow.import fail (reference pass)"]


def test_warn_against_pass_is_not_drift(tmp_path: Path) -> None:
    a, b = verify_report(), verify_report()
    set_check(b, "package.tensorflow.import", "warn")
    assert compare(write(tmp_path, "a.json", a), write(tmp_path, "b.json", b)).exit_code == 0


def test_the_baseline_is_the_reference(tmp_path: Path) -> None:
    old = verify_report()
    old["versions"]["numpy"] = "1.26.4"
    base, other = write(tmp_path, "base.json", old), write(tmp_path, "new.json", verify_report())
    result = cli.invoke(app, ["compare", str(other), "--baseline", str(base), "--json"])
    document = json.loads(result.stdout)
    assert result.exit_code == 1 and document["reference"] == str(base)
    assert {r["path"]: r["drift"] for r in document["reports"]}[str(other)] == ["numpy 2.4.6 (reference 1.26.4)"]


def test_mixed_kinds_compare_the_versions_both_carry_and_each_kind_its_checks(tmp_path: Path) -> None:
    verify, smoke = verify_report(), smoke_report()
    paths = [write(tmp_path, "verify.json", verify), write(tmp_path, "smoke.json", smoke)]
    result = cli.invoke(app, ["compare", *map(str, paths), "--json"])
    assert result.exit_code == 0, result.stdout
    smoke["versions"]["numpy"] = "2.3.0"
    paths.append(write(tmp_path, "smoke-old-numpy.json", smoke))
    drifted = json.loads(cli.invoke(app, ["compare", *map(str, paths), "--json"]).stdout)
    assert set(drifted["drift"]["versions"]) == {"numpy"} and drifted["drift"]["checks"] == {}
    assert [r["command"] for r in drifted["reports"]] == ["verify", "smoke-train", "smoke-train"]


def test_lock_digests_that_differ_are_drift(tmp_path: Path) -> None:
    a, b = verify_report(), verify_report()
    a["lock"] = {"path": "requirements.lock", "digest": "sha256:" + "a" * 64}
    b["lock"] = {"path": "requirements.lock", "digest": "sha256:" + "b" * 64}
    paths = [write(tmp_path, "a.json", a), write(tmp_path, "b.json", b)]
    result = compare(*paths)
    assert result.exit_code == 1
    assert "lock digest: aaaaaaaaaaaa on 1, bbbbbbbbbbbb on 1" in " ".join(result.stdout.split())
    b["lock"] = copy.deepcopy(a["lock"])
    assert compare(paths[0], write(tmp_path, "b.json", b)).exit_code == 0


def test_markdown_is_a_table_to_paste(tmp_path: Path) -> None:
    b = verify_report()
    b["versions"]["keras"] = "3.14.0"
    result = cli.invoke(
        app,
        ["compare", str(write(tmp_path, "a.json", verify_report())), str(write(tmp_path, "b.json", b)), "--markdown"],
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("### envcheck compare: drift (2 reports")
    assert "- keras: 3.15.1 on 1, 3.14.0 on 1" in lines
    assert "| report | kind | device | differs from the reference |" in lines
    assert any(line.startswith(f"| `{tmp_path / 'b.json'}` | verify | CPU only | keras 3.14.0") for line in lines)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not JSON"),
        ('{"hello": 1}', "not an envcheck report: no schema_version"),
        ('{"schema_version": 1, "command": "setup", "status": "ok"}', "a report of 'setup'"),
        (
            '{"schema_version": 1, "command": "verify", "status": "error", "error": {"message": "no such environment"}}',
            "verify ended in an error: no such environment",
        ),
    ],
)
def test_a_foreign_or_broken_file_is_named_exit_2(tmp_path: Path, content: str, reason: str) -> None:
    good = write(tmp_path, "good.json", verify_report())
    bad = write(tmp_path, "bad.json", content)
    result = cli.invoke(app, ["compare", str(good), str(bad), "--json"])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert f"error: cannot compare 1 file(s): {bad} ({reason}" in message
    assert json.loads(result.stdout)["status"] == "error"


def test_a_missing_file_is_named_exit_2(tmp_path: Path) -> None:
    result = compare(write(tmp_path, "good.json", verify_report()), tmp_path / "absent.json")
    assert result.exit_code == 2 and "absent.json (No such file or directory)" in " ".join(result.stderr.split())


def test_no_reports_is_a_usage_error() -> None:
    result = compare()
    assert result.exit_code == 2 and "no reports to compare" in result.stderr


def test_a_gpu_machine_without_tensorflow_against_a_cpu_machine_with_it() -> None:
    """Two real reports of two machines: verify on a Linux CPU machine with the stack, and verify `--python
    python3` on an NVIDIA H200 machine whose python has no TensorFlow (recorded there). The user reads the GPU
    as that machine's device, and every difference that matters by name."""
    gpu = FIXTURES / "verify-h200-no-tensorflow.json"
    result = cli.invoke(app, ["compare", str(FIXTURES / "verify-linux-cpu.json"), str(gpu), "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    drift = document["drift"]
    assert drift["versions"]["python"] == {str(FIXTURES / "verify-linux-cpu.json"): "3.11.7", str(gpu): "3.12.3"}
    for check in ("package.tensorflow.import", "package.keras.import", "tensorflow.single-distribution"):
        assert drift["checks"][check] == {str(FIXTURES / "verify-linux-cpu.json"): "pass", str(gpu): "fail"}
    assert drift["checks"]["jupyter.kernelspec"][str(gpu)] == "fail"
    assert [r["device"] for r in document["reports"]] == ["CPU only", "NVIDIA H200"]
    text = cli.invoke(app, ["compare", str(FIXTURES / "verify-linux-cpu.json"), str(gpu)]).stdout
    assert "NVIDIA H200" in text and "≠ package.tensorflow.import: pass on 1, fail on 1" in text
