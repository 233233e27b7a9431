"""envcheck's own commands as hints print them: the options that name an environment again (its profile or file,
its folder, its kernel) and the `envcheck setup|verify|run|lock|download ...` lines built from them.

Every line is quoted by ``envcheck.shell`` for the shell of the platform it is meant for, so that a path with a
space (macOS's ``~/Library/Application Support``) survives being pasted. Each starts with the envcheck that
works as typed: ``envcheck`` where that name on PATH is this program, else this program's own path (a new
user's first command, ``~/.venvs/envcheck/bin/envcheck setup``, leaves it off PATH); ``path_note`` says how to
put it there, as pipx does.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from envcheck import shell
from envcheck.profiles.profile import DEFAULT_PROFILE, Profile, profiles_dir

if TYPE_CHECKING:
    from envcheck.completion import Marker, SetupNote

Part = str | os.PathLike[str]


def profile_args(profile: Profile) -> tuple[str, ...]:
    """How to name this profile again on envcheck's command line: nothing for the default, --profile or --file."""
    try:
        builtin = profile.source.resolve().parent == profiles_dir().resolve()
    except OSError:
        builtin = False
    if not builtin:
        # absolute: the command must still work when typed from another folder
        return ("--file", str(profile.source.expanduser().absolute()))
    return () if profile.name == DEFAULT_PROFILE else ("--profile", profile.name)


@dataclass(frozen=True)
class Naming:
    """How printed commands name one environment again."""

    profile_args: tuple[str, ...] = ()  # ("--profile", NAME), ("--file", PATH), or () for the default profile
    prefix: Part | None = None  # None: the profile's default place, which needs no --prefix
    kernel_name: str | None = None  # a kernel name the user chose; setup lines keep it
    platform: str | None = None  # whose shell the lines are quoted for (sys.platform values; None: this one)
    python: Part | None = None  # an environment known only by its interpreter (verify --python), without a prefix
    # the other options that made the environment (--installer, --python, --lock, --no-kernel ...): setup lines
    # keep them, so that a rebuild builds the same environment
    options: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        profile: Profile,
        prefix: Part | None = None,
        *,
        kernel_name: str | None = None,
        platform: str | None = None,
        python: Part | None = None,
        options: Sequence[str] = (),
    ) -> Naming:
        return cls(profile_args(profile), prefix, kernel_name, platform, python, tuple(options))

    @classmethod
    def made_by(
        cls,
        made: Marker | SetupNote | None,
        profile_args: Sequence[str],
        prefix: Part | None,
        *,
        platform: str | None = None,
    ) -> Naming:
        """How printed lines name an environment by what its setup recorded (``made``: the marker, or the note of
        a setup that did not finish): its profile as given then and its options; ``profile_args`` where there is
        no record, or one from before the profile was recorded."""
        if made is None:
            return cls(tuple(profile_args), prefix, platform=platform)
        args = tuple(made.profile_args) if made.profile_args is not None else tuple(profile_args)
        return cls(args, prefix, platform=platform, options=tuple(made.options))

    def where(self) -> tuple[Part, ...]:
        """--profile/--file and --prefix (or --python), as far as they are needed."""
        if self.prefix is not None:
            return (*self.profile_args, "--prefix", self.prefix)
        if self.python is not None:
            return (*self.profile_args, "--python", self.python)
        return self.profile_args

    def setup(self, *extra: Part) -> str:
        """``envcheck setup`` for this environment (with the options that made it), then ``extra``; an option in
        ``extra`` replaces the same one (or the one it excludes) among the recorded options."""
        kernel: tuple[str, ...] = ("--kernel-name", self.kernel_name) if self.kernel_name else ()
        kept = merge_options((*kernel, *self.options), tuple(os.fspath(e) for e in extra))
        return self._line("setup", *self.where(), *kept)

    def setup_with_own_kernel(self) -> str:
        """``envcheck setup`` for this environment without a chosen kernel name: it gets its own by default."""
        options = tuple(w for g in option_groups(self.options) if g[0] != "--kernel-name" for w in g)
        return replace(self, kernel_name=None, options=options).setup()

    def verify(self, *extra: Part) -> str:
        return self._line("verify", *self.where(), *extra)

    def run(self, *command: Part) -> str:
        """``envcheck run ... -- COMMAND`` (default: python): how to use the environment without activating it.
        A folder is enough to name it; only the default place of a profile needs the profile."""
        where = ("--prefix", self.prefix) if self.prefix is not None else self.profile_args
        return self._line("run", *where, "--", *(command or ("python",)))

    def _line(self, verb: str, *parts: Part) -> str:
        here = self.platform is None or self.platform == sys.platform
        return shell.command(*(envcheck_program() if here else ("envcheck",)), verb, *parts, platform=self.platform)


# setup's options that take no value; every other one takes one
FLAGS = frozenset({"--offline", "--no-kernel", "--recreate"})
# options that cannot be given together: one given replaces the other
EXCLUSIVE = {"--kernel-name": "--no-kernel", "--no-kernel": "--kernel-name"}


