"""verify on a GPU machine without TensorFlow, as scripts/record-gpu.sh runs it: `--python python3 --json`.

Real: envcheck, the probes, the test interpreter (which has no TensorFlow). Imitated: `nvidia-smi`, a script
first on PATH that answers the query verify makes with NVIDIA's CSV lines (recorded on an H200 machine, or
written by hand in its format), as the real tool does, and refuses any other arguments.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "verify"
RECORDED = Path(__file__).parents[1] / "fixtures" / "compare"
QUERY = "--query-gpu=name,driver_version,memory.total,memory.used,memory.free,compute_cap"

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the stand-in nvidia-smi is a shell script")


def verify_with_nvidia_smi(tmp_path: Path, answer: Path) -> tuple[int, dict[str, Any]]:
    """verify --python (this interpreter) --json, with a stand-in nvidia-smi that answers ``answer``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "{QUERY}" ] && [ "$2" = "--format=csv,noheader" ]; then\n'
        f"  cat '{answer}'; exit 0\n"
        "fi\n"
        'echo "Invalid combination of input arguments." >&2; exit 2\n'
    )
    smi.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-m", "envcheck", "verify", "--python", sys.executable, "--json", "--no-redact"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    return done.returncode, json.loads(done.stdout)


def test_the_h200_answer_gives_the_words_verify_gave_on_that_machine(tmp_path: Path) -> None:
    """nvidia-smi's answer on a machine with an NVIDIA H200 (driver 580), and verify's report there, both
    recorded on it: replayed here, the same answer gives the same GPU checks, word for word."""
    code, document = verify_with_nvidia_smi(tmp_path, FIXTURES / "nvidia-smi-h200.csv")
    recorded = json.loads((RECORDED / "verify-h200-no-tensorflow.json").read_text(encoding="utf-8"))
    there = {c["id"]: c for c in recorded["checks"]}
    here = {c["id"]: c for c in document["checks"]}
    assert code == 1
    for check in ("device.gpu-driver", "device.gpu-memory"):
        assert (here[check]["status"], here[check]["detail"]) == (there[check]["status"], there[check]["detail"])
    assert here["device.gpu-driver"]["detail"] == "NVIDIA H200, driver 580.159.04, 143771 MiB, compute capability 9.0"
    assert here["device.gpu-memory"]["detail"] == "GPU 0: 143156 MiB free of 143771 MiB"


def test_gpu_facts_are_read_and_the_missing_tensorflow_is_reported(tmp_path: Path) -> None:
    returncode, document = verify_with_nvidia_smi(tmp_path, FIXTURES / "nvidia-smi-h100-memory.csv")
    checks = {c["id"]: c for c in document["checks"]}
    assert returncode == 1
    driver = checks["device.gpu-driver"]
    assert "NVIDIA H100 80GB HBM3" in driver["detail"] and "550.54.15" in driver["detail"]
    assert "81559 MiB" in driver["detail"] and "9.0" in driver["detail"]
    memory = checks["device.gpu-memory"]
    assert memory["status"] == "pass" and memory["detail"] == "GPU 0: 81004 MiB free of 81559 MiB"
    tensorflow = checks["package.tensorflow.import"]
    assert tensorflow["status"] == "fail" and "No module named 'tensorflow'" in tensorflow["detail"]
    # the whole stack is missing from this interpreter: one install command for all of it, under the first
    assert tensorflow["hint"].startswith(f"{sys.executable} -m pip install 'tensorflow>=2.16' 'keras>=3.0' ")
