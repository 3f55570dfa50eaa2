"""A capture taken on a real SBC node, with its ground truth.

The SBC is kamailio rendered from SPEC; carriers and agents are SIPp (answering) or a
silent peer of our own (answers OPTIONS pings, never an INVITE). dumpcap captures the
loopback block 127.0.26.0/24 while:

- agent-2 places OUTBOUND_CALLS calls at once (more than the SBC admits: the rest get
  the admission's 486); carrier-a never answers an INVITE, so every call the dispatcher
  sends there fails over to carrier-b after the failover timeout;
- carrier-b places INBOUND_CALLS calls; agent-1 never answers, so the calls sent there
  fail over to agent-2.

The truth comes from the peers themselves: SIPp's message logs (responses the callers
received, INVITEs the answering peers received, by Call-ID) and the Call-IDs the silent
peers were sent, with how often each INVITE was transmitted.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import stop
from tests.support.sip_peers import (
    FakeCarrier,
    Proc,
    run_uac,
    start_kamailio,
    start_uas,
    wait_udp_listening,
)
from voxops.render.engine import plan, render_all
from voxops.spec.loader import load_topology_text

SBC, CAR_A, CAR_B, AGENT_1, AGENT_2 = "127.0.26.1", "127.0.26.11", "127.0.26.12", "127.0.26.21", "127.0.26.22"
PORTS = {"ps": 5060, "pa": 5060, "pb": 5060, "p1": 5060, "p2": 5060, "pm": 9601, "h1": 8081, "h2": 8082}
OUTBOUND_CALLS, ADMITTED, INBOUND_CALLS = 60, 52, 12
FAILOVER_MS = 3000  # INVITE, retransmissions at 0.5 s and 1.5 s, branch timeout at 3 s
HOLD_MS = 2000
TRUNK_A, TRUNK_B = "carrier-a/carrier-a-main", "carrier-b/carrier-b-main"

SPEC = """
version: 1
name: sbc-node
carriers:
  - name: carrier-a
    trunks:
      - {{name: carrier-a-main, hosts: [{{address: {a}, port: {pa}}}], weight: 50,
         options_ping: {{interval_s: 1, failure_threshold: 30}}}}
  - name: carrier-b
    trunks:
      - {{name: carrier-b-main, hosts: [{{address: {b}, port: {pb}}}], weight: 50,
         options_ping: {{interval_s: 1, failure_threshold: 30}}}}
sbc:
  domain: sbc.node.test
  nodes: [{{name: sbc-1, address: {s}, listen: [{{transport: udp, port: {ps}}}], metrics_port: {pm}}}]
  admission: {{max_concurrent_calls: {admitted}, reject_code: 486}}
  failover_timeout_ms: {failover}
agents:
  instances:
    - {{name: agent-1, host: {g1}, sip_port: {p1}, health_port: {h1}, max_calls: 100}}
    - {{name: agent-2, host: {g2}, sip_port: {p2}, health_port: {h2}, max_calls: 100}}
