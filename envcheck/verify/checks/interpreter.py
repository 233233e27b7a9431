"""Interpreter checks: the Python version and build, its prefix, the environment's completeness, the probe."""

from __future__ import annotations

import os
from pathlib import Path

from envcheck.results import CheckResult, Status
from envcheck.suggest import Naming, restore_command
from envcheck.verify.checks.common import command, crash_hint, interaction_hint, result, setup_command
from envcheck.verify.checks.registry import INTERPRETER, check
from envcheck.verify.evidence import Evidence, as_version
from envcheck.verify.remedy import advice


@check("python.version", group=INTERPRETER, order=10)
def check_python_version(ev: Evidence) -> CheckResult:
    """The environment's Python lies within the profile's range for this platform (`python` in the
    profile; a narrower range where a marker holds, e.g. Apple silicon). TensorFlow publishes wheels for a few
    CPython versions only, so a Python outside the range cannot hold the stack.

    Fix: build the environment again with a Python in the range: `envcheck setup --python 3.12 --recreate` (the
    hint names the newest version the range allows)."""
    version = as_version(ev.interpreter.version)
    wanted = ev.profile.python_for(ev.markers)
    if version is None:
        return result("python.version", Status.SKIP, "the probe did not report the interpreter")
    if not str(wanted) or wanted.contains(version, prereleases=True):
        where = f" (profile: {wanted})" if str(wanted) else ""
        return result("python.version", Status.PASS, f"Python {version}{where}", version=str(version))
    candidates = [f"3.{minor}" for minor in range(20, 7, -1) if wanted.contains(f"3.{minor}.0", prereleases=True)]
    pick = candidates[0] if candidates else "3.12"
    recreate = ("--recreate",) if ev.env.owned else ()
    return result(
        "python.version",
        Status.FAIL,
        f"Python {version} is outside the profile's range {wanted}",
        advice(f"make an environment with a supported Python: {setup_command(ev, '--python', pick, *recreate)}"),
        version=str(version),
    )


@check("python.bits", group=INTERPRETER, order=20)
def check_python_bits(ev: Evidence) -> CheckResult:
    """The interpreter is a 64-bit build: TensorFlow publishes 64-bit wheels only.

    Fix: install a 64-bit Python and build with it: `envcheck setup --python PATH-TO-64-BIT-PYTHON`."""
    bits = ev.interpreter.bits
    if bits is None:
        return result("python.bits", Status.SKIP, "the probe did not report the interpreter")
    if bits == 64:
        return result("python.bits", Status.PASS, f"64-bit ({ev.interpreter.machine or 'unknown machine'})")
    return result(
        "python.bits",
        Status.FAIL,
        f"{bits}-bit Python: TensorFlow publishes 64-bit wheels only",
        advice(f"install a 64-bit Python, then: {setup_command(ev, '--python', 'PATH-TO-64-BIT-PYTHON')}"),
    )


@check("python.prefix", group=INTERPRETER, order=30)
def check_python_prefix(ev: Evidence) -> CheckResult:
    """`sys.prefix` of the interpreter that runs is the environment's folder. When it is not, the
    `python` found there is a link to, or a launcher of, another installation, and packages land elsewhere.

    Fix: for an environment envcheck made, `envcheck setup --recreate`; otherwise the hint prints the command
    that shows which python really runs."""
    prefix = ev.interpreter.prefix
    if prefix is None:
        return result("python.prefix", Status.SKIP, "the probe did not report sys.prefix")
    if ev.same_prefix is None or ev.env.prefix is None:
        return result("python.prefix", Status.PASS, f"sys.prefix is {prefix}", prefix=prefix)
    if ev.same_prefix:
        return result("python.prefix", Status.PASS, f"sys.prefix is the environment ({prefix})", prefix=prefix)
    hint = (
        setup_command(ev, "--recreate")
        if ev.env.owned
        else f"{command(ev, ev.python, '-c', 'import sys; print(sys.executable, sys.prefix)')} shows which python runs"
    )
    return result(
        "python.prefix",
        Status.FAIL,
        f"{ev.python} runs from {prefix}, not from the environment {ev.env.prefix}",
        advice(hint),
        prefix=prefix,
    )


