"""The rules of `envcheck verify`: pure functions from gathered facts to verdicts, each with a stable id and,
for a problem, its remedy as data.

Nothing here runs a program or touches the file system: verify gathers the facts (``envcheck.verify.gather``:
the environment probe run by the target's own interpreter, ``pip check``, ``nvidia-smi``, the kernel probe, a
conda prefix's files) into one ``Evidence`` of typed records, and ``evaluate`` applies every registered rule to
it, in checklist order. Every warn and fail carries a ``Remedy`` (``envcheck.verify.remedy``): pip actions,
commands with the scope they change, or advice; ``evaluate`` renders the hint from it, and the fix plan
(``envcheck.verify.plan``) merges the root causes' remedies into its steps.

The package's layout is the checklist, one module per group: ``interpreter``, ``packages`` (and ``lock``), ``compatibility``,
``device``, ``work``, ``jupyter``, ``environ`` (environment variables) and ``conda``. ``registry`` holds the one
registry, ``common`` what the rules share (``result``, ``unset``, ``kernel_install`` ...), ``ranges`` the version
ranges remedies install, and ``cuda``, ``nvidia`` and ``pipcheck`` the device and pip check groups' helpers.

To add a check with its fix, write one function in the module of its group::

    @check("compat.my-thing", group=COMPATIBILITY, order=60)
    def check_my_thing(ev: Evidence) -> CheckResult | None:
        \"\"\"numpy is new enough for my-thing (2 or later): older ones lack the API it calls.

        Fix: `pip install 'numpy>=2'`.\"\"\"
        numpy = ev.version_of("numpy")
        if numpy is None:
            return None  # None: the check does not apply, and nothing is printed
        if numpy < Version("2"):
            fix = install("numpy>=2", explained_by=("packages.pip-check",))
            return result("compat.my-thing", Status.FAIL, f"numpy {numpy} is too old for my-thing", fix)
        return result("compat.my-thing", Status.PASS, f"numpy {numpy}")

- the id is the one the result reports; a rule that reports one result per item declares a pattern
  (``"package.*.import"``) and returns a list;
- ``group`` is one of ``registry.GROUPS`` (the checklist's headings, in the order verify prints them) and
  ``order`` is its place within the group (the rules there count in tens, so a new one fits between);
- ``needs=("conda",)`` runs it only when the evidence has that fact (``registry.NEEDS`` lists them);
- its docstring says what the check means and, after ``Fix:``, how it is fixed: the check reference in the
  docs is generated from it (``envcheck/cli/reference.py``), and a test requires both;
- the names it uses come from ``registry`` (``check``, the group constants), ``envcheck.verify.evidence``,
  ``common`` (``result``, ``unset``, ``kernel_install``, ``setup_command`` ...) and ``envcheck.verify.remedy``;
- the remedy is data (``envcheck.verify.remedy``): ``install(...)`` (pip install, with flags; one merged
  ``pip install`` in the plan), a ``Remedy`` of ``PipAction``s (the plan puts uninstalls first),
  ``run(argv, scope)`` for another command (``Scope.ENVIRONMENT`` changes only the environment, and
  ``verify --fix`` runs it; ``Scope.OUTSIDE`` changes the user's shell, home or a driver, and is only printed),
  ``unset(ev, VARIABLE)``, ``kernel_install(ev)``, or ``advice("...")`` where no command repairs it (no plan
  step; the hint says what to do). A ``text`` with ``{command}`` puts words around the rendered commands.
  Never write the fix's command into a hint by hand: the hint is rendered from the remedy for the target's
  platform, so the hint and the plan step agree;
- ``explained_by`` names the findings that explain this one when they are problems: the result is then marked
  ``caused_by`` them, loses its hint, and their fix (not its own) goes into the plan; a skipped result may
  carry ``explained(...)`` alone; a ``PipAction``'s own ``explained_by`` leaves just that action to the
  explaining finding (``pip check`` naming several packages, one of them another finding's to fix);
- the facts come typed from ``ev`` (``ev.probe`` is the environment probe's answer, ``ev.kernel`` the kernel
  probe's, ``ev.version_of(name)`` ...); facts the rule needs but the evidence lacks are gathered in
  ``envcheck/verify/gather.py`` (or a probe, read in ``envcheck/verify/answers/``) and added to
  ``Evidence``; the rule itself stays pure;
- a test beside the others in tests/unit (the recorded probe answer in tests/support/evidence.py, changed the
  way the breakage changes it) shows the hint, the plan step and what it resolves.
"""

from __future__ import annotations

# The group modules register their rules on import.
from envcheck.verify.checks import compatibility, conda, device, environ, interpreter, jupyter, lock, packages, work
from envcheck.verify.checks.device import devices
from envcheck.verify.checks.jupyter import wants_kernel
from envcheck.verify.checks.nvidia import NVIDIA_SMI_QUERY, TensorflowMessage, parse_nvidia_smi, tensorflow_messages
from envcheck.verify.checks.packages import summary_versions
from envcheck.verify.checks.pipcheck import parse_pip_check
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
    "lock",
    "packages",
    "parse_nvidia_smi",
    "parse_pip_check",
    "registered",
    "summary_versions",
    "tensorflow_messages",
    "wants_kernel",
    "work",
]
