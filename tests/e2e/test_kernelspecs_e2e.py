"""End to end: verify lists the other registered Jupyter kernels of the environment setup built, and the command
its hint gives for a kernel whose python is gone really removes that kernel."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from envcheck.cli import app

pytestmark = pytest.mark.e2e


def verify_checks(prefix: Path) -> tuple[int, dict[str, dict]]:
    result = CliRunner().invoke(app, ["verify", "--prefix", str(prefix), "--json", "--no-redact"])
    return result.exit_code, {c["id"]: c for c in json.loads(result.stdout)["checks"]}


def test_a_kernel_whose_python_is_gone_is_reported_and_the_hint_removes_it(dl_env: Path, tmp_path: Path) -> None:
    spec_dir = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / "gone-env"
    gone = tmp_path / "gone-env" / "bin" / "python"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(gone), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python (gone-env)",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    try:
        code, checks = verify_checks(dl_env)
        assert code == 0  # a warning: the environment itself is fine
        found = checks["jupyter.kernelspecs"]
        assert found["status"] == "warn"
        assert found["detail"] == f"kernel 'gone-env' runs {gone}, which no longer exists"
        assert found["hint"].endswith("-m jupyter kernelspec remove -y gone-env")
        # the environment's own kernels (envcheck's and the default python3) are not among the findings
        assert "python3" not in found["detail"] and "envcheck-" not in found["detail"]
        done = subprocess.run(shlex.split(found["hint"]), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert not spec_dir.exists()
        code, checks = verify_checks(dl_env)
        assert checks["jupyter.kernelspecs"]["status"] == "pass", checks["jupyter.kernelspecs"]
    finally:
        shutil.rmtree(spec_dir, ignore_errors=True)
