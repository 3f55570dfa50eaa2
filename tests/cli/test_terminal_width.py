"""The text commands in a real 80x24 terminal (a tmux pane): no line wraps.

A capture of two calls through four hosts, with long Call-IDs, parties and reason
phrases, is shown by every text command in an 80-column pane. tmux marks a line the
terminal wrapped: `capture-pane -J` joins such lines, so any wrap makes the joined
capture differ from the plain one (and holds a line longer than the pane).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import need_tool
from tests.support.multihost import CALL_IDS, SHARED_PREFIX, write_capture

COLUMNS, ROWS = 80, 24
DONE = "__voxops_exit="


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_capture(tmp_path_factory.mktemp("width") / "four-hosts.pcap")


class Pane:
    """An 80x24 tmux pane on a private server, running one command at a time."""

    def __init__(self, tmux: str, workdir: Path) -> None:
        self.tmux, self.workdir = tmux, workdir
        self.socket = ""
        self.conf = workdir / "tmux.conf"
        self.conf.write_text("set -g history-limit 50000\nset -g status off\n")
        self.env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}

    def _tmux(self, *args: str) -> str:
        return subprocess.run([self.tmux, "-L", self.socket, "-f", str(self.conf), *args], check=True,
                              capture_output=True, text=True, timeout=30, env=self.env).stdout

    def run(self, *argv: str) -> tuple[list[str], list[str]]:
        """Plain and joined captures of everything `voxops ARGV` printed (stdout and stderr)."""
        command = shlex.join([sys.executable, "-m", "voxops", *argv])
        script = f"{command}; echo {DONE}$?; sleep 120"
        self.socket = f"voxops-width-{os.getpid()}-{time.monotonic_ns()}"  # a server of its own each time
        self._tmux("new-session", "-d", "-x", str(COLUMNS), "-y", str(ROWS), "-s", "w", "sh", "-c", script)
        try:
            assert self._tmux("display-message", "-p", "-t", "w", "#{pane_width}").strip() == str(COLUMNS)
            deadline = time.monotonic() + 120
            while DONE not in (plain := self._tmux("capture-pane", "-p", "-t", "w", "-S", "-")):
                assert time.monotonic() < deadline, plain
                time.sleep(0.2)
            joined = self._tmux("capture-pane", "-p", "-J", "-t", "w", "-S", "-")
        finally:
            self._tmux("kill-server")
        return _lines(plain), _lines(joined)


def _lines(capture: str) -> list[str]:
    lines = [ln.rstrip() for ln in capture.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _commands(pcap: Path) -> list[tuple[str, ...]]:
    p = str(pcap)
    one = CALL_IDS[0][: len(SHARED_PREFIX) + 5]  # a unique prefix
    return [
        ("calls", p), ("calls", p, "--all", "--time", "abs"),
        ("ladder", p, "--call-id", one), ("ladder", p, "--call-id", one, "--time", "delta"),
        ("ladder", p, "--call-id", SHARED_PREFIX),  # ambiguous: the candidates, on stderr
        ("rtp", p), ("rtp", p, "--time", "abs"),
        ("diagnose", one, "--pcap", p, "--no-index"), ("stats", p),
        ("runbook", "trunk-down"), ("runbook", "--list"),
        ("--help",), ("calls", "--help"), ("ladder", "--help"), ("rtp", "--help"),
        ("diagnose", "--help"), ("stats", "--help"), ("export", "--help"), ("runbook", "--help"),
    ]


def test_text_commands_never_wrap_in_an_80_column_pane(capture: Path, tmp_path: Path) -> None:
    pane = Pane(need_tool("tmux"), tmp_path)
    wrapped = {}
    for argv in _commands(capture):
        plain, joined = pane.run(*argv)
        assert plain and DONE in plain[-1], (argv, plain)
        assert plain[-1] in (f"{DONE}0", f"{DONE}1", f"{DONE}2"), (argv, plain)
        too_long = [ln for ln in joined if len(ln) > COLUMNS]
        if joined != plain or too_long:
            wrapped[" ".join(argv[:1] + argv[2:])] = too_long or [ln for ln in joined if ln not in plain]
    assert not wrapped, "\n".join(f"{cmd}:\n  " + "\n  ".join(lines) for cmd, lines in wrapped.items())


def test_the_pane_check_sees_a_wrapped_line(capture: Path, tmp_path: Path) -> None:
    """The check itself: lines wider than the pane (--full keeps Call-IDs whole) are caught."""
    pane = Pane(need_tool("tmux"), tmp_path)
    plain, joined = pane.run("calls", str(capture), "--full")
    assert joined != plain and any(len(ln) > COLUMNS for ln in joined)


@pytest.mark.parametrize("width", [40, 57, 80, 100, 132])
def test_width_option_bounds_every_text_command(cli, capture: Path, width: int) -> None:  # type: ignore[no-untyped-def]
    for argv in _commands(capture):
        if "--help" in argv or argv[0] == "runbook":
            continue
        code, out, err = cli(*argv, "--width", str(width))
        assert code in (0, 1, 2), (argv, err)
        assert out or code == 2, argv
        longest = max(out.splitlines() or [""], key=len)
        assert len(longest) <= width, (argv, longest)
