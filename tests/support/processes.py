"""Stopping the peers the tests start."""

from __future__ import annotations

import signal
import subprocess

GRACE_S = 5.0


def stop(proc: subprocess.Popen[bytes], grace_s: float = GRACE_S, *, sig: int = signal.SIGTERM) -> None:
    """`sig` (SIGINT lets a capture tool finish its file), then SIGKILL when the process has
    not gone after `grace_s`; always reaped."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace_s)