"""


def spec_text() -> str:
    return SPEC.format(a=CAR_A, b=CAR_B, s=SBC, g1=AGENT_1, g2=AGENT_2, admitted=ADMITTED,
                       failover=FAILOVER_MS, **PORTS)


def silent_peer(ip: str, port: int) -> FakeCarrier:
    """Answers OPTIONS with 200, never an INVITE; records each INVITE's Call-ID and how
    many times it was transmitted."""
    return FakeCarrier(ip, port, silent=True)


def sipp_messages(log: Path, direction: str) -> list[tuple[str, str, str]]:
    """(Call-ID, start line, CSeq method) of every message SIPp logged as `direction`
    ('received' or 'sent')."""
    if not log.exists():
        return []
    out = []
    for block in re.split(r"(?m)^-{5,}.*$", log.read_text(errors="replace")):
        if f"message {direction}" not in block:
            continue
        body = block.split("\n", 2)[-1] if block.startswith("\n") else block
        lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
        start = next((ln for ln in lines if ln.startswith("SIP/2.0 ") or re.match(r"^[A-Z]+ \S+ SIP/2\.0$", ln)), None)
        cid = re.search(r"(?im)^call-id:\s*(\S+)", body)
        cseq = re.search(r"(?im)^cseq:\s*\d+\s+(\S+)", body)
        if start and cid:
            out.append((cid.group(1), start, cseq.group(1) if cseq else ""))
    return out


@dataclass
class CallTruth:
    call_id: str
    direction: str  # "out" (agent -> carrier) or "in"
    final_status: int | None
    trunk: str | None
    tried: list[str] = field(default_factory=list)  # node names the SBC sent the INVITE to, in order
    silent_transmissions: int = 0  # INVITE transmissions the silent peer got (failover calls)


@dataclass
class NodeCapture:
    pcap: Path
    spec: Path
    calls: dict[str, CallTruth]


def _finals(log: Path) -> dict[str, int]:
    finals: dict[str, int] = {}
    for cid, start, method in sipp_messages(log, "received"):
        code = int(start.split()[1]) if start.startswith("SIP/2.0 ") else 0
        if code >= 200 and cid not in finals and method == "INVITE":
            finals[cid] = code
    return finals


def _invite_ids(log: Path) -> set[str]:
    return {cid for cid, start, _ in sipp_messages(log, "received") if start.startswith("INVITE ")}


def _start_dumpcap(out: Path, workdir: Path) -> subprocess.Popen[bytes]:
    p = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-f", "net 127.0.26.0/24", "-w", str(out)],
                         stdout=subprocess.DEVNULL, stderr=(workdir / "dumpcap.log").open("wb"), cwd=workdir)
    end = time.monotonic() + 10
    while time.monotonic() < end and not (out.exists() and out.stat().st_size > 0):
        time.sleep(0.05)
    time.sleep(0.5)
    return p


def generate(workdir: Path) -> NodeCapture:
    """Run the scenario (about 25 s) and return the capture and its truth."""
    from voxops.lab.faults import dispatcher_flags

    topo = load_topology_text(spec_text())
    spec = workdir / "topology.yaml"
    spec.write_text(spec_text())
    render_all(plan(topo, str(workdir)), workdir)
    pcap = workdir / "sbc-node.pcap"
    procs: list[Proc] = []
    silent: list[FakeCarrier] = []
    dumpcap = None
    try:
        silent += [silent_peer(CAR_A, PORTS["pa"]), silent_peer(AGENT_1, PORTS["p1"])]
        procs.append(start_uas("sipp", CAR_B, PORTS["pb"], workdir, "carrier-b"))
        procs.append(start_uas("sipp", AGENT_2, PORTS["p2"], workdir, "agent-2"))
        procs.append(start_kamailio("kamailio", workdir / "sbc-1" / "etc" / "kamailio.cfg", workdir / "sbc-1" / "run"))
        wait_udp_listening(SBC, PORTS["ps"])
        ctl = workdir / "sbc-1" / "run" / "kamailio_ctl"
        wanted = [f"{h}:5060" for h in (CAR_A, CAR_B, AGENT_1, AGENT_2)]
        end = time.monotonic() + 20
        while time.monotonic() < end and not all(dispatcher_flags(ctl).get(d, "").startswith("A") for d in wanted):
            time.sleep(0.1)
        dumpcap = _start_dumpcap(pcap, workdir)
        target = f"{SBC}:{PORTS['ps']}"
        run_uac("sipp", target, AGENT_2, 5071, workdir, "outbound", calls=OUTBOUND_CALLS, rate=1000,
                limit=OUTBOUND_CALLS, hold_ms=HOLD_MS, timeout=30)
        run_uac("sipp", target, CAR_B, 5072, workdir, "inbound", calls=INBOUND_CALLS, rate=1000,
                limit=INBOUND_CALLS, hold_ms=HOLD_MS, timeout=30)
        time.sleep(0.5)
    finally:
        if dumpcap is not None:
            stop(dumpcap, 10)
        for peer in silent:
            peer.stop()
        for p in reversed(procs):
            p.stop()
    return NodeCapture(pcap, spec, _truth(workdir, *silent))


def _truth(workdir: Path, car_a: FakeCarrier, agent_1: FakeCarrier) -> dict[str, CallTruth]:
    calls: dict[str, CallTruth] = {}
    at_b, at_agent_2 = _invite_ids(workdir / "carrier-b.msg"), _invite_ids(workdir / "agent-2.msg")
    for direction, log in (("out", workdir / "outbound.msg"), ("in", workdir / "inbound.msg")):
        for cid, status in _finals(log).items():
            first, second, silent_peer, answering = (
                ("carrier-a", "carrier-b", car_a, at_b) if direction == "out" else ("agent-1", "agent-2", agent_1, at_agent_2))
            tried = ([first] if cid in silent_peer.transmissions else []) + ([second] if cid in answering else [])
            trunk = (TRUNK_B if "carrier-b" in tried else None) if direction == "out" else TRUNK_B
            calls[cid] = CallTruth(cid, direction, status, trunk, tried, silent_peer.transmissions.get(cid, 0))
    return calls


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    result = generate(out)
    for truth in result.calls.values():
        print(truth)
