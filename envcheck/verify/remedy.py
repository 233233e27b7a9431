"""A finding's remedy as data, and the one place that writes it out as commands.

A check that finds a problem declares how to fix it: pip actions (install or uninstall, with flags and
requirements), commands with the scope they change (the environment, or something outside it: the user's
shell, their home, a driver), or plain advice where no command exists. It also names the findings that would
explain it if they are problems (``explained_by``): an import failing with a NumPy ABI error names
``compat.numpy-abi``. The hint under a warning or a failure is rendered from this data (``render_hint``) and
the fix plan (``envcheck.verify.plan``) merges the same data into its steps; nothing is parsed back from text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from envcheck import shell
from envcheck.installers import environment_pip_argv
from envcheck.locations import uv_command
from envcheck.results import CheckResult
from envcheck.suggest import Naming

if TYPE_CHECKING:
    from envcheck.verify.evidence import Evidence

COMMAND = "{command}"  # where a remedy's text puts its rendered commands


class Scope(str, Enum):
    """What a command changes."""

    ENVIRONMENT = "environment"  # only the environment's own packages: `verify --fix` runs these
    OUTSIDE = "outside"  # the user's shell, their home, a driver: printed, never run by envcheck


@dataclass(frozen=True)
class PipAction:
    """pip install or uninstall in the environment; the plan merges the actions of every root cause."""

    verb: str  # "install" or "uninstall"
    names: tuple[str, ...]  # requirements for install, distribution names for uninstall
    flags: tuple[str, ...] = ()
    # this action is not needed when one of these findings is a problem (their fix covers it); a finding all
    # of whose actions are covered that way is explained by those findings
    explained_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Command:
    """One command that is not pip's, as an argument list, and what it changes."""

    argv: tuple[str, ...]
    scope: Scope


@dataclass(frozen=True)
class Remedy:
    """How to fix one finding, and which findings would explain it.

    ``text`` is the hint's prose: ``{command}`` in it marks where the rendered commands go; without it (or
    without commands) the text is the whole hint, which makes the remedy advice that no plan step runs.
    """

    pip: tuple[PipAction, ...] = ()
    commands: tuple[Command, ...] = ()
    text: str | None = None
    explained_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding(CheckResult):
    """A verify check's result with its remedy: the hint is rendered from it, the fix plan collects it."""

    remedy: Remedy | None = field(default=None, repr=False)


def remedy_of(found: CheckResult) -> Remedy | None:
    return found.remedy if isinstance(found, Finding) else None


# ---------------------------------------------------------------------------------------------- building


def install(*requirements: str, flags: Iterable[str] = (), explained_by: Iterable[str] = ()) -> Remedy:
    """pip install ``requirements`` into the environment (the plan merges it with the other installs)."""
    return Remedy(pip=(PipAction("install", tuple(requirements), tuple(flags)),), explained_by=tuple(explained_by))


def uninstall(*names: str) -> PipAction:
    return PipAction("uninstall", tuple(names))


def advice(text: str, *, explained_by: Iterable[str] = ()) -> Remedy:
    """Words where no command repairs the finding (a driver to install, a traceback to read ...)."""
    return Remedy(text=text, explained_by=tuple(explained_by))


def explained(*ids: str) -> Remedy:
    """No fix of its own: a finding (a skipped one, typically) that the named findings explain when they fail."""
    return Remedy(explained_by=ids)


def run(argv: Iterable[str], scope: Scope, text: str | None = None, explained_by: Iterable[str] = ()) -> Remedy:
    """One command that is not pip's."""
    return Remedy(commands=(Command(tuple(argv), scope),), text=text, explained_by=tuple(explained_by))


# ---------------------------------------------------------------------------------------------- rendering


def pip_argv(ev: Evidence, verb: str, flags: Iterable[str], names: Iterable[str]) -> tuple[str, ...]:
    """The pip command for the target, as an argument list: its own pip, or uv's where it has none.

    Every pip command verify prints or runs is written here, hints and plan steps alike, by the installers'
    one builder (the uv envcheck uses, as the user can type it: ``uv`` when that is the one on PATH).
    """
    uv = None if ev.probe.pip is not False else uv_command()
    return tuple(environment_pip_argv(ev.python, verb, *flags, *names, uv=uv))


def unset_argv(ev: Evidence, variable: str) -> tuple[str, ...]:
    """Remove a variable from the user's shell."""
    return ("set", f"{variable}=") if ev.platform == "win32" else ("unset", variable)


def externally_managed(ev: Evidence) -> bool:
    """A system python whose packages its distribution manages (PEP 668): pip refuses to install into it."""
    return ev.probe.venv.externally_managed


def setup_instead(ev: Evidence) -> tuple[str, ...]:
    """What replaces pip for a PEP 668 python: an environment of its own, made by setup with everything in it."""
    return ("envcheck", "setup", *ev.profile_args)


def pip_text(ev: Evidence, action: PipAction) -> str:
    """One pip action as the user types it (for a PEP 668 python: the setup command that replaces pip)."""
    if externally_managed(ev) and action.verb == "install":
        return (
            f"{Naming(ev.profile_args, platform=ev.platform).setup()}  (this python's packages are managed by the"
            " system (PEP 668), so pip refuses to install into it; setup makes an environment of its own)"
        )
    return shell.join(pip_argv(ev, action.verb, action.flags, action.names), platform=ev.platform)


def command_texts(ev: Evidence, remedy: Remedy) -> list[str]:
    """The remedy's commands as typed: one pip command per verb and flags (in the order first named), then
    the other commands."""
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for action in remedy.pip:
        names = groups.setdefault((action.verb, action.flags), [])
        names.extend(n for n in action.names if n not in names)
    texts = [pip_text(ev, PipAction(verb, tuple(names), flags)) for (verb, flags), names in groups.items()]
    texts = list(dict.fromkeys(texts))  # a PEP 668 python gets its one setup command once
    texts += [shell.join(c.argv, platform=ev.platform) for c in remedy.commands]
    return texts


def render_hint(ev: Evidence, remedy: Remedy) -> str | None:
    """The hint under a warning or a failure: the remedy's text with its commands in place."""
    commands = " && ".join(command_texts(ev, remedy))
    if remedy.text is None:
        return commands or None
    return remedy.text.replace(COMMAND, commands)
