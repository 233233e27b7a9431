"""The one place where whatever ends a command early becomes one error line, one hint line and an exit code."""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer

from envcheck.errors import EnvcheckError, ExitCode

# click's base of usage errors; typer exports only a subclass of it (and newer typer vendors click privately)
CLICK_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

F = TypeVar("F", bound=Callable[..., Any])


def boundary(command: str) -> Callable[[F], F]:
    """Turn whatever ends command ``command`` early into one error line, one hint line and a documented exit code.

    envcheck's own errors carry their message, hint and code; an OSError (a full or read-only disk) or any
    other unexpected error becomes exit 3 in the same form, never a traceback. With --json a script also
    gets the error on stdout, in the usual envelope, whose ``command`` is the command's name.

    While the command runs, every secret it was given or its installers will read is hidden from everything
    it prints and writes (``envcheck.secrets``, ``envcheck.redaction``).
    """

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from envcheck import redaction

            with redaction.hiding():  # what the command learns to hide is forgotten when it ends
                return _guarded(command, func, args, kwargs)

        return wrapper  # type: ignore[return-value]

    return wrap


def _guarded(command: str, func: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> Any:
    """Run the command; whatever ends it early becomes ``fail``."""
    from envcheck import redaction, runner, secrets

    as_json = bool(kwargs.get("json_output"))
    try:
        with runner.stop_on_signals():  # Ctrl-C and SIGTERM stop every child at once, then land here
            redaction.hide(secrets.collect_for_command(kwargs))
            return func(*args, **kwargs)
    except EnvcheckError as exc:
        fail(command, exc.exit_code, exc.message, exc.hint, as_json=as_json, details=exc.details)
    except KeyboardInterrupt:
        fail(command, ExitCode.INTERRUPTED, "interrupted", None, as_json=as_json)
    except (typer.Exit, typer.Abort, CLICK_ERROR):
        raise  # an exit code chosen on purpose, or a usage error for the group's boundary
    except OSError as exc:
        fail(command, ExitCode.UNUSABLE, _os_error_text(exc), _os_error_hint(exc), as_json=as_json)
    except Exception as exc:  # noqa: BLE001 - the one boundary where anything unforeseen becomes one line
        message = f"envcheck could not finish: {type(exc).__name__}: {one_line(str(exc))}"
        fail(command, ExitCode.UNUSABLE, message, "run again with -v; if it persists, report it", as_json=as_json)


def _os_error_text(exc: OSError) -> str:
    reason = exc.strerror or one_line(str(exc)) or type(exc).__name__
    where = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    return f"{reason}: {where}" if where else reason


def _os_error_hint(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "free some space on that disk, or choose another place with --prefix PATH"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "choose a writable place with --prefix PATH (or ENVCHECK_HOME for envcheck's own files)"
    return "check that path's disk and permissions, then run the command again"


def one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def fail(
    command: str, code: ExitCode, message: str, hint: str | None, *, as_json: bool, details: tuple[str, ...] = ()
) -> NoReturn:
    from envcheck.output import print_error
    from envcheck.redaction import redact_credentials

    # an installer's error may quote an index URL: its credentials never reach the screen
    message = redact_credentials(message)
    hint = None if hint is None else redact_credentials(hint)
    details = tuple(redact_credentials(line) for line in details)
    print_error(message, hint, details)
    if as_json:
        from envcheck.output.envelope import emit_json, envelope, status_of

        error: dict[str, object] = {"message": message, "hint": hint}
        if details:
            error["details"] = list(details)
        emit_json(envelope(command, status_of(code), code, error=error))
    raise typer.Exit(int(code))
