"""Jupyter checks: the kernel is registered for this environment's python and starts in it."""

from __future__ import annotations

import ntpath
import posixpath

from envcheck.checks.common import (
    first_line,
    kernel_install,
    pip_install,
    result,
    same_path,
)
from envcheck.checks.evidence import Evidence
from envcheck.checks.registry import JUPYTER, check
from envcheck.profiles import Profile
from envcheck.results import CheckResult, Status


def wants_kernel(profile: Profile) -> bool:
    """Setup registers a kernel for profiles that ask for one and install ipykernel; verify checks those."""
    return profile.kernel and profile.package("ipykernel") is not None


@check("jupyter.kernelspec", group=JUPYTER, order=10)
def check_kernelspec(ev: Evidence) -> CheckResult | None:
    if not wants_kernel(ev.profile):
        return None
    name = ev.kernel_name or ev.profile.kernel_name
    answer = ev.kernel
    fault = ev.kernel_fault
    if answer is None and fault is None:
        return result("jupyter.kernelspec", Status.SKIP, "not checked")
    if answer is None or (fault is not None and answer.get("stage") in ("import jupyter_client", "kernelspec")):
        assert fault is not None
        return result("jupyter.kernelspec", Status.FAIL, f"the kernel probe {fault.what}", kernel_install(ev))
    if answer.get("jupyter_client_error"):
        error = answer["jupyter_client_error"]
        return result(
            "jupyter.kernelspec",
            Status.FAIL,
            f"jupyter_client does not import: {error.get('error_type')}: {first_line(error.get('error', ''))}",
            pip_install(ev, "ipykernel"),
        )
    spec = answer.get("spec")
    if spec is None:
        available = ", ".join(answer.get("available") or ()) or "none"
        managed = ev.env.marker is not None and ev.env.marker.kernel
        return result(
            "jupyter.kernelspec",
            Status.FAIL if managed else Status.WARN,
            f"kernel {name!r} is not registered (registered: {available})",
            kernel_install(ev),
        )
    argv0 = spec.get("argv0") or ""
    resolved = spec.get("argv0_resolved") or argv0
    executable = str(ev.interpreter.get("executable") or ev.python)
    folders = {posixpath.dirname(p) if ev.platform != "win32" else ntpath.dirname(p) for p in (ev.python, executable)}
    here = resolved and any(
        same_path(ntpath.dirname(resolved) if ev.platform == "win32" else posixpath.dirname(resolved), f, ev.platform)
        for f in folders
    )
    if not here:
        return result(
            "jupyter.kernelspec",
            Status.FAIL,
            f"kernel {name!r} runs {argv0}, not this environment's python ({ev.python})",
            kernel_install(ev),
            argv0=argv0,
        )
    return result("jupyter.kernelspec", Status.PASS, f"kernel {name!r} runs {argv0}", argv0=argv0)


@check("jupyter.kernel-start", group=JUPYTER, order=20)
def check_kernel_start(ev: Evidence) -> CheckResult | None:
    if not wants_kernel(ev.profile):
        return None
    answer = ev.kernel
    fault = ev.kernel_fault
    if answer is None and fault is None:
        return result("jupyter.kernel-start", Status.SKIP, "not checked")
    if answer is None or answer.get("spec") is None:
        return result("jupyter.kernel-start", Status.SKIP, "no kernel to start")
    duration = answer.get("seconds") or answer.get("start_seconds")
    if fault is not None:
        return result(
            "jupyter.kernel-start",
            Status.FAIL,
            f"the kernel {fault.what} while starting",
            pip_install(ev, "ipykernel", flags=("--force-reinstall",)),
        )
    if answer.get("start_error"):
        error = answer["start_error"]
        what = "did not start in time" if error.get("error_type") == "RuntimeError" else "failed to start"
        return result(
            "jupyter.kernel-start",
            Status.FAIL,
            f"the kernel {what}: {error.get('error_type')}: {first_line(error.get('error', ''))}",
            pip_install(ev, "ipykernel", flags=("--force-reinstall",)),
        )
    reported = answer.get("prefix")
    expected = ev.interpreter.get("prefix")
    if not reported or not expected or not same_path(str(reported), str(expected), ev.platform):
        return result(
            "jupyter.kernel-start",
            Status.FAIL,
            f"the kernel runs in {reported or '(nothing printed)'}, not in {expected}",
            kernel_install(ev),
            duration,
        )
    return result(
        "jupyter.kernel-start", Status.PASS, f"kernel started and reports sys.prefix {reported}", None, duration
    )
