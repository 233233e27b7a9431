"""Every option of the command line, each declared once; the choices are enums of the core's own tables.

A command's module takes its options from here and gives each its default from the core's constant, so a
new level, installer, backend or platform in the core is a new choice here, in ``--help`` and in the docs'
CLI reference without another edit. Only light modules of the core are imported: ``envcheck --help`` must
not load the probes, the rules or rich.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import typer

from envcheck import installers, profiles, verify
from envcheck.errors import UsageError
from envcheck.lock.platforms import PLATFORMS
from envcheck.setup import backends
from envcheck.smoke import distributed, levels

if TYPE_CHECKING:
    from envcheck.output.display import Format


class Choice(str, Enum):
    """One of a fixed set of values the parser checks; its value is the core's own string."""


def choices(name: str, values: Iterable[str]) -> type[Choice]:
    """An enum whose members are the core's ``values``, in their order (typer offers and checks them)."""
    functional: Any = Choice  # Enum's functional API, which the type checker does not follow for a subclass
    enum: type[Choice] = functional(name, [(value, value) for value in values])
    return enum


if TYPE_CHECKING:  # the type checker sees the base; typer gets the enums of the core's tables below
    Backend: TypeAlias = Choice
    Installer: TypeAlias = Choice
    Level: TypeAlias = Choice
    Device: TypeAlias = Choice
    Strategy: TypeAlias = Choice
    ExportFormat: TypeAlias = Choice
    Platform: TypeAlias = Choice
else:
    Backend = choices("Backend", backends.names())
    Installer = choices("Installer", installers.INSTALLERS)
    Level = choices("Level", levels.names())
    Device = choices("Device", levels.DEVICES)
    Strategy = choices("Strategy", distributed.STRATEGIES)
    ExportFormat = choices("ExportFormat", profiles.FORMATS)
    Platform = choices("Platform", PLATFORMS)

# The defaults of the choices: the core's own.
DEFAULT_INSTALLER = Installer(installers.DEFAULT_INSTALLER)
DEFAULT_DEVICE = Device(levels.DEFAULT_DEVICE)
DEFAULT_EXPORT_FORMAT = ExportFormat(profiles.DEFAULT_FORMAT)


def values(chosen: Iterable[Choice] | None) -> tuple[str, ...]:
    """The core's strings of a repeatable choice (empty: none given)."""
    return tuple(choice.value for choice in chosen or ())


def _complete_profiles(incomplete: str) -> list[str]:
    """Shell completion of --profile: the shipped profiles (read only when the shell asks)."""
    from envcheck.profiles.profile import available_profiles

    return [name for name in available_profiles() if name.startswith(incomplete)]


# ---------------------------------------------------------------------------------------------- shared

ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Profile name from environments/ (default: deep-learning).",
        autocompletion=_complete_profiles,
    ),
]
FileOpt = Annotated[
    Path | None, typer.Option("--file", "-f", help="Your own profile (.toml), requirements.txt or environment.yml.")
]
PrefixOpt = Annotated[Path | None, typer.Option("--prefix", help="The environment's directory.")]
PythonOpt = Annotated[
    str | None, typer.Option("--python", help="Any interpreter to examine, by path or name (e.g. python3).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout; progress goes to stderr.")]
MarkdownOpt = Annotated[bool, typer.Option("--markdown", help="Print a block to paste into a bug report or ticket.")]
NoRedactOpt = Annotated[
    bool, typer.Option("--no-redact", help="Keep home folder, user and host names in --json and --markdown.")
]
SmokeNoRedactOpt = Annotated[bool, typer.Option("--no-redact", help="Keep home folder, user and host names in --json.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show details and child output.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Show only the result.")]
IndexUrlOpt = Annotated[str | None, typer.Option("--index-url", help="Base URL of the package index.")]
ExtraIndexOpt = Annotated[list[str] | None, typer.Option("--extra-index-url", help="Extra package index (repeatable).")]
FindLinksOpt = Annotated[
    list[str] | None, typer.Option("--find-links", help="Folder or page with wheels (repeatable).")
]

