"""The one place that runs programs: argument lists, a timeout on every call, a clean environment.

Every child runs in its own session so that a timeout or a Ctrl-C kills the whole tree (an installer's
compilers, TensorFlow's helper threads, a Jupyter kernel in a session of its own) before envcheck removes
anything. Because the children do not share envcheck's process group, the terminal's Ctrl-C reaches envcheck
alone: ``stop_on_signals`` turns SIGINT and SIGTERM into killing every live child at once and a
``KeyboardInterrupt`` in the main thread, so that no command waits on a child or a thread that cannot hear
the signal. On Linux the kernel also kills a child when envcheck dies (``kill -9``): PR_SET_PDEATHSIG.
Tests patch ``run`` alone.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from envcheck import children, shell
from envcheck.bounded import LINE_LIMIT, HeadTail, drain
from envcheck.errors import ProgramNotFoundError
from envcheck.redaction import redact_credentials

# Variables that would let the parent's Python setup leak into the target interpreter.
DROPPED_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "__PYVENV_LAUNCHER__", "PYTHONSTARTUP", "PYTHONEXECUTABLE")


# What envcheck sets for every child: its own choices, never to be reported as the user's settings.
OWN_VARIABLES = {"PYTHONIOENCODING": "utf-8", "PYTHONNOUSERSITE": "1"}


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}
    env.update(OWN_VARIABLES)
    if extra:
        env.update(extra)
    return env


@dataclass(frozen=True)
class Deadline:
    """One time limit for a whole command: every child it starts gets what is left of it."""

    seconds: float
    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds=seconds, at=time.monotonic() + seconds)

    def remaining(self, cap: float | None = None) -> float:
        left = max(0.0, self.at - time.monotonic())
        return left if cap is None else min(cap, left)


@dataclass(frozen=True)
class Completed:
    """What a finished (or killed) program left behind."""

    argv: tuple[str, ...]
    returncode: int | None  # None when it was killed for running past its timeout
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    left_out: int = 0  # bytes of output dropped between the kept head and tail (envcheck.bounded)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def signal_number(self) -> int | None:
        """The signal that killed the program (SIGILL, SIGSEGV, ...), if one did."""
        if self.returncode is not None and self.returncode < 0:
            return -self.returncode
        return None

    @property
    def signal_name(self) -> str | None:
        number = self.signal_number
        if number is None:
            return None
        try:
            return signal.Signals(number).name
        except ValueError:
            return f"signal {number}"

    def describe_exit(self) -> str:
        if self.timed_out:
            return "did not finish within its time limit"
        if self.signal_name:
            return f"was killed by {self.signal_name}"
        return f"exited with code {self.returncode}"


# The children running now, from any thread; a signal handler kills them all.
_live: set[subprocess.Popen[Any]] = set()
_live_lock = threading.RLock()  # re-entrant: the handler runs in the main thread, which may hold it
_stopping = threading.Event()  # a signal is stopping the command: no new child may start
_starting = False  # the main thread is inside Popen: a signal now is raised by run() once the child is known
_handling = False  # the handlers are installed (a nested use leaves them be)
_signal_number: int | None = None  # the signal that is stopping the command
_reported: frozenset[int] = frozenset()  # signals that stop the children but are not raised (``reported``)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside: SIGINT and SIGTERM (and SIGHUP, unless ignored) kill every child's tree, then raise
    KeyboardInterrupt in the main thread.

    The handlers are installed even where SIGINT was inherited as ignored (a background job of a script):
    a user who sends envcheck SIGINT wants it to stop, and a probe in a session of its own would never hear it.
    Nested uses share the outer handlers. Outside the main thread this does nothing.
    """
    global _handling
    if threading.current_thread() is not threading.main_thread() or _handling:
        yield
        return
    numbers = [signal.SIGINT]
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and not (name == "SIGHUP" and signal.getsignal(number) is signal.SIG_IGN):
            numbers.append(number)
    previous = {number: signal.signal(number, _on_signal) for number in numbers}
    _handling = True
    try:
        yield
    finally:
        _handling = False
        for number, handler in previous.items():
            signal.signal(number, handler)
        _stopping.clear()


