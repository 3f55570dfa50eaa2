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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capture import generate  # noqa: E402  (benchmarks/capture.py)

VOXOPS = Path(sys.executable).with_name("voxops")


def timed(argv: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - started
    if out.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({out.returncode}): {out.stderr[-500:]}")
    return elapsed, out.stdout


def in_process(path: Path) -> float:
    from voxops.analysis.loader import analyse_capture
    from voxops.analysis.policy import Policy
    from voxops.analysis.trunkstats import stats_report

    started = time.perf_counter()
    analysis = analyse_capture(path)
    stats_report(str(path), analysis.dialogs, analysis.streams, Policy())
    return time.perf_counter() - started


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
        t_cli, out = timed([str(VOXOPS), "stats", str(path), "--format", "json"])
        report = json.loads(out)
        t_core = min(in_process(path) for _ in range(2))
        t_tshark, ts_out = timed([tshark, "-r", str(path), "-q", "-z", "rtp,streams"])
        ts_streams = sum(1 for line in ts_out.splitlines() if " 0x" in line)
        print(f"voxops stats (CLI):       {t_cli:7.2f} s  {packets / t_cli:12,.0f} packets/s")
        print(f"voxops stats (in-process):{t_core:7.2f} s  {packets / t_core:12,.0f} packets/s")
        print(f"tshark -z rtp,streams:    {t_tshark:7.2f} s  {packets / t_tshark:12,.0f} packets/s "
              f"({ts_streams} streams)")
        print(f"ratio voxops/tshark: CLI {t_tshark / t_cli:.1f}x, in-process {t_tshark / t_core:.1f}x")
        print(f"voxops found {report['calls']} calls, ASR {report['asr']}%")

        call_id = report["call_list"][len(report["call_list"]) // 2]["call_id"]
        diag = [str(VOXOPS), "diagnose", call_id, "--pcap", str(path), "--format", "json"]
        t_build, _ = timed(diag)
        t_diag, _ = timed(diag)
        from voxops.analysis.loader import call_from_index

        started = time.perf_counter()
        assert call_from_index(path, call_id) is not None
        t_lookup = time.perf_counter() - started
        print(f"diagnose one call: {t_build:.2f} s building the index, {t_diag:.2f} s with it "
              f"(index lookup {t_lookup * 1000:.0f} ms, the rest is interpreter start and imports)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
