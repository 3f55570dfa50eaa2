"""The live engine: packets in, one at a time; finished calls out, diagnosed.

Packets enter through the capture scanner's own per-frame path (`frame` for link-layer
frames from an interface or a growing file, `datagram` for what HEP carries), so SIP is
parsed, IP fragments joined and TCP reassembled by the same code as `voxops diagnose`.
Each SIP message is held by its call; each media datagram by the call whose SDP named its
address and port. A finished call is then analysed by the offline code itself:
`build_dialogs`, `find_streams`, `diagnose_call` and the KPI records of `voxops stats`.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from voxops.analysis.dialogs import DEFAULT_CORRELATION
from voxops.capture.records import SipPacket
from voxops.capture.scanner import _Scanner as FrameScanner
from voxops.capture.sip import parse_sip
from voxops.watch.hep import PROTO_RTCP_JSON, HepPacket
from voxops.watch.state import CallState, Limits

MAX_SHARING = 8  # calls one media endpoint is followed for at once (a peer reusing its port)
_NONE: list[CallState] = []


@dataclass(slots=True)
class Done:
    """A call the engine let go of, and why (bye | failure | timeout | evicted | shutdown)."""

    state: CallState
    reason: str


class _Feed(FrameScanner):
    """The scanner's per-frame path, handing each message and datagram to the tracker."""

    def __init__(self, tracker: Tracker) -> None:
        super().__init__(media=True)
        self.tracker = tracker

    def keep(self, pkt: SipPacket) -> None:
        self.tracker.sip(pkt)

    def media_datagram(self, frame: int, ts: float, src: str, sport: int, dst: str, dport: int,
                       data: bytes) -> None:
        self.tracker.media(frame, ts, src, sport, dst, dport, data)


