"""Load on one voice agent with SIPp (signalling) and RTP (G.711 from a pcap), on 127.0.6.x.

Phases:
  1. capacity: keep `capacity` calls up for --duration seconds (echo pipeline, RTP both
     ways): answered %, INVITE -> 200 p50/p99, agent CPU per call, RSS at start and end.
  2. overload: 2 x capacity concurrent calls: every excess call must get 486, the agent
     must still be alive and answering afterwards.
  3. peer: the same capacity load against SIPp's own UAS (`-sn uas`), the reference for
     the setup-time ratio.

Usage: .venv/bin/python benchmarks/agent.py [--duration 60] [--hold 5] [--soak]
       .venv/bin/python benchmarks/agent.py --pipeline websocket [--calls 50] [--hold 10]
(--soak = a 600 s capacity phase, to watch RSS growth.)
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from tests.agent.peers import AgentProc, responses, start_agent  # noqa: E402
from tests.agent.scenarios import caller  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.support.processes import stop  # noqa: E402

AGENT_IP, SIPP_IP, UAS_IP = "127.0.6.40", "127.0.6.41", "127.0.6.42"


def write_rtp_pcap(path: Path, seconds: float, payload: Callable[[int], bytes] | None = None) -> Path:
    """PCMU RTP at 20 ms in an Ethernet pcap, for SIPp's play_pcap_audio; `payload(i)` is
    packet i's 160 bytes (a fixed pattern by default)."""
    from voxops.capture.writer import PcapWriter, rtp_bytes, udp_frame

    with PcapWriter(path) as out:
        for i in range(int(seconds * 50)):
            body = payload(i) if payload else bytes((i * 7 + k * 13) % 256 for k in range(160))
            rtp = rtp_bytes(i & 0xFFFF, i * 160, 0x5EED, 0, body)
            out.write(i * 0.02, udp_frame("127.0.0.1", 6000, "127.0.0.1", 6000, rtp, ident=i & 0xFFFF))
    return path


_STAMP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)", re.M)


def setup_times(log: str) -> list[float]:
    """INVITE sent -> 200 received per call, in ms, from a SIPp -trace_msg log."""
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    parts = _STAMP.split(log)
    for stamp, body in zip(parts[1::2], parts[2::2], strict=False):
        t = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        m = re.search(r"^Call-ID:\s*(\S+)", body, re.M | re.I)
        if not m:
            continue
        cid = m.group(1)
        if "message sent" in body and re.search(r"^\s*INVITE sip:", body, re.M) and "CSeq: 1 INVITE" in body:
            sent.setdefault(cid, t)
        elif "SIP/2.0 200" in body and "CSeq: 1 INVITE" in body:
            answered.setdefault(cid, t)
    return sorted((answered[c] - sent[c]) * 1000 for c in answered if c in sent)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def run_sipp(tmp: Path, target: str, scenario: Path, *, calls: int, limit: int, hold_ms: int, tag: str,
             rate: tuple[int, int] = (20, 1000)) -> str:
    """SIPp as the caller; `rate` = (calls, per milliseconds)."""
    messages = tmp / f"{tag}.log"
    media_port = free_port(SIPP_IP)
    argv = ["sipp", target, "-sf", str(scenario), "-i", SIPP_IP, "-p", str(free_port(SIPP_IP)),
            "-mi", SIPP_IP, "-mp", str(media_port), "-m", str(calls), "-l", str(limit),
            "-r", str(rate[0]), "-rp", str(rate[1]),
            "-d", str(hold_ms), "-nostdin", "-trace_msg", "-message_file", str(messages),
            "-timeout", f"{hold_ms // 1000 * calls + 120}s",
            "-key", "pt", "0", "-key", "codec", "PCMU", "-key", "rtpport", str(media_port)]
    subprocess.run(argv, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   timeout=hold_ms / 1000 * calls + 180)
    return messages.read_text() if messages.exists() else ""


def capacity_phase(tmp: Path, agent: AgentProc, cap: int, duration: int, hold_s: int) -> dict[str, float]:
    proc = psutil.Process(agent.proc.pid)
    scenario = caller(tmp / "load.xml", media_pcap=write_rtp_pcap(tmp / "rtp.pcap", hold_s))
    calls = max(cap, int(duration / (hold_s + 0.2)) * cap)
    rss_start = proc.memory_info().rss
    cpu_start = sum(proc.cpu_times()[:2])
    t0 = time.monotonic()
    # offered load = capacity: `cap` new calls per call duration, never more than `cap` open
    log = run_sipp(tmp, f"{AGENT_IP}:{agent.sip_port}", scenario, calls=calls, limit=cap,
                   hold_ms=hold_s * 1000, tag="capacity", rate=(cap, hold_s * 1000 + 200))
    wall = time.monotonic() - t0
    cpu = sum(proc.cpu_times()[:2]) - cpu_start
    rss_end = proc.memory_info().rss
    time.sleep(1.5)  # the last calls' RTP counts land at their final stats sample
    rtp = agent.metric("voxops_agent_rtp_received_packets_total") or 0.0
    left_up = agent.metric("voxops_agent_calls_active") or 0.0
    timeouts = agent.metric("voxops_agent_media_timeouts_total") or 0.0
    ok = responses(log, 200)
    times = setup_times(log)
    call_seconds = ok * hold_s
    return {
        "calls": calls, "answered": ok, "busy": responses(log, 486), "wall_s": wall,
        "answered_pct": 100 * ok / calls if calls else 0, "p50_ms": pct(times, 50), "p99_ms": pct(times, 99),
        "cpu_s": cpu, "cpu_pct_per_call": 100 * cpu / call_seconds if call_seconds else float("nan"),
        "cpu_ms_per_call": 1000 * cpu / ok if ok else float("nan"),
        "rtp_per_call": rtp / ok if ok else 0.0, "left_up": left_up, "media_timeouts": timeouts,
        "no_final": calls - ok - responses(log, 486),
        "rss_start_mb": rss_start / 2**20, "rss_end_mb": rss_end / 2**20,
    }