@contextlib.contextmanager
def cleaning_up() -> Iterator[None]:
    """While inside: putting things back after a failure or an interrupt, which must not stop half-way.

    Ctrl-C and SIGTERM are ignored for the moment it takes (children started now inherit that, on purpose),
    and children may start again although a signal is stopping the command: the clean-up may need pip.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None]
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in held}
    stopping = _stopping.is_set()
    _stopping.clear()
    try:
        yield
    finally:
        if stopping:
            _stopping.set()
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def reported(*numbers: int) -> Iterator[None]:
    """While inside (with ``stop_on_signals``): ``numbers`` still kill every child, and no new one starts, but
    are not raised; the command asks ``stopping_signal`` and reports how it was ended. For a signal that is an
    order to finish, not an interrupt: a Slurm step's SIGTERM (srun -K, scancel, the time limit), after which
    the task has Slurm's KillWait to write what happened, and must not lose a report it holds already."""
    global _reported
    before = _reported
    _reported = before | frozenset(numbers)
    try:
        yield
    finally:
        _reported = before


def stopping_signal() -> int | None:
    """The signal that stopped the command (SIGINT, SIGTERM, SIGHUP), while it is being stopped; else None."""
    return _signal_number if _stopping.is_set() else None


def _on_signal(signum: int, frame: Any) -> None:
    global _signal_number
    first = not _stopping.is_set()
    if first:
        _signal_number = signum
    _stopping.set()
    stop_children()
    # a second Ctrl-C while the first one unwinds must not interrupt the clean-up; one that lands while the main
    # thread starts a child is raised by ``run`` once the child is known and killed (raised inside Popen, after
    # the fork, it would leave the child running unseen, writing into what the clean-up removes)
    if first and not _starting and signum not in _reported:
        raise KeyboardInterrupt


def stop_children() -> None:
    """Kill the process tree of every live child now, without waiting; their waiting threads then return."""
    with _live_lock:
        running = list(_live)
    for proc in running:
        children.kill_tree(proc, wait=False)


