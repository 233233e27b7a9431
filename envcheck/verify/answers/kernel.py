"""The kernel probe's answer (envcheck/probes/kernel.py), read into typed records: the kernel asked for, every
other registered kernel, and what happened when the asked-for one was started."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from envcheck.verify.answers.common import Failure, as_failure, as_number, as_text, as_texts, check_schema

KERNEL_SCHEMA = 1  # the version this envcheck reads; the probe writes its own SCHEMA


@dataclass(frozen=True)
class KernelSpec:
    """A registered kernel: the program its argv starts (as Jupyter finds it) and whether that exists."""

    argv0: str | None = None
    argv0_resolved: str | None = None
    exists: bool | None = None  # known for the other kernels listed, not for the one asked for
    language: str | None = None
    display_name: str | None = None
    resource_dir: str | None = None
    argv: tuple[str, ...] = ()


@dataclass(frozen=True)
class KernelAnswer:
    """The kernel probe's answer (envcheck/probes/kernel.py): the kernel asked for, started for real."""

    schema: int = KERNEL_SCHEMA
    complete: bool = False
    stage: str | None = None
    jupyter_client_error: Failure | None = None  # jupyter_client did not import
    available: tuple[str, ...] = ()
    specs: Mapping[str, KernelSpec] | None = None  # every registered kernel; None: not listed
    spec: KernelSpec | None = None  # the kernel asked for; None: not registered (or not reached)
    started: bool = False
    start_error: Failure | None = None
    start_seconds: float | None = None
    seconds: float | None = None
    prefix: str | None = None  # the sys.prefix the started kernel printed


def read_kernel(answer: Mapping[str, Any]) -> KernelAnswer:
    """The kernel probe's answer, once; ProbeVersionError for another schema than KERNEL_SCHEMA."""
    check_schema("kernel", answer, KERNEL_SCHEMA)
    specs = answer.get("specs")
    spec = answer.get("spec")
    return KernelAnswer(
        complete=bool(answer.get("complete")),
        stage=as_text(answer.get("stage")),
        jupyter_client_error=as_failure(answer.get("jupyter_client_error")),
        available=as_texts(answer.get("available")),
        specs=(
            {str(k): _kernel_spec(v) for k, v in specs.items() if isinstance(v, Mapping)}
            if isinstance(specs, Mapping)
            else None
        ),
        spec=_kernel_spec(spec) if isinstance(spec, Mapping) else None,
        started=bool(answer.get("started")),
        start_error=as_failure(answer.get("start_error")),
        start_seconds=as_number(answer.get("start_seconds")),
        seconds=as_number(answer.get("seconds")),
        prefix=as_text(answer.get("prefix")),
    )


def _kernel_spec(raw: Mapping[str, Any]) -> KernelSpec:
    exists = raw.get("exists")
    return KernelSpec(
        argv0=as_text(raw.get("argv0")),
        argv0_resolved=as_text(raw.get("argv0_resolved")),
        exists=exists if isinstance(exists, bool) else None,
        language=as_text(raw.get("language")),
        display_name=as_text(raw.get("display_name")),
        resource_dir=as_text(raw.get("resource_dir")),
        argv=as_texts(raw.get("argv")),
    )
