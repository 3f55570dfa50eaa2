"""Diagnosis rules on synthetic calls: each SDP, setup and media rule with its code."""

from __future__ import annotations

from tests.support.capture import request, response
from voxops.analysis.diagnosis import diagnose_call
from voxops.analysis.dialogs import build_dialogs
from voxops.analysis.policy import Policy
from voxops.analysis.streams import RtpStream
from voxops.capture.records import SipPacket
from voxops.capture.sip import parse_sip

A, B = "198.51.100.10", "192.0.2.50"  # caller, carrier (documentation addresses)
T0 = 1_700_000_000.0


def sdp(addr: str, port: int, pts: str = "0 101", extra: str = "", proto: str = "RTP/AVP") -> str:
    return (f"v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\nm=audio {port} {proto} {pts}\r\n"
            f"a=rtpmap:101 telephone-event/8000\r\n{extra}")


def pkt(frame: int, at: float, data: bytes, outbound: bool) -> SipPacket:
    msg = parse_sip(data)
    assert msg is not None
    src, dst = (A, B) if outbound else (B, A)
    return SipPacket(frame, T0 + at, src, 5060, dst, 5060, "udp", data, msg)


def call(offer: str | None = None, answer: str | None = None, *, final: int = 200, ring_at: float = 0.1,
         bye_at: float | None = 30.0, extra: list[SipPacket] | None = None) -> list[SipPacket]:
    cid = "c1@test"
    offer = sdp(A, 4000) if offer is None else offer
    answer = sdp(B, 6000) if answer is None else answer
    pkts = [pkt(1, 0.0, request("INVITE", cid, body=offer), True),
            pkt(2, ring_at, response(180, "Ringing", cid), False),
            pkt(3, ring_at + 0.5, response(final, "X", cid, body=answer if final == 200 else ""), False),
            pkt(4, ring_at + 0.6, request("ACK", cid, to_tag="b1"), True)]
    if bye_at is not None and final == 200:
        pkts.append(pkt(900, bye_at, request("BYE", cid, cseq=2, branch="z9hG4bK2", to_tag="b1"), True))
    return sorted(pkts + (extra or []), key=lambda p: p.frame)


def stream(src: str, dst: str, *, pt: int = 0, start: float = 1.0, end: float = 29.0, lost: int = 0,
           jitter: float = 1.0, mos: float = 4.4) -> RtpStream:
    expected = 1000 + lost
    return RtpStream(
        src=src, dst=dst, ssrc=1, payload_type=pt, payload_types=[pt], codec=None, clock_rate=8000,
        packets=1000, expected=expected, lost=lost, lost_pct=100 * lost / expected, seq_errors=lost, duplicates=0,
        markers=1, ssrc_changes=0, min_delta_ms=19, mean_delta_ms=20, max_delta_ms=21, min_jitter_ms=0,
        mean_jitter_ms=jitter / 2, max_jitter_ms=jitter, jitter_buffer_discards=0, start=T0 + start, end=T0 + end,
        start_rel=start, end_rel=end, first_frame=100, last_frame=800, call_id="c1@test", found_by="sdp",
        mos=mos, r_factor=90.0, mos_method="E-model",
    )


BOTH = [stream(f"{A}:4000", f"{B}:6000"), stream(f"{B}:6000", f"{A}:4000")]


def codes(packets: list[SipPacket], streams: list[RtpStream] | None = None, policy: Policy | None = None) -> set[str]:
    dialogs = build_dialogs(packets)
    result = diagnose_call(dialogs, BOTH if streams is None else streams, "c1@test", policy or Policy())
    return {f.code for f in result.findings}


def test_a_healthy_synthetic_call_has_no_finding():
    assert codes(call()) == set()


def test_setup_outcomes():
    assert codes(call(final=488), []) == {"codec-rejected"}
    assert codes(call(final=503), []) == {"service-unavailable"}
    assert codes(call(final=407), []) == {"auth-failed"}
    assert codes(call(final=486), []) == {"busy-here"}  # no spec: a 486 is taken as our pool's
    assert codes(call(final=408), []) == {"setup-timeout"}


