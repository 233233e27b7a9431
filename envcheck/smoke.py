"""`envcheck smoke-train`: train the reference network inside the target environment and judge the result.

One probe process (envcheck/probes/smoke_train.py) does the training; the rules in envcheck/training.py judge.
A probe that crashes or hangs becomes a failed check; a target that cannot run the probe at all is unusable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envcheck import training
from envcheck.errors import EnvironmentUnusableError, ExitCode, UsageError
from envcheck.probes import ProbeOutcome, run_probe
from envcheck.profiles import profile_args
from envcheck.progress import NullReporter, Reporter
from envcheck.results import CheckResult, Status, exit_code_for, overall_status
from envcheck.shell import command
from envcheck.targets import Target

DEFAULT_EPOCHS = 2000
DEFAULT_LR = 0.1
DEFAULT_SEED = 0
# The whole training, all levels: ~10 s on a 2-core laptop; importing TensorFlow from a cold disk can take
# a minute, and a first GPU run compiles kernels.
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class SmokeOptions:
    levels: tuple[str, ...] = training.LEVELS
    seed: int = DEFAULT_SEED
    epochs: int = DEFAULT_EPOCHS
    lr: float = DEFAULT_LR
    device: str = "auto"
    plot: Path | None = None
    compare_cpu: bool = True
    timeout: float = DEFAULT_TIMEOUT


def make_options(
    levels: list[str] | None = None,
    *,
    seed: int = DEFAULT_SEED,
    epochs: int = DEFAULT_EPOCHS,
    lr: float = DEFAULT_LR,
    device: str = "auto",
    plot: Path | None = None,
    compare_cpu: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> SmokeOptions:
    """Validated options; a wrong name is a usage error that lists the valid ones."""
    chosen: list[str] = []
    for level in levels or training.LEVELS:
        name = level.strip().lower()
        if name not in training.LEVELS:
            raise UsageError(f"unknown level {level!r}; valid levels: {', '.join(training.LEVELS)}")
        if name not in chosen:
            chosen.append(name)
    if device.lower() not in training.DEVICES:
        raise UsageError(f"unknown device {device!r}; valid devices: {', '.join(training.DEVICES)}")
    if epochs < 1:
        raise UsageError(f"--epochs must be at least 1, not {epochs}")
    if not lr > 0:
        raise UsageError(f"--lr must be positive, not {lr}")
    return SmokeOptions(
        levels=tuple(level for level in training.LEVELS if level in chosen),
        seed=seed,
        epochs=epochs,
        lr=lr,
        device=device.lower(),
        plot=plot.expanduser().absolute() if plot is not None else None,
        compare_cpu=compare_cpu,
        timeout=timeout,
    )


@dataclass(frozen=True)
class SmokeReport:
    """What smoke-train found: the probe's facts, every check, and how long it all took."""

    python: str
    prefix: str | None
    profile: str
    origin: str
    options: SmokeOptions
    facts: dict[str, Any]
    checks: tuple[CheckResult, ...]
    duration: float
    probe_seconds: float
    stderr: str = field(default="", repr=False)

    @property
    def status(self) -> Status:
        return overall_status(self.checks)

    @property
    def exit_code(self) -> ExitCode:
        return exit_code_for(self.checks)

    @property
    def runs(self) -> list[dict[str, Any]]:
        """Every run asked for, in display order; a run the probe never reached appears with status 'missing'."""
        got = self.facts.get("runs") or {}
        return [got.get(name) or {"name": name, "status": "missing"} for name in training.runs_for(self.options.levels)]

    def payload(self) -> dict[str, Any]:
        """The command-specific part of the JSON envelope."""
        facts = self.facts
        runs = []
        for run in self.runs:
            item = {key: value for key, value in run.items() if key != "traceback"}
            item["device"] = training.placement_summary(run) if run.get("status") == "ok" else None
            runs.append(item)
        tf_info = facts.get("tensorflow") or {}
        return {
            "environment": {
                "python": self.python,
                "prefix": self.prefix,
                "profile": self.profile,
                "origin": self.origin,
            },
            "request": {
                "levels": list(self.options.levels),
                "seed": self.options.seed,
                "epochs": self.options.epochs,
                "lr": self.options.lr,
                "device": self.options.device,
                "plot": str(self.options.plot) if self.options.plot else None,
                "compare_cpu": self.options.compare_cpu,
            },
            "versions": dict(facts.get("versions") or {}),
            "device": {
                "requested": self.options.device,
                "used": facts.get("device_used"),
                "physical_gpus": tf_info.get("physical_gpus", []),
                "gpu_details": tf_info.get("gpu_details", []),
                "built_with_cuda": tf_info.get("built_with_cuda"),
                "error": facts.get("device_error"),
            },
            "thresholds": {
                "sse": training.SSE_THRESHOLD,
                "mse": training.MSE_THRESHOLD,
                "gradient_relative": training.GRADIENT_TOLERANCE,
                "trajectory_abs": training.TRAJECTORY_TOLERANCE,
                "gpu_vs_cpu_abs": training.GPU_CPU_TOLERANCE,
            },
            "runs": runs,
            "reference": facts.get("reference") or {},
            "checks": [c.to_json() for c in self.checks],
            "probe": {
                "complete": bool(facts.get("complete")),
                "processes": facts.get("processes"),
                "seconds": round(self.probe_seconds, 3),
                "errors": facts.get("errors") or {},
            },
            "plot": facts.get("plot"),
            "duration": round(self.duration, 3),
        }


