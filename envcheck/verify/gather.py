"""Gathering verify's evidence: the probes run by the target's own python, ``pip check``, ``nvidia-smi``, the
kernel probe, a conda prefix's files and the lock, bundled into one ``Evidence`` for the rules to judge.

One probe process imports everything and does a little real work; `pip check`, `nvidia-smi` and a real Jupyter
kernel start run beside it, at a lower priority (on two cores they would otherwise take turns with the probe
that the command waits for), so the whole takes about as long as importing the stack once. A probe that crashes
or hangs is a finding: the unfinished packages are then probed one process each to name the culprit. Each
probe's answer is read once into typed records (``envcheck.verify.answers``), its schema version checked.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from envcheck import runner, shell
from envcheck.completion import Marker, SetupNote, previous_environment, read_marker, read_note
from envcheck.errors import EnvcheckError, EnvironmentUnusableError
from envcheck.exclusive import busy_error, working_on
from envcheck.kernels import kernel_name as environment_kernel
from envcheck.kernels import runs_environment, wants_kernel
from envcheck.locations import OWNER_NAME, environment_around, find_uv
from envcheck.probes import ProbeOutcome, run_probe
from envcheck.profiles.profile import Profile
from envcheck.progress import Reporter
from envcheck.suggest import Naming, profile_args
from envcheck.targets import Target
from envcheck.verify.answers import (
    ENVIRONMENT_SCHEMA,
    EnvironmentAnswer,
    ImportsAnswer,
    KernelAnswer,
    check_schema,
    read_environment,
    read_imports,
    read_kernel,
)
from envcheck.verify.checks.nvidia import NVIDIA_SMI_QUERY
from envcheck.verify.condafacts import gather as gather_conda
from envcheck.verify.condafacts import is_conda_prefix
from envcheck.verify.evidence import (
    PATH_VARIABLES,
    CondaFacts,
    EnvState,
    Evidence,
    LockFacts,
    ProbeFault,
    ProgramOutput,
    loading_variables,
)

PIP_CHECK_TIMEOUT = 120.0  # caps, within the command's own limit
NVIDIA_SMI_TIMEOUT = 30.0
ALONE_MINIMUM = 1.0  # seconds worth starting a package's own probe for, after the combined one stopped
DEFAULT_KERNEL = "python3"  # what Jupyter opens a new notebook with
NVIDIA_SMI_FIRST = 5.0  # how long the probe waits for nvidia-smi's memory reading before it starts
WSL_NVIDIA_SMI = Path("/usr/lib/wsl/lib/nvidia-smi")  # WSL2's, from the Windows driver; often not on PATH


def gather(
    target: Target,
    *,
    timeout: float,
    kernel: bool,
    lock: Path | None,
    reporter: Reporter,
) -> Evidence:
    """Every fact verify's rules judge about ``target``, every child within ``timeout`` seconds in all.

    Raises EnvironmentUnusableError when the target's python cannot run the probe at all, ProbeVersionError
    when a probe answers in another schema than this envcheck reads, UsageError for an unreadable --lock.
    """
    deadline = runner.Deadline.after(timeout)
    _refuse_while_changing(target)
    lock_facts = _lock_facts(target, lock)  # a lock named but unreadable is a usage error before any probe
    profile = target.profile
    python = target.python
    packages = [
        {"name": p.name, "import": p.import_name, **({"discover": True} if p.discover else {})}
        for p in profile.packages
        if p.import_name
    ]
    smi = shutil.which("nvidia-smi") or _wsl_nvidia_smi()
    note = read_note(target.prefix) if target.prefix is not None and target.marker is None else None
    made = target.marker or note
    home = target.prefix or _home_of(python)
    kernel_name = environment_kernel(profile, recorded=made.kernel if made else None, prefix=home)
    without_kernel = made is not None and wants_kernel(profile) and _no_kernel(made)
    run_kernel = kernel and wants_kernel(profile) and not without_kernel
    shell = loading_variables(os.environ)
    shell_env = _shell_environment(shell)

    reporter.phase(f"examine {python}")
    with ThreadPoolExecutor(max_workers=5, thread_name_prefix="envcheck-verify") as pool:
        smi_future: Future[runner.Completed] | None = pool.submit(_nvidia_smi, smi, deadline) if smi else None
        if smi_future is not None:
            # GPU memory is read before the probe's TensorFlow takes its own share (nvidia-smi answers in well
            # under a second; a hung driver does not hold the rest up for long)
            wait([smi_future], timeout=min(NVIDIA_SMI_FIRST, deadline.remaining()))
        main_future = pool.submit(
            run_probe, python, "environment", {"packages": packages}, timeout=deadline.remaining()
        )
        pip_future = pool.submit(_pip_check, python, deadline)
        kernel_future: Future[ProbeOutcome] | None = None
        if run_kernel:
            # the kernel probe gives up a little before its process is stopped, so that it can say where
            payload = {"kernel_name": kernel_name, "timeout": max(1.0, min(timeout - 10.0, timeout * 0.8))}
            kernel_future = pool.submit(
                run_probe, python, "kernel", payload, timeout=deadline.remaining(), background=True
            )
        shell_future: Future[ProbeOutcome] | None = None
        if shell_env is not None:
            # only when the shell has PYTHONPATH or PYTHONHOME: the usual run stays one import of the stack
            modules = {
                "modules": list(dict.fromkeys(p["import"] for p in packages if not p.get("discover"))),
                "discover": [{"name": p["name"], "import": p["import"]} for p in packages if p.get("discover")],
            }
            shell_future = pool.submit(
                run_probe,
                python,
                "imports",
                modules,
                timeout=deadline.remaining(),
                env=shell_env,
                isolated=False,
                background=True,
            )
        outcome = main_future.result()
        if outcome.data is None:
            raise _unusable(python, outcome)
        check_schema("environment", outcome.data, ENVIRONMENT_SCHEMA)
        probe = dict(outcome.data)
        profile, packages = _as_provided(profile, packages, probe.get("provides"))
        probe["environ"] = users_settings(probe.get("environ") or {})
        faults: list[ProbeFault] = []
        stderr = [outcome.completed.stderr]
        if not probe.get("complete"):
            faults.append(_fault("environment", probe, outcome.completed, timeout))
            reporter.done(f"examine {python}", f"the probe {faults[0].what} during {faults[0].stage}")
            reporter.phase("probe each unfinished package on its own")
            alone = _probe_alone(python, packages, probe, deadline)
            for name, each in alone.items():
                stderr.append(each.completed.stderr)
                if each.data is not None:
                    check_schema("environment", each.data, ENVIRONMENT_SCHEMA)
                _merge(probe, name, each.data or {})
                if not (each.data or {}).get("complete"):
                    faults.append(_fault(name, each.data or {}, each.completed, timeout))
            reporter.done("probe each unfinished package on its own", f"{len(alone)} probed")
        else:
            reporter.done(f"examine {python}")
        pip = pip_future.result()
        nvidia = smi_future.result() if smi_future is not None else None
        kernel_outcome = kernel_future.result() if kernel_future is not None else None
        shell_outcome = shell_future.result() if shell_future is not None else None

    for text in stderr:
        for line in text.splitlines():
            reporter.line(line)
    answer = read_environment(probe)
    env_state, same_prefix = _environment_state(target, answer, note)
    kernel_answer = _kernel_answer(kernel_outcome)
    return Evidence(
        profile=profile,
        python=str(python),
        probe=answer,
        env=env_state,
        origin=target.origin,
        same_prefix=same_prefix,
        faults=tuple(faults),
        stderr="\n".join(stderr),
        probe_seconds=outcome.completed.duration,
        pip_check=_output(pip[0]),
        pip_check_tool=pip[1],
        nvidia_smi=_output(nvidia) if nvidia is not None else None,
        kernel=kernel_answer,
        kernel_fault=_kernel_fault(kernel_outcome, timeout),
        kernel_name=kernel_name,
        no_kernel=without_kernel,
        kernel_owners=_kernel_owners(kernel_answer, (kernel_name, DEFAULT_KERNEL), home),
        profile_args=profile_args(profile),
        timeout=timeout,
        conda=_conda_facts(target, python, answer),
        shell=shell,
        shell_probe=_shell_answer(shell_outcome),
        shell_probe_failure=_shell_failure(shell_outcome),
        lock=lock_facts,
    )


# ---------------------------------------------------------------------------------------------- probes


def _as_provided(
    profile: Profile, packages: list[dict[str, Any]], provides: Any
) -> tuple[Profile, list[dict[str, Any]]]:
    """The profile with the modules its distributions really provide where it could only guess them (the probe
    read their records): ``protobuf`` imports as ``google.protobuf``, a CUDA library wheel as nothing."""
    if not isinstance(provides, Mapping) or not provides:
        return profile, packages
    modules: dict[str, str | None] = {}
    for name, found in provides.items():
        if isinstance(found, Mapping) and isinstance(found.get("modules"), list):
            modules[str(name)] = str(found["modules"][0]) if found["modules"] else None
    changed = tuple(
        dataclasses.replace(p, import_name=modules[p.name]) if p.discover and p.name in modules else p
        for p in profile.packages
    )
    packages = [
        {**entry, "import": modules[entry["name"]]} if entry["name"] in modules else entry
        for entry in packages
        if modules.get(entry["name"], entry["import"])
    ]
    return dataclasses.replace(profile, packages=changed), packages


def _kernel_answer(outcome: ProbeOutcome | None) -> KernelAnswer | None:
    return read_kernel(outcome.data) if outcome is not None and outcome.data is not None else None


def _shell_answer(outcome: ProbeOutcome | None) -> ImportsAnswer | None:
    return read_imports(outcome.data) if outcome is not None and outcome.data is not None else None


def _unusable(python: Path, outcome: ProbeOutcome) -> EnvironmentUnusableError:
    said = next((s for s in reversed(outcome.completed.stderr.splitlines()) if s.strip()), "")
    because = f": {outcome.refused or said.strip()}" if outcome.refused or said else ""
    return EnvironmentUnusableError(
        f"{python} cannot run envcheck's probe (it {outcome.completed.describe_exit()}){because}",
        f"check that it is a working Python 3.8 or later: {shell.command(python, '-c', 'import sys; print(sys.version)')}",
    )


def _fault(scope: str, answer: Mapping[str, Any], completed: runner.Completed, timeout: float) -> ProbeFault:
    exit_text = completed.describe_exit()
    if completed.returncode == 0:
        exit_text = "exited before finishing"
    return ProbeFault(
        scope=scope,
        stage=answer.get("stage") or "start-up",
        exit=exit_text,
        signal=completed.signal_name,
        timed_out=completed.timed_out,
        timeout=timeout if completed.timed_out else None,
    )


def _probe_alone(
    python: Path, packages: list[dict[str, Any]], answer: Mapping[str, Any], deadline: runner.Deadline
) -> dict[str, ProbeOutcome]:
    """After a crash or a hang: each package the combined probe did not finish, in a process of its own,
    within what is left of the command's time (after a hang that used it all, none is probed)."""
    finished = set(answer.get("finished") or ())
    pending = [p["import"] for p in packages if p["import"] not in finished]
    pending = list(dict.fromkeys(pending))
    if not pending or deadline.remaining() < ALONE_MINIMUM:
        return {}
    workers = max(1, min(len(pending), os.cpu_count() or 2, 4))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="envcheck-alone") as pool:
        futures = {
            name: pool.submit(
                run_probe,
                python,
                "environment",
                {"packages": packages, "only": [name]},
                timeout=deadline.remaining(),
            )
            for name in pending
        }
        return {name: future.result() for name, future in futures.items()}


