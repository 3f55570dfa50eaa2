"""`voxops audio` speed and memory on a 10-minute call, against peers in the same run.

Generates a 10-minute PCMU call (both directions, 20 ms packets, alternating speech-like
bursts), then times, each as a new process, best of --runs:
  - `voxops audio FILE --call-id ID -o DIR` (scan, call selection, payload read-back,
    decoding, voice activity, conversation analysis, two WAV files and the JSON summary);
  - `voxops export FILE --call-id ID` (the same call selection and read-back, no decoding);
  - `tshark -r FILE -q -z rtp,streams` (per-stream RTP statistics, no decoding);
  - `sox` decoding the same call's payload bytes (already extracted) to WAV, both directions.
It also runs `voxops audio` on the same call inside a capture holding --other-calls more
concurrent calls with RTP, and prints both peak RSS figures: memory must not grow with them.

    .venv/bin/python benchmarks/audio.py [--minutes 10] [--other-calls 20] [--runs 3]

The package is byte-compiled first, as an installed one is: with PYTHONDONTWRITEBYTECODE
set, every run would otherwise compile voxops' sources again (about 0.4 s of each run).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from voxops.audio.codecs import encode_g711  # noqa: E402
from voxops.capture.writer import PcapWriter, rtp_bytes, udp_frame, write_rtp_call  # noqa: E402

VOXOPS = Path(sys.executable).with_name("voxops")
CALL = "bench-call@test"


def side_audio(seconds: float, talking_first: bool, seed: int) -> np.ndarray:
    """Line noise with 3 s voice-like bursts (a modulated 200-900 Hz tone) every 6 s, offset per side."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 8000)) / 8000
    pcm = rng.normal(0, 40, len(t))
    phase = (t % 6.0) < 3.0
    mine = phase if talking_first else ~phase
    voice = 6000 * np.sin(2 * np.pi * (200 + 700 * (t % 1)) * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return np.clip(pcm + np.where(mine, voice, 0), -32768, 32767).astype(np.int16)


def packets(pcm: np.ndarray, ssrc: int, start: float = 0.25) -> list[tuple[float, int, int, int, int, bytes]]:
    payload = encode_g711(pcm)
    return [(start + 0.02 * i, i & 0xFFFF, 160 * i, ssrc, 0, payload[160 * i: 160 * (i + 1)])
            for i in range(len(pcm) // 160)]


def write_with_others(path: Path, alone: Path, others: int, seconds: float) -> None:
    """The call's capture with `others` more RTP flows (other calls' media) interleaved."""
    from voxops.capture.files import read_batches

    frames = []
    for batch in read_batches(alone, lambda _m: None):
        frames += [(float(batch.ts[i]), batch.data(i)) for i in range(len(batch))]
    t0 = frames[0][0]
    payload = bytes(range(160))
    for k in range(others):
        src, dst = (f"10.3.{k // 200}.{k % 200 + 1}", 30000 + 2 * k), (f"10.4.{k // 200}.{k % 200 + 1}", 32000)
        frames += [(t0 + 0.25 + 0.02 * i + k * 1e-4, udp_frame(*src, *dst, rtp_bytes(i, 160 * i, 1000 + k, 0, payload)))
                   for i in range(int(seconds * 50))]
    frames.sort(key=lambda f: f[0])
    with PcapWriter(path) as w:
        for ts, data in frames:
            w.write(ts, data)


def run(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process; the RSS comes from GNU time, as
    a child forked from this process would count this process's pages until its exec."""
    timer = shutil.which("time") or "/usr/bin/time"
    started = time.perf_counter()
    done = subprocess.run([timer, "-f", "%M", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {done.stderr}")
    return wall, int(done.stderr.strip().splitlines()[-1])


def best(argv: list[str], runs: int) -> tuple[float, int]:
    results = [run(argv) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--other-calls", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    compileall.compile_dir(str(REPO / "voxops"), quiet=1)
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="voxops-bench-audio-") as tmp:
        work = Path(tmp)
        caller, agent = side_audio(seconds, True, 1), side_audio(seconds, False, 2)
        call = work / "call.pcap"
        write_rtp_call(call, packets(caller, 0x1111), packets(agent, 0x2222), call_id=CALL)
        crowded = work / "crowded.pcap"
        write_with_others(crowded, call, args.other_calls, seconds)
        for side, pcm in (("caller", caller), ("agent", agent)):
            (work / f"{side}.ul").write_bytes(encode_g711(pcm))
        print(f"call: {seconds:.0f} s, {2 * len(caller) // 160} RTP packets, {call.stat().st_size / 1e6:.1f} MB; "
              f"with {args.other_calls} other calls: {crowded.stat().st_size / 1e6:.1f} MB")

        ours, rss = best([str(VOXOPS), "audio", str(call), "--call-id", CALL, "-o", str(work / "out")], args.runs)
        _, rss_crowded = best([str(VOXOPS), "audio", str(crowded), "--call-id", CALL, "-o", str(work / "out2")], 1)
        print(f"voxops audio:           {ours:6.2f} s  (peak RSS {rss / 1024:.0f} MiB; "
              f"{rss_crowded / 1024:.0f} MiB with {args.other_calls} other calls)")
        export, _ = best([str(VOXOPS), "export", str(call), "--call-id", CALL, "-o", str(work / "cut.pcap")], args.runs)
        print(f"voxops export (same call selection, no decoding): {export:6.2f} s  ratio audio/export {ours / export:.2f}")
        tshark = shutil.which("tshark")
        if tshark:
            peer, _ = best([tshark, "-r", str(call), "-q", "-z", "rtp,streams"], args.runs)
            print(f"tshark -z rtp,streams:  {peer:6.2f} s  ratio voxops/tshark {ours / peer:.2f}")
        sox = shutil.which("sox")
        if sox:
            script = " && ".join(f"{sox} -t ul -r 8000 -c 1 {work / s}.ul {work / s}.wav" for s in ("caller", "agent"))
            peer, _ = best(["sh", "-c", script], args.runs)
            print(f"sox decode (payloads):  {peer:6.2f} s  ratio voxops/sox {ours / peer:.2f}")
        print(f"target: under 2 s for a 10-minute call: {'met' if ours < 2.0 else 'NOT met'} "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
