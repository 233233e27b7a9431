"""The rules of `envcheck verify`: pure functions from gathered facts to verdicts, each with a stable id.

Nothing here runs a program or touches the file system: verify gathers the facts (the environment probe run by
the target's own interpreter, ``pip check``, ``nvidia-smi``, the kernel probe, a conda prefix's files) into one
``Evidence``, and ``evaluate`` applies every registered rule to it, in checklist order. Every warn and fail
carries a hint with the exact command to type.

The package's layout is the checklist, one module per group: ``interpreter``, ``packages``, ``compatibility``,
``device``, ``work``, ``jupyter``, ``environ`` (environment variables) and ``conda``. ``evidence`` holds what
the rules judge, ``common`` what they share (``command``, ``pip_install``, ``result`` ...), ``registry`` the
one registry.

To add a check, write one function in the module of its group and declare it there::

    @check("compat.my-thing", group=COMPATIBILITY, order=60)
    def check_my_thing(ev: Evidence) -> CheckResult | None:
        if ev.version_of("numpy") is None:
            return None  # None: the check does not apply, and nothing is printed
        return result("compat.my-thing", Status.PASS, "numpy is installed")

- the id is the one the result reports; a rule that reports one result per item declares a pattern
  (``"package.*.import"``) and returns a list;
- ``group`` is one of ``registry.GROUPS`` (the checklist's headings, in the order verify prints them) and
  ``order`` is its place within the group (the rules there count in tens, so a new one fits between);
- ``needs=("conda",)`` runs it only when the evidence has that fact (``registry.NEEDS`` lists them);
- the names it uses come from ``envcheck.verify.checks.registry`` (``check``, the group constants),
  ``envcheck.verify.evidence`` and ``envcheck.verify.checks.common``;
- facts the rule needs but the evidence lacks are gathered in ``envcheck/verify/examine.py`` (or a probe) and added
  to ``Evidence``; the rule itself stays pure.
"""

from __future__ import annotations

# The group modules register their rules on import.
from envcheck.verify.checks import compatibility, conda, device, environ, interpreter, jupyter, packages, work
from envcheck.verify.checks.device import (
    NVIDIA_SMI_QUERY,
    TensorflowMessage,
    devices,
    parse_nvidia_smi,
    tensorflow_messages,
)
from envcheck.verify.checks.jupyter import wants_kernel
from envcheck.verify.checks.packages import parse_pip_check, summary_versions
from envcheck.verify.checks.registry import GROUPS, Check, check, evaluate, group_of, registered
from envcheck.verify.evidence import (
    LOADING_VARIABLES,
    PATH_VARIABLES,
    CondaFacts,
    CondaRecord,
    Distribution,
    EnvState,
    Evidence,
    LockFacts,
    ProbeFault,
    ProgramOutput,
    loading_variables,
)

__all__ = [
    "GROUPS",
    "LOADING_VARIABLES",
    "NVIDIA_SMI_QUERY",
    "PATH_VARIABLES",
    "Check",
    "CondaFacts",
    "CondaRecord",
    "Distribution",
    "EnvState",
    "Evidence",
    "LockFacts",
    "ProbeFault",
    "ProgramOutput",
    "TensorflowMessage",
    "check",
    "compatibility",
    "conda",
    "device",
    "devices",
    "environ",
    "evaluate",
    "group_of",
    "interpreter",
    "jupyter",
    "loading_variables",
    "packages",
    "parse_nvidia_smi",
    "parse_pip_check",
    "registered",
    "summary_versions",
    "tensorflow_messages",
    "wants_kernel",
    "work",
]