def _merge(probe: dict[str, Any], name: str, alone: Mapping[str, Any]) -> None:
    """Fold one package's own probe into the combined answer (the combined answer's facts stay first)."""
    imports = probe.setdefault("imports", {})
    if name in (alone.get("imports") or {}):
        imports[name] = alone["imports"][name]
    for section in ("facts", "work"):
        target = probe.setdefault(section, {})
        for key, value in (alone.get(section) or {}).items():
            if key not in target or section == "work":
                target[key] = value
            elif isinstance(value, dict):
                target[key] = {**value, **target[key]}
    if alone.get("complete"):
        probe.setdefault("finished", []).append(name)


def _shell_environment(shell: Mapping[str, str]) -> dict[str, str] | None:
    """The variables a python started from the user's shell gets and the probes do not; None when none is set."""
    if not any(shell.get(name) for name in PATH_VARIABLES):
        return None
    env = {name: shell[name] for name in PATH_VARIABLES if shell.get(name)}
    # the runner turns the user site off for every child; an empty value turns it back to the user's own choice
    env["PYTHONNOUSERSITE"] = shell.get("PYTHONNOUSERSITE", "")
    return env


def _shell_failure(outcome: ProbeOutcome | None) -> str | None:
    if outcome is None or outcome.data is not None:
        return None
    said = next((s.strip() for s in reversed(outcome.completed.stderr.splitlines()) if s.strip()), "")
    return f"python {outcome.completed.describe_exit()}" + (f": {said}" if said else "")


