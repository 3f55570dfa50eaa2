"""The live engine's state stays bounded: calls finish at BYE, failure or timeout, the
stalest is evicted past the cap, per-call caps hold, and what was dropped is counted."""

from __future__ import annotations

from tests.support.capture import request, response, sdp
from voxops.analysis.policy import Policy
from voxops.watch.engine import Done, Tracker
from voxops.watch.finish import analyse
from voxops.watch.state import Limits

A, B = "127.0.31.10", "127.0.31.11"


class Feed:
    def __init__(self, **limits: float) -> None:
        self.done: list[Done] = []
        self.tracker = Tracker(self.done.append, Limits(**limits))  # type: ignore[arg-type]

    def sip(self, ts: float, data: bytes, *, forward: bool = True) -> None:
        src, dst = (A, B) if forward else (B, A)
        self.tracker.feed.datagram(self.tracker._arrive(ts), ts, src, 5060, dst, 5060, data)

    def rtp(self, ts: float, seq: int, src: tuple[str, int], dst: tuple[str, int]) -> None:
        head = bytes([0x80, 0]) + seq.to_bytes(2, "big") + (seq * 160).to_bytes(4, "big") + (7).to_bytes(4, "big")
        self.tracker.feed.datagram(self.tracker._arrive(ts), ts, src[0], src[1], dst[0], dst[1], head + b"\xff" * 160)

    def reasons(self) -> dict[str, str]:
        return {d.state.key: d.reason for d in self.done}


def answered_call(f: Feed, cid: str, t: float, *, port: int = 4000, bye: bool = True) -> None:
    f.sip(t, request("INVITE", cid, body=sdp(A, port)))
    f.sip(t + 0.1, response(200, "OK", cid, body=sdp(B, port + 2)), forward=False)
    f.sip(t + 0.2, request("ACK", cid, to_tag="b1", branch="z9hG4bK2"))
    if bye:
        f.sip(t + 5, request("BYE", cid, cseq=2, to_tag="b1", branch="z9hG4bK3"))
        f.sip(t + 5.01, response(200, "OK", cid, cseq=2, method="BYE", branch="z9hG4bK3"), forward=False)


def test_calls_finish_at_bye_and_failure_after_the_linger_and_at_timeout() -> None:
    f = Feed(linger_s=2.0, setup_timeout_s=30.0, idle_timeout_s=60.0)
    answered_call(f, "bye@t", 100.0)
    f.sip(101.0, request("INVITE", "busy@t", body=sdp(A, 4010)))
    f.sip(101.1, response(486, "Busy Here", "busy@t"), forward=False)
    f.sip(102.0, request("INVITE", "silent@t", body=sdp(A, 4020)))
    answered_call(f, "long@t", 103.0, port=4030, bye=False)
    f.tracker.tick(now=102.5)
    assert f.done == []  # the busy one is done but lingers for its ACK
    f.tracker.tick(now=104.0)
    assert f.reasons() == {"busy@t": "failure"}
    f.tracker.tick(now=106.0)
    assert f.reasons() == {"busy@t": "failure"}  # BYE at 105: lingering
    f.tracker.tick(now=107.5)
    assert f.reasons() == {"busy@t": "failure", "bye@t": "bye"}
    f.tracker.tick(now=133.0)
    assert f.reasons()["silent@t"] == "timeout" and "long@t" not in f.reasons()
    f.tracker.tick(now=164.0)
    assert f.reasons()["long@t"] == "timeout" and not f.tracker.active and not f.tracker.endpoints
    f.sip(170.0, request("BYE", "long@t", cseq=2, to_tag="b1", branch="z9hG4bK9"))
    assert f.tracker.dropped["late"] == 1 and not f.tracker.active  # never a new call
    f.sip(171.0, request("OPTIONS", "ping@t"))
    assert f.tracker.dropped["not_a_call"] == 1 and not f.tracker.active


def test_a_challenge_then_a_new_invite_is_one_call() -> None:
    f = Feed(linger_s=2.0)
    f.sip(10.0, request("INVITE", "auth@t", body=sdp(A, 4000)))
    f.sip(10.1, response(407, "Proxy Authentication Required", "auth@t"), forward=False)
    f.sip(10.2, request("INVITE", "auth@t", cseq=2, branch="z9hG4bK5", body=sdp(A, 4000)))
    f.tracker.tick(now=13.0)
    assert f.done == []  # reopened by the second INVITE
    f.sip(13.0, response(200, "OK", "auth@t", cseq=2, branch="z9hG4bK5", body=sdp(B, 4002)), forward=False)
    f.sip(14.0, request("BYE", "auth@t", cseq=3, to_tag="b1", branch="z9hG4bK6"))
    f.tracker.tick(now=16.5)
    [done] = f.done
    [record] = analyse(done, Policy(), f.tracker.first_ts, "n").records
    assert (record.final_status, record.auth_challenges, done.reason) == (200, 1, "bye")


def test_caps_hold_and_drops_are_counted() -> None:
    f = Feed(max_calls=3, max_messages=5, max_datagrams=10)
    for i in range(5):  # two more calls than the cap: the stalest are finished early
        f.sip(float(i), request("INVITE", f"c{i}@t", body=sdp(A, 5000 + 2 * i)))
    assert len(f.tracker.active) == 3
    assert f.reasons() == {"c0@t": "evicted", "c1@t": "evicted"}
    for i in range(10):  # retransmissions past the message cap
        f.sip(10.0 + i, request("INVITE", "c4@t", body=sdp(A, 5008)))
    assert f.tracker.dropped["call_message_cap"] == 6
    for seq in range(25):
        f.rtp(30.0 + seq * 0.02, seq, (A, 5008), (B, 9000))
    f.rtp(31.0, 1, (A, 6666), (B, 6668))  # nobody's media
    assert f.tracker.dropped["call_media_cap"] == 15 and f.tracker.dropped["media_unmatched"] == 1
    call = f.tracker.calls["c4@t"]
    assert (len(call.sip), len(call.media)) == (5, 10)
