"""`benchmarks/agent.py --pipeline websocket`: agent workers bridging to a Pipecat bot.

One Pipecat bot process (tests/agent/bot.py, `/speak/<delay>`: answers each caller
phrase <delay> ms after its last loud frame with espeak-ng audio) on 127.0.30.40, and
ceil(calls / 4) agent workers on 127.0.30.41 (one process per 4 calls, the pjsua2
wheel's ceiling), each loaded by its own SIPp with up to 4 calls open. The caller audio
(a pcap SIPp plays) is 1 s of tone then 4 s of silence, repeated: one turn per 5 s.

Figures: answered share, INVITE -> 200 p50/p99, the bridge's round trip (response
latency the agents measured minus the delay the bot imposed) p50/p99, agent CPU per
call, RSS per worker at start and end, and with twice the calls offered the share of
excess calls refused with 486 (and whether every worker stayed up).
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from tests.agent.peers import AgentProc, responses, start_agent
from tests.agent.scenarios import caller
from tests.conftest import free_port
from voxops.audio.codecs import encode_g711

BOT_IP, AGENT_IP, SIPP_IP = "127.0.30.40", "127.0.30.41", "127.0.30.42"
PER_WORKER = 4
BOT_DELAY_MS = 200


def speech_pcap(path: Path, seconds: float) -> Path:
    """PCMU RTP: 1 s of a 440 Hz tone, 4 s of silence, repeated."""
    from benchmarks.agent import write_rtp_pcap

    t = np.arange(8000) / 8000
    tone = encode_g711((np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16))

    def payload(i: int) -> bytes:
        k = i % 250
        return tone[k * 160 : (k + 1) * 160] if k < 50 else b"\xff" * 160

    return write_rtp_pcap(path, seconds, payload)


def start_bot(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port(BOT_IP, socket.SOCK_STREAM)
    log = (tmp / "bot.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "tests.agent.bot", BOT_IP, str(port), str(tmp / "bot.jsonl")],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection((BOT_IP, port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("bot did not come up")


def load(tmp: Path, agents: list[AgentProc], scenario: Path, *, per_worker: int, calls_each: int,
         hold_s: int, tag: str, run_sipp: Any) -> str:
    """One SIPp per worker, all at once; their logs joined."""
    logs: list[str] = [""] * len(agents)

    def one(k: int) -> None:
        logs[k] = run_sipp(tmp, f"{AGENT_IP}:{agents[k].sip_port}", scenario, calls=calls_each,
                           limit=per_worker, hold_ms=hold_s * 1000, tag=f"{tag}-{k}",
                           rate=(per_worker, hold_s * 1000 + 200))

    threads = [threading.Thread(target=one, args=(k,)) for k in range(len(agents))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return "".join(logs)


def bridge_latencies(agents: list[AgentProc]) -> list[float]:
    out: list[float] = []
    for agent in agents:
        for record in json.loads(agent.get("/calls")[1])["calls"]:
            out += [ms - BOT_DELAY_MS for ms in record["conversation"]["response_latency_ms"]]
    return sorted(out)


def run(args: Any, tmp: Path, run_sipp: Any, setup_times: Any, pct: Any) -> int:
    workers = math.ceil(args.calls / PER_WORKER)
    bot, port = start_bot(tmp)
    agents: list[AgentProc] = []
    try:
        for k in range(workers):
            (tmp / f"w{k}").mkdir()
            agents.append(start_agent(tmp / f"w{k}", AGENT_IP, max_calls=PER_WORKER, log_level=1,
                                      pipeline="websocket", media_timeout_s=30,
                                      websocket={"url": f"ws://{BOT_IP}:{port}/speak/{BOT_DELAY_MS}"}))
        procs = [psutil.Process(a.proc.pid) for a in agents]
        time.sleep(2)
        rss_start = [p.memory_info().rss / 2**20 for p in procs]
        cpu_start = sum(sum(p.cpu_times()[:2]) for p in procs)
        duration = 600 if args.soak else args.duration
        calls_each = max(PER_WORKER, int(duration / (args.hold + 0.2)) * PER_WORKER)
        scenario = caller(tmp / "load.xml", media_pcap=speech_pcap(tmp / "speech.pcap", args.hold))
        t0 = time.monotonic()
        log = load(tmp, agents, scenario, per_worker=PER_WORKER, calls_each=calls_each, hold_s=args.hold,
                   tag="capacity", run_sipp=run_sipp)
        wall = time.monotonic() - t0
        cpu = sum(sum(p.cpu_times()[:2]) for p in procs) - cpu_start
        rss_end = [p.memory_info().rss / 2**20 for p in procs]
        offered, ok = calls_each * workers, responses(log, 200)
        times = setup_times(log)
        lat = bridge_latencies(agents)
        over_scn = caller(tmp / "over.xml")
        over = load(tmp, agents, over_scn, per_worker=2 * PER_WORKER, calls_each=2 * PER_WORKER,
                    hold_s=args.hold, tag="overload", run_sipp=run_sipp)
        excess = workers * PER_WORKER
        busy = responses(over, 486)
        alive = all(a.proc.poll() is None and a.get("/livez")[0] == 200 for a in agents)
    finally:
        codes = [a.stop() for a in agents]
        bot.terminate()
        bot.wait(10)
    print(f"websocket pipeline, Pipecat bot (/speak/{BOT_DELAY_MS}), {workers} workers x {PER_WORKER} calls, "
          f"{args.hold}s calls, {wall:.0f}s")
    print(f"  answered {ok}/{offered} ({100 * ok / offered:.1f}%), 486: {responses(log, 486)}")
    print(f"  INVITE->200 p50 {pct(times, 50):.1f} ms, p99 {pct(times, 99):.1f} ms")
    print(f"  bridge round trip (measured response latency - {BOT_DELAY_MS} ms imposed), {len(lat)} turns: "
          f"p50 {pct(lat, 50):.0f} ms, p99 {pct(lat, 99):.0f} ms")
    print(f"  agent CPU {cpu:.1f} s = {100 * cpu / max(1, ok * args.hold):.1f}% of a core per concurrent call")
    print(f"  RSS per worker: start {min(rss_start):.1f}-{max(rss_start):.1f} MB, "
          f"end {min(rss_end):.1f}-{max(rss_end):.1f} MB")
    print(f"overload: {2 * excess} offered, {responses(over, 200)} answered, {busy} x 486 "
          f"({100 * busy / excess:.0f}% of the {excess} excess), workers alive: {alive}, exit codes {set(codes)}")
    return 0 if busy == excess and alive and set(codes) == {0} else 1
