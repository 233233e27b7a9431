"""Jupyter checks: the kernel is registered for this environment's python and starts in it, and the other
registered kernels still run a python that exists (the default ``python3`` one this environment's)."""

from __future__ import annotations

import ntpath
import posixpath

from envcheck.kernels import install_argv, wants_kernel
from envcheck.results import CheckResult, Status
from envcheck.verify.checks.common import (
    command,
    first_line,
    kernel_install,
    own_kernel,
    result,
    same_path,
    setup_command,
)
from envcheck.verify.checks.pipcheck import broken_dependencies
from envcheck.verify.checks.registry import JUPYTER, check
from envcheck.verify.evidence import Evidence
from envcheck.verify.remedy import advice, explained, install

# A kernel that does not start, while it is registered wrong, starts once it is registered right.
REGISTRATION = ("jupyter.kernelspec",)


@check("jupyter.kernelspec", group=JUPYTER, order=10)
def check_kernelspec(ev: Evidence) -> CheckResult | None:
    """The Jupyter kernel setup registered (`envcheck-<profile>`, or `--kernel-name`) exists
    and runs this environment's python. Skipped where the profile wants no kernel.

    Fix: register it again: `python -m ipykernel install --user --name NAME` with the environment's python (the
    hint gives the whole command), or `envcheck setup`."""
    if not wants_kernel(ev.profile):
        return None
    name = own_kernel(ev)
    if ev.no_kernel:
        return result(
            "jupyter.kernelspec",
            Status.SKIP,
            f"no kernel: set up with --no-kernel (to register one: {setup_command(ev, '--kernel-name', name)})",
        )
    answer = ev.kernel
    fault = ev.kernel_fault
    if answer is None and fault is None:
        return result("jupyter.kernelspec", Status.SKIP, "not checked")
    if answer is None or (fault is not None and answer.stage in ("import jupyter_client", "kernelspec")):
        assert fault is not None
        return result("jupyter.kernelspec", Status.FAIL, f"the kernel probe {fault.what}", kernel_install(ev))
    if answer.jupyter_client_error is not None:
        error = answer.jupyter_client_error
        return result(
            "jupyter.kernelspec",
            Status.FAIL,
            f"jupyter_client does not import: {error.type}: {first_line(error.message)}",
            install("ipykernel", explained_by=("package.ipykernel.import",)),
        )
    spec = answer.spec
    if spec is None:
        available = ", ".join(answer.available) or "none"
        managed = ev.env.marker is not None and ev.env.marker.kernel
        return result(
            "jupyter.kernelspec",
            Status.FAIL if managed else Status.WARN,
            f"kernel {name!r} is not registered (registered: {available})",
            kernel_install(ev),
        )
    argv0 = spec.argv0 or ""
    resolved = spec.argv0_resolved or argv0
    if not _runs_here(ev, resolved):
        return result(
            "jupyter.kernelspec",
            Status.FAIL,
            f"kernel {name!r} runs {argv0}, not this environment's python ({ev.python})",
            kernel_install(ev),
            argv0=argv0,
        )
    return result("jupyter.kernelspec", Status.PASS, f"kernel {name!r} runs {argv0}", argv0=argv0)


def _runs_here(ev: Evidence, program: str | None) -> bool:
    """The program sits beside this environment's python (the name typed, or the one it reports)."""
    if not program:
        return False
    path = ntpath if ev.platform == "win32" else posixpath
    executable = ev.interpreter.executable or ev.python
    folders = {path.dirname(p) for p in (ev.python, executable)}
    return any(same_path(path.dirname(program), f, ev.platform) for f in folders)


DEFAULT_KERNEL = "python3"  # what Jupyter opens a new notebook with