def overload_phase(tmp: Path, agent: AgentProc, cap: int, hold_s: int) -> dict[str, float]:
    scenario = caller(tmp / "over.xml")
    log = run_sipp(tmp, f"{AGENT_IP}:{agent.sip_port}", scenario, calls=2 * cap, limit=2 * cap,
                   hold_ms=hold_s * 1000, tag="overload")
    alive = agent.proc.poll() is None and agent.get("/livez")[0] == 200
    return {"offered": 2 * cap, "answered": responses(log, 200), "busy": responses(log, 486), "alive": float(alive)}


def peer_phase(tmp: Path, cap: int, duration: int, hold_s: int) -> dict[str, float]:
    port = free_port(UAS_IP)
    uas = subprocess.Popen(["sipp", "-sn", "uas", "-i", UAS_IP, "-p", str(port), "-nostdin"],
                           cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        scenario = caller(tmp / "peer.xml")
        calls = max(cap, int(duration / (hold_s + 0.2)) * cap)
        log = run_sipp(tmp, f"{UAS_IP}:{port}", scenario, calls=calls, limit=cap, hold_ms=hold_s * 1000, tag="peer",
                       rate=(cap, hold_s * 1000 + 200))
    finally:
        stop(uas)
    times = setup_times(log)
    return {"answered": responses(log, 200), "p50_ms": pct(times, 50), "p99_ms": pct(times, 99)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=60, help="seconds of the capacity phase")
    ap.add_argument("--hold", type=int, default=5, help="seconds each call stays up")
    ap.add_argument("--capacity", type=int, default=4, help="agent max_calls (the pjsua2 wheel allows 4)")
    ap.add_argument("--soak", action="store_true", help="capacity phase of 600 s")
    ap.add_argument("--pipeline", choices=["echo", "websocket"], default="echo",
                    help="websocket: agent workers bridging to a Pipecat bot (benchmarks/agent_websocket.py)")
    ap.add_argument("--calls", type=int, default=50, help="websocket: concurrent calls (workers of 4 as needed)")
    args = ap.parse_args()
    if args.pipeline == "websocket":
        from benchmarks.agent_websocket import run

        with tempfile.TemporaryDirectory(prefix="voxops-bench-ws-") as d:
            return run(args, Path(d), run_sipp, setup_times, pct)
    duration = 600 if args.soak else args.duration
    with tempfile.TemporaryDirectory(prefix="voxops-bench-agent-") as d:
        tmp = Path(d)
        agent = start_agent(tmp, AGENT_IP, max_calls=args.capacity, log_level=1)
        try:
            time.sleep(1)
            cap = capacity_phase(tmp, agent, args.capacity, duration, args.hold)
            over = overload_phase(tmp, agent, args.capacity, args.hold)
        finally:
            code = agent.stop()
        peer = peer_phase(tmp, args.capacity, min(duration, 60), args.hold)
    print(f"agent capacity {args.capacity} calls, echo pipeline, G.711 RTP both ways, {args.hold}s calls")
    print(f"capacity phase ({cap['wall_s']:.0f}s): {cap['answered']}/{cap['calls']} answered "
          f"({cap['answered_pct']:.1f}%), 486: {cap['busy']}, no final answer: {cap['no_final']}; "
          f"afterwards: {cap['left_up']:.0f} calls up, {cap['media_timeouts']:.0f} media timeouts")
    print(f"  INVITE->200 p50 {cap['p50_ms']:.1f} ms, p99 {cap['p99_ms']:.1f} ms "
          f"(SIPp UAS same load: p50 {peer['p50_ms']:.1f} ms, p99 {peer['p99_ms']:.1f} ms; "
          f"ratio p50 {cap['p50_ms'] / peer['p50_ms']:.1f}x)")
    print(f"  RTP received by the agent: {cap['rtp_per_call']:.0f} packets per call "
          f"(~{args.hold * 50} sent per call, counted at 1 s resolution)")
    print(f"  agent CPU {cap['cpu_s']:.1f} s = {cap['cpu_pct_per_call']:.1f}% of a core per concurrent call, "
          f"{cap['cpu_ms_per_call']:.0f} ms per call")
    print(f"  RSS start {cap['rss_start_mb']:.1f} MB, end {cap['rss_end_mb']:.1f} MB "
          f"(growth {cap['rss_end_mb'] - cap['rss_start_mb']:+.1f} MB)")
    print(f"overload phase: {over['offered']} concurrent offered, {over['answered']} answered, "
          f"{over['busy']} x 486 (expected {over['offered'] - args.capacity}), "
          f"agent alive: {bool(over['alive'])}, exit code after SIGTERM: {code}")
    ok = over["busy"] == over["offered"] - args.capacity and over["alive"] and code == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