def test_challenge_then_answer_counts_the_challenge_and_measures_pdd_from_the_second_invite():
    cid = "c1@test"
    pkts = [
        pkt(1, 0.0, request("INVITE", cid, body=sdp(A, 4000)), True),
        pkt(2, 0.01, response(407, "Proxy Authentication Required", cid), False),
        pkt(3, 0.02, request("ACK", cid), True),
        pkt(4, 1.0, request("INVITE", cid, cseq=2, branch="z9hG4bK9", body=sdp(A, 4000)), True),
        pkt(5, 1.3, response(180, "Ringing", cid, cseq=2, branch="z9hG4bK9"), False),
        pkt(6, 1.5, response(200, "OK", cid, cseq=2, branch="z9hG4bK9", body=sdp(B, 6000)), False),
    ]
    result = diagnose_call(build_dialogs(pkts), BOTH, cid, Policy())
    assert result.auth_challenges == 1
    assert result.pdd_ms == 300.0
    assert result.findings == []


def test_retransmitted_invite():
    again = pkt(5, 0.5, request("INVITE", "c1@test", body=sdp(A, 4000)), True)
    assert "sip-retransmissions" in codes(call(ring_at=1.0, extra=[again]))


def test_sdp_rules():
    assert "media-on-hold" in codes(call(answer=sdp(B, 6000, extra="a=sendonly\r\n")))
    assert "missing-rtpmap" in codes(call(offer=sdp(A, 4000, pts="0 96 101")))
    assert "ptime-mismatch" in codes(call(offer=sdp(A, 4000, extra="a=ptime:20\r\n"),
                                          answer=sdp(B, 6000, extra="a=ptime:30\r\n")))
    assert "no-telephone-event" in codes(call(answer=sdp(B, 6000, pts="0").replace(
        "a=rtpmap:101 telephone-event/8000\r\n", "")))
    assert "srtp-media" in codes(call(answer=sdp(B, 6000, proto="RTP/SAVP")))
    g729 = [stream(f"{A}:4000", f"{B}:6000", pt=18), stream(f"{B}:6000", f"{A}:4000", pt=18)]
    assert "codec-denied" in codes(call(answer=sdp(B, 6000, pts="18 101")), g729, Policy(deny_codecs=frozenset({"G729"})))
    # denied only when a spec says so: without one, no codec is denied
    assert "codec-denied" not in codes(call(answer=sdp(B, 6000, pts="18 101")), g729, Policy())


def test_codec_denied_only_for_what_the_call_uses():
    # the answer lists G.729 after PCMU, and only PCMU flows: G.729 was never used
    listed = call(answer=sdp(B, 6000, pts="0 18 101"))
    assert "codec-denied" not in codes(listed, None, Policy(deny_codecs=frozenset({"G729"})))


def test_private_media_address_only_across_a_nat():
    private = sdp("10.1.2.3", 6000)
    assert "private-media-address" in codes(call(answer=private))
    lan = [pkt(p.frame, p.ts - T0, p.raw, p.src == A) for p in call(answer=private)]
    for p in lan:  # the same call inside one private network: signalling from 10.x too
        if p.src == B:
            p.src = "10.1.2.3"
        if p.dst == B:
            p.dst = "10.1.2.3"
    assert "private-media-address" not in codes(lan)


def test_media_timing_rules():
    late = [stream(f"{A}:4000", f"{B}:6000", start=5.0), stream(f"{B}:6000", f"{A}:4000")]
    assert codes(call(), late) == {"late-media"}
    stopped = [stream(f"{A}:4000", f"{B}:6000", end=10.0), stream(f"{B}:6000", f"{A}:4000")]
    assert codes(call(), stopped) == {"media-stopped"}
    after = [stream(f"{A}:4000", f"{B}:6000", end=35.0), stream(f"{B}:6000", f"{A}:4000")]
    assert codes(call(), after) == {"rtp-after-bye"}


def test_quality_rules_follow_the_policy():
    bad = [stream(f"{A}:4000", f"{B}:6000", lost=40, jitter=45.0, mos=3.1), stream(f"{B}:6000", f"{A}:4000")]
    assert codes(call(), bad) == {"packet-loss", "high-jitter", "low-mos"}
    lenient = Policy(loss_max_percent=5.0, jitter_max_ms=50.0, mos_min=3.0)
    assert codes(call(), bad, lenient) == set()


def test_no_media_at_all():
    assert codes(call(), []) == {"no-media"}
