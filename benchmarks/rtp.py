"""RTP + KPI speed: `voxops stats` against `tshark -q -z rtp,streams` on the same file,
and `voxops diagnose` of one call through the sidecar index.

Reuses the capture generator of benchmarks/capture.py (SIP dialogs with bidirectional
20 ms RTP), then times in the same run:
  - `voxops stats FILE --format json` as a user runs it (new process: imports, scan,
    dialogs, RTP streams, KPIs);
  - the same work in this process with the kernels already compiled;
  - `tshark -r FILE -q -z rtp,streams`;
  - `voxops diagnose CALL_ID --pcap FILE`: once building the index, then with it
    (new process, and the index lookup alone in this process).
Prints packets per second for each and the ratios.

    .venv/bin/python benchmarks/rtp.py [--packets 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capture import generate  # noqa: E402  (benchmarks/capture.py)

VOXOPS = Path(sys.executable).with_name("voxops")


def timed(argv: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system) of a child process, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({out.returncode}): {out.stderr[-500:]}")
    return elapsed, cpu, out.stdout


def in_process(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of scan + dialogs + RTP streams + KPIs in this process."""
    from voxops.analysis.loader import analyse_capture
    from voxops.analysis.policy import Policy
    from voxops.analysis.trunkstats import stats_report

    started, cpu = time.perf_counter(), time.process_time()
    analysis = analyse_capture(path)
    stats_report(str(path), analysis.dialogs, analysis.streams, Policy())
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="write the capture here and keep it")
    args = ap.parse_args()
    tshark = shutil.which("tshark")
    if tshark is None:
        raise SystemExit("tshark is not installed (bash .ci/setup installs it)")
    work = Path(tempfile.mkdtemp(prefix="voxops-bench-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    path = work / "bench.pcap"
    try:
        packets, calls = generate(path, args.packets)
        print(f"capture: {packets:,} packets, {calls:,} calls, {path.stat().st_size / 1e6:.0f} MB")
        in_process(path)  # compile (or load) the numba kernels once
        t_cli, c_cli, out = timed([str(VOXOPS), "stats", str(path), "--format", "json"])
        report = json.loads(out)
        t_core, c_core = min(in_process(path) for _ in range(2))
        t_tshark, c_tshark, ts_out = timed([tshark, "-r", str(path), "-q", "-z", "rtp,streams"])
        ts_streams = sum(1 for line in ts_out.splitlines() if " 0x" in line)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times stretch under load)")
        print(f"voxops stats (CLI):        wall {t_cli:6.2f} s  cpu {c_cli:6.2f} s  "
              f"{packets / t_cli:10,.0f} packets/s wall  {packets / c_cli:10,.0f} packets/cpu-s")
        print(f"voxops stats (in-process): wall {t_core:6.2f} s  cpu {c_core:6.2f} s  "
              f"{packets / t_core:10,.0f} packets/s wall  {packets / c_core:10,.0f} packets/cpu-s")
        print(f"tshark -z rtp,streams:     wall {t_tshark:6.2f} s  cpu {c_tshark:6.2f} s  "
              f"{packets / t_tshark:10,.0f} packets/s wall  {packets / c_tshark:10,.0f} packets/cpu-s "
              f"({ts_streams} streams)")
        print(f"ratio voxops/tshark: CLI {t_tshark / t_cli:.1f}x wall, {c_tshark / c_cli:.1f}x cpu; "
              f"in-process {t_tshark / t_core:.1f}x wall, {c_tshark / c_core:.1f}x cpu")
        print(f"voxops found {report['calls']} calls, ASR {report['asr']}%, {len(report['call_list'])} listed")

        call_id = report["call_list"][len(report["call_list"]) // 2]["call_id"]
        diag = [str(VOXOPS), "diagnose", call_id, "--pcap", str(path), "--format", "json"]
        t_build, c_build, _ = timed(diag)
        t_diag, c_diag, _ = timed(diag)
        from voxops.analysis.loader import call_from_index

        started = time.perf_counter()
        assert call_from_index(path, call_id) is not None
        t_lookup = time.perf_counter() - started
        _, c_help, _ = timed([str(VOXOPS), "--help"])
        print(f"diagnose one call: {t_build:.2f} s wall building the index; with it {t_diag:.2f} s wall, "
              f"{c_diag:.2f} s cpu (index lookup {t_lookup * 1000:.0f} ms; `voxops --help` alone {c_help:.2f} s cpu)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
