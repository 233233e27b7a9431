"""The exception hierarchy and exit codes; translated to text in one place, the CLI boundary."""

from __future__ import annotations

import copy
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # a check failed, or setup could not finish
    USAGE = 2  # bad option, unknown or malformed profile, no such environment
    UNUSABLE = 3  # the environment cannot be examined: no python there, the probe cannot start
    INTERRUPTED = 130  # Ctrl-C or SIGTERM


class EnvcheckError(Exception):
    """An error that envcheck explains to the user: one line of message, one line of hint.

    ``details`` are another program's own words that explain it (an installer's whole resolution report), shown
    as they are between the two lines; most errors have none.
    """

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def restated(self, message: str, hint: str | None) -> EnvcheckError:
        """The same error (its kind, its details and whatever its class adds) with another message and hint."""
        said = copy.copy(self)
        said.args = (message,)
        said.message = message
        said.hint = hint
        return said


class UsageError(EnvcheckError):
    exit_code = ExitCode.USAGE


class ProfileError(UsageError):
    """A profile or requirements file that cannot be used as given."""


class NoEnvironmentError(UsageError):
    """The environment the user pointed at does not exist."""


class EnvironmentUnusableError(EnvcheckError):
    exit_code = ExitCode.UNUSABLE


class ProgramNotFoundError(EnvironmentUnusableError):
    """A program envcheck needs to run (an interpreter, conda) is missing or not executable."""


class ProbeVersionError(EnvcheckError):
    """A probe answered in another format than this envcheck reads: its files come from two installs."""

    exit_code = ExitCode.UNUSABLE


class SetupError(EnvcheckError):
    """Creating or updating an environment failed; what this run created has been removed."""


class RefusedError(EnvcheckError):
    """envcheck will not touch a directory it did not create."""

    exit_code = ExitCode.USAGE


class Interrupted(EnvcheckError):
    """Ctrl-C or SIGTERM arrived; raised after cleaning up."""

    exit_code = ExitCode.INTERRUPTED