def option_groups(options: Sequence[str]) -> list[tuple[str, ...]]:
    """``options`` cut into (option,) and (option, value) groups, as setup reads them."""
    groups: list[tuple[str, ...]] = []
    index = 0
    while index < len(options):
        word = options[index]
        takes = word.startswith("--") and word not in FLAGS and index + 1 < len(options)
        groups.append(tuple(options[index : index + 2]) if takes else (word,))
        index += 2 if takes else 1
    return groups


def merge_options(recorded: Sequence[str], extra: Sequence[str]) -> tuple[str, ...]:
    """The ``recorded`` options without those ``extra`` gives again (or excludes), then ``extra``."""
    given = {group[0] for group in option_groups(extra)}
    dropped = given | {EXCLUSIVE[name] for name in given if name in EXCLUSIVE}
    kept = [word for group in option_groups(recorded) if group[0] not in dropped for word in group]
    return (*kept, *extra)


def envcheck_program() -> tuple[str, ...]:
    """How to start this envcheck as typed in the user's shell: ``envcheck`` where that name on PATH is this
    program; else this program's path; else (no script of it at all) its interpreter with ``-m envcheck``."""
    own = running_script()
    if own is None:
        return (sys.executable, "-m", "envcheck")
    found = shutil.which("envcheck")
    return ("envcheck",) if found and _same(Path(found), own) else (str(own),)


def running_script() -> Path | None:
    """The ``envcheck`` script that started this process, else the one installed with it (``python -m envcheck``,
    or envcheck inside a test runner), else None."""
    name = "envcheck.exe" if sys.platform == "win32" else "envcheck"
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started is not None and started.name in (name, "envcheck") and started.is_file():
        return started.absolute()
    installed = Path(sysconfig.get_path("scripts")) / name
    return installed.absolute() if installed.is_file() else None


def path_note() -> str | None:
    """When the commands printed name this envcheck by its path: one line on why, and how to type just
    ``envcheck`` (a link in ``~/.local/bin``, where pipx puts its programs); None when envcheck is on PATH."""
    program = envcheck_program()
    if program == ("envcheck",):
        return None
    found = shutil.which("envcheck")
    if found:
        return f"note: the envcheck on your PATH ({found}) is another one; the commands above name this one by its path"
    own = running_script()
    if own is None:
        return "note: envcheck is not installed as a program on your PATH; the commands above run it with python -m"
    if sys.platform == "win32":
        return f"note: envcheck is not on your PATH; to type just envcheck, add {own.parent} to PATH"
    local_bin = Path.home() / ".local" / "bin"
    on_path = any(_same(Path(folder), local_bin) for folder in os.environ.get("PATH", "").split(os.pathsep) if folder)
    link = shell.command("ln", "-sf", own) + " ~/.local/bin/envcheck"  # the shell expands ~ where it is not quoted
    then = "" if on_path else ' and add ~/.local/bin to PATH (export PATH="$HOME/.local/bin:$PATH" in ~/.bashrc)'
    return f"note: envcheck is not on your PATH; to type just envcheck: mkdir -p ~/.local/bin && {link}{then}"


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def next_program(profile: Profile) -> tuple[str, ...]:
    """What a user of this profile most likely runs next: its notebook server, else python."""
    if profile.package("jupyterlab") is not None:
        return ("jupyter", "lab")
    if profile.package("notebook") is not None:
        return ("jupyter", "notebook")
    return ("python",)


def lock_command(profile: Profile, output: Part) -> str:
    """``envcheck lock`` writing the lock of ``profile`` to ``output``."""
    return shell.command(*envcheck_program(), "lock", *profile_args(profile), "--output", output)


def download_command(lock: Part, dest: Part) -> str:
    """``envcheck download`` filling the wheelhouse ``dest`` with what ``lock`` needs on this machine."""
    return shell.command(*envcheck_program(), "download", "--lock", lock, "--dest", dest)


def offline_setup_command(lock: Part, wheelhouses: Sequence[Part]) -> str:
    """``envcheck setup`` from a lock and its wheelhouses, without a network."""
    links = [part for folder in wheelhouses for part in ("--find-links", folder)]
    return shell.command(*envcheck_program(), "setup", "--lock", lock, "--offline", *links)


def restore_command(prefix: Part, previous: Part, platform: str | None = None) -> str:
    """Put back the environment an interrupted ``setup --recreate`` left at ``previous``: the half-built one at
    ``prefix`` goes (when there is one), the previous one takes its place."""
    platform = platform or sys.platform
    there = os.path.lexists(prefix)
    if platform == "win32":  # cmd.exe's own commands; PowerShell users type `cmd /c "..."`
        move = shell.command("move", previous, prefix, platform=platform)
        return f"{shell.command('rmdir', '/s', '/q', prefix, platform=platform)} && {move}" if there else move
    move = shell.command("mv", previous, prefix, platform=platform)
    return f"{shell.command('rm', '-rf', prefix, platform=platform)} && {move}" if there else move
