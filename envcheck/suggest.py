"""envcheck's own commands as hints print them: the options that name an environment again (its profile or file,
its folder, its kernel) and the `envcheck setup|verify|run|lock|download ...` lines built from them.

Every line is quoted by ``envcheck.shell`` for the shell of the platform it is meant for, so that a path with a
space (macOS's ``~/Library/Application Support``) survives being pasted.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

from envcheck import shell
from envcheck.profiles.profile import DEFAULT_PROFILE, Profile, profiles_dir

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

    @classmethod
    def of(
        cls,
        profile: Profile,
        prefix: Part | None = None,
        *,
        kernel_name: str | None = None,
        platform: str | None = None,
        python: Part | None = None,
    ) -> Naming:
        return cls(profile_args(profile), prefix, kernel_name, platform, python)

    def where(self) -> tuple[Part, ...]:
        """--profile/--file and --prefix (or --python), as far as they are needed."""
        if self.prefix is not None:
            return (*self.profile_args, "--prefix", self.prefix)
        if self.python is not None:
            return (*self.profile_args, "--python", self.python)
        return self.profile_args

    def setup(self, *extra: Part) -> str:
        """``envcheck setup`` for this environment (with its chosen kernel name), then ``extra``."""
        kernel: tuple[str, ...] = ("--kernel-name", self.kernel_name) if self.kernel_name else ()
        return self._line("setup", *self.where(), *kernel, *extra)

    def setup_with_another_kernel(self) -> str:
        """``envcheck setup`` for this environment with a kernel name still to choose."""
        return replace(self, kernel_name=None).setup("--kernel-name", "NAME")

    def verify(self, *extra: Part) -> str:
        return self._line("verify", *self.where(), *extra)

    def run(self, *command: Part) -> str:
        """``envcheck run ... -- COMMAND`` (default: python): how to use the environment without activating it.
        A folder is enough to name it; only the default place of a profile needs the profile."""
        where = ("--prefix", self.prefix) if self.prefix is not None else self.profile_args
        return self._line("run", *where, "--", *(command or ("python",)))

    def _line(self, verb: str, *parts: Part) -> str:
        return shell.command("envcheck", verb, *parts, platform=self.platform)


def next_program(profile: Profile) -> tuple[str, ...]:
    """What a user of this profile most likely runs next: its notebook server, else python."""
    if profile.package("jupyterlab") is not None:
        return ("jupyter", "lab")
    if profile.package("notebook") is not None:
        return ("jupyter", "notebook")
    return ("python",)


def lock_command(profile: Profile, output: Part) -> str:
    """``envcheck lock`` writing the lock of ``profile`` to ``output``."""
    return shell.command("envcheck", "lock", *profile_args(profile), "--output", output)


def download_command(lock: Part, dest: Part) -> str:
    """``envcheck download`` filling the wheelhouse ``dest`` with what ``lock`` needs on this machine."""
    return shell.command("envcheck", "download", "--lock", lock, "--dest", dest)


def offline_setup_command(lock: Part, wheelhouses: Sequence[Part]) -> str:
    """``envcheck setup`` from a lock and its wheelhouses, without a network."""
    links = [part for folder in wheelhouses for part in ("--find-links", folder)]
    return shell.command("envcheck", "setup", "--lock", lock, "--offline", *links)