@check("jupyter.kernelspecs", group=JUPYTER, order=30)
def check_other_kernelspecs(ev: Evidence) -> CheckResult | None:
    """Every other registered kernel: one whose python no longer exists, and a default
    `python3` kernel that runs another python than this environment's (notebooks opened with it do not see these
    packages), are warnings.

    Fix: `python -m jupyter kernelspec remove -y NAME` for a kernel whose python is gone; register this
    environment's kernel as the default with the command the hint gives."""
    if not wants_kernel(ev.profile) or ev.kernel is None or ev.kernel.specs is None:
        return None
    own = own_kernel(ev)
    specs = {n: s for n, s in ev.kernel.specs.items() if n != own}
    findings: list[str] = []
    fixes: list[str] = []
    gone: list[str] = []
    for name, spec in sorted(specs.items()):
        argv0 = spec.argv0 or ""
        if argv0 and not spec.exists:
            absolute = posixpath.isabs(argv0) or ntpath.isabs(argv0)
            findings.append(
                f"kernel {name!r} runs {argv0}, which {'no longer exists' if absolute else 'is not on PATH'}"
            )
            fixes.append(command(ev, ev.python, "-m", "jupyter", "kernelspec", "remove", "-y", name))
            gone.append(name)
        elif name == DEFAULT_KERNEL and spec.language == "python" and argv0:
            program = spec.argv0_resolved or argv0
            if not _runs_here(ev, program):
                findings.append(
                    f"the default kernel {name!r} runs {program}, not this environment's python: notebooks opened"
                    f" with it do not see this environment's packages"
                )
                owner = ev.kernel_owners.get(name)
                # a kernel that runs another environment stays that environment's: no command repoints it
                fixes.append(
                    f"choose the kernel {own!r} in Jupyter ({name!r} runs the environment at {owner})"
                    if owner
                    else f"choose the kernel {own!r} in Jupyter, or make {name!r} this environment's:"
                    f" {command(ev, *install_argv(ev.python, name))}"
                )
    if findings:
        # other environments' kernels: which to remove or replace is the user's choice
        return result("jupyter.kernelspecs", Status.WARN, "; ".join(findings), advice("; ".join(fixes)), gone=gone)
    return result(
        "jupyter.kernelspecs",
        Status.PASS,
        f"{len(specs)} other kernel{'s' if len(specs) != 1 else ''} registered, each with a python that exists",
    )


@check("jupyter.kernel-start", group=JUPYTER, order=20)
def check_kernel_start(ev: Evidence) -> CheckResult | None:
    """A real kernel started from that kernelspec with `jupyter_client` answers, and reports
    this environment's `sys.prefix`.

    Fix: the hint: register the kernel again, or install ipykernel into the environment."""
    if not wants_kernel(ev.profile) or ev.no_kernel:
        return None
    answer = ev.kernel
    fault = ev.kernel_fault
    if answer is None and fault is None:
        return result("jupyter.kernel-start", Status.SKIP, "not checked")
    if answer is None or answer.spec is None:
        return result("jupyter.kernel-start", Status.SKIP, "no kernel to start", explained(*REGISTRATION))
    duration = answer.seconds or answer.start_seconds
    # a kernel dies at start when a package it imports is missing or broken (IPython without pygments): when
    # pip check names one of ipykernel's own dependencies, its fix is the kernel's
    broken = ("packages.pip-check",) if broken_dependencies(ev, "ipykernel") else ()
    reinstall = install("ipykernel", flags=("--force-reinstall",), explained_by=broken)
    if fault is not None:
        return result(
            "jupyter.kernel-start",
            Status.FAIL,
            f"the kernel {fault.what} while starting",
            install("ipykernel", flags=("--force-reinstall",), explained_by=(*REGISTRATION, *broken)),
        )
    if answer.start_error is not None:
        error = answer.start_error
        what = "did not start in time" if error.type == "RuntimeError" else "failed to start"
        return result(
            "jupyter.kernel-start",
            Status.FAIL,
            f"the kernel {what}: {error.type}: {first_line(error.message)}",
            reinstall,
        )
    reported = answer.prefix
    expected = ev.interpreter.prefix
    if not reported or not expected or not same_path(reported, expected, ev.platform):
        return result(
            "jupyter.kernel-start",
            Status.FAIL,
            f"the kernel runs in {reported or '(nothing printed)'}, not in {expected}",
            kernel_install(ev, explained_by=REGISTRATION),
            duration,
        )
    return result(
        "jupyter.kernel-start", Status.PASS, f"kernel started and reports sys.prefix {reported}", None, duration
    )
