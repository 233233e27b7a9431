"""verify's probes, run for real by the current interpreter against standard-library modules and a missing one."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from envcheck.probes import run_probe
from envcheck.verify.answers.environment import read_environment

PYTHON = Path(sys.executable)
PACKAGES = [
    {"name": "json", "import": "json"},
    {"name": "sqlite3", "import": "sqlite3"},
    {"name": "missing", "import": "envcheck_no_such_module"},
]


def test_environment_probe_reports_facts_imports_and_a_missing_module() -> None:
    started = time.time()
    outcome = run_probe(PYTHON, "environment", {"packages": PACKAGES}, timeout=60)
    assert outcome.ok, outcome.completed.stderr
    data = outcome.data
    assert data is not None
    assert data["complete"] is True and data["stage"] == "done"
    assert data["interpreter"]["prefix"] == sys.prefix
    assert data["interpreter"]["bits"] in (32, 64)
    assert data["packages"] == ["json", "sqlite3", "envcheck_no_such_module"]
    assert data["finished"] == data["packages"]
    json_import = data["imports"]["json"]
    assert json_import["ok"] is True and json_import["file"].endswith("__init__.py")
    missing = data["imports"]["envcheck_no_such_module"]
    assert missing["ok"] is False
    assert missing["error_type"] == "ModuleNotFoundError"
    assert "envcheck_no_such_module" in missing["error"]
    # installed distributions with their Requires-Dist, keyed by canonical name
    assert data["distributions"]["pytest"]["version"]
    assert any(r.startswith("pluggy") for r in data["distributions"]["pytest"]["requires"])
    assert data["pip"] in (True, False)
    assert "config_path" in data["facts"]["keras"]
    assert set(data["user_site"]) >= {"path", "exists", "active", "entries"}
    if sys.platform.startswith("linux"):
        assert data["cpu"]["source"] == "/proc/cpuinfo"
        assert set(data["cpu"]["flags"]) >= {"avx", "avx2"}
    for stage in ("interpreter", "settings", "cpu", "distributions", "import json"):
        assert stage in data["stages"]
    # wall-clock start and end, for bench/verify_bench.py --phases; the typed answer reads around them
    assert started <= data["clock"]["start"] <= data["clock"]["done"] <= time.time()
    assert sum(data["stages"].values()) <= data["clock"]["done"] - data["clock"]["start"] + 0.01
    assert read_environment(data).complete


def test_environment_probe_for_one_package_skips_the_environment_wide_facts() -> None:
    payload = {"packages": PACKAGES, "only": ["sqlite3"]}
    outcome = run_probe(PYTHON, "environment", payload, timeout=60)
    data = outcome.data
    assert outcome.ok and data is not None
    assert data["mode"] == "only"
    assert list(data["imports"]) == ["sqlite3"]
    assert "distributions" not in data


def test_environment_probe_keeps_its_answer_when_it_stops_midway(tmp_path: Path) -> None:
    """The answer is rewritten after every stage: a probe killed during an import leaves the stage behind."""
    sitecustom = tmp_path / "site"
    sitecustom.mkdir()
    (sitecustom / "envcheck_kills_itself.py").write_text("import os\nos._exit(7)\n", encoding="utf-8")
    control = tmp_path / "control"
    control.mkdir()
    request = {"packages": [{"name": "json", "import": "json"}, {"name": "k", "import": "envcheck_kills_itself"}]}
    (control / "input.json").write_text(json.dumps(request), encoding="utf-8")
    from envcheck import runner
    from envcheck.probes import script_path

    # -I ignores PYTHONPATH, so the module is put on sys.path by running the probe through -c.
    code = (
        f"import sys, runpy; sys.path.append({str(sitecustom)!r}); sys.argv = ['x', {str(control)!r}];"
        f" runpy.run_path({str(script_path('environment'))!r}, run_name='__main__')"
    )
    completed = runner.run([str(PYTHON), "-I", "-c", code], timeout=60)
    assert completed.returncode == 7
    data = json.loads((control / "output.json").read_text(encoding="utf-8"))
    assert data["complete"] is False
    assert data["stage"] == "import envcheck_kills_itself"
    assert data["imports"]["json"]["ok"] is True


def test_kernel_probe_reports_a_kernel_that_is_not_registered() -> None:
    pytest.importorskip("jupyter_client")
    outcome = run_probe(PYTHON, "kernel", {"kernel_name": "envcheck-no-such-kernel", "timeout": 10}, timeout=60)
    data = outcome.data
    assert outcome.ok and data is not None, outcome.completed.stderr
    assert data["complete"] is True
    assert data["spec"] is None
    assert isinstance(data["available"], list)
    assert data["started"] is False


def test_kernel_probe_reports_a_kernel_that_never_becomes_ready(layer_home: Path) -> None:
    pytest.importorskip("jupyter_client")
    kernels = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / "envcheck-silent"
    kernels.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-c", "import time, sys; time.sleep(60)", "{connection_file}"],
        "display_name": "silent",
        "language": "python",
    }
    (kernels / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    outcome = run_probe(PYTHON, "kernel", {"kernel_name": "envcheck-silent", "timeout": 3}, timeout=60)
    data = outcome.data
    assert outcome.ok and data is not None, outcome.completed.stderr
    assert data["spec"]["argv0"] == sys.executable
    assert data["started"] is False
    assert data["start_error"]["error_type"] == "RuntimeError"