def display(argv: Sequence[str]) -> str:
    """An argument list as one redacted line for logs and messages."""
    return redact_credentials(shell.join(argv))


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    on_line: Callable[[str], None] | None = None,
    log: IO[str] | None = None,
    background: bool = False,
) -> Completed:
    """Run ``argv`` and wait for it, at most ``timeout`` seconds.

    ``background``: the child runs beside another that the command waits for (verify's kernel probe and pip
    check beside the probe that imports the stack) and gets a lower priority (``nice`` 10, and its children
    with it; Windows: below normal), so that on a machine with few cores it takes what that one leaves.

    With ``on_line`` or ``log`` the output (stdout and stderr merged, in order) is streamed line by line,
    redacted, and also returned as ``stdout``. Without them stdout and stderr are captured apart, each drained
    by a thread of its own so that a chatty child can never block on a full pipe. Either way what is kept is
    bounded (``envcheck.bounded``): a child that writes without end costs its head and its tail, never all of
    memory or disk; the log gets the same. A ``KeyboardInterrupt`` kills the child's whole process tree, then
    propagates.
    """
    args = tuple(os.fspath(a) for a in argv)
    child_env = clean_environment(env)
    start = time.monotonic()
    streaming = on_line is not None or log is not None
    if _stopping.is_set():  # the command is being stopped: start nothing new (a worker thread's next probe)
        raise KeyboardInterrupt
    global _starting
    main = threading.current_thread() is threading.main_thread()
    try:
        _starting = main
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if streaming else subprocess.PIPE,
            env=child_env,
            cwd=cwd,
            start_new_session=(os.name == "posix"),
            text=streaming,
            encoding="utf-8" if streaming else None,
            errors="replace" if streaming else None,
            preexec_fn=children.pre_exec(background),
            creationflags=getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0) if background else 0,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        if main and _stopping.is_set():
            raise KeyboardInterrupt from None
        raise ProgramNotFoundError(
            f"cannot run {args[0]}: {exc.strerror or exc}",
            "check that the path exists and is an executable program",
        ) from exc
    finally:
        if main:
            _starting = False
    if main and _stopping.is_set():  # the signal came while the child started: it goes before anything is undone
        children.kill_tree(proc)
        raise KeyboardInterrupt

    out, err = HeadTail(), HeadTail()
    logged = _Logged()
    readers: list[threading.Thread] = []
    timed_out = False
    try:
        with _live_lock:
            _live.add(proc)
            if _stopping.is_set():  # the signal came while it started: it was not in the list yet
                children.kill_tree(proc, wait=False)
        # each reader holds its stream: a grandchild that outlives the child may keep the pipe open
        if streaming:
            readers.append(_reader(_pump, proc.stdout, out, on_line, log, logged))
        else:
            readers += [_reader(drain, proc.stdout.fileno(), out), _reader(drain, proc.stderr.fileno(), err)]  # type: ignore[union-attr]
        try:
            wait_for(proc, timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            children.kill_tree(proc)
    except BaseException:
        children.kill_tree(proc)
        raise
    finally:
        with _live_lock:
            _live.discard(proc)
        for reader in readers:
            # the child has ended: what it wrote is in the pipe already, read in moments; a grandchild that
            # still holds the pipe (a daemon it started) is not waited for
            reader.join(timeout=5 if streaming else 2)
    if log is not None and out.head_full:
        log.write(out.since(logged.bytes))
        log.flush()
    return Completed(
        argv=args,
        returncode=None if timed_out else proc.returncode,
        stdout=out.text(),
        stderr=err.text(),
        duration=time.monotonic() - start,
        timed_out=timed_out,
        left_out=out.dropped + err.dropped,
    )


POLL_FOREVER = 24 * 86400.0  # seconds; poll's limit is a C int of milliseconds


def wait_for(proc: subprocess.Popen[Any], timeout: float) -> int:
    """``proc.wait(timeout)``, awake the moment the child ends (Python's own looks every 50 ms at most). Linux
    5.3 and later: the child's pidfd, readable once it ends, polled with the time limit; elsewhere, Python's
    wait. A signal's handler that raises (Ctrl-C) ends either."""
    try:
        pidfd = os.pidfd_open(proc.pid) if hasattr(os, "pidfd_open") and proc.returncode is None else None
    except OSError:  # an older kernel, or a sandbox that forbids it
        pidfd = None
    if pidfd is not None:
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            if not poller.poll(None if timeout >= POLL_FOREVER else max(0, math.ceil(timeout * 1000))):
                raise subprocess.TimeoutExpired(proc.args, timeout)
        finally:
            os.close(pidfd)
    return proc.wait(timeout=timeout)  # reaps it at once when it has ended


def _reader(target: Callable[..., None], *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


class _Logged:
    """How many bytes of a streamed output went to the log as they came (the head; the tail follows at the end)."""

    bytes = 0


def _pump(
    stream: IO[str],
    kept: HeadTail,
    on_line: Callable[[str], None] | None,
    log: IO[str] | None,
    logged: _Logged,
) -> None:
    while True:
        raw = stream.readline(LINE_LIMIT)  # a line without end arrives in pieces, never whole
        if not raw:
            return
        line = redact_credentials(raw)
        data = line.encode("utf-8", errors="replace")
        if log is not None and not kept.head_full:
            log.write(line)
            log.flush()
            logged.bytes += len(data)
        kept.add(data)
        if on_line is not None:
            on_line(line.rstrip("\n"))


# Signals a terminal sends to its whole foreground process group: the child gets them from the terminal itself.
_TERMINAL_SIGNALS = ("SIGINT", "SIGQUIT")
# Signals sent to envcheck alone (kill, a closing terminal, a CI runner's cancel): passed on to the child.
_FORWARDED_SIGNALS = ("SIGTERM", "SIGHUP")


def run_passthrough(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str],
    timeout: float | None,
    cwd: str | os.PathLike[str] | None = None,
) -> int:
    """Run a user's own command in the foreground and return its exit code (128 + N when signal N ended it).

    Unlike ``run``, the child owns the terminal: it shares envcheck's stdin, stdout, stderr and process group,
    so Ctrl-C reaches it straight from the terminal while envcheck waits without being stopped by it;
    SIGTERM and SIGHUP sent to envcheck alone are forwarded. ``env`` is used as given (the caller decides what
    the user's command sees). ``timeout`` is explicit: None for an interactive program such as ``jupyter lab``,
    whose lifetime is the user's; past a timeout the child is killed and 124 returned, as timeout(1) does.
    """
    args = tuple(os.fspath(a) for a in argv)
    proc: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: object) -> None:
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signum)

    def hold(signum: int, frame: object) -> None:
        return None  # the terminal has sent it to the child too; the child decides what it means

    # Handlers are Python functions, never SIG_IGN, and set before the child starts: an ignored signal would be
    # inherited by the child (and Ctrl-C would not stop it), a handled one is reset to its default by exec.
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for name, handler in [(n, hold) for n in _TERMINAL_SIGNALS] + [(n, forward) for n in _FORWARDED_SIGNALS]:
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.signal(number, handler)
    try:
        try:
            proc = subprocess.Popen(args, env=dict(env), cwd=cwd)
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise ProgramNotFoundError(
                f"cannot run {args[0]}: {exc.strerror or exc}",
                "check that the path exists and is an executable program",
            ) from exc
        try:
            returncode = proc.wait() if timeout is None else wait_for(proc, timeout)
        except BaseException as exc:
            # the child shares envcheck's process group, so the group cannot be killed: the child alone is
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            if isinstance(exc, subprocess.TimeoutExpired):
                return 124
            raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 128 - returncode if returncode < 0 else returncode