# ---------------------------------------------------------------------------------------------- setup

SetupPythonOpt = Annotated[
    str | None,
    typer.Option(
        "--python", help="Interpreter to build from, by path, name or version (default: the one running envcheck)."
    ),
]
BackendOpt = Annotated[
    Backend | None,
    typer.Option(
        "--backend",
        case_sensitive=False,
        help="What builds the environment (default: conda for an environment.yml, else venv).",
    ),
]
InstallerOpt = Annotated[
    Installer, typer.Option("--installer", case_sensitive=False, help="What installs the packages (venv backend).")
]
CondaExeOpt = Annotated[
    str | None,
    typer.Option("--conda-exe", help="conda, mamba or micromamba to use (conda backend; default: found on PATH)."),
]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="Use only cached or local packages.")]
RecreateOpt = Annotated[bool, typer.Option("--recreate", help="Rebuild from scratch; the old one is kept until then.")]
NoKernelOpt = Annotated[bool, typer.Option("--no-kernel", help="Do not register a Jupyter kernel.")]
KernelNameOpt = Annotated[str | None, typer.Option("--kernel-name", help="Kernel name (default: envcheck-<profile>).")]
SetupLockOpt = Annotated[
    Path | None, typer.Option("--lock", help="Install exactly this lock (pylock.toml), hashes checked.")
]

# ---------------------------------------------------------------------------------------------- verify

StrictOpt = Annotated[bool, typer.Option("--strict", help="Treat warnings as failures (exit 1).")]


def _a_number(value: float) -> float:
    """NaN is within every range click checks (it compares false with both ends): it is refused here."""
    if math.isnan(value):
        raise typer.BadParameter("nan is not a number of seconds.")
    return value


VerifyTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=1.0,
        max=verify.MAX_TIMEOUT,
        callback=_a_number,
        help="Seconds the whole check may take, every process it starts included.",
    ),
]
FixOpt = Annotated[
    bool, typer.Option("--fix", help="Run the fix plan's steps inside the environment, then verify again.")
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="With --fix: print the plan, change nothing.")]
VerifyLockOpt = Annotated[
    Path | None,
    typer.Option("--lock", help="Compare with this lock (default: the one setup recorded, if any)."),
]

# ---------------------------------------------------------------------------------------------- smoke-train

LevelOpt = Annotated[
    list[Level] | None,
    typer.Option("--level", "-l", case_sensitive=False, help="A level to train (repeatable; default: all)."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the initial weights, shared by every level.")]
EpochsOpt = Annotated[int, typer.Option("--epochs", min=1, max=levels.MAX_EPOCHS, help="Training epochs per level.")]
LrOpt = Annotated[float, typer.Option("--lr", help="Learning rate of plain gradient descent.")]
DeviceOpt = Annotated[
    Device,
    typer.Option(
        "--device",
        case_sensitive=False,
        help="Where TensorFlow trains: gpu fails where TensorFlow sees none, auto lets TensorFlow decide.",
    ),
]
PlotOpt = Annotated[
    Path | None, typer.Option("--plot", help="Write a PNG of every level's loss curve (needs matplotlib).")
]
CompareCpuOpt = Annotated[
    bool, typer.Option("--compare-cpu/--no-compare-cpu", help="On a GPU, also run on the CPU and compare.")
]
SmokeTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=1.0,
        max=levels.MAX_TIMEOUT,
        callback=_a_number,
        help="Seconds the training process may take.",
    ),
]
StrategyOpt = Annotated[
    Strategy | None,
    typer.Option(
        "--strategy", case_sensitive=False, help="A tf.distribute strategy over every local device of the kind."
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", help="N workers on this machine, MultiWorkerMirroredStrategy over 127.0.0.1."),
]
ClusterOpt = Annotated[
    bool, typer.Option("--cluster", help="Be one worker of a cluster (TF_CONFIG, or Slurm under srun).")
]

# ---------------------------------------------------------------------------------------------- run

RunArgs = Annotated[
    list[str] | None,
    typer.Argument(help="The command and its arguments, after --.", metavar="-- COMMAND [ARGS]..."),
]

# ---------------------------------------------------------------------------------------------- compare

ReportsArg = Annotated[list[Path] | None, typer.Argument(help="verify or smoke-train JSON reports, from any machines.")]
BaselineOpt = Annotated[Path | None, typer.Option("--baseline", help="The reference report (default: the first one).")]

# ---------------------------------------------------------------------------------------------- lock, download

LockOutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Where to write it (default: pylock.<profile>.toml).")
]
PythonVersionOpt = Annotated[
    list[str] | None,
    typer.Option("--python-version", help="Lock for this Python, e.g. 3.12 (repeatable; default: the profile's)."),
]
LockPlatformOpt = Annotated[
    list[Platform] | None,
    typer.Option("--platform", case_sensitive=False, help="Lock for this platform (repeatable; default: all)."),
]
SkipUnavailableOpt = Annotated[
    bool, typer.Option("--skip-unavailable", help="Lock the platforms that resolve; list the others.")
]
CheckOpt = Annotated[
    bool, typer.Option("--check", help="Only check that the lock still fits the profile (exit 1 if not).")
]
DownloadLockOpt = Annotated[Path, typer.Option("--lock", help="The lock (pylock.toml) whose wheels to fetch.")]
DestOpt = Annotated[Path, typer.Option("--dest", help="The folder to put them in (a wheelhouse).")]
DownloadPlatformOpt = Annotated[
    list[Platform] | None,
    typer.Option(
        "--platform",
        case_sensitive=False,
        help="Fetch for this platform and every Python of the lock (repeatable; default: this machine).",
    ),
]

