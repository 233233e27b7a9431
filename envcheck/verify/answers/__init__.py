"""The probes' answers, read once into typed, frozen records: what verify's rules judge.

The environment probe, the kernel probe and the imports probe write JSON with a ``schema`` number; each module
here reads one probe's answer and knows the one version of it this envcheck reads, refusing another
(``ProbeVersionError``): the probes ship inside envcheck, so a different number means an envcheck whose files
come from two installs. A partial answer (a probe killed half-way) is normal and reads with its missing parts
empty; the rules say what they could not see.
"""

from __future__ import annotations

from envcheck.verify.answers.common import Failure, ImportResult, check_schema
from envcheck.verify.answers.environment import (
    ENVIRONMENT_SCHEMA,
    Cpu,
    Device,
    EnvironmentAnswer,
    GpuDetails,
    Installed,
    Interpreter,
    KerasFacts,
    Libraries,
    LibraryFolder,
    MatmulDevice,
    TensorflowFacts,
    UserSite,
    Venv,
    Work,
    read_environment,
)
from envcheck.verify.answers.imports import IMPORTS_SCHEMA, ImportsAnswer, read_imports
from envcheck.verify.answers.kernel import KERNEL_SCHEMA, KernelAnswer, KernelSpec, read_kernel

__all__ = [
    "ENVIRONMENT_SCHEMA",
    "IMPORTS_SCHEMA",
    "KERNEL_SCHEMA",
    "Cpu",
    "Device",
    "EnvironmentAnswer",
    "Failure",
    "GpuDetails",
    "ImportResult",
    "ImportsAnswer",
    "Installed",
    "Interpreter",
    "KerasFacts",
    "KernelAnswer",
    "KernelSpec",
    "Libraries",
    "LibraryFolder",
    "MatmulDevice",
    "TensorflowFacts",
    "UserSite",
    "Venv",
    "Work",
    "check_schema",
    "read_environment",
    "read_imports",
    "read_kernel",
]