class Tracker:
    """Active calls, the media endpoints their SDP named, and the clock of the feed."""

    def __init__(self, on_done: Callable[[Done], None], limits: Limits | None = None,
                 correlate: tuple[str, ...] = DEFAULT_CORRELATION) -> None:
        self.limits = limits or Limits()
        self.on_done = on_done
        self.correlate = correlate
        self.calls: dict[str, CallState] = {}  # by every Call-ID of the call
        self.active: dict[int, CallState] = {}
        self.endpoints: dict[tuple[str, int], list[CallState]] = {}  # the calls whose SDP named it
        self.finished: OrderedDict[str, None] = OrderedDict()
        self.feed = _Feed(self)
        self.frames = 0
        self.first_ts: float | None = None
        self.clock = 0.0  # the newest packet time seen
        self.clock_wall = time.monotonic()
        self.counts: Counter[str] = Counter()  # packets by kind
        self.dropped: Counter[str] = Counter()  # packets not held, by reason

    # --- entry points -------------------------------------------------------------------
    def _arrive(self, ts: float) -> int:
        self.frames += 1
        if self.first_ts is None:
            self.first_ts = ts
        if ts > self.clock:
            self.clock, self.clock_wall = ts, time.monotonic()
        return self.frames

    def frame(self, ts: float, link: int, data: bytes) -> None:
        """One captured link-layer frame (interface, growing capture file)."""
        self.counts["frames"] += 1
        self.feed.frame(self._arrive(ts), ts, link, data)

    def hep(self, pkt: HepPacket) -> None:
        """One message a HEP agent mirrored."""
        self.counts["hep"] += 1
        frame = self._arrive(pkt.ts)
        if pkt.proto_type == PROTO_RTCP_JSON and pkt.payload[:1] == b"{":
            self.dropped["rtcp_json"] += 1
            return
        if pkt.transport == "udp":
            self.feed.datagram(frame, pkt.ts, pkt.src, pkt.sport, pkt.dst, pkt.dport, pkt.payload)
            return
        msg = parse_sip(pkt.payload)  # HEP over TCP: each message whole, as the SBC parsed it
        if msg is None:
            self.dropped["not_sip"] += 1
            return
        self.sip(SipPacket(frame, pkt.ts, pkt.src, pkt.sport, pkt.dst, pkt.dport, "tcp", pkt.payload, msg))

    # --- routing --------------------------------------------------------------------------
    def sip(self, pkt: SipPacket) -> None:
        self.counts["sip"] += 1
        cid = pkt.msg.call_id
        if cid is None:
            self.dropped["no_call_id"] += 1
            return
        call = self.calls.get(cid)
        if call is None:
            call = self._open(cid, pkt)
            if call is None:
                return
        if not call.add_sip(pkt, self.limits):
            self.dropped["call_message_cap"] += 1
        sdp = pkt.msg.sdp
        if sdp is not None:
            for m in sdp.media:
                if m.port and m.connection:
                    for port in (m.port, m.port + 1):  # RTP, and RTCP beside it
                        self._claim(call, (m.connection, port))

    def _claim(self, call: CallState, ep: tuple[str, int]) -> None:
        """`call`'s SDP names `ep`; calls sharing it see each other's media and dialogs."""
        calls = self.endpoints.setdefault(ep, [])
        if call in calls:
            return
        for other in calls:
            call.share(other, MAX_SHARING)
        calls.append(call)
        if len(calls) > MAX_SHARING:
            del calls[0]
        call.endpoints.add(ep)

    def _open(self, cid: str, pkt: SipPacket) -> CallState | None:
        m = pkt.msg
        if cid in self.finished:
            self.dropped["late"] += 1
            return None
        if not (m.is_request and m.method == "INVITE" and m.to_tag is None):
            self.dropped["not_a_call"] += 1  # OPTIONS, REGISTER, or a call begun before the watch
            return None
        for name in self.correlate:  # a B2BUA leg joins the call it names
            value = (m.header(name) or "").strip()
            if value and value in self.calls:
                call = self.calls[cid] = self.calls[value]
                return call
        if len(self.active) >= self.limits.max_calls:
            stalest = min(self.active.values(), key=lambda c: c.last)
            self._finish(stalest, "evicted")
        call = CallState(cid, pkt.ts, pkt.ts)
        self.calls[cid] = call
        self.active[id(call)] = call
        return call

    def media(self, frame: int, ts: float, src: str, sport: int, dst: str, dport: int, data: bytes) -> None:
        self.counts["media"] += 1
        calls = self.endpoints.get((src, sport), _NONE) + self.endpoints.get((dst, dport), _NONE)
        if not calls:
            self.dropped["media_unmatched"] += 1
        for i, call in enumerate(calls):
            if call not in calls[:i] and not call.add_media(frame, ts, src, sport, dst, dport, data, self.limits):
                self.dropped["call_media_cap"] += 1

    # --- finishing ------------------------------------------------------------------------
    def now(self) -> float:
        """The feed's clock: the newest packet time, moved on by the wall clock since."""
        return self.clock + (time.monotonic() - self.clock_wall)

    def tick(self, now: float | None = None) -> None:
        """Finish the calls that are done (after the linger) or timed out."""
        now = self.now() if now is None else now
        lim = self.limits
        for call in list(self.active.values()):
            if call.done_at is not None and now >= call.done_at + lim.linger_s:
                self._finish(call, call.reason())
            elif (now - call.last > (lim.idle_timeout_s if call.answered else lim.setup_timeout_s)
                  or now - call.started > lim.max_duration_s):
                self._finish(call, "timeout")

    def flush(self, reason: str = "shutdown") -> None:
        for call in list(self.active.values()):
            self._finish(call, call.reason() if call.done_at is not None else reason)

    def _finish(self, call: CallState, reason: str) -> None:
        self.active.pop(id(call), None)
        for cid in call.dialogs:
            self.calls.pop(cid, None)
            self.finished[cid] = None
        self.calls.pop(call.key, None)
        while len(self.finished) > self.limits.remember_finished:
            self.finished.popitem(last=False)
        for ep in call.endpoints:
            calls = self.endpoints.get(ep, [])
            if call in calls:
                calls.remove(call)
            if not calls:
                self.endpoints.pop(ep, None)
        self.on_done(Done(call, reason))
