"""The voxops CLI run as a user runs it: its own process, exit code, output and peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

# A small launcher forks the CLI and reports the child's own peak RSS. Measured straight
# from this test process, the figure would start at pytest's own size: a forked child's
# peak RSS counts the parent's pages it held until exec.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "voxops", *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_cli(*args: str | Path, timeout: float = 60) -> tuple[int, str, str, float]:
    """(exit code, stdout, stderr, peak RSS MiB of the CLI process alone)."""
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "maxrss"
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, str(rss_file), *map(str, args)],
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "NO_COLOR": "1"})
        return proc.returncode, proc.stdout, proc.stderr, int(rss_file.read_text()) / 1024
