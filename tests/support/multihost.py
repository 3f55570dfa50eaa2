"""A capture of calls through four hosts, with long Call-IDs, long reason phrases and RTP.

Carrier 10.2.0.1 -> SBC 10.2.0.2 (a B2BUA: each leg its own Call-ID, linked by X-CID) ->
agent 10.2.0.3, which answers 503 with a long reason, then failover to agent 10.2.0.4,
which answers; RTP both ways on the answered legs; BYE from the carrier.

CALL_IDS[0] and CALL_IDS[1] share the prefix SHARED_PREFIX (two calls a minute apart),
so a prefix of both is ambiguous while a longer one is unique.
"""

from __future__ import annotations

import struct
from pathlib import Path

from voxops.capture.writer import PcapWriter, udp_frame

CARRIER, SBC, AGENT_1, AGENT_2 = "10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4"
SHARED_PREFIX = "a84b4c76e66710-carrier-leg"
CALL_IDS = (f"{SHARED_PREFIX}-0001-5f1e2d3c4b5a69788796a5b4c3d2e1f0@trunk-gw-01.carrier.example.net",
            f"{SHARED_PREFIX}-0002-0f1e2d3c4b5a69788796a5b4c3d2e1f0@trunk-gw-01.carrier.example.net")
LONG_REASON = "Service Unavailable (agent pool draining for a rolling upgrade, retry another member)"
FROM = "<sip:+14155550123@carrier.example.net>"
TO = "<sip:+18005550199-support-queue-escalations@voice-agents.example.com>"
T0 = 1_700_000_000.0


def _sdp(addr: str, port: int) -> str:
    return (f"v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
            f"a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")


def _msg(first: str, cid: str, cseq: str, branch: str, to_tag: str = "", body: str = "",
         extra: str = "") -> bytes:
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    return (f"{first}\r\nVia: SIP/2.0/UDP 10.2.0.1:5060;branch=z9hG4bK-{branch}\r\n"
            f"From: {FROM};tag=from1\r\nTo: {TO}{to_tag}\r\nCall-ID: {cid}\r\nCSeq: {cseq}\r\n"
            f"{extra}{ctype}Content-Length: {len(body)}\r\n\r\n{body}").encode()


def _rtp(seq: int, ssrc: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + bytes(160)


def _call(frames: list[tuple[float, str, int, str, int, bytes]], t0: float, n: int, cid: str) -> None:
    def sip(t: float, src: str, dst: str, data: bytes) -> None:
        frames.append((t0 + t, src, 5060, dst, 5060, data))

    ruri = "sip:+18005550199-support-queue-escalations@voice-agents.example.com SIP/2.0"
    base = 20000 + 100 * n
    sip(0.0, CARRIER, SBC, _msg(f"INVITE {ruri}", cid, "1 INVITE", f"c{n}", body=_sdp(CARRIER, base)))
    sip(0.01, SBC, CARRIER, _msg("SIP/2.0 100 Trying", cid, "1 INVITE", f"c{n}"))
    leg1, leg2 = f"sbc-leg-{n}-1-9f8e7d6c5b4a3928@sbc-1.voice.example.com", f"sbc-leg-{n}-2-7d6c5b4a39@sbc-1"
    link = f"X-CID: {cid}\r\n"
    sip(0.02, SBC, AGENT_1, _msg(f"INVITE {ruri}", leg1, "1 INVITE", f"a{n}", body=_sdp(SBC, base + 10), extra=link))
    sip(0.52, SBC, AGENT_1, _msg(f"INVITE {ruri}", leg1, "1 INVITE", f"a{n}", body=_sdp(SBC, base + 10), extra=link))
    sip(0.60, AGENT_1, SBC, _msg(f"SIP/2.0 503 {LONG_REASON}", leg1, "1 INVITE", f"a{n}", ";tag=x1"))
    sip(0.61, SBC, AGENT_1, _msg(f"ACK {ruri}", leg1, "1 ACK", f"a{n}", ";tag=x1"))
    sip(0.62, SBC, AGENT_2, _msg(f"INVITE {ruri}", leg2, "1 INVITE", f"b{n}", body=_sdp(SBC, base + 20), extra=link))
    sip(0.70, AGENT_2, SBC, _msg("SIP/2.0 180 Ringing", leg2, "1 INVITE", f"b{n}", ";tag=y1"))
    sip(0.70, SBC, CARRIER, _msg("SIP/2.0 180 Ringing", cid, "1 INVITE", f"c{n}", ";tag=s1"))
    sip(1.20, AGENT_2, SBC, _msg("SIP/2.0 200 OK", leg2, "1 INVITE", f"b{n}", ";tag=y1", _sdp(AGENT_2, base + 30)))
    sip(1.21, SBC, CARRIER, _msg("SIP/2.0 200 OK", cid, "1 INVITE", f"c{n}", ";tag=s1", _sdp(SBC, base + 40)))
    sip(1.25, CARRIER, SBC, _msg(f"ACK {ruri}", cid, "1 ACK", f"c{n}k", ";tag=s1"))
    sip(1.26, SBC, AGENT_2, _msg(f"ACK {ruri}", leg2, "1 ACK", f"b{n}k", ";tag=y1"))
    for k in range(100):
        t = t0 + 1.3 + k * 0.02
        frames.append((t, CARRIER, base, SBC, base + 40, _rtp(k, 0x1000 + n)))
        frames.append((t + 0.001, SBC, base + 40, CARRIER, base, _rtp(k, 0x2000 + n)))
        frames.append((t + 0.002, SBC, base + 20, AGENT_2, base + 30, _rtp(k, 0x3000 + n)))
        frames.append((t + 0.003, AGENT_2, base + 30, SBC, base + 20, _rtp(k, 0x4000 + n)))
    sip(3.5, CARRIER, SBC, _msg(f"BYE {ruri}", cid, "2 BYE", f"c{n}b", ";tag=s1"))
    sip(3.51, SBC, AGENT_2, _msg(f"BYE {ruri}", leg2, "2 BYE", f"b{n}b", ";tag=y1"))
    sip(3.55, AGENT_2, SBC, _msg("SIP/2.0 200 OK", leg2, "2 BYE", f"b{n}b", ";tag=y1"))
    sip(3.56, SBC, CARRIER, _msg("SIP/2.0 200 OK", cid, "2 BYE", f"c{n}b", ";tag=s1"))


def write_capture(path: Path, call_ids: tuple[str, ...] = CALL_IDS) -> Path:
    """One call per Call-ID given, a minute apart."""
    frames: list[tuple[float, str, int, str, int, bytes]] = []
    for n, call_id in enumerate(call_ids):
        _call(frames, T0 + 60.0 * n, n, call_id)
    frames.sort(key=lambda f: f[0])
    with PcapWriter(path) as out:
        for ts, src, sport, dst, dport, data in frames:
            out.write(ts, udp_frame(src, sport, dst, dport, data))
    return path
