"""SIP + RTP reconstruction speed from the command line: `voxops stats` against
`tshark -q -z rtp,streams` and sip-doctor `read --json` on the same files.

For each size (default 1 M and 3 M packets) generates a capture with the generator of
benchmarks/capture.py (SIP dialogs with bidirectional 20 ms RTP, about 200 concurrent
calls), then times each tool as a user runs it (a new process, median of --runs):
  - `voxops stats FILE --format json` (both cores on big files), and with one core
    (VOXOPS_WORKERS=1);
  - `tshark -r FILE -q -z rtp,streams`;
  - `sip-doctor read --json FILE`, installed in a throwaway venv here (not a voxops
    dependency; skipped with --no-sip-doctor).
Prints wall and CPU seconds, the ratios against voxops, and voxops' peak RSS (of its
largest process) against the file's size, with the load average when it ran.

    .venv/bin/python benchmarks/rtp.py [--packets 1000000 3000000] [--runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capture import generate  # noqa: E402  (benchmarks/capture.py)

VOXOPS = Path(sys.executable).with_name("voxops")
TARGETS = {1_000_000: 10.0, 3_000_000: 15.0}


# The command runs as the grandchild of a small launcher: a process forked from this
# one (which holds the generated capture) would count this process's memory as its own
# peak RSS (Linux carries the parent's high-water mark across fork and exec).
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, its children included) and peak RSS
    (MiB, of its largest process) of one command run as a new process."""
    with tempfile.TemporaryDirectory() as tmp:
        usage_file = Path(tmp) / "usage"
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, str(usage_file), *argv],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        elapsed = time.perf_counter() - started
        err = proc.stderr.decode(errors="replace")
        if proc.returncode not in (0, 1) or not usage_file.exists():
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err[-500:]}")
        maxrss_kib, cpu = usage_file.read_text().split()
    return elapsed, float(cpu), int(maxrss_kib) / 1024


def median_of(runs: int, argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    results = [timed(argv, env) for _ in range(runs)]
    return (statistics.median(r[0] for r in results), statistics.median(r[1] for r in results),
            max(r[2] for r in results))


def sip_doctor(work: Path) -> Path | None:
    """sip-doctor installed in a throwaway venv under `work` (None when it cannot be)."""
    venv = work / "sip-doctor-venv"
    tool = venv / "bin" / "sip-doctor"
    if not tool.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "sip-doctor"], check=True, timeout=600,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (subprocess.SubprocessError, OSError) as exc:
            print(f"sip-doctor: not installed ({exc}); its column is left out")
            return None
    return tool


def line(name: str, wall: float, cpu: float, packets: int) -> str:
    return f"  {name:34} wall {wall:6.2f} s  cpu {cpu:6.2f} s  {packets / wall:11,.0f} packets/s"


def measure(path: Path, packets: int, runs: int, tshark: str, doctor: Path | None) -> None:
    size_mib = path.stat().st_size / 2**20
    stats = [str(VOXOPS), "stats", str(path), "--format", "json"]
    timed(stats)  # warm: the page cache, the compiled kernels
    one_core = {**os.environ, "VOXOPS_WORKERS": "1"}
    t_vox, c_vox, rss = median_of(runs, stats)
    t_one, c_one, rss_one = median_of(runs, stats, one_core)
    t_ts, c_ts, _ = median_of(runs, [tshark, "-r", str(path), "-q", "-z", "rtp,streams"])
    print(f"{packets:,} packets, {size_mib:.0f} MiB; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} cores (median of {runs})")
    print(line("voxops stats (two cores)", t_vox, c_vox, packets))
    print(line("voxops stats (VOXOPS_WORKERS=1)", t_one, c_one, packets))
    print(line("tshark -q -z rtp,streams", t_ts, c_ts, packets))
    target = TARGETS.get(packets)
    print(f"  voxops vs tshark: {t_ts / t_vox:.1f}x wall (one core {t_ts / t_one:.1f}x), {c_ts / c_vox:.1f}x cpu"
          + (f"; target {target:g}x" if target else ""))
    print(f"  voxops peak RSS {rss:.0f} MiB = {100 * rss / size_mib:.0f}% of the capture "
          f"(one core {rss_one:.0f} MiB = {100 * rss_one / size_mib:.0f}%); target 25%")
    if doctor is not None:
        t_doc, c_doc, _ = median_of(1, [str(doctor), "read", "--json", str(path)])
        print(line("sip-doctor read --json (one run)", t_doc, c_doc, packets))
        print(f"  voxops vs sip-doctor: {t_doc / t_vox:.1f}x wall, {c_doc / c_vox:.1f}x cpu")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, nargs="+", default=[1_000_000, 3_000_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="write (or reuse) the captures here and keep them")
    ap.add_argument("--no-sip-doctor", action="store_true")
    args = ap.parse_args()
    tshark = shutil.which("tshark")
    if tshark is None:
        raise SystemExit("tshark is not installed (bash .ci/setup installs it)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="voxops-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        doctor = None if args.no_sip_doctor else sip_doctor(work)
        for packets in args.packets:
            path = work / f"rtp-{packets}.pcap"
            if not path.exists():
                generate(path, packets)
            measure(path, packets, args.runs, tshark, doctor)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