def smoke_train(target: Target, options: SmokeOptions, reporter: Reporter | None = None) -> SmokeReport:
    """Train at every requested level inside ``target`` and judge the results.

    Raises EnvironmentUnusableError when the target's python cannot start the probe at all.
    """
    reporter = reporter or NullReporter()
    started = time.monotonic()
    python = target.python
    if not python.exists():
        where = ["--prefix", str(target.prefix)] if target.prefix is not None and target.origin == "prefix" else []
        rebuild = command("envcheck", "setup", *profile_args(target.profile), *where, "--recreate")
        raise EnvironmentUnusableError(
            f"no python interpreter at {python}", f"recreate the environment with: {rebuild}"
        )
    payload = {
        "levels": list(options.levels),
        "seed": options.seed,
        "epochs": options.epochs,
        "lr": options.lr,
        "device": options.device,
        "plot": str(options.plot) if options.plot else None,
        "compare_cpu": options.compare_cpu,
    }
    phase = f"train the reference network ({', '.join(options.levels)}) with {python}"
    reporter.phase(phase)
    outcome = run_probe(python, "smoke_train", payload, timeout=options.timeout)
    if outcome.data is None and not _died(outcome):
        raise _unusable(python, outcome)
    facts = dict(outcome.data or {})
    reporter.done(phase, "" if outcome.ok else f"(the probe {outcome.completed.describe_exit()})")
    for line in outcome.completed.stderr.splitlines():
        reporter.line(line)

    checks: list[CheckResult] = []
    probe_check = _probe_check(outcome, facts, options.timeout)
    if probe_check is not None:
        checks.append(probe_check)
    missing = probe_check.detail if probe_check is not None else "the probe stopped before this run"
    plot = str(options.plot) if options.plot else None
    checks.extend(
        training.evaluate(facts, levels=options.levels, device=options.device, plot=plot, missing_reason=missing)
    )
    return SmokeReport(
        python=str(python),
        prefix=str(target.prefix) if target.prefix else None,
        profile=target.profile.name,
        origin=target.origin,
        options=options,
        facts=facts,
        checks=tuple(checks),
        duration=time.monotonic() - started,
        probe_seconds=outcome.completed.duration,
        stderr=outcome.completed.stderr,
    )


def _died(outcome: ProbeOutcome) -> bool:
    """Killed by a signal or by the timeout: a verdict on the environment, not a failure to start."""
    completed = outcome.completed
    return completed.timed_out or completed.signal_number is not None


def _probe_check(outcome: ProbeOutcome, facts: dict[str, Any], timeout: float) -> CheckResult | None:
    completed = outcome.completed
    if completed.ok and facts.get("complete"):
        return None
    last = next((line for line in reversed(completed.stderr.splitlines()) if line.strip()), "")
    data = {"returncode": completed.returncode, "signal": completed.signal_name, "timed_out": completed.timed_out}
    if completed.timed_out:
        return CheckResult(
            "smoke.probe",
            Status.FAIL,
            f"training did not finish within {timeout:g} s (the probe was stopped)",
            hint="raise --timeout, or train fewer levels with --level",
            data=data,
        )
    if completed.signal_name:
        return CheckResult(
            "smoke.probe",
            Status.FAIL,
            f"the training process was killed by {completed.signal_name}",
            hint="SIGILL: TensorFlow needs CPU instructions (AVX) this machine lacks; SIGSEGV/SIGABRT: a broken "
            "native library (see envcheck verify, and -v for the process output)",
            data={**data, "last_line": last},
        )
    return CheckResult(
        "smoke.probe",
        Status.FAIL,
        f"the training process {completed.describe_exit()} before finishing" + (f": {last}" if last else ""),
        hint="run with -v to see the process output",
        data={**data, "last_line": last},
    )


def _unusable(python: Path, outcome: ProbeOutcome) -> EnvironmentUnusableError:
    said = next((s for s in reversed(outcome.completed.stderr.splitlines()) if s.strip()), "")
    because = f": {said.strip()}" if said else ""
    return EnvironmentUnusableError(
        f"{python} cannot run envcheck's training probe (it {outcome.completed.describe_exit()}){because}",
        f"check that it is a working Python 3.8 or later: {python} -c 'import sys; print(sys.version)'",
    )
