"""Judging verify's evidence: every rule applied (``evaluate``), the root causes and the fix plan (``diagnose``),
and the report with the header's facts, versions and devices."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from envcheck.errors import ExitCode
from envcheck.kernels import wants_kernel
from envcheck.results import CheckResult, Status, exit_code_for, overall_status
from envcheck.verify.checks import devices, evaluate, summary_versions
from envcheck.verify.evidence import Evidence
from envcheck.verify.plan import Step, diagnose

HEADER_PACKAGES = ("tensorflow", "keras", "numpy", "pandas", "scikit-learn", "matplotlib", "protobuf")


@dataclass(frozen=True)
class VerifyReport:
    """What verify found: the facts, versions and devices for the header, and every check's verdict."""

    python: str
    prefix: str | None
    profile: str
    origin: str
    facts: dict[str, Any]
    versions: dict[str, str]
    devices: list[dict[str, Any]]
    checks: tuple[CheckResult, ...]
    strict: bool = False
    duration: float = 0.0
    stderr: str = field(default="", repr=False)  # the probes' stderr, shown with -v
    plan: tuple[Step, ...] = ()  # the fix plan: the fewest commands that repair the root causes
    unplanned: tuple[str, ...] = ()  # root causes no command repairs (their hints say what to do)
    platform: str = "linux"  # the target's, for quoting the plan's commands
    lock: dict[str, str | None] | None = None  # {"path", "digest"} of the lock compared with, for other machines

    @property
    def status(self) -> Status:
        return overall_status(self.checks)

    @property
    def exit_code(self) -> ExitCode:
        return exit_code_for(self.checks, strict=self.strict)

    def payload(self) -> dict[str, Any]:
        """The command-specific part of the JSON envelope."""
        return {
            "environment": {
                "python": self.python,
                "prefix": self.prefix,
                "profile": self.profile,
                "origin": self.origin,
                **self.facts,
            },
            "versions": dict(self.versions),
            "devices": list(self.devices),
            "checks": [c.to_json() for c in self.checks],
            "plan": [s.to_json() for s in self.plan],
            "duration": round(self.duration, 3),
            "lock": self.lock,
        }


def judge(ev: Evidence, *, strict: bool = False, started: float | None = None) -> VerifyReport:
    """The report on ``ev``: every check's verdict, symptoms marked by their causes, and the fix plan.

    ``started`` (``time.monotonic()``) dates the report's duration from when verify began gathering.
    """
    diagnosis = diagnose(ev, evaluate(ev))
    return VerifyReport(
        python=ev.python,
        prefix=ev.env.prefix,
        profile=ev.profile.name,
        origin=ev.origin,
        facts=environment_facts(ev),
        versions=summary_versions(ev, [*HEADER_PACKAGES, *(p.name for p in ev.profile.packages)]),
        devices=devices(ev),
        checks=diagnosis.checks,
        strict=strict,
        duration=time.monotonic() - started if started is not None else 0.0,
        stderr=ev.stderr,
        plan=diagnosis.plan,
        unplanned=diagnosis.unplanned,
        platform=ev.platform,
        lock=None if ev.lock is None else {"path": ev.lock.path, "digest": ev.lock.digest},
    )


def environment_facts(ev: Evidence) -> dict[str, Any]:
    """The environment facts worth a reader's time: the JSON envelope's `environment` section."""
    interp = ev.interpreter
    venv = ev.probe.venv
    keras = ev.probe.keras
    site = ev.probe.user_site
    cpu = ev.probe.cpu
    return {
        "executable": interp.executable,
        "python_version": interp.version,
        "implementation": interp.implementation,
        "bits": interp.bits,
        "platform": interp.platform,
        "machine": interp.machine,
        "sys_prefix": interp.prefix,
        "base_prefix": interp.base_prefix,
        "kind": "conda" if venv.conda else ("venv" if venv.is_venv else "system"),
        "managed": ev.env.marker is not None,
        "pip": bool(ev.probe.pip),
        "cpu": {"model": cpu.model, "flags": dict(cpu.flags)},
        "settings": dict(ev.probe.environ),
        "keras": {
            "version": keras.version if keras else None,
            "backend": keras.backend if keras else None,
            "config_path": keras.config_path if keras else None,
            "config_backend": keras.config_backend if keras else None,
            "tf_keras_present": keras.tf_keras_present if keras else None,
        },
        "tensorflow_build": dict(ev.probe.tensorflow.build_info) if ev.probe.tensorflow else {},
        "user_site": {
            "path": site.path if site else None,
            "exists": site.exists if site else None,
            "active": site.active if site else None,
        },
        "kernel": ev.kernel_name if wants_kernel(ev.profile) else None,
        "probe_seconds": None if ev.probe_seconds is None else round(ev.probe_seconds, 3),
    }