@check("env.complete", group=INTERPRETER, order=40)
def check_env_complete(ev: Evidence) -> CheckResult:
    """The environment carries setup's completion marker (`envcheck-marker.json`), for the profile
    verify checks it against, and the profile has not changed since. A missing marker in a folder envcheck made
    means an earlier setup was interrupted or killed; a folder envcheck did not make is skipped.

    Fix: an incomplete environment: `envcheck setup --recreate`; a changed profile: `envcheck setup` brings it
    in line; another profile: verify with `--profile` of the marker's."""
    env = ev.env
    if env.prefix is None:
        return result("env.complete", Status.SKIP, "an interpreter was named, not an environment made by setup")
    marker = env.marker
    if marker is None:
        if env.owned and env.previous is not None:
            put_back = restore_command(env.prefix, env.previous, ev.platform)
            return result(
                "env.complete",
                Status.FAIL,
                f"incomplete: a `setup --recreate` did not finish; the previous environment is at {env.previous}",
                advice(f"put it back: {put_back}; or build anew: {setup_command(ev, '--recreate')}"),
                previous=env.previous,
            )
        if env.owned:
            return result(
                "env.complete",
                Status.FAIL,
                "incomplete: an earlier `envcheck setup` did not finish (no completion marker)",
                advice(f"rebuild it: {setup_command(ev, '--recreate')}"),
            )
        return result("env.complete", Status.SKIP, "not made by `envcheck setup` (no completion marker)")
    checked_file = os.fspath(ev.profile.source.expanduser().absolute())
    if marker.file is not None and marker.file != checked_file:
        # set up from the user's own file: only that file names it again (its stem is no profile)
        again = ("--file", marker.file) if Path(marker.file).is_file() else None
        return result(
            "env.complete",
            Status.WARN,
            f"set up from {marker.file}, checked against {ev.profile.name!r}"
            + ("" if again else f" ({marker.file} is not there any more)"),
            advice(command(ev, "envcheck", "verify", "--prefix", env.prefix, *again))
            if again
            else advice(f"check it against that file where it is now: verify --prefix {env.prefix} --file FILE"),
        )
    if marker.file is None and marker.profile != ev.profile.name:
        return result(
            "env.complete",
            Status.WARN,
            f"set up for profile {marker.profile!r}, checked against {ev.profile.name!r}",
            advice(Naming.made_by(marker, ("--profile", marker.profile), env.prefix, platform=ev.platform).verify()),
        )
    if marker.profile_digest != ev.profile.digest:
        what = f"{marker.file}" if marker.file else f"profile {marker.profile!r}"
        return result(
            "env.complete",
            Status.WARN,
            f"{what} changed since this environment was set up from it",
            advice(f"bring it in line: {setup_command(ev)}"),
        )
    when = f" on {marker.created[:10]}" if marker.created else ""
    return result("env.complete", Status.PASS, f"complete: set up by envcheck{when} for {marker.profile!r}")


@check("probe.environment", group=INTERPRETER, order=50)
def check_probe(ev: Evidence) -> CheckResult:
    """The one probe process that imports every package and does the real work finished. A probe
    that crashes (SIGILL on a CPU without AVX, SIGSEGV in a CUDA library) or hangs is a finding, not a crash of
    envcheck: every unfinished package is then probed on its own to name the culprit.

    Fix: the hint reinstalls the package that crashes on its own (`pip install --force-reinstall ...`), or,
    when each works alone, names the packages that interfere with each other."""
    main = next((f for f in ev.faults if f.scope == "environment"), None)
    if main is None:
        took = f" in {ev.probe_seconds:.1f} s" if ev.probe_seconds is not None else ""
        count = len(ev.probe.packages)
        return result("probe.environment", Status.PASS, f"one process imported {count} packages and did the work{took}")
    alone = [f for f in ev.faults if f.scope != "environment"]
    culprit = next((f for f in alone if f.stage == main.stage), alone[0] if alone else None)
    if culprit is not None:
        found = f"; on its own, {culprit.stage} {culprit.what} too"
        hint = crash_hint(ev, culprit.scope, culprit)
    else:
        found = "; on its own, each package was fine (packages interfere with each other)"
        hint = interaction_hint(ev)
    return result(
        "probe.environment",
        Status.FAIL,
        f"the probe {main.what} during {main.stage or 'start-up'}{found}",
        advice(hint),
        stage=main.stage,
        signal=main.signal,
        timed_out=main.timed_out,
    )