def _kernel_fault(outcome: ProbeOutcome | None, timeout: float) -> ProbeFault | None:
    if outcome is None or (outcome.data or {}).get("complete"):
        return None
    return _fault("kernel", outcome.data or {}, outcome.completed, timeout)


def _pip_check(python: Path, deadline: runner.Deadline) -> tuple[runner.Completed, str]:
    """`pip check` with the environment's pip; `uv pip check` where the environment has no pip."""
    quiet = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    completed = runner.run(
        [str(python), "-m", "pip", "check"], timeout=deadline.remaining(PIP_CHECK_TIMEOUT), env=quiet, background=True
    )
    if completed.returncode != 0 and "No module named pip" in completed.stderr:
        try:
            uv = find_uv()
        except EnvcheckError:
            return completed, "pip"
        argv = [str(uv), "pip", "check", "--python", str(python)]
        return runner.run(argv, timeout=deadline.remaining(PIP_CHECK_TIMEOUT), background=True), "uv pip"
    return completed, "pip"


def _output(completed: runner.Completed) -> ProgramOutput:
    """A program's result as the rules read it."""
    return ProgramOutput(
        completed.returncode, completed.stdout, completed.stderr, completed.duration, completed.timed_out
    )


def _wsl_nvidia_smi() -> str | None:
    return str(WSL_NVIDIA_SMI) if os.access(WSL_NVIDIA_SMI, os.X_OK) else None


