"""Small captures of the incidents the runbooks answer, written as pcap files.

The docs draw each one with `voxops ladder`, so the pictures on the diagnostic pages come
from the same code a user runs. Addresses and names are those of the local lab spec
(voxops/data/inventories/local): carrier-a 127.0.9.11, carrier-b 127.0.9.12, sbc-1 127.0.9.1,
agent-1 127.0.9.21. Kamailio is a proxy, so both hops of a call share one Call-ID.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from voxops.capture.writer import PcapWriter, rtp_bytes, udp_frame

CARRIER_A = ("127.0.9.11", 5060)
CARRIER_B = ("127.0.9.12", 5060)
SBC = ("127.0.9.1", 5060)
AGENT = ("127.0.9.21", 5070)
# Media goes end to end (the SBC proxies signalling only): ports from the SDP.
CARRIER_MEDIA = ("127.0.9.11", 30000)
AGENT_MEDIA = ("127.0.9.21", 40000)
Addr = tuple[str, int]


@dataclass
class Datagram:
    time: float
    src: Addr
    dst: Addr
    payload: bytes


@dataclass
class Call:
    """One call through the SBC: builds its SIP messages and RTP, in time order."""

    call_id: str
    caller: Addr
    packets: list[Datagram] = field(default_factory=list)
    cseq: int = 1
    _branch: int = 0
    # (from, to, cseq, method) -> Via branch of that client transaction on that hop
    _tx: dict[tuple[Addr, Addr, int, str], str] = field(default_factory=dict)
    _final: dict[tuple[Addr, Addr, int], int] = field(default_factory=dict)

    def send(self, t: float, src: Addr, dst: Addr, text: str, body: str = "") -> None:
        head = text.strip("\n").replace("\n", "\r\n")
        msg = f"{head}\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        self.packets.append(Datagram(t, src, dst, msg.encode()))

    def _dialog_headers(self, method: str, cseq: int, to_tag: bool) -> str:
        tag = f";tag=b{self.call_id[:4]}" if to_tag else ""
        return (
            f"From: <sip:+15550100@{self.caller[0]}>;tag=a{self.call_id[:4]}\n"
            f"To: <sip:+15550199@{SBC[0]}>{tag}\n"
            f"Call-ID: {self.call_id}\n"
            f"CSeq: {cseq} {method}\n"
        )

    def request(
        self,
        t: float,
        method: str,
        src: Addr,
        dst: Addr,
        body: str = "",
        extra: str = "",
        cseq: int | None = None,
    ) -> None:
        seq = cseq or self.cseq
        # The ACK of a non-2xx final response belongs to the INVITE transaction (RFC 3261
        # 17.1.1.3): same branch. Every other request starts a transaction of its own.
        final = self._final.get((src, dst, seq), 0)
        if method == "ACK" and final >= 300:
            branch = self._tx[(src, dst, seq, "INVITE")]
        else:
            self._branch += 1
            branch = f"z9hG4bK{self.call_id[:6]}{self._branch}"
        self._tx[(src, dst, seq, method)] = branch
        ctype = "Content-Type: application/sdp\n" if body else ""
        text = (
            f"{method} sip:+15550199@{dst[0]}:{dst[1]} SIP/2.0\n"
            f"Via: SIP/2.0/UDP {src[0]}:{src[1]};branch={branch}\n"
            + self._dialog_headers(method, seq, to_tag=method in ("ACK", "BYE"))
            + f"Contact: <sip:{src[0]}:{src[1]}>\nUser-Agent: voxops-docs\n"
        )
        self.send(t, src, dst, text + extra + ctype, body)

    def response(
        self,
        t: float,
        code: int,
        reason: str,
        src: Addr,
        dst: Addr,
        method: str = "INVITE",
        body: str = "",
        extra: str = "",
        cseq: int | None = None,
    ) -> None:
        seq = cseq or self.cseq
        branch = self._tx[(dst, src, seq, method)]  # the request went dst -> src
        if code >= 200 and method == "INVITE":
            self._final[(dst, src, seq)] = code
        ctype = "Content-Type: application/sdp\n" if body else ""
        text = (
            f"SIP/2.0 {code} {reason}\n"
            f"Via: SIP/2.0/UDP {dst[0]}:{dst[1]};branch={branch}\n"
            + self._dialog_headers(method, seq, to_tag=code > 100)
        )
        self.send(t, src, dst, text + extra + ctype, body)

    def rtp(
        self,
        t: float,
        src: Addr,
        dst: Addr,
        pt: int,
        seconds: float,
        drop: Callable[[int], bool] = lambda n: False,
    ) -> None:
        """20 ms packets for `seconds`; `drop(n)` loses packet n on the way."""
        rng = random.Random(self.call_id + src[0])
        ssrc = rng.getrandbits(32)
        for n in range(int(seconds * 50)):
            if drop(n):
                continue
            rtp = rtp_bytes(n, n * 160, ssrc, pt & 0x7F, rng.randbytes(160))
            self.packets.append(Datagram(t + n * 0.02, src, dst, rtp))


def sdp(media: Addr, pts: list[int]) -> str:
    names = {0: "PCMU/8000", 8: "PCMA/8000", 18: "G729/8000", 101: "telephone-event/8000"}
    ip, port = media
    lines = [
        "v=0", f"o=- 1 1 IN IP4 {ip}", "s=-", f"c=IN IP4 {ip}", "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(map(str, pts))}",
        *(f"a=rtpmap:{pt} {names[pt]}" for pt in pts), "a=ptime:20", "a=sendrecv",
    ]  # fmt: skip
    return "\r\n".join(lines) + "\r\n"


def _answered_inbound(call: Call, t0: float, answer: str, ring_after: float = 0.3) -> float:
    """carrier-a -> sbc-1 -> agent-1, answered; returns the time of the ACK."""
    offer = sdp(CARRIER_MEDIA, [0, 8, 101])
    call.request(t0, "INVITE", CARRIER_A, SBC, offer)
    call.response(t0 + 0.01, 100, "Trying", SBC, CARRIER_A)
    call.request(t0 + 0.02, "INVITE", SBC, AGENT, offer)
    call.response(t0 + 0.03, 100, "Trying", AGENT, SBC)
    call.response(t0 + ring_after, 180, "Ringing", AGENT, SBC)
    call.response(t0 + ring_after + 0.01, 180, "Ringing", SBC, CARRIER_A)
    call.response(t0 + ring_after + 0.5, 200, "OK", AGENT, SBC, body=answer)
    call.response(t0 + ring_after + 0.51, 200, "OK", SBC, CARRIER_A, body=answer)
    ack = t0 + ring_after + 0.55
    call.request(ack, "ACK", CARRIER_A, SBC)
    call.request(ack + 0.01, "ACK", SBC, AGENT)
    return ack


def _hangup(call: Call, t: float) -> None:
    call.request(t, "BYE", CARRIER_A, SBC, cseq=2)
    call.request(t + 0.01, "BYE", SBC, AGENT, cseq=2)
    call.response(t + 0.02, 200, "OK", AGENT, SBC, method="BYE", cseq=2)
    call.response(t + 0.03, 200, "OK", SBC, CARRIER_A, method="BYE", cseq=2)


def _rejected_inbound(call: Call, code: int, reason: str, extra: str = "") -> None:
    offer = sdp(CARRIER_MEDIA, [0, 8])
    call.request(0.0, "INVITE", CARRIER_A, SBC, offer)
    call.response(0.01, 100, "Trying", SBC, CARRIER_A)
    call.request(0.02, "INVITE", SBC, AGENT, offer)
    call.response(0.05, code, reason, AGENT, SBC, extra=extra)
    call.request(0.06, "ACK", SBC, AGENT)
    call.response(0.07, code, reason, SBC, CARRIER_A, extra=extra)
    call.request(0.08, "ACK", CARRIER_A, SBC)


def spike_503(call: Call) -> None:
    offer = sdp(AGENT_MEDIA, [0, 8])
    call.request(0.0, "INVITE", AGENT, SBC, offer)
    call.response(0.01, 100, "Trying", SBC, AGENT)
    call.request(0.02, "INVITE", SBC, CARRIER_A, offer)
    call.response(0.05, 503, "Service Unavailable", CARRIER_A, SBC, extra="Retry-After: 60\n")
    call.request(0.06, "ACK", SBC, CARRIER_A)
    # failure_route: ds_mark_dst() then ds_next_dst(): the backup trunk takes the call
    call.request(0.07, "INVITE", SBC, CARRIER_B, offer)
    call.response(0.4, 180, "Ringing", CARRIER_B, SBC)
    call.response(0.41, 180, "Ringing", SBC, AGENT)
    answer = sdp(("127.0.9.12", 31000), [0])
    call.response(1.2, 200, "OK", CARRIER_B, SBC, body=answer)
    call.response(1.21, 200, "OK", SBC, AGENT, body=answer)
    call.request(1.25, "ACK", AGENT, SBC)
    call.request(1.26, "ACK", SBC, CARRIER_B)


def _outbound_via_carrier_a(call: Call, resend_at: tuple[float, ...]) -> str:
    """agent-1 -> sbc-1 -> carrier-a, the INVITE to carrier-a sent again at `resend_at`
    (RFC 3261 timer A doubles from T1 = 500 ms); returns the offer."""
    offer = sdp(AGENT_MEDIA, [0, 8])
    call.request(0.0, "INVITE", AGENT, SBC, offer)
    call.response(0.01, 100, "Trying", SBC, AGENT)
    call.request(0.02, "INVITE", SBC, CARRIER_A, offer)
    first = call.packets[-1]
    for t in resend_at:
        call.packets.append(Datagram(t, SBC, CARRIER_A, first.payload))
    return offer


def clean_call(call: Call) -> None:
    ack = _answered_inbound(call, 0.0, sdp(AGENT_MEDIA, [0]))
    call.rtp(ack, CARRIER_MEDIA, AGENT_MEDIA, 0, 2.0)
    call.rtp(ack, AGENT_MEDIA, CARRIER_MEDIA, 0, 2.0)
    _hangup(call, ack + 2.2)


def failover_call(call: Call) -> None:
    """agent-1 calls out; carrier-a is slow, then answers 503; carrier-b takes the call."""
    offer = _outbound_via_carrier_a(call, (0.52, 1.52))
    call.response(1.6, 503, "Service Unavailable", CARRIER_A, SBC, extra="Retry-After: 60\n")
    call.request(1.61, "ACK", SBC, CARRIER_A)
    call.request(1.62, "INVITE", SBC, CARRIER_B, offer)
    call.response(1.66, 100, "Trying", CARRIER_B, SBC)
    call.response(1.9, 180, "Ringing", CARRIER_B, SBC)
    call.response(1.91, 180, "Ringing", SBC, AGENT)
    carrier_b_media = ("127.0.9.12", 31000)
    answer = sdp(carrier_b_media, [0])
    call.response(2.6, 200, "OK", CARRIER_B, SBC, body=answer)
    call.response(2.61, 200, "OK", SBC, AGENT, body=answer)
    call.request(2.65, "ACK", AGENT, SBC)
    call.request(2.66, "ACK", SBC, CARRIER_B)
    call.rtp(2.66, AGENT_MEDIA, carrier_b_media, 0, 2.0)
    call.rtp(2.66, carrier_b_media, AGENT_MEDIA, 0, 2.0, drop=lambda n: n % 25 == 7)
    call.request(4.8, "BYE", AGENT, SBC, cseq=2)
    call.request(4.81, "BYE", SBC, CARRIER_B, cseq=2)
    call.response(4.83, 200, "OK", CARRIER_B, SBC, method="BYE", cseq=2)
    call.response(4.84, 200, "OK", SBC, AGENT, method="BYE", cseq=2)


def high_pdd(call: Call) -> None:
    ack = _answered_inbound(call, 0.0, sdp(AGENT_MEDIA, [0]), ring_after=6.5)
    call.rtp(ack, CARRIER_MEDIA, AGENT_MEDIA, 0, 1.0)
    call.rtp(ack, AGENT_MEDIA, CARRIER_MEDIA, 0, 1.0)
    _hangup(call, ack + 1.2)


def one_way_audio(call: Call) -> None:
    # The agent advertises a private address: media toward it never arrives.
    ack = _answered_inbound(call, 0.0, sdp(("10.20.0.7", 40000), [0]))
    call.rtp(ack, AGENT_MEDIA, CARRIER_MEDIA, 0, 2.0)
    _hangup(call, ack + 2.2)


def silent_transcoding(call: Call) -> None:
    ack = _answered_inbound(call, 0.0, sdp(AGENT_MEDIA, [0]))
    call.rtp(ack, AGENT_MEDIA, CARRIER_MEDIA, 0, 1.5)
    call.rtp(ack, CARRIER_MEDIA, AGENT_MEDIA, 18, 1.5)  # G.729 where PCMU was agreed
    _hangup(call, ack + 1.7)


def packet_loss(call: Call) -> None:
    ack = _answered_inbound(call, 0.0, sdp(AGENT_MEDIA, [0]))
    call.rtp(ack, AGENT_MEDIA, CARRIER_MEDIA, 0, 2.0)
    call.rtp(ack, CARRIER_MEDIA, AGENT_MEDIA, 0, 2.0, drop=lambda n: n % 12 in (5, 6))
    _hangup(call, ack + 2.2)


def trunk_timeout(call: Call) -> None:
    _outbound_via_carrier_a(call, (0.52, 1.52, 3.52))
    call.response(7.52, 408, "Request Timeout", SBC, AGENT)
    call.request(7.53, "ACK", AGENT, SBC)


def codec_rejected(call: Call) -> None:
    _rejected_inbound(
        call, 488, "Not Acceptable Here", 'Warning: 305 agent "Incompatible media format"\n'
    )


def not_answered(call: Call) -> None:
    _rejected_inbound(call, 480, "Temporarily Unavailable")


def pool_saturated(call: Call) -> None:
    _rejected_inbound(call, 486, "Busy Here")


def auth_rejected(call: Call) -> None:
    offer = sdp(AGENT_MEDIA, [0, 8])
    challenge = 'Proxy-Authenticate: Digest realm="carrier-a", nonce="5f1c0a", algorithm=MD5\n'
    call.request(0.0, "INVITE", SBC, CARRIER_A, offer)
    call.response(0.04, 407, "Proxy Authentication Required", CARRIER_A, SBC, extra=challenge)
    call.request(0.05, "ACK", SBC, CARRIER_A)
    creds = (
        'Proxy-Authorization: Digest username="voxops", realm="carrier-a", nonce="5f1c0a", '
        'uri="sip:+15550199@127.0.9.11", response="0b8d5bfa3c1e7a0f6d2c9e4b1a7f3e55"\n'
    )
    call.request(0.06, "INVITE", SBC, CARRIER_A, offer, extra=creds, cseq=2)
    call.response(0.1, 403, "Forbidden", CARRIER_A, SBC, cseq=2)
    call.request(0.11, "ACK", SBC, CARRIER_A, cseq=2)


# runbook id -> (how the capture is made, what the picture shows)
SCENARIOS: dict[str, tuple[Callable[[Call], None], str]] = {
    "503-spike": (spike_503, "carrier-a answers 503; the SBC marks it and retries on carrier-b"),
    "high-pdd": (high_pdd, "6.5 s between the INVITE and the first 180 Ringing"),
    "one-way-audio": (one_way_audio, "the agent's SDP names 10.20.0.7: RTP flows one way only"),
    "silent-transcoding": (silent_transcoding, "PCMU agreed, but carrier-a sends G.729 (PT 18)"),
    "packet-loss-low-mos": (packet_loss, "one in six packets lost from carrier-a"),
    "trunk-down": (trunk_timeout, "INVITE retransmitted to carrier-a, no answer, 408"),
    "codec-rejection-488": (codec_rejected, "the agent refuses the offer: 488 with Warning 305"),
    "agent-pool-saturated": (pool_saturated, "every agent busy: 486 Busy Here"),
    "asr-drop": (not_answered, "a call not answered: 480 Temporarily Unavailable"),
    "auth-failures": (auth_rejected, "407 challenge, credentials sent, 403 Forbidden"),
}



def _audio_scenarios() -> dict[str, tuple[Callable[[Call], None], str]]:
    """The conversation findings' calls (audio_scenarios.py, next to this file)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("voxops_docs_audio_scenarios", Path(__file__).with_name("audio_scenarios.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.scenarios(sys.modules[__name__])


