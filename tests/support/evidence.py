"""Recorded facts for verify's rules: a real probe answer from a CPU machine and helpers to vary it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from envcheck.profiles.files import load_profile
from envcheck.results import CheckResult
from envcheck.runner import Completed
from envcheck.verify.checks import EnvState, Evidence, evaluate

FIXTURES = Path(__file__).parents[1] / "fixtures" / "verify"


PREFIX = "/home/ada/envs/deep-learning"


PY = f"{PREFIX}/bin/python"


CPU = load_profile("deep-learning")


GPU = load_profile("deep-learning-gpu")


def recorded() -> dict[str, Any]:
    return json.loads((FIXTURES / "probe-linux-cpu.json").read_text(encoding="utf-8"))


def text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def ran(stdout: str = "", stderr: str = "", returncode: int | None = 0, timed_out: bool = False) -> Completed:
    return Completed(
        argv=("x",), returncode=returncode, stdout=stdout, stderr=stderr, duration=0.2, timed_out=timed_out
    )


def evidence(probe: dict[str, Any] | None = None, **changes: Any) -> Evidence:
    fields: dict[str, Any] = {
        "profile": CPU,
        "python": PY,
        "probe": recorded() if probe is None else probe,
        "env": EnvState(prefix=PREFIX),
        "origin": "prefix",
        "same_prefix": True,
        "stderr": text("stderr-linux-no-driver.txt"),
        "pip_check": ran("No broken requirements found.\n"),
        "kernel": {
            "complete": True,
            "stage": "done",
            "spec": {"argv0": PY, "argv0_resolved": PY, "argv": [PY, "-m", "ipykernel_launcher"]},
            "available": ["envcheck-deep-learning"],
            "started": True,
            "prefix": PREFIX,
            "seconds": 1.1,
        },
    }
    fields.update(changes)
    return Evidence(**fields)


def check(ev: Evidence, check_id: str) -> CheckResult:
    results = {r.id: r for r in evaluate(ev)}
    assert check_id in results, sorted(results)
    return results[check_id]


def gpu_probe(capability: list[int] | None = None) -> dict[str, Any]:
    probe = recorded()
    tf = probe["facts"]["tensorflow"]
    tf["physical_devices"].append({"name": "/physical_device:GPU:0", "device_type": "GPU"})
    tf["gpu_details"] = [
        {
            "name": "/physical_device:GPU:0",
            "device_name": "NVIDIA H100 80GB HBM3",
            "compute_capability": capability or [9, 0],
        }
    ]
    probe["work"]["matmul"]["devices"].append(
        {"device": "/device:GPU:0", "device_type": "GPU", "ok": True, "max_abs_diff": 1.2e-5, "seconds": 0.3}
    )
    return probe
