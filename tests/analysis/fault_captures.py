"""Captures with known faults, made with real SIPp signalling, an RTP sender of our own
and tshark capturing on loopback (127.0.4.x). Needs root (capture) and sipp + tshark.

`python -m tests.analysis.fault_captures OUTDIR` regenerates every scenario into OUTDIR; the small
pcaps under tests/data/diagnosis/ were made that way.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import wait_capturing
from tests.support import sipp
from tests.support.processes import stop

CALLER = "127.0.4.1"
TRUNK_A = "127.0.4.2"
TRUNK_B = "127.0.4.3"
NET = "net 127.0.4.0/24"


@dataclass
class Scenario:
    name: str
    callee: str = TRUNK_A
    final: int = 200
    ring_delay_ms: int = 0
    answer_pt: int = 0  # payload type in the SDP answer
    callee_sends_pt: int | None = 0  # None: the callee sends no RTP
    caller_sends: bool = True
    answer_address: str | None = None  # c= of the answer; None: the callee's own address
    loss_every: int = 0  # drop every Nth packet of the callee's stream
    calls: int = 1
    call_ms: int = 2500
    rtp: bool = True
    extra: list[Scenario] = field(default_factory=list)  # other SIPp runs in the same capture


SCENARIOS = {
    "clean": Scenario("clean"),
    "one_way": Scenario("one_way", callee_sends_pt=None),
    "pt18": Scenario("pt18", callee_sends_pt=18),
    "loss5": Scenario("loss5", loss_every=20),
    "pdd3s": Scenario("pdd3s", ring_delay_ms=3000),
    "private_media": Scenario("private_media", answer_address="10.20.30.40"),
    "trunk503": Scenario(
        "trunk503", calls=8, rtp=False, call_ms=500,
        extra=[Scenario("b", callee=TRUNK_B, final=503, calls=6, rtp=False)],
    ),
}


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _sdp(address: str, port: int, pt: int) -> str:
    names = {0: "PCMU/8000", 8: "PCMA/8000", 18: "G729/8000"}
    return (
        f"v=0\r\no=- 1 1 IN IP4 {address}\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP {pt} 101\r\na=rtpmap:{pt} {names[pt]}\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )


_FROM = "From: <sip:agent@[local_ip]>;tag=[call_number]"
_TO = "To: <sip:[service]@[remote_ip]:[remote_port]>"


def _uac_request(method: str, uri: str, cseq: int, branch: str = "[branch]") -> list[str]:
    to = _TO if method == "INVITE" else f"{_TO}[peer_tag_param]"
    return [f"{method} {uri} SIP/2.0", f"Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}", _FROM, to,
            "Call-ID: [call_id]", f"CSeq: {cseq} {method}"]


def _uac_xml(sdp: str, call_ms: int, final: int) -> str:
    if final == 200:
        tail = [sipp.recv(response=200, rtd="true", rrs="true"),
                sipp.send(*_uac_request("ACK", "[next_url]", 1), "Max-Forwards: 70", "Content-Length: 0"),
                sipp.pause(call_ms),
                sipp.send(*_uac_request("BYE", "[next_url]", 2), "Max-Forwards: 70", "Content-Length: 0", retrans=True),
                sipp.recv(response=200)]
    else:
        tail = [sipp.recv(response=final),
                sipp.send(*_uac_request("ACK", "sip:[service]@[remote_ip]:[remote_port]", 1, "[branch-4]"),
                          "Max-Forwards: 70", "Content-Length: 0")]
    invite = sipp.send(*_uac_request("INVITE", "sip:[service]@[remote_ip]:[remote_port]", 1),
                       "Contact: <sip:agent@[local_ip]:[local_port]>", "Max-Forwards: 70",
                       "Content-Type: application/sdp", "Content-Length: [len]", body=sdp, retrans=True)
    return sipp.scenario("uac", invite, sipp.optional_responses(100, 180), *tail)


def _uas_xml(sdp: str, ring_delay_ms: int, final: int) -> str:
    tag = "[call_number]"
    if final == 200:
        answer = [sipp.reply("200 OK", "Contact: <sip:callee@[local_ip]:[local_port]>", "Content-Type: application/sdp",
                             "Content-Length: [len]", to_tag=tag, body=sdp),
                  sipp.recv(request="ACK"), sipp.recv(request="BYE"),
                  sipp.reply("200 OK", "Content-Length: 0", to_tag=tag)]
    else:
        answer = [sipp.reply(f"{final} Service Unavailable", "Content-Length: 0", to_tag=tag), sipp.recv(request="ACK")]
    ring = [sipp.pause(ring_delay_ms)] if ring_delay_ms else []
    return sipp.scenario("uas", sipp.recv(request="INVITE"), sipp.reply("100 Trying", "Content-Length: 0", to_tag=tag),
                         *ring, sipp.reply("180 Ringing", "Content-Length: 0", to_tag=tag), *answer)


def _rtp_send(src: tuple[str, int], dst: tuple[str, int], pt: int, count: int, start: float,
              loss_every: int, ssrc: int) -> None:
    payload = b"\xff" * (20 if pt == 18 else 160)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(src)
        ts0 = 1000 + ssrc % 5000
        for i in range(count):
            delay = start + 0.02 * i - time.time()
            if delay > 0:
                time.sleep(delay)
            if loss_every and i % loss_every == loss_every // 2:
                continue
            header = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | pt, (4000 + i) & 0xFFFF,
                                 ts0 + 160 * i, ssrc)
            s.sendto(header + payload, dst)


def _sipp(xml: str, workdir: Path, local: str, port: int, calls: int) -> list[str]:
    path = workdir / f"{local}-{port}.xml"
    path.write_text(xml)
    return ["sipp", "-sf", str(path), "-i", local, "-p", str(port), "-mp", str(_free_port(local)),
            "-m", str(calls), "-r", "5", "-nostdin", "-trace_err",
            "-timeout", "30s", "-timeout_error", "-s", "voice"]


def run(scenario: Scenario, out: Path) -> Path:
    """Run one scenario and write its capture (pcap) to `out`."""
    with tempfile.TemporaryDirectory(prefix="voxops-lab-") as tmp:
        work = Path(tmp)
        cap = subprocess.Popen(
            ["tshark", "-i", "lo", "-f", NET, "-F", "pcap", "-w", str(out), "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            wait_capturing(cap)
            procs = []
            threads: list[threading.Thread] = []
            for sc in [scenario, *scenario.extra]:
                procs += _start_call(sc, work, threads)
            for p in procs:
                p.wait(timeout=60)
            for t in threads:
                t.join(timeout=30)
            time.sleep(0.5)
        finally:
            stop(cap, 10, sig=signal.SIGINT)
    return out



def _start_call(sc: Scenario, work: Path, threads: list[threading.Thread]) -> list[subprocess.Popen]:
    pa, pb = _free_port(CALLER), _free_port(sc.callee)
    uas_port, uac_port = _free_port(sc.callee), _free_port(CALLER)
    answer_addr = sc.answer_address or sc.callee
    uas = _sipp(_uas_xml(_sdp(answer_addr, pb, sc.answer_pt), sc.ring_delay_ms, sc.final),
                work, sc.callee, uas_port, sc.calls)
    uac = _sipp(_uac_xml(_sdp(CALLER, pa, 0), sc.call_ms, sc.final), work, CALLER, uac_port, sc.calls)
    uac += [f"{sc.callee}:{uas_port}"]
    procs = [subprocess.Popen(uas, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    time.sleep(0.3)
    t0 = time.time()
    procs.append(subprocess.Popen(uac, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    new: list[threading.Thread] = []
    if sc.rtp and sc.final == 200:
        start = t0 + sc.ring_delay_ms / 1000 + 0.3
        count = int((sc.call_ms - 500) / 20)
        if sc.caller_sends:
            new.append(threading.Thread(
                target=_rtp_send, args=((CALLER, pa), (sc.callee, pb), 0, count, start, 0, 0x1111)))
        if sc.callee_sends_pt is not None:
            new.append(threading.Thread(
                target=_rtp_send,
                args=((sc.callee, pb), (CALLER, pa), sc.callee_sends_pt, count, start + 0.01, sc.loss_every, 0x2222)))
    for t in new:
        t.start()
    threads += new
    return procs


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    names = sys.argv[2:] or list(SCENARIOS)
    if os.geteuid() != 0:
        sys.exit("capturing needs root")
    for name in names:
        print(name, run(SCENARIOS[name], target / f"{name}.pcap"))