AUDIO_SCENARIOS = _audio_scenarios()  # drawn with `voxops ladder --audio`
SCENARIOS.update(AUDIO_SCENARIOS)

# docs/ladders.md: picture name -> (how the capture is made, caption)
PICTURES: dict[str, tuple[Callable[[Call], None], str]] = {
    "clean-call": (clean_call, "a clean inbound call: carrier-a, sbc-1, agent-1, two seconds of PCMU"),
    "failover-call": (failover_call, "carrier-a answers 503 after two INVITEs; the SBC fails over to carrier-b"),
    "one-way-audio": (one_way_audio, "the agent's SDP names 10.20.0.7: RTP flows one way only"),
}


def call_id(runbook_id: str) -> str:
    return f"{runbook_id}-docs@voxops"


def write_pcap(path: Path, packets: list[Datagram]) -> None:
    """Classic pcap, Ethernet link type, IPv4/UDP, in time order."""
    base = 1_764_000_000.0
    with PcapWriter(path) as pcap:
        for ident, d in enumerate(sorted(packets, key=lambda p: p.time)):
            pcap.write(base + d.time, udp_frame(*d.src, *d.dst, d.payload, ident=ident & 0xFFFF))


def build(runbook_id: str, directory: Path) -> Path:
    """Write the scenario's capture into directory; returns its path."""
    make, _caption = SCENARIOS[runbook_id] if runbook_id in SCENARIOS else PICTURES[runbook_id]
    call = Call(call_id(runbook_id), caller=CARRIER_A)
    make(call)
    path = directory / f"{runbook_id}.pcap"
    write_pcap(path, call.packets)
    return path