# ---------------------------------------------------------------------------------------------- export

ExportFormatOpt = Annotated[
    ExportFormat,
    typer.Option("--format", case_sensitive=False, help="conda writes an environment.yml, pip a requirements.txt."),
]
ExportJsonOpt = Annotated[
    bool, typer.Option("--json", help='Print one JSON document on stdout, the file\'s text under "content".')
]


# ---------------------------------------------------------------------------------------------- schema


def _complete_schemas(incomplete: str) -> list[str]:
    """Shell completion of schema names (the schemas' module is read only when the shell asks)."""
    from envcheck.output.schemas import NAMES

    return [name for name in NAMES if name.startswith(incomplete)]


# a plain string, checked by the schemas' module: its table lives beside rich-using modules --help must not load
SchemaNameArg = Annotated[
    str | None,
    typer.Argument(
        help="setup, verify, verify-fix, smoke-train, lock, download, compare, export or error.",
        autocompletion=_complete_schemas,
        show_default=False,
    ),
]
SchemaPathOpt = Annotated[bool, typer.Option("--path", help="Print where the schema file is instead of its text.")]


# ---------------------------------------------------------------------------------------------- checks


def output_format(json_output: bool, markdown: bool = False) -> Format:
    """The format the flags ask for: text unless --json or --markdown, never both."""
    from envcheck.output.display import Format

    if json_output and markdown:
        raise UsageError("--json and --markdown cannot be used together", "pick one of them")
    return Format.JSON if json_output else Format.MARKDOWN if markdown else Format.TEXT


def given(ctx: typer.Context, *names: str) -> list[str]:
    """The options among the parameters ``names`` that the user gave (not left at their default), as typed."""
    typed = []
    for param in ctx.command.params:
        source: Any = ctx.get_parameter_source(param.name) if param.name in names else None
        if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT"):
            typed.append(max(param.opts, key=len))
    return typed


def refuse(ctx: typer.Context, names: Iterable[str], *, applies: str, hint: str) -> None:
    """A usage error (exit 2) for the options among ``names`` that the user gave where they do not apply.

    ``applies`` completes "<option> applies only ..." so that the one line says where it does; ``hint`` may name
    the refused options as ``{options}``. An option left at its default is never refused, so a script that
    spells out the defaults keeps working.
    """
    typed = given(ctx, *names)
    if typed:
        verb = "applies" if len(typed) == 1 else "apply"
        options = " and ".join(typed)
        raise UsageError(f"{options} {verb} only {applies}", hint.format(options=options))
