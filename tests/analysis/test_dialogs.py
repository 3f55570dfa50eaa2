"""Dialog and transaction assembly: retransmissions, PDD (RFC 6076 SRD), duration, legs."""

from __future__ import annotations

import pytest

from tests.support.capture import request, response
from voxops.analysis.dialogs import build_dialogs, dialogs_for
from voxops.capture.records import SipPacket
from voxops.capture.sip import parse_sip

UAC, PROXY, UAS = ("10.0.0.1", 5060), ("10.0.0.2", 5060), ("10.0.0.3", 5060)


def pkt(frame: int, ts: float, src, dst, raw: bytes) -> SipPacket:  # type: ignore[no-untyped-def]
    msg = parse_sip(raw)
    assert msg is not None
    return SipPacket(frame, ts, src[0], src[1], dst[0], dst[1], "udp", raw, msg)


def test_challenge_ringing_answer_bye():
    cid = "auth@x"
    seq = [
        (0.0, UAC, UAS, request("INVITE", cid, branch="b1")),
        (0.1, UAS, UAC, response(407, "Proxy Authentication Required", cid, branch="b1")),
        (0.2, UAC, UAS, request("ACK", cid, branch="b1")),
        (1.0, UAC, UAS, request("INVITE", cid, cseq=2, branch="b2")),
        (1.1, UAS, UAC, response(100, "Trying", cid, cseq=2, branch="b2", to_tag=None)),
        (2.5, UAS, UAC, response(183, "Session Progress", cid, cseq=2, branch="b2")),
        (4.0, UAS, UAC, response(200, "OK", cid, cseq=2, branch="b2")),
        (4.1, UAC, UAS, request("ACK", cid, cseq=2, branch="b3", to_tag="b1")),
        (64.0, UAC, UAS, request("BYE", cid, cseq=3, branch="b4", to_tag="b1")),
        (64.1, UAS, UAC, response(200, "OK", cid, cseq=3, method="BYE", branch="b4")),
    ]
    (d,) = build_dialogs([pkt(i + 1, ts, s, t, raw) for i, (ts, s, t, raw) in enumerate(seq)])
    assert (d.call_id, d.method, d.final_status) == (cid, "INVITE", 200)
    assert d.pdd_ms == pytest.approx(1500.0)  # from the re-sent INVITE to the 183
    assert d.answered_at == 4.0 and d.duration_s == pytest.approx(60.0)
    assert d.retransmissions == 0 and len(d.messages) == 10
    assert [(t.method, t.cseq) for t in d.transactions][:3] == [("INVITE", 1), ("ACK", 1), ("INVITE", 2)]


def test_failure_pdd_goes_to_the_final_response_and_100_never_counts():
    cid = "busy@x"
    seq = [
        (0.0, UAC, UAS, request("INVITE", cid)),
        (0.05, UAS, UAC, response(100, "Trying", cid, to_tag=None)),
        (0.8, UAS, UAC, response(486, "Busy Here", cid)),
    ]
    (d,) = build_dialogs([pkt(i + 1, ts, s, t, raw) for i, (ts, s, t, raw) in enumerate(seq)])
    assert d.final_status == 486 and d.pdd_ms == pytest.approx(800.0)
    assert d.answered_at is None and d.duration_s is None


def test_unanswered_invite_has_no_status_and_no_pdd():
    cid = "lost@x"
    seq = [(0.0, UAC, UAS, request("INVITE", cid)), (0.1, UAS, UAC, response(100, "Trying", cid, to_tag=None))]
    (d,) = build_dialogs([pkt(i + 1, ts, s, t, raw) for i, (ts, s, t, raw) in enumerate(seq)])
    assert d.final_status is None and d.pdd_ms is None


def test_retransmissions_marked_per_hop_not_across_a_proxy():
    cid = "rtx@x"
    inv = request("INVITE", cid, branch="z9hG4bKa")
    fwd = request("INVITE", cid, branch="z9hG4bKp")  # the proxy's own branch
    ok = response(200, "OK", cid, branch="z9hG4bKa")
    seq = [
        (0.0, UAC, PROXY, inv),
        (0.5, UAC, PROXY, inv),  # T1 retransmission
        (0.6, PROXY, UAS, fwd),
        (0.7, UAS, PROXY, response(200, "OK", cid, branch="z9hG4bKp")),
        (0.8, PROXY, UAC, ok),
        (1.8, PROXY, UAC, ok),  # 200 OK retransmitted until the ACK comes
    ]
    (d,) = build_dialogs([pkt(i + 1, ts, s, t, raw) for i, (ts, s, t, raw) in enumerate(seq)])
    assert d.retransmitted == [False, True, False, False, False, True]
    assert d.retransmissions == 2
    assert d.pdd_ms == pytest.approx(800.0)  # first hop's INVITE to its 200
    first = d.transactions[0]
    assert first.retransmissions == 2 and first.final_status == 200


def test_b2bua_legs_correlated_by_header():
    a = [pkt(1, 0.0, UAC, PROXY, request("INVITE", "leg-a"))]
    b = [pkt(2, 0.1, PROXY, UAS, request("INVITE", "leg-b", extra="X-CID: leg-a\r\n"))]
    other = [pkt(3, 0.2, UAC, PROXY, request("INVITE", "other"))]
    dialogs = build_dialogs(a + b + other)
    by_id = {d.call_id: d for d in dialogs}
    assert by_id["leg-a"].legs == ["leg-b"] and by_id["leg-b"].legs == ["leg-a"]
    assert by_id["other"].legs == []
    assert [d.call_id for d in dialogs_for(dialogs, ["leg-a"])] == ["leg-a", "leg-b"]
    assert build_dialogs(a + b, correlate_headers=())[0].legs == []