def _nvidia_smi(executable: str, deadline: runner.Deadline) -> runner.Completed:
    argv = [executable, f"--query-gpu={NVIDIA_SMI_QUERY}", "--format=csv,noheader"]
    completed = runner.run(argv, timeout=deadline.remaining(NVIDIA_SMI_TIMEOUT))
    if not completed.ok and "compute_cap" in completed.stdout + completed.stderr:
        # drivers before 510 do not know the compute_cap field: ask without it
        older_argv = [executable, argv[1].replace(",compute_cap", ""), argv[2]]
        older = runner.run(older_argv, timeout=deadline.remaining(NVIDIA_SMI_TIMEOUT))
        lines = [f"{line}, [N/A]" for line in older.stdout.splitlines() if line.strip()]
        return dataclasses.replace(older, stdout="\n".join(lines) + ("\n" if lines else ""))
    return completed


# ---------------------------------------------------------------------------------------------- host facts


def users_settings(seen: Mapping[str, str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings the probe saw, with envcheck's own (PYTHONNOUSERSITE for its probes) put back as the user
    has them: the report describes the user's environment, not the one envcheck made for its children."""
    environ = os.environ if environ is None else environ
    settings = dict(seen)
    for name in runner.OWN_VARIABLES:
        if name not in settings:
            continue  # a variable the probe does not report
        if name in environ:
            settings[name] = environ[name]
        else:
            settings.pop(name, None)
    return settings


def _environment_state(
    target: Target, probe: EnvironmentAnswer, note: SetupNote | None = None
) -> tuple[EnvState, bool | None]:
    """The environment's folder (named, or found around the interpreter) and whether the probe ran from it."""
    prefix = target.prefix or environment_around(Path(target.python))
    if prefix is None:
        return EnvState(), None
    marker = target.marker or read_marker(prefix)
    previous = previous_environment(prefix) if marker is None else None
    state = EnvState(
        prefix=str(prefix),
        owned=(prefix / OWNER_NAME).is_file(),
        marker=marker,
        note=note if marker is None else None,
        previous=str(previous) if previous is not None else None,
    )
    ran_from = probe.interpreter.prefix
    if not ran_from:
        return state, None
    try:
        return state, os.path.samefile(prefix, ran_from)
    except OSError:
        return state, False


def _home_of(python: Path) -> Path:
    """The environment an interpreter named with --python belongs to (its prefix), for naming its kernel."""
    return environment_around(python) or python.parent.parent


def _no_kernel(made: Marker | SetupNote) -> bool:
    """Set up without a kernel on purpose: --no-kernel (a marker from before the field: no kernel recorded)."""
    return made.no_kernel or (isinstance(made, Marker) and made.kernel is None)


def _kernel_owners(answer: KernelAnswer | None, names: tuple[str, ...], home: Path) -> dict[str, str]:
    """Of the kernels ``names``: those whose program exists and lives in another environment than ``home``, with
    that environment's folder. A command that registers such a name would take that environment's kernel."""
    owners: dict[str, str] = {}
    if answer is None:
        return owners
    for name in names:
        found = (answer.specs or {}).get(name) or (answer.spec if name == names[0] else None)
        program = (found.argv0_resolved or found.argv0) if found is not None else None
        if not program or not os.path.isabs(program) or not os.path.exists(program):
            continue
        if runs_environment(Path(program), home):
            continue
        owner = environment_around(Path(program))
        if owner is not None:
            owners[name] = str(owner)
    return owners


def _refuse_while_changing(target: Target) -> None:
    """verify does not judge an environment that setup (or verify --fix) is changing right now: it would see it
    half-built and send the user to rebuild it."""
    if target.prefix is None:
        return
    who = working_on(target.prefix)
    if who is not None:
        naming = Naming.of(target.profile, target.prefix if target.origin != "default" else None)
        raise busy_error(target.prefix, who, then=naming.verify())


def _conda_facts(target: Target, python: Path, probe: EnvironmentAnswer) -> CondaFacts | None:
    """A conda prefix's files, read for the conda checks; None for any other target."""
    if target.prefix is None or not is_conda_prefix(target.prefix):
        return None
    return gather_conda(target.prefix, python, probe.interpreter.prefix)


def _lock_facts(target: Target, named: Path | None) -> LockFacts | None:
    """The lock named with --lock, else the one setup recorded in the marker (which may have moved since)."""
    from envcheck.lock.pylock import LockError, read_lock

    marker = target.marker
    recorded = marker.lock if marker is not None else None
    path = named if named is not None else (Path(recorded) if recorded else None)
    if path is None:
        return None
    sources: dict[str, Any] = {}
    if marker is not None and marker.lock:
        sources = {"find_links": tuple(marker.find_links), "offline": marker.offline}
    try:
        lock = read_lock(path)
    except LockError as exc:
        if named is not None:
            raise
        digest = marker.lock_digest if marker is not None else None
        return LockFacts(path=str(path), digest=digest, lock=None, problem=exc.message, **sources)
    return LockFacts(path=str(lock.path), digest=lock.digest, lock=lock, **sources)
