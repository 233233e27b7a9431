"""Recorded facts for verify's rules: a real probe answer from a CPU machine and helpers to vary it.

Tests change the answers as JSON (dicts), the way a broken environment changes what the probes write; the
helpers read them into typed evidence with verify's own readers, as verify does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from envcheck.profiles.files import load_profile
from envcheck.results import CheckResult
from envcheck.runner import Completed
from envcheck.verify.answers import (
    IMPORTS_SCHEMA,
    KERNEL_SCHEMA,
    ImportsAnswer,
    KernelAnswer,
    read_environment,
    read_imports,
    read_kernel,
)
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


def started_kernel() -> dict[str, Any]:
    """The kernel probe's answer for the environment's kernel, registered and started."""
    return {
        "schema": KERNEL_SCHEMA,
        "complete": True,
        "stage": "done",
        "spec": {"argv0": PY, "argv0_resolved": PY, "argv": [PY, "-m", "ipykernel_launcher"]},
        "available": ["envcheck-deep-learning"],
        "started": True,
        "prefix": PREFIX,
        "seconds": 1.1,
    }


def kernel_answer(answer: dict[str, Any]) -> KernelAnswer:
    """A kernel probe's answer written by hand (the probe's schema version added when it is left out)."""
    return read_kernel({"schema": KERNEL_SCHEMA, **answer})


def shell_answer(answer: dict[str, Any]) -> ImportsAnswer:
    """The imports probe's answer for a python started from the user's shell, written by hand."""
    return read_imports({"schema": IMPORTS_SCHEMA, **answer})


def evidence(probe: dict[str, Any] | None = None, **changes: Any) -> Evidence:
    """The recorded CPU environment's evidence; ``probe`` (the environment probe's JSON), ``kernel`` and
    ``shell_probe`` (dicts) are read as verify reads them, the other changes replace fields as they are."""
    if isinstance(changes.get("kernel"), dict):
        changes["kernel"] = kernel_answer(changes["kernel"])
    if isinstance(changes.get("shell_probe"), dict):
        changes["shell_probe"] = shell_answer(changes["shell_probe"])
    fields: dict[str, Any] = {
        "profile": CPU,
        "python": PY,
        "probe": read_environment(recorded() if probe is None else probe),
        "env": EnvState(prefix=PREFIX),
        "origin": "prefix",
        "same_prefix": True,
        "stderr": text("stderr-linux-no-driver.txt"),
        "pip_check": ran("No broken requirements found.\n"),
        "kernel": kernel_answer(started_kernel()),
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
