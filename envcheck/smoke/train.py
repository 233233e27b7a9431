"""`envcheck smoke-train`: train the reference network inside the target environment and judge the result.

One probe process (envcheck/probes/smoke_train.py) does the training; the rules in envcheck/smoke/rules.py judge.
A probe that crashes or hangs becomes a failed check; a target that cannot run the probe at all is unusable.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envcheck import runner
from envcheck.errors import EnvironmentUnusableError, ExitCode, UsageError
from envcheck.probes import ProbeInterrupted, ProbeOutcome, run_probe
from envcheck.progress import NullReporter, Reporter
from envcheck.results import CheckResult, Status, exit_code_for, overall_status
from envcheck.shell import command
from envcheck.smoke import distributed, rules, stopped
from envcheck.smoke import levels as table
from envcheck.suggest import Naming
from envcheck.targets import Target

# The defaults live with the level table, which the command line reads without loading this module.
DEFAULT_DEVICE = table.DEFAULT_DEVICE
DEFAULT_EPOCHS = table.DEFAULT_EPOCHS
DEFAULT_LR = table.DEFAULT_LR
DEFAULT_SEED = table.DEFAULT_SEED
DEFAULT_TIMEOUT = table.DEFAULT_TIMEOUT
MAX_SEED = table.MAX_SEED


@dataclass(frozen=True)
class SmokeOptions:
    levels: tuple[str, ...] = field(default_factory=table.names)
    seed: int = DEFAULT_SEED
    epochs: int = DEFAULT_EPOCHS
    lr: float = DEFAULT_LR
    device: str = DEFAULT_DEVICE
    plot: Path | None = None
    compare_cpu: bool = True
    timeout: float = DEFAULT_TIMEOUT
    strategy: str | None = None  # "mirrored": every local device of the kind
    workers: int = 0  # N > 0: N loopback workers under MultiWorkerMirroredStrategy
    cluster: distributed.ClusterSpec | None = None  # this process is one worker of a real cluster
    join_timeout: float = distributed.DEFAULT_JOIN_TIMEOUT

    @property
    def mode(self) -> str:
        """``levels`` (the single-process levels), ``mirrored``, ``workers`` or ``cluster``."""
        if self.strategy:
            return self.strategy
        if self.workers:
            return "workers"
        return "cluster" if self.cluster is not None else "levels"


def make_options(
    levels: list[str] | None = None,
    *,
    seed: int = DEFAULT_SEED,
    epochs: int = DEFAULT_EPOCHS,
    lr: float = DEFAULT_LR,
    device: str = DEFAULT_DEVICE,
    plot: Path | None = None,
    compare_cpu: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    strategy: str | None = None,
    workers: int | None = None,
    cluster: bool = False,
    environ: Mapping[str, str] | None = None,
) -> SmokeOptions:
    """Validated options: every value is checked here, so nothing out of range reaches the probe.

    A wrong name is a usage error that lists the valid ones. ``environ`` (default: this process's) holds the
    cluster for ``cluster``: TF_CONFIG or a Slurm job step.
    """
    chosen: list[str] = []
    valid = table.names()
    for level in levels or valid:
        name = level.strip().lower()
        if name not in valid:
            raise UsageError(f"unknown level {level!r}; valid levels: {', '.join(valid)}")
        if name not in chosen:
            chosen.append(name)
    if device.lower() not in table.DEVICES:
        raise UsageError(f"unknown device {device!r}; valid devices: {', '.join(table.DEVICES)}")
    if not 1 <= epochs <= table.MAX_EPOCHS:
        raise UsageError(f"--epochs must be between 1 and {table.MAX_EPOCHS}, not {epochs}")
    if not (math.isfinite(lr) and lr > 0):
        raise UsageError(f"--lr must be a positive finite number, not {lr}")
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed must be between 0 and {MAX_SEED}, not {seed}")
    if not (math.isfinite(timeout) and 1 <= timeout <= table.MAX_TIMEOUT):
        raise UsageError(f"--timeout must be a number of seconds from 1 to {table.MAX_TIMEOUT:g}, not {timeout}")
    mode = _distributed_mode(levels, plot, strategy, workers, cluster)
    if mode == "levels" and device.lower() == "gpu" and not any(lv in table.tensorflow_names() for lv in chosen):
        raise UsageError(
            "--device gpu needs a TensorFlow level; the scratch level runs in NumPy on the CPU",
            "add --level tape (or any TensorFlow level), or drop --device gpu",
        )
    spec = distributed.cluster_from_environment(os.environ if environ is None else environ) if cluster else None
    return SmokeOptions(
        levels=tuple(level.name for level in table.chosen(chosen)) if mode == "levels" else (),
        seed=seed,
        epochs=epochs,
        lr=lr,
        device=device.lower(),
        plot=plot.expanduser().absolute() if plot is not None else None,
        compare_cpu=compare_cpu,
        timeout=timeout,
        strategy=strategy.lower() if strategy else None,
        workers=workers or 0,
        cluster=spec,
        # a join that fails must be reported before --timeout stops the whole training
        join_timeout=min(distributed.DEFAULT_JOIN_TIMEOUT, timeout * 0.75),
    )


def _distributed_mode(
    levels: list[str] | None, plot: Path | None, strategy: str | None, workers: int | None, cluster: bool
) -> str:
    """Which distributed mode the options ask for; they exclude each other and the single-process levels."""
    asked = [
        name
        for name, given in (
            ("--strategy", strategy is not None),
            ("--workers", workers is not None),
            ("--cluster", cluster),
        )
        if given
    ]
    if len(asked) > 1:
        raise UsageError(f"{' and '.join(asked)} cannot be used together", "pick one way to distribute the training")
    if strategy is not None and strategy.lower() not in distributed.STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}; valid strategies: {', '.join(distributed.STRATEGIES)}")
    if workers is not None and not 2 <= workers <= distributed.MAX_WORKERS:
        raise UsageError(f"--workers must be between 2 and {distributed.MAX_WORKERS}, not {workers}")
    if asked and levels:
        raise UsageError(f"--level cannot be used with {asked[0]}", f"{asked[0]} trains the batch-N run of its own")
    if asked and plot is not None:
        raise UsageError(f"--plot cannot be used with {asked[0]}")
    return "distributed" if asked else "levels"


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
        return [got.get(name) or {"name": name, "status": "missing"} for name in run_names(self.options)]

    def payload(self) -> dict[str, Any]:
        """The command-specific part of the JSON envelope."""
        facts = self.facts
        runs = []
        for run in self.runs:
            item = {key: value for key, value in run.items() if key != "traceback"}
            item["device"] = rules.placement_summary(run) if run.get("status") == "ok" else None
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
                "mode": self.options.mode,
                "strategy": self.options.strategy,
                "workers": self.options.workers or None,
                "cluster": self.options.cluster.to_json() if self.options.cluster else None,
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
                "sse": rules.SSE_THRESHOLD,
                "mse": rules.MSE_THRESHOLD,
                "gradient_relative": rules.GRADIENT_TOLERANCE,
                "trajectory_abs": rules.TRAJECTORY_TOLERANCE,
                "gpu_vs_cpu_abs": rules.GPU_CPU_TOLERANCE,
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
            "distributed": self.distributed(),
            "duration": round(self.duration, 3),
        }

    def distributed(self) -> dict[str, Any] | None:
        """Workers, addresses and replicas of a distributed run (without the weights, which are in runs)."""
        mode = self.options.mode
        if mode == "levels":
            return None
        info = self.facts.get("distributed") or {}
        workers = [
            {
                "index": w.get("index"),
                "address": w.get("address"),
                "joined": bool(w.get("joined")),
                "status": (w.get("run") or {}).get("status"),
                "replicas_in_sync": (w.get("run") or {}).get("replicas_in_sync"),
                "collective_s_per_step": (w.get("run") or {}).get("collective_s_per_step"),
            }
            for w in distributed.worker_results(self.facts, mode)
        ]
        joined = sum(1 for w in workers if w["joined"])
        if mode != "workers":  # one process: it joined when every worker (or device) did
            joined = (info.get("expected_workers") or 1) if joined else 0
        return {
            "mode": mode,
            "strategy": info.get("strategy"),
            "source": info.get("source"),
            "task": info.get("task"),
            "chief": self.options.cluster.is_chief if self.options.cluster else None,
            "expected_workers": info.get("expected_workers") or (self.options.workers or 1),
            # every worker's report could say it; the chief's is the one a cluster's user reads
            "workers_joined": joined,
            "devices": info.get("devices"),
            "gpus": info.get("gpus"),  # a cluster worker's share of its node's GPUs
            "stopped": info.get("stopped"),  # Slurm ended this task: the signal and the job's state
            "failures": info.get("failures") or [],
            "workers": workers,
        }


def run_names(options: SmokeOptions) -> list[str]:
    """The runs the options ask for, in display order."""
    if options.mode == "levels":
        return table.run_names(options.levels)
    return [table.SCRATCH_BATCH_ALL, distributed.run_name(options.mode)]


def smoke_train(target: Target, options: SmokeOptions, reporter: Reporter | None = None) -> SmokeReport:
    """Train at every requested level inside ``target`` and judge the results.

    Raises EnvironmentUnusableError when the target's python cannot start the probe at all.
    """
    reporter = reporter or NullReporter()
    started = time.monotonic()
    python = target.python
    if not python.exists():
        prefix = target.prefix if target.origin == "prefix" else None
        rebuild = Naming.of(target.profile, prefix).setup("--recreate")
        raise EnvironmentUnusableError(
            f"no python interpreter at {python}", f"recreate the environment with: {rebuild}"
        )
    payload = {
        "levels": table.probe_rows(options.levels),
        "seed": options.seed,
        "epochs": options.epochs,
        "lr": options.lr,
        "device": options.device,
        "plot": str(options.plot) if options.plot else None,
        "compare_cpu": options.compare_cpu,
        "mode": options.mode,
    }
    phase = f"train the reference network ({', '.join(options.levels)}) with {python}"
    if options.mode != "levels":
        phase = _distributed_phase(options, python)
        payload.update(
            workers=options.workers,
            join_timeout=options.join_timeout,
            collective_timeout=distributed.COLLECTIVE_TIMEOUT,
            run=table.DISTRIBUTED_RUNS[options.mode].to_probe(),
            reference_run=_reference_run(),
        )
        if options.cluster is not None and options.cluster.slurm is not None:
            payload["slurm"] = options.cluster.slurm.to_json()
    if options.cluster is not None and options.cluster.addresses:
        _refuse_unresolved_hosts(options.cluster, options.join_timeout, reporter)
    reporter.phase(phase)
    try:
        outcome = run_probe(python, "smoke_train", payload, timeout=options.timeout)
    except ProbeInterrupted as interrupted:
        if not stopped.ended_by_slurm(options.cluster):
            raise  # Ctrl-C, or a signal outside a Slurm step: the command is interrupted
        return _stopped_report(target, options, interrupted.data or {}, started)
    if stopped.ended_by_slurm(options.cluster):  # Slurm's SIGTERM ended the probe (stopped.finishing_signals)
        return _stopped_report(target, options, outcome.data or {}, started)
    report = _report(target, options, outcome, reporter, phase, started)
    if stopped.ended_by_slurm(options.cluster):  # it came while the answer was read: the report says so
        return _stopped_report(target, options, outcome.data or {}, started)
    return report


def _report(
    target: Target, options: SmokeOptions, outcome: ProbeOutcome, reporter: Reporter, phase: str, started: float
) -> SmokeReport:
    """The report of a probe that ran to its end (or crashed, or ran out of time)."""
    python = target.python
    if outcome.data is None and not _died(outcome):
        raise _unusable(python, outcome)
    facts = dict(outcome.data or {})
    reporter.done(phase, "" if outcome.ok else f"(the probe {outcome.completed.describe_exit()})", ok=outcome.ok)
    for line in outcome.completed.stderr.splitlines():
        reporter.line(line)

    checks: list[CheckResult] = []
    probe_check = _probe_check(outcome, facts, options.timeout, options.mode)
    if probe_check is not None:
        checks.append(probe_check)
    missing = probe_check.detail if probe_check is not None else "the probe stopped before this run"
    plot = str(options.plot) if options.plot else None
    if options.mode == "levels":
        checks.extend(
            rules.evaluate(facts, levels=options.levels, device=options.device, plot=plot, missing_reason=missing)
        )
    else:
        checks.extend(_distributed_checks(facts, options, missing))
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


def _refuse_unresolved_hosts(spec: distributed.ClusterSpec, within: float, reporter: Reporter) -> None:
    """Every host of TF_CONFIG's cluster must resolve before TensorFlow starts: it would wait for the whole time
    limit on one that never does. A peer not yet named (its pod not ready) has the join time to appear."""
    phase = f"resolve the cluster's {len(spec.addresses)} host(s)"
    reporter.phase(phase)
    missing = distributed.unresolved(spec.addresses, within=within)
    if missing:
        reporter.done(phase, f"{len(missing)} do not resolve", ok=False)
        raise UsageError(
            f"TF_CONFIG names host(s) that do not resolve on this machine after {within:g} s: {', '.join(missing)}",
            "check the host names in TF_CONFIG's cluster (every worker lists the same ones)",
        )
    reporter.done(phase)


def _distributed_phase(options: SmokeOptions, python: Path) -> str:
    if options.mode == "mirrored":
        return f"train with MirroredStrategy over the local devices (--device {options.device}) with {python}"
    if options.mode == "workers":
        return f"train with {options.workers} workers on 127.0.0.1 (MultiWorkerMirroredStrategy) with {python}"
    spec = options.cluster
    assert spec is not None
    return f"train as {spec.task_type} {spec.task_index} of {spec.num_workers} ({spec.source}) with {python}"


def _distributed_checks(facts: dict[str, Any], options: SmokeOptions, missing: str) -> list[CheckResult]:
    """The device asked for, the single-process reference and the distributed run, then the distributed rules."""
    checks: list[CheckResult] = []
    device = rules.check_requested_device(facts, options.device, table.tensorflow_names())
    if device is not None:
        checks.append(device)
    runs = facts.get("runs") or {}
    for name in run_names(options):
        run = runs.get(name) or {"name": name, "status": "missing", "error": f"not run: {missing}"}
        if name != table.SCRATCH_BATCH_ALL and run.get("status") != "ok" and options.mode == "workers":
            continue  # each worker's own failure is named by distributed.workers
        checks.append(rules.check_converged(run))
    if facts.get("device_error"):
        return checks
    checks.extend(distributed.evaluate(facts, mode=options.mode, workers=options.workers or 1))
    return checks


def _stopped_report(target: Target, options: SmokeOptions, facts: dict[str, Any], started: float) -> SmokeReport:
    """The report of a cluster worker that Slurm stopped: what happened to the job, which peer is gone."""
    assert options.cluster is not None
    number = runner.stopping_signal()
    assert number is not None
    signal_name = signal.Signals(number).name
    run = distributed.run_name(options.mode)
    with runner.cleaning_up():  # a report, not "interrupted": scontrol may run although a signal came
        facts, why = stopped.stopped_facts(facts, options.cluster, signal_name, run)
    checks = [why, *_distributed_checks(facts, options, f"Slurm stopped this task ({signal_name})")]
    return SmokeReport(
        python=str(target.python),
        prefix=str(target.prefix) if target.prefix else None,
        profile=target.profile.name,
        origin=target.origin,
        options=options,
        facts=facts,
        checks=tuple(checks),
        duration=time.monotonic() - started,
        probe_seconds=time.monotonic() - started,
    )


def _reference_run() -> dict[str, str]:
    """The single-process run every distributed run must match, as the probe trains it."""
    run = table.find_run(table.SCRATCH_BATCH_ALL)
    assert run is not None  # a row of the table
    return run.to_probe()


def _died(outcome: ProbeOutcome) -> bool:
    """Killed by a signal or by the timeout: a verdict on the environment, not a failure to start."""
    completed = outcome.completed
    return completed.timed_out or completed.signal_number is not None


def _probe_check(outcome: ProbeOutcome, facts: dict[str, Any], timeout: float, mode: str) -> CheckResult | None:
    completed = outcome.completed
    if completed.ok and facts.get("complete"):
        return None
    if facts.get("complete") and facts.get("ended_by") == "join-watch":
        return None  # a cluster worker's join watch ended it, and its answer names the peer to blame
    last = next((line for line in reversed(completed.stderr.splitlines()) if line.strip()), "")
    data = {"returncode": completed.returncode, "signal": completed.signal_name, "timed_out": completed.timed_out}
    if completed.timed_out:
        return CheckResult(
            "smoke.probe",
            Status.FAIL,
            f"training did not finish within {timeout:g} s (the probe was stopped)",
            # --level is refused with --strategy, --workers and --cluster: a distributed run has its own hint
            hint="raise --timeout, or train fewer levels with --level"
            if mode == "levels"
            else "raise --timeout; every worker waits for all the others: check that each one was started and"
            " that the addresses and ports in its cluster are the right ones",
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
    because = f": {outcome.refused or said.strip()}" if outcome.refused or said else ""
    return EnvironmentUnusableError(
        f"{python} cannot run envcheck's training probe (it {outcome.completed.describe_exit()}){because}",
        f"check that it is a working Python 3.8 or later: {command(python, '-c', 'import sys; print(sys.version)')}",
    )
