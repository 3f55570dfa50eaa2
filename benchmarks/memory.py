"""Peak RSS of `voxops calls`, `stats` and `ladder --call-id` against the number of calls.

Generates SIP-only captures (INVITE with SDP / 200 with SDP / ACK / BYE / 200 per call,
one call every 10 ms, every 10th call with a second B2BUA leg for `ladder`) with voxops'
own writer, then runs each command as a user does (a new process) and reads its peak
RSS (RUSAGE_CHILDREN). Prints each figure and the large/small ratio.

    .venv/bin/python benchmarks/memory.py [--small 10000] [--large 1000000]
        [--ladder-small 2000] [--ladder-large 200000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from voxops.capture.writer import write_sip_calls as write_calls


def peak_rss_mib(*args: str | Path) -> tuple[float, float]:
    """(peak RSS MiB, seconds) of one voxops command run as a new process."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "voxops", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"voxops {' '.join(map(str, args))} exited {proc.returncode}")
    return usage.ru_maxrss / 1024, time.monotonic() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=1_000_000)
    ap.add_argument("--ladder-small", type=int, default=2_000)
    ap.add_argument("--ladder-large", type=int, default=200_000)
    ap.add_argument("--keep", type=Path, default=None, help="write (or reuse) the captures here")
    ap.add_argument("--only", choices=["calls", "ladder"], default=None)
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="voxops-memory-"))
    folder.mkdir(parents=True, exist_ok=True)

    def capture(calls: int) -> Path:
        path = folder / f"calls-{calls}.pcap"
        if not path.exists():
            started = time.monotonic()
            write_calls(path, calls)
            print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - started:.0f} s",
                  flush=True)
        return path

    runs = []
    if args.only in (None, "calls"):
        runs += [("calls", args.small, args.large, ()), ("stats", args.small, args.large, ())]
    if args.only in (None, "ladder"):
        runs.append(("ladder", args.ladder_small, args.ladder_large, ("--call-id", "leg-1000@b2b")))
    for command, small, large, extra in runs:
        figures = []
        for calls in (small, large):
            rss, seconds = peak_rss_mib(command, capture(calls), *extra)
            figures.append(rss)
            print(f"voxops {command} {' '.join(extra)} on {calls} calls: peak RSS {rss:.0f} MiB ({seconds:.0f} s)",
                  flush=True)
        print(f"voxops {command}: {large} / {small} calls -> RSS ratio {figures[1] / figures[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
