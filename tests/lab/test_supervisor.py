"""The supervisor: pid files, process groups, and nothing left behind."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from voxops.errors import CommandFailed
from voxops.lab.supervisor import Supervisor, pid_alive, running_pidfiles, stop_pidfiles

# A parent that forks a child into its own process group and waits: the child must die too.
PARENT = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"


def _children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry))
    return out


def _wait_children(pid: int, timeout_s: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout_s  # a loaded machine starts Python slowly
    while time.monotonic() < deadline:
        kids = _children_of(pid)
        if kids:
            return kids
        time.sleep(0.05)
    return []


def test_stop_all_on_exception_kills_the_whole_group(tmp_path):
    with pytest.raises(RuntimeError), Supervisor(tmp_path / "pids") as sup:
        proc = sup.start("parent", [sys.executable, "-c", PARENT])
        kids = _wait_children(proc.pid)
        assert kids, "the child did not start"
        assert (tmp_path / "pids" / "parent.pid").exists()
        raise RuntimeError("a drill failed")
    assert not pid_alive(proc.pid)
    assert not any(pid_alive(k) for k in kids)
    assert not (tmp_path / "pids" / "parent.pid").exists()


def test_pidfiles_let_a_later_command_stop_what_an_earlier_one_started(tmp_path):
    sup = Supervisor(tmp_path / "pids")
    proc = sup.start("sleeper", ["sleep", "60"])
    # a new command (another process in real life) only has the pid files
    assert running_pidfiles(tmp_path / "pids") == {"sleeper": proc.pid}
    assert stop_pidfiles(tmp_path / "pids") == ["sleeper"]
    assert not pid_alive(proc.pid, "sleep")
    assert running_pidfiles(tmp_path / "pids") == {}


def test_a_process_that_dies_at_start_up_is_reported_with_its_log(tmp_path):
    with Supervisor(tmp_path / "pids") as sup, pytest.raises(CommandFailed, match="exited at start-up.*no such option"):
        sup.start("bad", ["sh", "-c", "echo no such option >&2; exit 2"], ready=lambda: False)


def test_stale_pidfile_of_a_reused_pid_is_not_killed(tmp_path):
    piddir = tmp_path / "pids"
    piddir.mkdir()
    # our own pid, recorded as if it were a sipp: must not be signalled
    (piddir / "ghost.pid").write_text(f'{{"pid": {os.getpid()}, "argv": ["/usr/bin/sipp"], "log": "x"}}')
    assert stop_pidfiles(piddir) == []
    assert not (piddir / "ghost.pid").exists()
