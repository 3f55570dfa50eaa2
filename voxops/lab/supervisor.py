"""Starting and always stopping the lab's processes.

Every process runs in a process group of its own (so a SIPp or kamailio child never
outlives it) and has a pid file under the run directory, so that a later `voxops lab down`
in another shell stops what an earlier `voxops lab up` started. A `Supervisor` used as a
context manager stops everything it started on the way out: normal exit, exception,
Ctrl-C, or SIGTERM (turned into KeyboardInterrupt by `sigterm_interrupts`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType

from voxops.errors import CommandFailed
from voxops.proc import which


@dataclass
class Managed:
    """One supervised process."""

    name: str
    argv: list[str]
    pid: int
    log: Path
    pidfile: Path
    popen: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return pid_alive(self.pid, self.argv[0])


def pid_alive(pid: int, argv0: str | None = None) -> bool:
    """True when pid runs (and, given argv0, still runs that program: pids get reused)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        return False
    if argv0 is None:
        return True
    first = raw.split(b"\0", 1)[0].decode(errors="replace")
    return Path(first).name == Path(argv0).name


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def terminate(pid: int, argv0: str | None, *, grace_s: float = 5.0) -> None:
    """SIGTERM the process and its group, then SIGKILL whatever is left after grace_s.

    Returns once the process and every member of its group are gone (a child that
    forked helpers -- kamailio, SIPp -- leaves none behind).
    """
    if not pid_alive(pid, argv0):
        return
    _signal_group(pid, signal.SIGTERM if grace_s > 0 else signal.SIGKILL)
    deadline = time.monotonic() + grace_s
    while True:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid) and _group_gone(pid):
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    _signal_group(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    deadline = time.monotonic() + 2.0
    while not _group_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


class Supervisor:
    """Starts processes with pid files under `piddir`; stops all of them on exit."""

    def __init__(self, piddir: Path, logdir: Path | None = None) -> None:
        self.piddir = piddir
        self.logdir = logdir or piddir
        self.procs: dict[str, Managed] = {}

    def start(
        self,
        name: str,
        argv: Sequence[str | Path],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready: Callable[[], bool] | None = None,
        ready_timeout_s: float = 10.0,
    ) -> Managed:
        if name in self.procs and self.procs[name].alive():
            raise CommandFailed(f"{name} is already running (pid {self.procs[name].pid})")
        args = [str(a) for a in argv]
        args[0] = which(args[0]) if "/" not in args[0] else args[0]
        self.piddir.mkdir(parents=True, exist_ok=True)
        self.logdir.mkdir(parents=True, exist_ok=True)
        log = self.logdir / f"{name}.log"
        with log.open("ab") as out:
            try:
                popen = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: stopped as a whole
                    env={**os.environ, **env} if env else None,
                    cwd=cwd,
                )
            except OSError as exc:
                raise CommandFailed(f"`{' '.join(args)}` could not start: {exc.strerror}") from exc
        # Popen can return before the child's exec shows in /proc; pid files are matched
        # against the program name, so wait until it does
        deadline = time.monotonic() + 2.0
        while popen.poll() is None and not pid_alive(popen.pid, args[0]) and time.monotonic() < deadline:
            time.sleep(0.005)
        pidfile = self.piddir / f"{name}.pid"
        # atomic: a reader (`lab down` in another shell) never sees a half-written pid file
        tmp = pidfile.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": popen.pid, "argv": args, "log": str(log)}) + "\n")
        tmp.replace(pidfile)
        managed = Managed(name, args, popen.pid, log, pidfile, popen)
        self.procs[name] = managed
        if ready is not None:
            self._wait_ready(managed, ready, ready_timeout_s)
        return managed

    def _wait_ready(self, managed: Managed, ready: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not managed.alive():
                raise CommandFailed(
                    f"{managed.name} exited at start-up: {tail(managed.log)}"
                )
            if ready():
                return
            time.sleep(0.1)
        raise CommandFailed(f"{managed.name} not ready after {timeout_s:g} s: {tail(managed.log)}")

    def stop(self, name: str, *, grace_s: float = 5.0) -> None:
        managed = self.procs.pop(name, None)
        if managed is None:
            return
        terminate(managed.pid, managed.argv[0], grace_s=grace_s)
        if managed.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                managed.popen.wait(timeout=1)
        managed.pidfile.unlink(missing_ok=True)

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A second Ctrl-C while stopping must not leave the rest running.
        with signals_deferred():
            self.stop_all()


def stop_pidfile(pidfile: Path, *, grace_s: float = 5.0) -> bool:
    """Stop the process a pid file records (if it still runs that program); True if it ran."""
    try:
        rec = json.loads(pidfile.read_text())
        pid, argv0 = int(rec["pid"]), str(rec["argv"][0])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        pidfile.unlink(missing_ok=True)
        return False
    ran = pid_alive(pid, argv0)
    if ran:
        terminate(pid, argv0, grace_s=grace_s)
    pidfile.unlink(missing_ok=True)
    return ran


def stop_pidfiles(piddir: Path, *, grace_s: float = 5.0) -> list[str]:
    """Stop every process recorded under piddir (by `Supervisor.start`); names stopped."""
    return [f.stem for f in sorted(piddir.glob("*.pid")) if stop_pidfile(f, grace_s=grace_s)]


def running_pidfiles(piddir: Path) -> dict[str, int]:
    """name -> pid of each recorded process that still runs."""
    found = {}
    for pidfile in sorted(piddir.glob("*.pid")):
        try:
            rec = json.loads(pidfile.read_text())
            pid, argv0 = int(rec["pid"]), str(rec["argv"][0])
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            continue
        if pid_alive(pid, argv0):
            found[pidfile.stem] = pid
    return found


def tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ignore SIGINT/SIGTERM while cleaning up (main thread only)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Make SIGTERM (and SIGINT, even when inherited as ignored) raise KeyboardInterrupt,
    so that every `finally` and `with` of a drill cleans up."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, _raise) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
